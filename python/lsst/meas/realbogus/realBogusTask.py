"""RealBogusTask: score every diaSource of a detector with a TorchScript real/bogus model."""

from __future__ import annotations

__all__ = ("RealBogusConfig", "RealBogusConnections", "RealBogusTask", "default_model_path")

import os
import time
from typing import Any

import astropy.table
import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase
import lsst.pipe.base.connectionTypes as cT

from .cutouts import cut_images
from .model import LoadedModel, load_model
from .normalization import normalize
from .sharedConfig import (
    CutoutFieldsMixin,
    DiaSourceColumnsMixin,
    ModelSourceMixin,
    TorchDeviceMixin,
    default_model_path,
)


class RealBogusConnections(pipeBase.PipelineTaskConnections, dimensions=("instrument", "visit", "detector")):
    """Inputs and output of `RealBogusTask` (dataset type names as in current alert production)."""

    diaSources = cT.Input(
        doc="diaSources detected on the difference image (one score row is written for each).",
        name="dia_source_unstandardized",
        storageClass="ArrowAstropy",
        dimensions=("instrument", "visit", "detector"),
    )
    science = cT.Input(
        doc="Calibrated science image the difference image was made from.",
        name="preliminary_visit_image",
        storageClass="VisitImage",
        dimensions=("instrument", "visit", "detector"),
    )
    template = cT.Input(
        doc="Template warped to the science image's detector.",
        name="template_detector",
        storageClass="VisitImage",
        dimensions=("instrument", "visit", "detector"),
    )
    difference = cT.Input(
        doc="Difference image (science minus PSF-matched template).",
        name="difference_image",
        storageClass="DifferenceImage",
        dimensions=("instrument", "visit", "detector"),
    )
    model = cT.PrerequisiteInput(
        doc="Real/bogus model stored in the butler (used when config.modelSource is 'butler').",
        name="realbogus_model",
        storageClass="RealBogusModel",
        dimensions=(),
    )
    scores = cT.Output(
        doc="Real/bogus score and flags of every input diaSource, in input order.",
        name="dia_source_realbogus",
        storageClass="ArrowAstropy",
        dimensions=("instrument", "visit", "detector"),
    )

    def __init__(self, *, config: RealBogusConfig | None = None) -> None:
        super().__init__(config=config)
        if config is None or config.modelSource != "butler":
            del self.model


class RealBogusConfig(
    pipeBase.PipelineTaskConfig,
    ModelSourceMixin,
    CutoutFieldsMixin,
    DiaSourceColumnsMixin,
    TorchDeviceMixin,
    pipelineConnections=RealBogusConnections,
):
    """Configuration of `RealBogusTask`."""

    cutoutSize = pexConfig.Field[int](
        doc="Cutout width and height, pixels; must equal the model's (checked at start-up).",
        default=51,
        check=lambda n: n >= 4,
    )
    maxBadPixelFraction = pexConfig.Field[float](
        doc="Flag a diaSource (flag_badPixels) when more than this fraction of its cutout pixels is "
        "NaN, masked or off the image (in any channel).",
        default=0.2,
        check=lambda f: 0.0 <= f <= 1.0,
    )
    batchSize = pexConfig.Field[int](doc="Cutouts per model batch.", default=512, check=lambda n: n > 0)

    def validate(self) -> None:
        super().validate()
        self.validate_model_source()


