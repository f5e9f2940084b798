"""Configuration fields shared by the real/bogus tasks (pex_config mixins)."""

from __future__ import annotations

__all__ = (
    "CutoutFieldsMixin",
    "DiaSourceColumnsMixin",
    "ModelSourceMixin",
    "TorchDeviceMixin",
    "default_model_path",
)

import os
from importlib import resources

import lsst.pex.config as pexConfig

DEFAULT_MODEL = "rb_default.pt"


def default_model_path() -> str:
    """Path of the model shipped in the package."""
    return str(resources.files("lsst.meas.realbogus") / "models" / DEFAULT_MODEL)


class DiaSourceColumnsMixin(pexConfig.Config):
    """Columns read from the diaSource table."""

    xColumn = pexConfig.Field[str](doc="Centroid x column of the diaSource table (pixels).", default="x")
    yColumn = pexConfig.Field[str](doc="Centroid y column of the diaSource table (pixels).", default="y")
    idColumn = pexConfig.Field[str](doc="Identifier column of the diaSource table.", default="diaSourceId")


class CutoutFieldsMixin(pexConfig.Config):
    """How cutouts are cut (identical for training, scoring and evaluation)."""

    fillValue = pexConfig.Field[float](
        doc="Pixel value used off the image edge and for NaN or masked pixels, before normalization.",
        default=0.0,
    )
    badMaskPlanes = pexConfig.ListField[str](
        doc="Mask planes whose pixels are treated as missing (replaced by fillValue and counted).",
        default=["NO_DATA", "SATURATED", "BAD"],
    )


class ModelSourceMixin(pexConfig.Config):
    """Where a task gets its real/bogus model; call `validate_model_source` from ``validate``."""

    modelSource = pexConfig.ChoiceField[str](
        doc="Where the model comes from.",
        default="file",
        allowed={
            "file": "the file modelFile (default: the model shipped in the package)",
            "butler": "the dataset connections.model (default realbogus_model) in the input collections",
        },
    )
    modelFile = pexConfig.Field[str](
        doc="TorchScript model file (with meas_realbogus metadata). Empty: the model shipped in the "
        "package (lsst/meas/realbogus/models/rb_default.pt).",
        default="",
    )

    def resolved_model_file(self) -> str:
        """The model file this config uses."""
        return self.modelFile or default_model_path()

    def validate_model_source(self) -> None:
        """Raise if ``modelSource`` is ``file`` and the file does not exist."""
        if self.modelSource == "butler":
            return
        path = self.resolved_model_file()
        if not os.path.isfile(path):
            raise pexConfig.FieldValidationError(
                type(self).modelFile, self, f"model file {path} does not exist"
            )


class TorchDeviceMixin(pexConfig.Config):
    """Where torch runs."""

    device = pexConfig.Field[str](
        doc="Torch device: 'cpu', 'cuda' or 'cuda:N'.",
        default="cpu",
        check=lambda d: d == "cpu" or d == "cuda" or d.startswith("cuda:"),
    )
    numThreads = pexConfig.Field[int](
        doc="CPU threads for torch. 0: under pipetask, the cores granted to each quantum "
        "(--cores-per-quantum, default 1; pipetask turns implicit threading off); outside it, "
        "torch's default (one per core).",
        default=0,
        check=lambda n: n >= 0,
    )

    def apply_threads(self, cores: int | None = None) -> None:
        """Set torch's CPU thread count: ``numThreads`` if set, else ``cores`` if given.

        Parameters
        ----------
        cores : `int`, optional
            Cores granted to the quantum (``butlerQC.resources.num_cores``).
        """
        threads = self.numThreads or cores
        if threads:
            import torch

            torch.set_num_threads(threads)
