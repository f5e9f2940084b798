"""Loading real/bogus models once per process, and scoring batches with them.

A model is a file with its metadata inside (see
`~lsst.meas.realbogus.inference.metadata.ModelMetadata`), read by a backend
(`~lsst.meas.realbogus.inference.backends`; TorchScript today).  Loading
validates the metadata, so a model can never be fed stamps of another size,
channel order or normalization than it was trained on.
"""

from __future__ import annotations

__all__ = (
    "DEFAULT_MODEL",
    "ModelScores",
    "scores_from_outputs",
    "DEFAULT_MODEL_FILES",
    "LoadedModel",
    "choose_backend",
    "default_model_path",
    "load_model",
)

import os
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from .backends import Backend, get_backend
from .cache import load_once
from .devices import check_device
from .metadata import METADATA_FILE, ModelError, ModelMetadata
from .torchscript import TorchScriptBackend

DEFAULT_MODEL = "rb_default.pt"
DEFAULT_MODEL_FILES = {"torchscript": DEFAULT_MODEL, "onnx": "rb_default.onnx"}
"""The shipped default model's file for each backend (the same network; the ONNX copy is exported
from the TorchScript one by ``export_realbogus_onnx.py``)."""
"""File name of the model shipped in the package (``lsst/meas/realbogus/models/``)."""


def default_model_path(backend: str = "torchscript") -> str:
    """Path of the model shipped in the package, in the file format of ``backend``."""
    return str(resources.files("lsst.meas.realbogus") / "models" / DEFAULT_MODEL_FILES[backend])


def choose_backend(backend: str, device: str = "cpu", model_file: str = "") -> str:
    """The backend that reads ``model_file`` (empty: the shipped model) on ``device``.

    ``auto`` is onnxruntime on the CPU for an ``.onnx`` file and for the shipped
    model (4.5x faster than TorchScript there, see task.rst), torch for any
    other file and on a GPU (onnxruntime from PyPI runs on the CPU only); any
    other name is returned as it is.
    """
    if backend != "auto":
        return backend
    if device != "cpu":
        return "torchscript"
    if model_file:
        return "onnx" if model_file.endswith(".onnx") else "torchscript"
    return "onnx"


@dataclass(frozen=True)
class ModelScores:
    """A model's scores of N stamps (all ``(N,)`` float32)."""

    score: np.ndarray
    """Probability that the detection is real, in [0, 1] (calibrated by the model's temperature)."""
    logit: np.ndarray
    """Log-odds of ``score``: the same order, without float32's ties at 0 and 1."""
    std: np.ndarray
    """Standard deviation of the ensemble members' scores (0 for a single network)."""


def scores_from_outputs(
    outputs: np.ndarray, output: str, temperature: float = 1.0, offset: float = 0.0
) -> ModelScores:
    """Scores from a network's raw outputs ``(N, K)`` (K ensemble members, K >= 1).

    Each member's log-odds (its logit, or the log-odds of its probability)
    is calibrated to ``z / temperature + offset``; the logit is the members'
    mean, the score its sigmoid, and the spread the standard deviation of
    the members' sigmoids.  Computed in float64.
    """
    z = outputs.astype(np.float64)
    if output == "probability":
        p = np.clip(z, 0.0, 1.0)
        with np.errstate(divide="ignore"):
            z = np.log(p) - np.log1p(-p)
    z = z / temperature + offset
    logit = z.mean(axis=1)
    with np.errstate(over="ignore"):
        score = 1.0 / (1.0 + np.exp(-logit))
        std = (1.0 / (1.0 + np.exp(-z))).std(axis=1) if z.shape[1] > 1 else np.zeros(len(z))
    return ModelScores(score.astype(np.float32), logit.astype(np.float32), std.astype(np.float32))


