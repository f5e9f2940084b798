"""Configuration fields shared by the real/bogus tasks (pex_config mixins).

Each mixin holds fields and their validation only; a mixin with a check of its
own runs it from its ``validate``, which chains to the next class's, so a task
config that mixes it in gets the check without calling it.  List the mixins
before ``PipelineTaskConfig`` among a config's bases.
"""

from __future__ import annotations

__all__ = (
    "CutoutFieldsMixin",
    "CutoutSizeMixin",
    "DesomSourceMixin",
    "DiaSourceColumnsMixin",
    "ModelSourceMixin",
    "QualityClassesMixin",
    "QualityModelSourceMixin",
    "QualitySourcesMixin",
    "RetainFreedMemoryMixin",
    "TorchDeviceMixin",
    "check_version_field",
)

import logging
import os

import lsst.pex.config as pexConfig

from .desom.model import default_desom_paths
from .inference.devices import check_device
from .inference.model import choose_backend, default_model_path
from .simulation.quality import QUALITY_CLASSES


def check_version_field(config: pexConfig.Config, name: str, max_length: int) -> None:
    """Raise `~lsst.pex.config.FieldValidationError` unless field ``name`` is 1 to ``max_length`` characters.

    Model versions are written in every output row, in a column of fixed
    width; the message names the limit and the value (a ``check=`` on the
    field would only say the value is not valid).
    """
    value = getattr(config, name)
    if not 0 < len(value) <= max_length:
        raise pexConfig.FieldValidationError(
            type(config)._fields[name],
            config,
            f"must be 1 to {max_length} characters (it is written in every output row), "
            f"got {value!r} ({len(value)})",
        )


class DiaSourceColumnsMixin(pexConfig.Config):
    """How the diaSource table is read: its storage class and columns.

    Goes with `~lsst.meas.realbogus.sharedConnections.DiaSourceStorageConnections`.
    """

    diaSourceStorageClass = pexConfig.ChoiceField[str](
        doc="Storage class the diaSources connection reads the diaSource table as.",
        default="ArrowAstropy",
        allowed={
            "ArrowAstropy": "a Parquet table (this package's simulator; any ArrowAstropy or DataFrame "
            "dataset)",
            "AstropyTable": "an afw SourceCatalog of the Rubin stack (alert production's "
            "dia_source_unstandardized), converted by the butler with afw's asAstropy",
        },
    )

    xColumn = pexConfig.Field[str](doc="Centroid x column of the diaSource table (pixels).", default="x")
    yColumn = pexConfig.Field[str](doc="Centroid y column of the diaSource table (pixels).", default="y")
    idColumn = pexConfig.Field[str](doc="Identifier column of the diaSource table.", default="diaSourceId")


class CutoutFieldsMixin(pexConfig.Config):
    """How cutouts are cut (identical for training, scoring and evaluation)."""

    fillValue = pexConfig.Field[float](
        doc="Value of pixels off the image edge or missing (NaN, infinite, sentinel values of magnitude "
        ">= 1e30, or masked), before normalization. NaN (the default): they are left out of the "
        "normalization's statistics and take the value the median maps to, so edge cutouts, masked "
        "cores and small stamps keep the contrast of the pixels they have. A number (0 was the default "
        "before rbsim04): they take that value and count in the statistics.",
        default=float("nan"),
    )
    badMaskPlanes = pexConfig.ListField[str](
        doc="Mask planes whose pixels are treated as missing (replaced by fillValue and counted).",
        default=["NO_DATA", "SATURATED", "BAD"],
    )


class CutoutSizeMixin(pexConfig.Config):
    """The size of the cutouts a task cuts from images."""

    cutoutSize = pexConfig.Field[int](
        doc="Cutout width and height, pixels. RealBogusTask: must equal its model's (checked when the "
        "task is built). BuildTrainingSetTask: the size of the stored triplets, which training may crop "
        "(TrainRealBogusConfig.cutoutSize).",
        default=51,
        check=lambda n: n >= 4,
    )


