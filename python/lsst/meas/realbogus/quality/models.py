"""The three files of exposure quality: DESOM-1, DESOM-2 and DESOM-2's cell labels, and their agreement.

Importing this module does not import torch.
"""

from __future__ import annotations

__all__ = (
    "DEFAULT_QUALITY_FILES",
    "QualityModels",
    "check_quality_models",
    "default_quality_paths",
    "load_quality_models",
)

from dataclasses import dataclass
from importlib import resources

from ..desom.model import LoadedDesom, load_desom
from ..inference.metadata import ModelError
from .labelling import CellLabels

DEFAULT_QUALITY_FILES = ("quality_desom1.pt", "quality_desom2.pt", "quality_cell_labels.yaml")
"""File names of the exposure-quality models shipped in the package (``lsst/meas/realbogus/models/``)."""


def default_quality_paths() -> tuple[str, str, str]:
    """Paths of the shipped DESOM-1, DESOM-2 and cell labels."""
    models = resources.files("lsst.meas.realbogus") / "models"
    return tuple(str(models / name) for name in DEFAULT_QUALITY_FILES)  # type: ignore[return-value]


@dataclass
class QualityModels:
    """DESOM-1 (thumbnails to cells), DESOM-2 (histograms to cells) and DESOM-2's cell labels."""

    desom1: LoadedDesom
    desom2: LoadedDesom
    labels: CellLabels


def check_quality_models(
    desom1: LoadedDesom, desom2: LoadedDesom, labels: CellLabels, labels_where: str
) -> None:
    """Raise `~lsst.meas.realbogus.inference.ModelError`, naming the file, unless the three go together.

    DESOM-1 must take ``science`` thumbnails; DESOM-2 must take histograms
    over DESOM-1's map (``histogram_of`` its version, one value per cell);
    the labels must be of DESOM-2's version and map.
    """
    md1, md2 = desom1.metadata, desom2.metadata
    if md1.inputs != "thumbnails" or tuple(md1.channels) != ("science",):
        raise ModelError(
            f"{desom1.path}: DESOM-1 must take science thumbnails, but DESOM {md1.version} takes "
            f"{md1.inputs} of channels {list(md1.channels)}"
        )
    cells = md1.map_rows * md1.map_cols
    if md2.inputs != "histograms":
        raise ModelError(
            f"{desom2.path}: DESOM-2 must take histograms, but DESOM {md2.version} takes {md2.inputs}"
        )
    if md2.histogram_of != md1.version or md2.thumbnail_size != cells:
        raise ModelError(
            f"{desom2.path}: DESOM {md2.version} takes histograms of {md2.thumbnail_size} cells of DESOM "
            f"{md2.histogram_of}, not of DESOM-1 {md1.version} ({cells} cells, {desom1.path})"
        )
    try:
        labels.check_for(md2.version, md2.map_shape, where=labels_where)
    except ValueError as err:
        raise ModelError(str(err)) from None


def load_quality_models(
    desom1_path: str, desom2_path: str, labels_path: str, device: str = "cpu"
) -> QualityModels:
    """Load and check the three files (`~lsst.meas.realbogus.inference.ModelError` naming a bad one)."""
    desom1 = load_desom(desom1_path, device=device)
    desom2 = load_desom(desom2_path, device=device)
    try:
        labels = CellLabels.read(labels_path)
    except OSError as err:
        raise ModelError(f"{labels_path}: cannot read the cell labels: {err}") from None
    except ValueError as err:
        raise ModelError(str(err)) from None
    check_quality_models(desom1, desom2, labels, labels_path)
    return QualityModels(desom1, desom2, labels)