class RealBogusTask(pipeBase.PipelineTask):
    """Score every diaSource of a detector as real (1) or bogus (0).

    Template, science and difference cutouts are cut around each diaSource
    centroid in one pass over each image, normalized as the model's metadata
    says, and scored by the TorchScript model in batches.  The output has
    exactly one row per input diaSource, in input order, with flags for
    cutouts off the image edge, cutouts with too many NaN or masked pixels,
    and rows that could not be scored (non-finite centroid or model output).

    The model is loaded once per process, and checked against the
    configuration when the task is constructed, before any data is read.
    """

    ConfigClass = RealBogusConfig
    _DefaultName = "realBogus"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model: LoadedModel | None = None
        self._cutout_buffer: np.ndarray | None = None
        self.config.apply_threads()
        if self.config.modelSource == "file":
            # Raises ModelError, naming the file and the problem, before any data is read.
            self.set_model(load_model(self.config.resolved_model_file(), device=self.config.device))

    def set_model(self, model: LoadedModel) -> None:
        """Use ``model``, after checking it against the configuration.

        Raises
        ------
        lsst.meas.realbogus.model.ModelError
            If the model does not take the configured cutout size.
        """
        if model.device != self.config.device:
            model = load_model(model.path, device=self.config.device)
        model.check_compatible(cutout_size=self.config.cutoutSize)
        self.model = model
        md = model.metadata
        self.log.debug(
            "Model %s (version %s, %s, channels %s, normalization %s).",
            model.path,
            md.version,
            md.architecture,
            md.channels,
            md.normalization,
        )

    def _buffer(self, n: int, md) -> np.ndarray | None:
        """A cutout buffer reused from detector to detector (up to 256 MB), or `None` for a fresh one."""
        shape = (len(md.channels), md.cutout_size, md.cutout_size)
        if n * np.prod(shape) * 4 > 256 * 2**20:
            return None
        buffer = self._cutout_buffer
        if buffer is None or buffer.shape[1:] != shape or len(buffer) < n:
            buffer = self._cutout_buffer = np.empty((max(n, 1024),) + shape, dtype=np.float32)
        return buffer

    def runQuantum(
        self,
        butlerQC: pipeBase.QuantumContext,
        inputRefs: pipeBase.InputQuantizedConnection,
        outputRefs: pipeBase.OutputQuantizedConnection,
    ) -> None:
        self.config.apply_threads(butlerQC.resources.num_cores)
        if self.config.modelSource == "butler":
            # The model first: a wrong model fails before the images are read.
            self.set_model(butlerQC.get(inputRefs.model))
        inputs = {
            name: butlerQC.get(getattr(inputRefs, name))
            for name in ("diaSources", "science", "template", "difference")
        }
        outputs = self.run(**inputs)
        butlerQC.put(outputs, outputRefs)

    def run(
        self, diaSources: astropy.table.Table, science: Any, template: Any, difference: Any
    ) -> pipeBase.Struct:
        """Score diaSources.

        Parameters
        ----------
        diaSources : `astropy.table.Table`
            diaSources, with id and centroid columns (see config).
        science, template : `lsst.images.VisitImage`
            Science image and template, on the same pixel grid.
        difference : `lsst.images.DifferenceImage`
            Difference image, on the same pixel grid.

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``scores``: `astropy.table.Table` with one row per diaSource.

        Raises
        ------
        ValueError
            If a required column is missing or the images are not on one
            pixel grid.
        """
        config = self.config
        if self.model is None:
            raise RuntimeError("No model: with modelSource='butler', call set_model() before run().")
        md = self.model.metadata
        for column in (config.idColumn, config.xColumn, config.yColumn):
            if column not in diaSources.colnames:
                raise ValueError(f"diaSource table has no column {column!r} (columns: {diaSources.colnames})")
        images = {"science": science, "template": template, "difference": difference}
        bbox = difference.bbox
        for name, image in images.items():
            if image.bbox != bbox:
                raise ValueError(
                    f"{name} image bbox {image.bbox} differs from the difference image bbox {bbox}"
                )

        t0 = time.perf_counter()
        x = np.asarray(diaSources[config.xColumn], dtype=np.float64)
        y = np.asarray(diaSources[config.yColumn], dtype=np.float64)
        cutouts = cut_images(
            images,
            md.channels,
            x,
            y,
            md.cutout_size,
            fill=config.fillValue,
            bad_mask_planes=config.badMaskPlanes,
            out=self._buffer(len(x), md),
        )
        t1 = time.perf_counter()
        normalized = normalize(cutouts.data, md.normalization)
        t2 = time.perf_counter()
        scorable = np.isfinite(x) & np.isfinite(y)
        scores = np.full(len(x), np.nan, dtype=np.float32)
        if scorable.all():
            scores[:] = self.model.predict(normalized, batch_size=config.batchSize)
        elif scorable.any():
            # Only the rare unscorable rows force a copy of the cutouts.
            scores[scorable] = self.model.predict(normalized[scorable], batch_size=config.batchSize)
        t3 = time.perf_counter()
        no_score = ~np.isfinite(scores)
        scores[no_score] = np.nan

        table = astropy.table.Table(
            {
                config.idColumn: np.asarray(diaSources[config.idColumn]),
                "score": scores,
                "flag_edge": cutouts.off_image,
                "flag_badPixels": cutouts.bad_fraction > config.maxBadPixelFraction,
                "flag_noScore": no_score,
                "badPixelFraction": cutouts.bad_fraction,
            }
        )
        table["modelVersion"] = np.full(len(table), md.version, dtype="U7")
        table.meta["MODEL_VERSION"] = md.version
        table.meta["MODEL_FILE"] = os.path.basename(self.model.path)
        self.metadata["cutoutSeconds"] = t1 - t0
        self.metadata["normalizationSeconds"] = t2 - t1
        self.metadata["modelSeconds"] = t3 - t2
        self.metadata["numSources"] = len(table)
        self.metadata["numFlaggedEdge"] = int(table["flag_edge"].sum())
        self.metadata["numFlaggedBadPixels"] = int(table["flag_badPixels"].sum())
        self.metadata["numNoScore"] = int(no_score.sum())
        self.log.info(
            "Scored %d diaSources (%d at the edge, %d with bad pixels, %d unscored) in %.2f s "
            "(cutouts %.2f s, normalization %.2f s, model %.2f s).",
            len(table),
            table["flag_edge"].sum(),
            table["flag_badPixels"].sum(),
            no_score.sum(),
            t3 - t0,
            t1 - t0,
            t2 - t1,
            t3 - t2,
        )
        return pipeBase.Struct(scores=table)