class ModelSourceMixin(pexConfig.Config):
    """Where a task gets its real/bogus model.

    Goes with `~lsst.meas.realbogus.sharedConnections.ModelConnections`;
    `validate` checks that the model file exists when it comes from a file.
    """

    modelSource = pexConfig.ChoiceField[str](
        doc="Where the model comes from.",
        default="file",
        allowed={
            "file": "the file modelFile (default: the model shipped in the package)",
            "butler": "the dataset connections.model (default realbogus_model) in the input collections",
        },
    )
    modelFile = pexConfig.Field[str](
        doc="Model file (with meas_realbogus metadata), in the format of backend. Empty: the model "
        "shipped in the package (lsst/meas/realbogus/models/rb_default.pt, or rb_default.onnx).",
        default="",
    )

    backend = pexConfig.ChoiceField[str](
        doc="Inference backend, which sets the model file's format (modelSource 'file' only).",
        default="auto",
        allowed={
            "auto": "on the CPU, onnx for a modelFile ending in .onnx and for the shipped model "
            "(rb_default.onnx), torchscript for any other file; torchscript on a GPU. Chosen by "
            "measurement: onnxruntime scores 4.5x faster on CPU (see task.rst)",
            "torchscript": "a TorchScript file run by torch (the shipped rb_default.pt by default)",
            "onnx": "an ONNX file run by onnxruntime (the shipped rb_default.onnx by default; export "
            "one with export_realbogus_onnx.py)",
        },
    )

    def resolved_backend(self) -> str:
        """The backend this config uses (``auto`` resolved; models in the butler are TorchScript)."""
        if self.modelSource == "butler":
            return "torchscript"
        return choose_backend(self.backend, getattr(self, "device", "cpu"), self.modelFile)

    def resolved_model_file(self) -> str:
        """The model file this config uses."""
        return self.modelFile or default_model_path(self.resolved_backend())

    def validate(self) -> None:
        """Validate, and raise if ``modelSource`` is ``file`` and the file does not exist."""
        super().validate()
        if self.backend == "onnx" and self.modelSource == "butler":
            raise pexConfig.FieldValidationError(
                ModelSourceMixin.backend, self, "models in the butler are TorchScript: use modelSource='file'"
            )
        if self.modelSource == "file" and not os.path.isfile(self.resolved_model_file()):
            raise pexConfig.FieldValidationError(
                ModelSourceMixin.modelFile, self, f"model file {self.resolved_model_file()} does not exist"
            )


class DesomSourceMixin(pexConfig.Config):
    """DESOM flagging of every diaSource, and where its DESOM and prototype labelling come from.

    Goes with `~lsst.meas.realbogus.sharedConnections.DesomConnections`;
    `validate` checks that flagging has a DESOM and a labelling.
    """

    doDesom = pexConfig.Field[bool](
        doc="Place every diaSource on a DESOM's map: its prototype (PV), whether that PV is labelled "
        "real, its distance to it, flag_unusual, and the stacked score if the labelling has one.",
        default=False,
    )
    desomSource = pexConfig.ChoiceField[str](
        doc="Where the DESOM and its labelling come from (with doDesom).",
        default="file",
        allowed={
            "file": "the files desomFile and desomLabelsFile",
            "butler": "the datasets connections.desom and connections.desomLabels (default realbogus_desom "
            "and realbogus_desom_labels) in the input collections",
        },
    )
    desomFile = pexConfig.Field[str](
        doc="DESOM file (TrainDesomTask's outputFile) when desomSource is 'file'. Empty: the DESOM shipped "
        "in the package (lsst/meas/realbogus/models/desom_default.pt).",
        default="",
    )
    desomLabelsFile = pexConfig.Field[str](
        doc="Prototype labelling YAML file (TrainDesomTask's labelsFile, possibly edited) when "
        "desomSource is 'file'. Empty: the labelling shipped with the package's DESOM.",
        default="",
    )
    unusualPercentile = pexConfig.Field[float](
        doc="flag_unusual is set when a diaSource's distance to its PV exceeds this percentile of the "
        "training distances (one the DESOM file records: 50, 90, 95, 99 or 99.9).",
        default=99.0,
    )

    def resolved_desom_files(self) -> tuple[str, str]:
        """The DESOM file and the labelling file this config uses."""
        default_desom, default_labels = default_desom_paths()
        return self.desomFile or default_desom, self.desomLabelsFile or default_labels

    def validate(self) -> None:
        """Validate, and raise if flagging is on without a DESOM or a labelling file."""
        super().validate()
        if not self.doDesom or self.desomSource != "file":
            return
        fields = (DesomSourceMixin.desomFile, DesomSourceMixin.desomLabelsFile)
        for field, value, what in zip(fields, self.resolved_desom_files(), ("DESOM", "prototype labelling")):
            if not os.path.isfile(value):
                raise pexConfig.FieldValidationError(
                    field, self, f"doDesom is set, but the {what} file {value} does not exist"
                )


