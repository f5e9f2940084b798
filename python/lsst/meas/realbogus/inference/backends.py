"""The interface every inference backend implements, and the registry of backends by name.

A backend runs the network of one kind of model file (TorchScript today; ONNX
next) on a float32 batch.  `~lsst.meas.realbogus.inference.model.LoadedModel`
wraps a backend with the model's metadata and does what is common to all of
them: shape checks, batching, and the checks against a task's configuration.
"""

from __future__ import annotations

__all__ = ("Backend", "get_backend", "list_backends", "register_backend")

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from ..registry import Registry


class Backend(ABC):
    """A model's network, loaded on a device, that scores batches.

    Subclasses set `name`, implement `load` and `outputs`, and are registered
    with `register_backend`.
    """

    name: ClassVar[str]
    """Name of the backend (what ``load_model(..., backend=...)`` takes)."""

    device: str
    """Device the network runs on (``cpu``, ``cuda``, ``cuda:N``)."""

    @classmethod
    @abstractmethod
    def load(cls, path: str, device: str) -> tuple[Backend, str]:
        """Load the network of the file ``path`` onto ``device``.

        Returns
        -------
        backend : `Backend`
            The loaded network.
        metadata : `str`
            The metadata record stored in the file (JSON), or an empty
            string if it has none.

        Raises
        ------
        lsst.meas.realbogus.inference.ModelError
            If the file cannot be read as this backend's format.
        """

    @abstractmethod
    def outputs(self, batch: np.ndarray) -> np.ndarray:
        """The network's raw outputs for a float32 batch ``(N, C, H, W)``.

        Parameters
        ----------
        batch : `numpy.ndarray`
            Normalized stamps, C-contiguous float32.

        Returns
        -------
        outputs : `numpy.ndarray`
            float32, as the network gives them: ``(N,)`` or ``(N, 1)`` for one
            network, ``(N, K)`` for an ensemble of K; logits or
            probabilities, as the model's metadata says.  The caller
            (`~lsst.meas.realbogus.inference.model.LoadedModel`) checks the
            shape and turns them into scores.
        """


_BACKENDS: Registry[type[Backend]] = Registry("inference backend")


def register_backend(cls: type[Backend]) -> type[Backend]:
    """Class decorator: make a backend available by its `Backend.name`."""
    return _BACKENDS.register(cls.name, cls)


def get_backend(name: str) -> type[Backend]:
    """The backend class called ``name``.

    Raises
    ------
    ValueError
        If no backend has that name (the message lists those that do).
    """
    return _BACKENDS.get(name)


def list_backends() -> list[str]:
    """Names of the registered backends."""
    return _BACKENDS.names()
