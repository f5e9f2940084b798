"""Butler formatters of models (``RealBogusModel``), DESOMs (``RealBogusDesom``) and triplets.

The storage classes and the datastore entries that name these formatters are
in ``configs/`` beside this module, which must be on ``DAF_BUTLER_CONFIG_PATH``.
"""

from __future__ import annotations

__all__ = ("DesomFormatter", "TorchScriptModelFormatter", "TripletsFormatter")

import shutil
from typing import Any

from lsst.daf.butler import FormatterV2
from lsst.resources import ResourcePath

from ..desom.model import LoadedDesom, load_desom
from ..inference.model import LoadedModel, load_model
from ..stamps.triplets import read_triplets, write_triplets


class _ModelFileFormatter(FormatterV2):
    """A model that is a file: read by loading it (once per process), written by copying the file."""

    model_type: type = object

    can_read_from_local_file = True

    @staticmethod
    def load(path: str) -> Any:
        raise NotImplementedError

    def read_from_local_file(self, path: str, component: str | None = None, expected_size: int = -1) -> Any:
        return type(self).load(path)

    def write_local_file(self, in_memory_dataset: Any, uri: ResourcePath) -> None:
        if not isinstance(in_memory_dataset, self.model_type):
            raise TypeError(f"Expected a {self.model_type.__name__}, got {type(in_memory_dataset).__name__}")
        shutil.copyfile(in_memory_dataset.path, uri.ospath)


class TorchScriptModelFormatter(_ModelFileFormatter):
    """Read and write model files (`~lsst.meas.realbogus.inference.model.LoadedModel`) byte for byte.

    Reading loads the file with `~lsst.meas.realbogus.inference.model.load_model` (so
    its metadata is validated, and a model read twice in a process is loaded
    once); writing copies the file the model was loaded from.
    """

    default_extension = ".pt"
    supported_extensions = frozenset({".pt"})
    model_type = LoadedModel
    load = staticmethod(load_model)


class DesomFormatter(_ModelFileFormatter):
    """Read and write DESOM files (`~lsst.meas.realbogus.desom.model.LoadedDesom`) byte for byte.

    Reading loads the file with `~lsst.meas.realbogus.desom.model.load_desom`
    (validated, loaded once per process); writing copies the file.
    """

    default_extension = ".pt"
    supported_extensions = frozenset({".pt"})
    model_type = LoadedDesom
    load = staticmethod(load_desom)


class TripletsFormatter(FormatterV2):
    """Read and write labelled triplets (`~lsst.meas.realbogus.stamps.triplets.LabelledTriplets`).

    They are stored as uncompressed ``.npz`` files.
    """

    default_extension = ".npz"
    supported_extensions = frozenset({".npz"})
    can_read_from_local_file = True

    def read_from_local_file(self, path: str, component: str | None = None, expected_size: int = -1) -> Any:
        return read_triplets(path)

    def write_local_file(self, in_memory_dataset: Any, uri: ResourcePath) -> None:
        write_triplets(in_memory_dataset, uri.ospath)
