"""Butler formatters: TorchScript models (``RealBogusModel``), labelled triplets (``RealBogusTriplets``)."""

from __future__ import annotations

__all__ = ("TorchScriptModelFormatter", "TripletsFormatter")

import shutil
from typing import Any

from lsst.daf.butler import FormatterV2
from lsst.resources import ResourcePath

from .model import LoadedModel, load_model
from .triplets import read_triplets, write_triplets


class TorchScriptModelFormatter(FormatterV2):
    """Read and write model files (`~lsst.meas.realbogus.model.LoadedModel`) byte for byte.

    Reading loads the file with `~lsst.meas.realbogus.model.load_model` (so
    its metadata is validated, and a model read twice in a process is loaded
    once); writing copies the file the model was loaded from.
    """

    default_extension = ".pt"
    supported_extensions = frozenset({".pt"})
    can_read_from_local_file = True

    def read_from_local_file(self, path: str, component: str | None = None, expected_size: int = -1) -> Any:
        return load_model(path)

    def write_local_file(self, in_memory_dataset: Any, uri: ResourcePath) -> None:
        if not isinstance(in_memory_dataset, LoadedModel):
            raise TypeError(f"Expected a LoadedModel, got {type(in_memory_dataset).__name__}")
        shutil.copyfile(in_memory_dataset.path, uri.ospath)


class TripletsFormatter(FormatterV2):
    """Read and write `~lsst.meas.realbogus.triplets.LabelledTriplets` as uncompressed ``.npz`` files."""

    default_extension = ".npz"
    supported_extensions = frozenset({".npz"})
    can_read_from_local_file = True

    def read_from_local_file(self, path: str, component: str | None = None, expected_size: int = -1) -> Any:
        return read_triplets(path)

    def write_local_file(self, in_memory_dataset: Any, uri: ResourcePath) -> None:
        write_triplets(in_memory_dataset, uri.ospath)
