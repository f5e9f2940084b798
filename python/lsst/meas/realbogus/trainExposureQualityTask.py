"""TrainExposureQualityTask: train DESOM-1 and DESOM-2 and label DESOM-2's cells (seed 002)."""

from __future__ import annotations

__all__ = ("TrainExposureQualityConfig", "TrainExposureQualityConnections", "TrainExposureQualityTask")

import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase
import lsst.pipe.base.connectionTypes as cT
from lsst.utils.logging import PeriodicLogger
from lsst.utils.timer import timeMethod

from .cnn.blocks import ArrayBlocks
from .desom import plots as desom_plots
from .desom.model import DesomMetadata, LoadedDesom, load_desom
from .desom.network import DesomNetwork, save_desom
from .desom.training import DesomTrainingResult, train_desom
from .exposureQualityTask import exposure_seed
from .inference import set_torch_threads
from .quality.background import BackgroundCheck
from .quality.histograms import (
    HISTOGRAM_NORMALIZATIONS,
    cell_scale,
    desom2_input,
    histo_vector,
    scale_histograms,
)
from .quality.labelling import (
    CellLabels,
    apply_cell_edits,
    class_counts,
    label_by_majority,
    labels_by_visit,
    read_cell_edits,
)
from .quality.metrics import quality_metrics
from .quality.plots import plot_label_map
from .quality.sources import source_thumbnails
from .sharedConfig import (
    QualityClassesMixin,
    QualitySourcesMixin,
    RetainFreedMemoryMixin,
    TorchDeviceMixin,
    check_version_field,
)
from .sharedConnections import (
    DetectorInputConnections,
    QualityModelConnections,
    connect_to,
    for_every_detector,
    plot_output,
)
from .stamps import NORMALIZATIONS, ModelInput
from .stamps.cutouts import bad_pixels


class TrainExposureQualityConnections(pipeBase.PipelineTaskConnections, dimensions=()):
    """Every science image of the data query and the known quality of their visits in; the models out."""

    science = for_every_detector(DetectorInputConnections.science, "Science images to train on.")
    knownLabels = cT.Input(
        doc="Known quality of each visit (one-row tables with the column labelColumn); the simulator's "
        "truth by default.",
        name="realbogus_sim_visit_quality",
        storageClass="ArrowAstropy",
        dimensions=("instrument", "visit"),
        multiple=True,
    )
    desom1 = connect_to(cT.Output, QualityModelConnections.desom1, "DESOM-1, trained on source thumbnails.")
    desom2 = connect_to(
        cT.Output, QualityModelConnections.desom2, "DESOM-2, trained on prototype histograms."
    )
    cellLabels = connect_to(
        cT.Output, QualityModelConnections.cellLabels, "Quality label of each DESOM-2 cell (YAML; editable)."
    )
    history = cT.Output(
        doc="Training record: settings, losses, errors, and the cell labelling cross-validated over the "
        "training visits.",
        name="realbogus_quality_history",
        storageClass="StructuredDataDict",
        dimensions=(),
    )
    desom1MapPlot = plot_output("quality_desom1_map", "DESOM-1's decoded prototypes (seed 002 figure 6)")
    labelMapPlot = plot_output("quality_label_map", "DESOM-2's cells coloured by label (seed 002 figure 10)")

    def adjustQuantum(self, inputs: dict, outputs: dict, label: str, data_id: Any) -> tuple[dict, dict]:
        for name in ("science", "knownLabels"):
            connection, refs = inputs[name]
            if not refs:
                raise FileNotFoundError(f"{label}: no {connection.name} datasets to train on for {data_id}")
        return super().adjustQuantum(inputs, outputs, label, data_id)