class LoadedModel:
    """A loaded model with its metadata, ready to score stamps.

    Parameters
    ----------
    path : `str`
        File it was loaded from.
    backend : `~lsst.meas.realbogus.inference.backends.Backend`
        Its network, loaded on a device.
    metadata : `~lsst.meas.realbogus.inference.metadata.ModelMetadata`
        Its metadata.
    """

    def __init__(self, path: str, backend: Backend, metadata: ModelMetadata) -> None:
        self.path = path
        self.backend = backend
        self.metadata = metadata

    @property
    def device(self) -> str:
        """Device the model runs on."""
        return self.backend.device

    @property
    def module(self) -> Any:
        """The torch module of a TorchScript model (for gradients, e.g. saliency maps).

        Raises
        ------
        ModelError
            If the model's backend has no torch module.
        """
        if not isinstance(self.backend, TorchScriptBackend):
            raise ModelError(f"{self.path}: a {self.backend.name} model has no torch module")
        return self.backend.module

    def check_compatible(
        self, cutout_size: int | None = None, channels: tuple[str, ...] | None = None
    ) -> None:
        """Raise `ModelError` if the model does not take the given cutout size or channels."""
        md = self.metadata
        if cutout_size is not None and cutout_size != md.cutout_size:
            raise ModelError(
                f"{self.path}: model takes {md.cutout_size}x{md.cutout_size} cutouts, "
                f"configuration asks for {cutout_size}x{cutout_size}"
            )
        if channels is not None and tuple(channels) != md.channels:
            raise ModelError(
                f"{self.path}: model takes channels {md.channels}, configuration gives {tuple(channels)}"
            )

    def predict(self, cutouts: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Scores in [0, 1] of a model-ready batch ``(N, C, H, W)``, as float32.

        The ``score`` of `score`; see there.
        """
        return self.score(cutouts, batch_size).score

    def score(self, cutouts: np.ndarray, batch_size: int = 256) -> ModelScores:
        """Scores, logits and ensemble spread of a model-ready batch ``(N, C, H, W)``.

        The batch is what `~lsst.meas.realbogus.stamps.batch.ModelInput.cut`
        or ``prepare`` of ``metadata.input`` makes.

        Raises
        ------
        ModelError
            If the stamps do not have the model's shape, or the network's
            output is not ``metadata.members`` values per stamp.
        """
        md = self.metadata
        expected = md.input.shape
        if cutouts.ndim != 4 or tuple(cutouts.shape[1:]) != expected:
            raise ModelError(
                f"{self.path}: expected cutouts of shape (N, {', '.join(map(str, expected))}), "
                f"got {cutouts.shape}"
            )
        n = cutouts.shape[0]
        outputs = np.empty((n, md.members), dtype=np.float32)
        for start in range(0, n, batch_size):
            batch = np.ascontiguousarray(cutouts[start : start + batch_size], np.float32)
            out = self.backend.outputs(batch)
            if md.members == 1 and out.shape == (len(batch),):
                out = out[:, None]
            if out.shape != (len(batch), md.members):
                per_stamp = "one value" if md.members == 1 else f"{md.members} values (one per member)"
                raise ModelError(
                    f"{self.path}: model returned shape {tuple(out.shape)} for a batch of "
                    f"{len(batch)}; expected {per_stamp} per cutout"
                )
            outputs[start : start + len(batch)] = out
        return scores_from_outputs(outputs, md.output, md.temperature, md.logit_offset)


def load_model(path: str | os.PathLike, device: str = "cpu", backend: str = "torchscript") -> LoadedModel:
    """Load a model file, once per process (later calls return the cached model).

    The cache is keyed on the file's real path, size and modification time,
    the device and the backend, so a replaced file is reloaded.

    Parameters
    ----------
    path : `str` or `os.PathLike`
        Model file.
    device : `str`
        ``cpu``, ``cuda`` or ``cuda:N``.
    backend : `str`
        Name of the backend that reads the file
        (`~lsst.meas.realbogus.inference.backends.list_backends`).

    Raises
    ------
    ModelError
        If the file does not exist, cannot be read by the backend, has no or
        invalid metadata, or the device is not available; the message names
        the file.
    """

    def load(real_path: str) -> LoadedModel:
        try:
            check_device(device)
            backend_class = get_backend(backend)
        except ValueError as err:
            raise ModelError(f"{real_path}: {err}") from None
        network, record = backend_class.load(real_path, device)
        if not record:
            raise ModelError(
                f"{real_path} has no {METADATA_FILE} metadata record; it was not saved by "
                "lsst.meas.realbogus.inference (save_torchscript)"
            )
        try:
            metadata = ModelMetadata.from_json(record)
        except ModelError as err:
            raise ModelError(f"{real_path}: {err}") from None
        model = LoadedModel(real_path, network, metadata)
        # One small batch now, so that a network that disagrees with its metadata fails here,
        # naming the file, and not in every quantum after the images are read.
        try:
            model.predict(np.zeros((2, *metadata.input.shape), dtype=np.float32))
        except ModelError:
            raise
        except Exception as err:  # whatever the backend raises for a wrong input
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ModelError(
                f"{real_path}: the network does not take the input its metadata describes "
                f"({len(metadata.channels)}x{metadata.cutout_size}x{metadata.cutout_size} stamps): {first}"
            ) from None
        return model

    return load_once(path, ("model", device, backend), load)