class TorchDeviceMixin(pexConfig.Config):
    """Where torch runs.

    The task applies these: it calls `check_device_here` when it is built,
    and sets torch's thread count
    (`lsst.meas.realbogus.inference.devices.set_torch_threads`).
    """

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

    def check_device_here(self) -> None:
        """Raise `~lsst.pex.config.FieldValidationError` if ``device`` is not on this machine.

        Not part of `validate`: a quantum graph may be built (and its configs
        validated) on a machine without the GPU of the one that runs it, so
        the task checks when it is built, before it reads any data.
        """
        try:
            check_device(self.device)
        except ValueError as err:
            raise pexConfig.FieldValidationError(TorchDeviceMixin.device, self, str(err)) from None


class RetainFreedMemoryMixin(pexConfig.Config):
    """Whether a training task has glibc's ``malloc`` keep freed memory.

    The task calls `apply_retain_freed_memory` at the start of ``run``.
    """

    retainFreedMemory = pexConfig.Field[bool](
        doc="Have glibc's malloc keep freed memory in the process for the rest of its life (mmap threshold "
        "32 MiB, trim threshold 1 GiB, top pad 256 MiB), so a training step reuses the last one's memory "
        "instead of faulting it in again from the kernel: measured on 2 CPU cores, dia_cnn epochs 1.2-1.5 "
        "times and DESOM training 1.2-1.3 times as fast, at the cost of up to about 1 GiB more resident "
        "memory. Nothing changes in the weights. Ignored where the C library is not glibc.",
        default=True,
    )

    def apply_retain_freed_memory(self, log: logging.Logger) -> None:
        """Apply ``retainFreedMemory`` to this process, saying so in ``log`` if it cannot be."""
        if not self.retainFreedMemory:
            return
        from .cnn.allocator import retain_freed_memory

        if not retain_freed_memory():
            log.info(
                "retainFreedMemory: the C library has no mallopt (not glibc: its allocator is left as it "
                "is) or refused one of the settings (the others hold)."
            )