class TrainExposureQualityConfig(
    QualityClassesMixin,
    QualitySourcesMixin,
    RetainFreedMemoryMixin,
    TorchDeviceMixin,
    pipeBase.PipelineTaskConfig,
    pipelineConnections=TrainExposureQualityConnections,
):
    """Configuration of `TrainExposureQualityTask` (defaults: seed 002, scaled to minutes on a CPU)."""

    modelVersion = pexConfig.Field[str](
        doc="Version of the pair, 1 to 6 characters: DESOM-1 is written as it plus 'a', DESOM-2 plus 'b'.",
        default="qual01",
    )
    thumbnailSize = pexConfig.Field[int](
        doc="DESOM-1 thumbnail size (seed 002: 32).", default=32, check=lambda n: n >= 24 and n % 8 == 0
    )
    normalization = pexConfig.ChoiceField[str](
        doc="Thumbnail normalization.",
        default="mong_eq9",
        allowed={name: "see lsst.meas.realbogus.stamps.normalization" for name in NORMALIZATIONS},
    )
    maxTrainingThumbnails = pexConfig.Field[int](
        doc="DESOM-1 trains on at most this many thumbnails of each image (a seeded subsample); every "
        "thumbnail counts in the histograms.",
        default=100,
        check=lambda n: n > 0,
    )
    desom1LatentSize = pexConfig.Field[int](doc="DESOM-1 latent size (seed 002: 160).", default=160)
    desom1Rows = pexConfig.Field[int](doc="DESOM-1 map rows (seed 002: 25).", default=25)
    desom1Cols = pexConfig.Field[int](doc="DESOM-1 map columns (seed 002: 25).", default=25)
    desom1AutoencoderEpochs = pexConfig.Field[int](
        doc="DESOM-1 epochs of the autoencoder alone before the joint ones.",
        default=5,
        check=lambda n: n >= 0,
    )
    desom1CombinedEpochs = pexConfig.Field[int](
        doc="DESOM-1 joint epochs (autoencoder and map, seed 002 section 3.4).",
        default=5,
        check=lambda n: n > 0,
    )
    desom1Augment = pexConfig.Field[bool](
        doc="DESOM-1's autoencoder sees each thumbnail turned and mirrored at random (the 8 flips and "
        "quarter turns, as TrainDesomConfig.augment). True by measurement: grouped cross-validated "
        "accuracy 0.944-0.973 and exact-class accuracy 0.83-0.94 on tract 3080 (three DESOM-2 seeds), "
        "against 0.917-0.948 and 0.63-0.66 without (see quality.rst).",
        default=True,
    )
    desom1Gamma = pexConfig.Field[float](
        doc="DESOM-1 weight of the SOM loss (seed 002: 0.0075).", default=0.0075
    )
    desom1TMax = pexConfig.Field[float](doc="DESOM-1 first temperature (seed 002: 10).", default=10.0)
    desom1TMin = pexConfig.Field[float](doc="DESOM-1 last temperature (seed 002: 0.5).", default=0.5)
    histogramNormalization = pexConfig.ChoiceField[str](
        doc="How each histogram is normalized before the per-cell scaling.",
        default="counts",
        allowed=HISTOGRAM_NORMALIZATIONS,
    )
    desom2LatentSize = pexConfig.Field[int](doc="DESOM-2 latent size.", default=32)
    desom2Rows = pexConfig.Field[int](doc="DESOM-2 map rows (seed 002: 20).", default=20)
    desom2Cols = pexConfig.Field[int](doc="DESOM-2 map columns (seed 002: 20).", default=20)
    desom2Mode = pexConfig.ChoiceField[str](
        doc="How DESOM-2's autoencoder and map are trained. 'separate' by measurement: trained jointly on "
        "the quality preset's 240 training histograms, the map collapsed onto 2 to 6 cells for three seeds "
        "in four (grouped cross-validated accuracy 0.49-0.72), separately it used about 200 cells and "
        "reached 0.92-0.97 (see quality.rst).",
        default="separate",
        allowed={
            "separate": "the autoencoder alone, then the batch SOM on its latent vectors",
            "combined": "jointly, on L_rec + gamma L_som (seed 002's DESOM)",
        },
    )
    desom2AutoencoderEpochs = pexConfig.Field[int](
        doc="DESOM-2 epochs of the dense autoencoder alone.", default=100, check=lambda n: n >= 1
    )
    desom2SomEpochs = pexConfig.Field[int](
        doc="DESOM-2 epochs of the batch SOM (separate mode).", default=30, check=lambda n: n > 0
    )
    desom2CombinedEpochs = pexConfig.Field[int](
        doc="DESOM-2 joint epochs (combined mode).", default=200, check=lambda n: n > 0
    )
    desom2Gamma = pexConfig.Field[float](doc="DESOM-2 weight of the SOM loss.", default=0.0075)
    desom2TMax = pexConfig.Field[float](doc="DESOM-2 first temperature.", default=10.0)
    desom2TMin = pexConfig.Field[float](doc="DESOM-2 last temperature.", default=0.5)
    desom2BatchSize = pexConfig.Field[int](doc="DESOM-2 minibatch size.", default=32, check=lambda n: n > 0)
    batchSize = pexConfig.Field[int](doc="DESOM-1 minibatch size.", default=256, check=lambda n: n > 0)
    learningRate = pexConfig.Field[float](doc="Adam learning rate.", default=1e-3, check=lambda r: r > 0)
    seed = pexConfig.Field[int](doc="Seed of the initialization, order and subsamples.", default=1)
    labelRadius = pexConfig.Field[float](
        doc="A cell is labelled by the majority of the known labels on it and on its neighbours, "
        "weighted by exp(-d^2 / 2 r^2) of their map distance d (cells); 0: the cell alone (seed 002). "
        "1 by measurement: grouped cross-validated accuracy 0.942-0.967 against 0.917-0.967 alone, "
        "over three seeds (see quality.rst).",
        default=1.0,
        check=lambda r: r >= 0,
    )
    fillEmptyCells = pexConfig.Field[bool](
        doc="Label the cells no training exposure landed on with the label of the nearest labelled cell "
        "(marked 'filled' in the labels); otherwise they stay unlabelled.",
        default=True,
    )
    validationFolds = pexConfig.Field[int](
        doc="Cross-validate the cell labelling over this many folds of the training visits: each fold's "
        "visits are labelled by cells labelled from the other folds' (figures in history, held_out; the "
        "labels written use every visit). The visits of one target (the visit record's target_name, a "
        "field: they share their sky, and would make the figures optimistic) stay in one fold. 0 or 1: "
        "none.",
        default=5,
        check=lambda n: n >= 0,
    )
    doBackgroundCheck = pexConfig.Field[bool](
        doc="Fit a background check on the good training exposures and keep it with the cell labels: "
        "an exposure whose background rms or level is beyond them is labelled backgroundClass whatever "
        "its cell (seed 002's maps see only sources; see quality.rst).",
        default=True,
    )
    backgroundClass = pexConfig.Field[str](
        doc="The class the background check gives (one of classes).", default="background"
    )
    backgroundByCheckOnly = pexConfig.Field[bool](
        doc="With doBackgroundCheck, only the check gives backgroundClass: the cells are labelled by the "
        "majority of their training exposures of the other classes, so an exposure whose sky passes the "
        "check gets the class its sources look like. A map of sources is a weak witness of the sky; "
        "chosen by the grouped cross-validation of tract 3080 (see quality.rst).",
        default=True,
    )
    backgroundNoiseMargin = pexConfig.Field[float](
        doc="Flag an rms above this times the largest ratio of a good training exposure's rms to their "
        "median.",
        default=1.25,
        check=lambda m: m >= 1,
    )
    backgroundLevelMargin = pexConfig.Field[float](
        doc="Flag a background level (in rms) above this times the largest of the good training exposures.",
        default=2.0,
        check=lambda m: m >= 1,
    )
    editsFile = pexConfig.Field[str](
        doc="YAML of hand edits of the cell labels (model_version: the DESOM-2 version, set: [[row, "
        "column, label], ...]); empty: none.",
        default="",
    )
    desom1File = pexConfig.Field[str](doc="Also write DESOM-1 here; empty: only to the butler.", default="")
    desom2File = pexConfig.Field[str](doc="Also write DESOM-2 here; empty: only to the butler.", default="")
    cellLabelsFile = pexConfig.Field[str](doc="Also write the cell labels here (YAML).", default="")
    outputDir = pexConfig.Field[str](doc="Also write the plots here as PNG files.", default="")

    def validate(self) -> None:
        super().validate()
        check_version_field(self, "modelVersion", 6)
        for name in ("desom1TMin", "desom2TMin"):
            t_min, t_max = getattr(self, name), getattr(self, name.replace("TMin", "TMax"))
            if not 0 < t_min <= t_max:
                raise pexConfig.FieldValidationError(
                    getattr(TrainExposureQualityConfig, name), self, f"must satisfy 0 < {name} <= TMax"
                )
        for field in ("desom1File", "desom2File", "cellLabelsFile"):
            value = getattr(self, field)
            if value and not os.path.isdir(os.path.dirname(os.path.abspath(value))):
                raise pexConfig.FieldValidationError(
                    getattr(TrainExposureQualityConfig, field), self, f"directory of {value} does not exist"
                )
        if self.doBackgroundCheck and self.backgroundClass not in self.classes:
            raise pexConfig.FieldValidationError(
                TrainExposureQualityConfig.backgroundClass,
                self,
                f"{self.backgroundClass!r} is not among {list(self.classes)}",
            )
        if self.editsFile and not os.path.isfile(self.editsFile):
            raise pexConfig.FieldValidationError(
                TrainExposureQualityConfig.editsFile, self, f"{self.editsFile} does not exist"
            )


