"""ExposureQualityTask: place a detector-visit on DESOM-2's map through its prototype histogram (seed 002)."""

from __future__ import annotations

__all__ = (
    "ExposureQualityConfig",
    "ExposureQualityConnections",
    "ExposureQualityTask",
    "exposure_seed",
    "quality_row",
)

from typing import Any

import astropy.table
import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase
import lsst.pipe.base.connectionTypes as cT
from lsst.utils.timer import timeMethod

from .desom.model import LoadedDesom
from .inference import set_torch_threads
from .inference.metadata import ModelError
from .quality.histograms import desom2_input, histo_vector
from .quality.labelling import CellLabels
from .quality.models import QualityModels, check_quality_models, load_quality_models
from .quality.plots import plot_density_beside_image
from .quality.sources import preview_image, source_thumbnails
from .sharedConfig import QualityModelSourceMixin, QualitySourcesMixin, TorchDeviceMixin
from .sharedConnections import PER_DETECTOR, DetectorInputConnections, QualityModelConnections, connect_to
from .stamps.cutouts import bad_pixels

PREVIEW_SIZE = 64
"""Width and height of the binned image kept in every row (for the figures)."""


def exposure_seed(visit: int, detector: int) -> int:
    """Seed of a detector-visit's source subsample (the same image always gives the same histogram)."""
    return int(visit) * 1000 + int(detector)


class ExposureQualityConnections(QualityModelConnections, dimensions=PER_DETECTOR):
    """A science image (and the three models, if in the butler) in; its quality row out."""

    science = connect_to(cT.Input, DetectorInputConnections.science, "Science image whose quality to assess.")
    exposureQuality = cT.Output(
        doc="One row: the detector-visit's source counts, prototype histogram over DESOM-1, DESOM-2 cell, "
        "distance and quality label, and a binned preview of the image.",
        name="exposure_quality",
        storageClass="ArrowAstropy",
        dimensions=PER_DETECTOR,
    )
    densityPlot = cT.Output(
        doc="The image beside its density map over DESOM-1 and its histo-vector (PNG; with doPlot).",
        name="exposure_quality_density_plot",
        storageClass="Plot",
        dimensions=PER_DETECTOR,
    )

    def __init__(self, *, config: ExposureQualityConfig | None = None) -> None:
        super().__init__(config=config)
        if config is None or not config.doPlot:
            del self.densityPlot


class ExposureQualityConfig(
    QualityModelSourceMixin,
    QualitySourcesMixin,
    TorchDeviceMixin,
    pipeBase.PipelineTaskConfig,
    pipelineConnections=ExposureQualityConnections,
):
    """Configuration of `ExposureQualityTask` (source settings: those the models were trained with)."""

    doPlot = pexConfig.Field[bool](
        doc="Also write each detector-visit's density map beside its image (densityPlot).", default=False
    )