class QualitySourcesMixin(pexConfig.Config):
    """How sources are found on a science image for exposure quality (identical in training and use)."""

    detectionThreshold = pexConfig.Field[float](
        doc="Sources are found this many sigma above the background (seed 002: 2), on the image smoothed "
        "by SEP's default 3x3 kernel.",
        default=2.0,
        check=lambda t: t > 0,
    )
    minArea = pexConfig.Field[int](
        doc="Sources have at least this many connected pixels above the threshold (seed 002: 5).",
        default=5,
        check=lambda n: n >= 1,
    )
    backgroundBox = pexConfig.Field[int](
        doc="Size of the background mesh, pixels. 0 (the default): one background level and noise for the "
        "whole image, so that gradients and scattered light, problems to be seen, are not modelled away.",
        default=0,
        check=lambda n: n >= 0,
    )
    maxSources = pexConfig.Field[int](
        doc="Cut at most this many sources per image (a seeded random subsample; the histogram is scaled "
        "to the number detected, seed 002 section 5.2). 0: all.",
        default=500,
        check=lambda n: n >= 0,
    )
    minSources = pexConfig.Field[int](
        doc="An image with fewer sources on its thumbnails than this gets no cell: flag_tooFewSources, "
        "with its count (it is not dropped).",
        default=20,
        check=lambda n: n >= 1,
    )
    qualityBadMaskPlanes = pexConfig.ListField[str](
        doc="Mask planes whose pixels are left out of detection and are missing in the thumbnails "
        "(planes absent from an image are ignored).",
        default=["NO_DATA"],
    )

    def source_arguments(self) -> dict:
        """Keyword arguments of `lsst.meas.realbogus.quality.sources.source_thumbnails` (but the seed)."""
        return {
            "max_sources": self.maxSources,
            "threshold": self.detectionThreshold,
            "min_area": self.minArea,
            "background_box": self.backgroundBox,
        }


class QualityModelSourceMixin(pexConfig.Config):
    """Where exposure quality gets DESOM-1, DESOM-2 and the cell labels.

    Goes with `~lsst.meas.realbogus.sharedConnections.QualityModelConnections`;
    `validate` checks that the files exist when they come from files.
    """

    qualitySource = pexConfig.ChoiceField[str](
        doc="Where the three exposure-quality models come from.",
        default="file",
        allowed={
            "file": "the files desom1File, desom2File and cellLabelsFile (default: those shipped)",
            "butler": "the datasets connections.desom1, desom2 and cellLabels (TrainExposureQualityTask's "
            "outputs) in the input collections",
        },
    )
    desom1File = pexConfig.Field[str](
        doc="DESOM-1 file. Empty: the package's models/quality_desom1.pt.", default=""
    )
    desom2File = pexConfig.Field[str](
        doc="DESOM-2 file. Empty: the package's models/quality_desom2.pt.", default=""
    )
    cellLabelsFile = pexConfig.Field[str](
        doc="DESOM-2 cell labels (YAML, possibly edited). Empty: the package's "
        "models/quality_cell_labels.yaml.",
        default="",
    )

    def resolved_quality_files(self) -> tuple[str, str, str]:
        """The DESOM-1, DESOM-2 and cell-label files this config uses."""
        from .quality.models import default_quality_paths

        defaults = default_quality_paths()
        return tuple(  # type: ignore[return-value]
            given or default
            for given, default in zip((self.desom1File, self.desom2File, self.cellLabelsFile), defaults)
        )

    def validate(self) -> None:
        """Validate, and raise if a model file is missing."""
        super().validate()
        if self.qualitySource != "file":
            return
        fields = (
            QualityModelSourceMixin.desom1File,
            QualityModelSourceMixin.desom2File,
            QualityModelSourceMixin.cellLabelsFile,
        )
        for field, path in zip(fields, self.resolved_quality_files()):
            if not os.path.isfile(path):
                raise pexConfig.FieldValidationError(field, self, f"{path} does not exist")


class QualityClassesMixin(pexConfig.Config):
    """The quality classes of exposure quality, and where a visit's known class is read."""

    labelColumn = pexConfig.Field[str](
        doc="Column of the known-label tables (connections.knownLabels) holding the quality class.",
        default="quality",
    )
    classes = pexConfig.ListField[str](
        doc="Quality classes, in the order of the figures and the confusion matrix (default: the "
        "simulator's).",
        default=list(QUALITY_CLASSES),
    )
    goodClass = pexConfig.Field[str](
        doc="The class that is usable as it is: the positive class of the figures of merit.", default="good"
    )

    def validate(self) -> None:
        """Validate, and raise if ``goodClass`` is not one of ``classes``."""
        super().validate()
        if self.goodClass not in self.classes:
            raise pexConfig.FieldValidationError(
                QualityClassesMixin.goodClass, self, f"{self.goodClass!r} is not among {list(self.classes)}"
            )