class TrainExposureQualityTask(pipeBase.PipelineTask):
    """Train seed 002's two DESOMs and label the second one's cells.

    1. Sources are detected on every science image and cut to thumbnails
       (`~lsst.meas.realbogus.quality.sources`, the same code and settings as
       `~lsst.meas.realbogus.exposureQualityTask.ExposureQualityTask`).
    2. DESOM-1 (the convolutional autoencoder and map of
       `lsst.meas.realbogus.desom`, trained jointly) learns the thumbnails.
    3. Each image's histogram over DESOM-1's map, scaled to its number of
       sources, is divided by each cell's largest training value, and
       DESOM-2 (a dense autoencoder and map) learns those.
    4. Each DESOM-2 cell is labelled with the majority of the known labels of
       the visits on it; empty cells take their nearest labelled
       neighbour's; hand edits go on top.
    """

    ConfigClass = TrainExposureQualityConfig
    _DefaultName = "trainExposureQuality"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config.check_device_here()
        set_torch_threads(self.config.numThreads)
        self._workdir = tempfile.TemporaryDirectory(prefix="realbogus_quality_")

    def runQuantum(
        self,
        butlerQC: pipeBase.QuantumContext,
        inputRefs: pipeBase.InputQuantizedConnection,
        outputRefs: pipeBase.OutputQuantizedConnection,
    ) -> None:
        set_torch_threads(self.config.numThreads or butlerQC.resources.num_cores)
        handles = butlerQC.get(inputRefs.science)
        images = [(h.dataId["visit"], h.dataId["detector"], h) for h in handles]
        known = butlerQC.get(inputRefs.knownLabels)
        groups = {}
        for ref in inputRefs.knownLabels:
            record = ref.dataId.records["visit"] if ref.dataId.hasRecords() else None
            if record is not None and record.target_name:
                groups[ref.dataId["visit"]] = str(record.target_name)
        outputs = self.run(images, known, provenance=f"run {outputRefs.desom1.run}", groups=groups)
        butlerQC.put(outputs, outputRefs)

    @timeMethod
    def run(
        self,
        images: Sequence[tuple[int, int, Any]],
        known: Sequence[Any],
        provenance: str = "",
        groups: Mapping[int, str] | None = None,
    ) -> pipeBase.Struct:
        """Train both DESOMs and label the cells.

        Parameters
        ----------
        images : sequence of `tuple`
            ``(visit, detector, image)``, the image an `lsst.images.VisitImage`
            or a deferred handle to one.
        known : sequence of `astropy.table.Table`
            Tables with columns ``visit`` and ``labelColumn``.
        provenance : `str`
            Where the data came from, recorded in the DESOMs.
        groups : mapping [`int`, `str`], optional
            Visit to its target (field): the visits of one target stay in one
            fold of the cross-validation; default: each visit alone.

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``desom1``, ``desom2`` (`~lsst.meas.realbogus.desom.model.LoadedDesom`),
            ``cellLabels`` (`dict`), ``history`` (`dict`) and the figures.

        Raises
        ------
        ValueError
            If there are no images, a visit has no known label, a label is not
            one of ``classes``, or too few images have enough sources.
        """
        config = self.config
        if not images:
            raise ValueError("no science images to train on")
        truth = labels_by_visit(known, config.labelColumn)
        missing = sorted({v for v, _, _ in images} - set(truth))
        if missing:
            raise ValueError(
                f"no known quality for visits {missing[:10]}{'...' if len(missing) > 10 else ''}"
            )
        config.apply_retain_freed_memory(self.log)
        thumbnails = ModelInput(("science",), config.thumbnailSize, config.normalization)
        start = time.perf_counter()
        exposures = self._cut(images, thumbnails)
        self.log.info(
            "Cut %d thumbnails of %d images in %.0f s.",
            sum(len(e["batch"]) for e in exposures),
            len(exposures),
            time.perf_counter() - start,
        )
        version1, version2 = f"{config.modelVersion}a", f"{config.modelVersion}b"
        desom1, result1 = self._train_desom1(exposures, thumbnails, version1, provenance)
        cells1 = desom1.metadata.map_rows * desom1.metadata.map_cols
        for e in exposures:
            pv = desom1.assign(e["batch"].astype(np.float32))[0] if len(e["batch"]) else np.zeros(0, int)
            e["histogram"] = histo_vector(pv, cells1, e["n_detected"])
            del e["batch"]
        placed = [e for e in exposures if e["n_used"] >= config.minSources]
        if len(placed) < 2:
            raise ValueError(
                f"only {len(placed)} of {len(exposures)} images have at least "
                f"minSources={config.minSources} sources"
            )
        histograms = desom2_input(np.stack([e["histogram"] for e in placed]), config.histogramNormalization)
        scale = cell_scale(histograms)
        scaled = scale_histograms(histograms, scale)
        desom2, result2 = self._train_desom2(scaled, scale, version1, version2, provenance)
        cells = desom2.assign(scaled)[0]
        labels_known = [truth[e["visit"]] for e in placed]
        sky = np.array([(e["noise"], e["background"]) for e in placed], dtype=np.float64).reshape(-1, 2)
        labels, held_out = self._label(
            desom2,
            cells,
            labels_known,
            [(groups or {}).get(e["visit"], str(e["visit"])) for e in placed],
            sky,
        )
        if config.doBackgroundCheck:
            good = [e for e in exposures if truth[e["visit"]] == config.goodClass]
            labels.background_check = self._fit_background_check(
                np.array([(e["noise"], e["background"]) for e in good]).reshape(-1, 2)
            )
            self.log.info("Background check: %s.", labels.background_check.to_dict())
        by_check = config.doBackgroundCheck and config.backgroundByCheckOnly
        predicted = labels.exposure_labels(cells, sky[:, 0], sky[:, 1])[0]
        resubstitution = quality_metrics(labels_known, list(predicted), config.classes, config.goodClass)
        if config.cellLabelsFile:
            labels.write(config.cellLabelsFile)
        history = {
            "settings": {k: v for k, v in config.toDict().items() if k != "connections"},
            "images": len(exposures),
            "placed": len(placed),
            "too_few_sources": len(exposures) - len(placed),
            "desom1": result1.summary(),
            "desom2": result2.summary(),
            "labelling": {
                "resubstitution": resubstitution,
                "held_out": held_out,
                "filled_cells": int(labels.filled.sum()),
                "cells": len(labels.labels),
            },
            "metadata": {"desom1": desom1.metadata.to_json(), "desom2": desom2.metadata.to_json()},
        }
        self.metadata["heldOutAccuracy"] = held_out.get("accuracy", float("nan"))
        self.metadata["heldOutGoodRecall"] = held_out.get("recall", float("nan"))
        figures = {
            "desom1MapPlot": desom_plots.plot_decoded_map(
                desom1.decoded_prototypes(),
                desom1.metadata.map_shape,
                title=f"DESOM-1 {version1}: decoded prototypes of source thumbnails",
            ),
            "labelMapPlot": plot_label_map(
                labels.counts,
                labels.labels,
                config.classes,
                labels.map_shape,
                f"DESOM-2 {version2}: cells by the majority of {len(placed)} training exposures"
                + (f" ({config.backgroundClass}: by the sky check)" if by_check else ""),
            ),
        }
        if config.outputDir:
            os.makedirs(config.outputDir, exist_ok=True)
            for name, figure in figures.items():
                figure.savefig(os.path.join(config.outputDir, f"{name.removesuffix('Plot')}.png"), dpi=100)
        self.log.info(
            "Exposure quality %s: %d images placed; cross-validated on the training visits: accuracy %.3f, "
            "good precision %.3f, recall %.3f (%d exposures).",
            config.modelVersion,
            len(placed),
            held_out.get("accuracy", float("nan")),
            held_out.get("precision", float("nan")),
            held_out.get("recall", float("nan")),
            held_out.get("n", 0),
        )
        return pipeBase.Struct(
            desom1=desom1, desom2=desom2, cellLabels=labels.to_dict(), history=history, **figures
        )

    def _cut(self, images: Sequence[tuple[int, int, Any]], thumbnails: ModelInput) -> list[dict]:
        """Detect and cut every image; keep its thumbnails (float16), counts and the DESOM-1 subsample."""
        config = self.config
        periodic = PeriodicLogger(self.log)
        out = []
        for i, (visit, detector, image) in enumerate(images):
            science = image.get() if hasattr(image, "get") else image
            sources, chosen, batch = source_thumbnails(
                science.image.array,
                bad_pixels(science, list(config.qualityBadMaskPlanes)),
                thumbnails,
                seed=exposure_seed(visit, detector),
                **config.source_arguments(),
            )
            rng = np.random.default_rng([config.seed, exposure_seed(visit, detector)])
            take = min(len(batch), config.maxTrainingThumbnails)
            out.append(
                {
                    "visit": int(visit),
                    "detector": int(detector),
                    "n_detected": len(sources),
                    "n_used": len(chosen),
                    "background": float(sources.background),
                    "noise": float(sources.noise),
                    "batch": batch.astype(np.float16),
                    "training": np.sort(rng.choice(len(batch), take, replace=False)),
                }
            )
            periodic.log("Cut thumbnails of %d of %d images.", i + 1, len(images))
        return out

    def _train_desom1(
        self, exposures: list[dict], thumbnails: ModelInput, version: str, provenance: str
    ) -> tuple[LoadedDesom, DesomTrainingResult]:
        config = self.config
        train = np.concatenate([e["batch"][e["training"]] for e in exposures]).astype(np.float32)
        if not len(train):
            raise ValueError("no source thumbnails to train DESOM-1 on: no sources were detected")
        self.log.info("Training DESOM-1 on %d thumbnails.", len(train))
        result = train_desom(
            ArrayBlocks(train, np.zeros(len(train), dtype=bool)),
            architecture="table1",
            latent_size=config.desom1LatentSize,
            map_shape=(config.desom1Rows, config.desom1Cols),
            mode="combined",
            autoencoder_epochs=config.desom1AutoencoderEpochs,
            combined_epochs=config.desom1CombinedEpochs,
            gamma=config.desom1Gamma,
            t_max=config.desom1TMax,
            t_min=config.desom1TMin,
            batch_size=config.batchSize,
            learning_rate=config.learningRate,
            seed=config.seed,
            device=config.device,
            augment=config.desom1Augment,
            log=self.log,
        )
        metadata = DesomMetadata(
            version=version,
            thumbnail_size=thumbnails.size,
            channels=thumbnails.channels,
            normalization=thumbnails.normalization,
            latent_size=config.desom1LatentSize,
            map_rows=config.desom1Rows,
            map_cols=config.desom1Cols,
            architecture="table1",
            training_mode="combined",
            distance_percentiles=result.distance_percentiles,
            provenance=f"TrainExposureQualityTask DESOM-1 on {len(train)} source thumbnails of "
            f"{len(exposures)} images{', ' + provenance if provenance else ''}; seed {config.seed}",
        )
        return self._save(result, metadata, config.desom1File), result

    def _train_desom2(
        self, scaled: np.ndarray, scale: np.ndarray, version1: str, version2: str, provenance: str
    ) -> tuple[LoadedDesom, DesomTrainingResult]:
        config = self.config
        self.log.info("Training DESOM-2 on %d histograms of %d cells.", len(scaled), scaled.shape[1])
        result = train_desom(
            ArrayBlocks(scaled, np.zeros(len(scaled), dtype=bool)),
            architecture="dense",
            latent_size=config.desom2LatentSize,
            map_shape=(config.desom2Rows, config.desom2Cols),
            mode=config.desom2Mode,
            autoencoder_epochs=config.desom2AutoencoderEpochs,
            som_epochs=config.desom2SomEpochs,
            combined_epochs=config.desom2CombinedEpochs,
            gamma=config.desom2Gamma,
            t_max=config.desom2TMax,
            t_min=config.desom2TMin,
            batch_size=config.desom2BatchSize,
            learning_rate=config.learningRate,
            seed=config.seed,
            device=config.device,
            log=self.log,
        )
        metadata = DesomMetadata(
            version=version2,
            thumbnail_size=int(scaled.shape[1]),
            channels=(),
            normalization="none",
            latent_size=config.desom2LatentSize,
            map_rows=config.desom2Rows,
            map_cols=config.desom2Cols,
            architecture="dense",
            training_mode=config.desom2Mode,
            distance_percentiles=result.distance_percentiles,
            provenance=f"TrainExposureQualityTask DESOM-2 on {len(scaled)} histograms"
            f"{', ' + provenance if provenance else ''}; seed {config.seed}",
            inputs="histograms",
            histogram_of=version1,
            histogram_scale=[float(v) for v in scale],
            histogram_normalization=config.histogramNormalization,
        )
        return self._save(result, metadata, config.desom2File), result

    def _save(self, result: DesomTrainingResult, metadata: DesomMetadata, path: str) -> LoadedDesom:
        path = path or os.path.join(self._workdir.name, f"{metadata.version}.pt")
        network = DesomNetwork(result.autoencoder.encoder, result.autoencoder.decoder, result.som.prototypes)
        save_desom(network, metadata, path)
        return load_desom(path, device=self.config.device)

    def _fit_background_check(self, good_sky: np.ndarray) -> BackgroundCheck:
        """The background check fitted on good exposures' background ``(rms, level)``."""
        config = self.config
        return BackgroundCheck.fit(
            good_sky[:, 0],
            good_sky[:, 1],
            noise_margin=config.backgroundNoiseMargin,
            level_margin=config.backgroundLevelMargin,
            label=config.backgroundClass,
        )

    def _label(
        self, desom2: LoadedDesom, cells: np.ndarray, known: list[str], groups: list[str], sky: np.ndarray
    ) -> tuple[CellLabels, dict]:
        """The cell labels from every training visit, and the figures of labelling without some of them.

        ``sky`` holds each exposure's background ``(rms, level)``; with
        ``doBackgroundCheck`` each fold's check is fitted on the other folds'
        good exposures.
        """
        config = self.config
        md = desom2.metadata
        n = md.map_rows * md.map_cols
        classes = list(config.classes)
        by_check = config.doBackgroundCheck and config.backgroundByCheckOnly
        skip = [config.backgroundClass] if by_check else []
        held_out: dict = {}
        if config.validationFolds > 1:
            unique = np.unique(groups)
            folds = np.random.default_rng(config.seed).permutation(len(unique)) % config.validationFolds
            fold_of = dict(zip(unique.tolist(), folds.tolist()))
            fold = np.array([fold_of[g] for g in groups])
            predicted = np.empty(len(cells), dtype=object)
            known_array = np.asarray(known, dtype=object)
            for k in range(config.validationFolds):
                test = fold == k
                counts = class_counts(cells[~test], known_array[~test], classes, n)
                part, _ = label_by_majority(
                    counts, classes, md.map_shape, config.fillEmptyCells, config.labelRadius, skip
                )
                predicted[test] = np.array(part + [""], dtype=object)[cells[test]]
                train_good = ~test & (known_array == config.goodClass)
                if config.doBackgroundCheck and train_good.any():
                    check = self._fit_background_check(sky[train_good])
                    predicted[test] = check.relabel(predicted[test], sky[test, 0], sky[test, 1])[0]
            held_out = quality_metrics(known, list(predicted), classes, config.goodClass) | {
                "folds": config.validationFolds
            }
        counts = class_counts(cells, known, classes, n)
        labels, filled = label_by_majority(
            counts, classes, md.map_shape, config.fillEmptyCells, config.labelRadius, skip
        )
        edits: Mapping[str, Any] = {}
        if config.editsFile:
            edits = read_cell_edits(config.editsFile)
            labels = apply_cell_edits(
                labels, edits, md.map_shape, md.version, classes, where=config.editsFile
            )
        return (
            CellLabels(
                model_version=md.version,
                map_shape=md.map_shape,
                classes=classes,
                labels=labels,
                counts=counts,
                filled=filled,
                edits={"set": list(edits.get("set") or [])} if edits else {},
                method=f"majority, radius {config.labelRadius:g}"
                + (f"; {config.backgroundClass} by the background check only" if by_check else ""),
            ),
            held_out,
        )