class ExposureQualityTask(pipeBase.PipelineTask):
    """Assess the quality of a detector-visit as seed 002 does.

    Sources are detected on the science image
    (`~lsst.meas.realbogus.quality.sources`), cut to DESOM-1's thumbnails and
    placed on its map; their histogram over the map ("histo-vector"),
    scaled to the number detected, is placed on DESOM-2's map, whose cell
    gives the label.  An image with fewer than ``minSources`` thumbnails gets
    ``flag_tooFewSources`` and no cell (cell -1, empty label), with its counts.
    The models are checked against each other when the task is built (files)
    or when they are read (butler).
    """

    ConfigClass = ExposureQualityConfig
    _DefaultName = "exposureQuality"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config.check_device_here()
        set_torch_threads(self.config.numThreads)
        self.models: QualityModels | None = None
        if self.config.qualitySource == "file":
            self.models = load_quality_models(
                *self.config.resolved_quality_files(), device=self.config.device
            )

    def runQuantum(
        self,
        butlerQC: pipeBase.QuantumContext,
        inputRefs: pipeBase.InputQuantizedConnection,
        outputRefs: pipeBase.OutputQuantizedConnection,
    ) -> None:
        set_torch_threads(self.config.numThreads or butlerQC.resources.num_cores)
        if self.config.qualitySource == "butler":
            desom1: LoadedDesom = butlerQC.get(inputRefs.desom1)
            desom2: LoadedDesom = butlerQC.get(inputRefs.desom2)
            where = f"dataset {inputRefs.cellLabels.datasetType.name} in {inputRefs.cellLabels.run}"
            try:
                labels = CellLabels.from_dict(butlerQC.get(inputRefs.cellLabels), where=where)
            except ValueError as err:
                raise ModelError(str(err)) from None
            check_quality_models(desom1, desom2, labels, where)
            self.models = QualityModels(desom1, desom2, labels)
        data_id = butlerQC.quantum.dataId
        outputs = self.run(
            butlerQC.get(inputRefs.science), visit=data_id["visit"], detector=data_id["detector"]
        )
        butlerQC.put(outputs, outputRefs)

    @timeMethod
    def run(self, science: Any, visit: int = 0, detector: int = 0) -> pipeBase.Struct:
        """Place one science image on the quality map.

        Parameters
        ----------
        science : `lsst.images.VisitImage`
            The science image.
        visit, detector : `int`
            Its data ID (recorded in the row, and the subsample's seed).

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``exposureQuality`` (`astropy.table.Table`, one row) and, with
            ``doPlot``, ``densityPlot``.
        """
        if self.models is None:
            raise RuntimeError("No models: with qualitySource='butler', set task.models before run().")
        config = self.config
        models = self.models
        desom1 = models.desom1
        image = science.image.array
        bad = bad_pixels(science, list(config.qualityBadMaskPlanes))
        sources, chosen, batch = source_thumbnails(
            image,
            bad,
            desom1.metadata.input,
            seed=exposure_seed(visit, detector),
            **config.source_arguments(),
        )
        cells1 = desom1.metadata.map_rows * desom1.metadata.map_cols
        pv = desom1.assign(batch)[0] if len(batch) else np.zeros(0, dtype=np.int64)
        histogram = histo_vector(pv, cells1, len(sources))
        cell, distance = -1, float("nan")
        too_few = len(chosen) < config.minSources
        if too_few:
            self.log.warning(
                "Visit %d detector %d: %d sources on thumbnails (%d detected), fewer than minSources=%d: "
                "flagged, not placed.",
                visit,
                detector,
                len(chosen),
                len(sources),
                config.minSources,
            )
        else:
            md2 = models.desom2.metadata
            scaled = desom2_input(histogram, md2.histogram_normalization, np.asarray(md2.histogram_scale))
            cells, distances = models.desom2.assign(scaled)
            cell, distance = int(cells[0]), float(distances[0])
        row = quality_row(
            visit,
            detector,
            n_detected=len(sources),
            n_used=len(chosen),
            histogram=histogram,
            cell=cell,
            distance=distance,
            labels=models.labels,
            preview=preview_image(image, PREVIEW_SIZE),
            background=(sources.background, sources.noise),
            versions=(desom1.metadata.version, models.desom2.metadata.version),
            too_few=too_few,
            histogram_shape=desom1.metadata.map_shape,
        )
        label = row["label"][0]
        self.log.info(
            "Visit %d detector %d: %d sources (%d cut), cell %d%s.",
            visit,
            detector,
            len(sources),
            len(chosen),
            cell,
            f", labelled {label}" if label else "",
        )
        outputs = pipeBase.Struct(exposureQuality=row)
        if config.doPlot:
            outputs.densityPlot = plot_density_beside_image(
                row["preview"][0],
                histogram,
                desom1.metadata.map_shape,
                f"visit {visit} detector {detector}: {len(sources)} sources; cell {cell} ({label or 'none'})",
            )
        return outputs


def quality_row(
    visit: int,
    detector: int,
    *,
    n_detected: int,
    n_used: int,
    histogram: np.ndarray,
    cell: int,
    distance: float,
    labels: CellLabels,
    preview: np.ndarray,
    background: tuple[float, float],
    versions: tuple[str, str],
    too_few: bool,
    histogram_shape: tuple[int, int],
) -> astropy.table.Table:
    """The one-row ``exposure_quality`` table of a detector-visit.

    ``histogram_shape`` is DESOM-1's map shape; DESOM-2's is the labels'.
    ``label`` is the cell's label (``cellLabel``), or the background check's
    when the sky fails it (``flag_background``).
    """
    rows, cols = labels.map_shape
    # The background check labels an exposure whatever its cell (or none, with too few sources).
    level, noise = background
    exposure = labels.exposure_labels(np.array([cell]), np.array([noise]), np.array([level]))
    label, cell_label, flag_background = (v[0] for v in exposure)
    return astropy.table.Table(
        {
            "visit": np.array([visit], dtype=np.int64),
            "detector": np.array([detector], dtype=np.int64),
            "nDetected": np.array([n_detected], dtype=np.int64),
            "nUsed": np.array([n_used], dtype=np.int64),
            "flag_tooFewSources": np.array([too_few]),
            "cell": np.array([cell], dtype=np.int64),
            "cellRow": np.array([cell // cols if cell >= 0 else -1], dtype=np.int64),
            "cellCol": np.array([cell % cols if cell >= 0 else -1], dtype=np.int64),
            "distance": np.array([distance], dtype=np.float32),
            "label": np.array([label], dtype=str),
            "cellLabel": np.array([cell_label], dtype=str),
            "flag_background": np.array([bool(flag_background)]),
            "background": np.array([level], dtype=np.float32),
            "backgroundNoise": np.array([noise], dtype=np.float32),
            "histogram": np.asarray(histogram, dtype=np.float32)[None, :],
            "preview": np.asarray(preview, dtype=np.float32)[None, :, :],
            "desom1Version": np.array([versions[0]]),
            "desom2Version": np.array([versions[1]]),
            "desom1Shape": np.array([histogram_shape], dtype=np.int64),
            "desom2Shape": np.array([(rows, cols)], dtype=np.int64),
        }
    )
