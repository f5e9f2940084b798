"""TrainDesomTask: train a DESOM on labelled triplets, label its prototypes, and draw its figures."""

from __future__ import annotations

__all__ = ("TrainDesomConfig", "TrainDesomConnections", "TrainDesomTask")

import os
import shutil
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase
import lsst.pipe.base.connectionTypes as cT
from lsst.utils.timer import timeMethod

from .cnn.blocks import CachedBlocks, TripletBlocks
from .cnn.training import validation_rows
from .desom import plots as desom_plots
from .desom.autoencoder import get_autoencoder_class
from .desom.labelling import PrototypeLabels, apply_edits, label_by_ratio, label_by_scores, prototype_counts
from .desom.labelling import read_edits as read_label_edits
from .desom.model import DesomMetadata, LoadedDesom, load_desom
from .desom.network import DesomNetwork, save_desom
from .desom.som import SelfOrganizingMap, u_matrix
from .desom.stacking import fit_stacker, stacking_features
from .desom.training import train_desom
from .evaluation.metrics import score_curves
from .inference import LoadedModel, load_model, set_torch_threads
from .sharedConfig import ModelSourceMixin, RetainFreedMemoryMixin, TorchDeviceMixin, check_version_field
from .sharedConnections import (
    DesomConnections,
    ModelConnections,
    TripletTrainingConnections,
    connect_to,
    plot_output,
)
from .stamps import CHANNELS, NORMALIZATIONS, ModelInput, dihedral_views


class TrainDesomConnections(TripletTrainingConnections, ModelConnections, dimensions=()):
    """Every labelled triplet dataset of the data query (and the CNN, if in the butler) in; a DESOM out."""

    desom = connect_to(cT.Output, DesomConnections.desom, "The trained DESOM, with its metadata.")
    desomLabels = connect_to(
        cT.Output, DesomConnections.desomLabels, "Real/bogus labelling of its prototypes (YAML; editable)."
    )
    history = cT.Output(
        doc="Training record: settings, losses, quantization and topographic errors, labelling summary.",
        name="realbogus_desom_history",
        storageClass="StructuredDataDict",
        dimensions=(),
    )
    mapPlot = plot_output(
        "desom_map", "The decoded prototypes on the map, real ones framed (seed 000 fig. 9)"
    )
    reconstructionPlot = plot_output(
        "desom_reconstruction", "Thumbnails beside their decoded prototypes (fig. 10)"
    )
    ratioPlot = plot_output("desom_ratio", "Real-to-bogus ratio of each prototype (fig. 11)")
    rocPlot = plot_output("desom_roc", "ROC of switching prototypes off, beside the classifier's (fig. 12)")
    uMatrixPlot = plot_output("desom_umatrix", "U-matrix of the map")
    scorePlot = plot_output("desom_score", "The classifier's score distribution on each prototype")

    def __init__(self, *, config: TrainDesomConfig | None = None) -> None:
        super().__init__(config=config)
        if config is None or not config.useClassifier:
            for name in ("model", "rocPlot", "scorePlot"):
                if name in self.allConnections:
                    delattr(self, name)


class TrainDesomConfig(
    ModelSourceMixin,
    RetainFreedMemoryMixin,
    TorchDeviceMixin,
    pipeBase.PipelineTaskConfig,
    pipelineConnections=TrainDesomConnections,
):
    """Configuration of `TrainDesomTask` (defaults: seed 000's Table 1 and section 4.2)."""

    architecture = pexConfig.Field[str](
        doc="Autoencoder, a name of lsst.meas.realbogus.desom.autoencoder.list_autoencoders(): table1 (seed "
        "000's Table 1), or one added with register_autoencoder (checked when the config is validated).",
        default="table1",
    )
    channels = pexConfig.ListField[str](
        doc="Thumbnail channels: ['difference'] (the seed's), or the triplet ['template', 'science', "
        "'difference'].",
        default=["difference"],
    )
    thumbnailSize = pexConfig.Field[int](
        doc="Thumbnail size (the triplets are centre-cropped to it), a multiple of 8.",
        default=32,
        check=lambda n: n >= 24 and n % 8 == 0,
    )
    normalization = pexConfig.ChoiceField[str](
        doc="Thumbnail normalization (mong_eq9: the seed's eq. 9).",
        default="mong_eq9",
        allowed={name: "see lsst.meas.realbogus.stamps.normalization" for name in NORMALIZATIONS},
    )
    latentSize = pexConfig.Field[int](doc="Length of the latent vectors.", default=120, check=lambda n: n > 0)
    mapRows = pexConfig.Field[int](doc="Rows of the map.", default=30, check=lambda n: n > 0)
    mapCols = pexConfig.Field[int](doc="Columns of the map.", default=30, check=lambda n: n > 0)
    trainingMode = pexConfig.ChoiceField[str](
        doc="How the autoencoder and the map are trained.",
        default="separate",
        allowed={
            "separate": "the autoencoder alone, then the map on its frozen latent vectors (seed 000's best)",
            "combined": "jointly, on L_rec + gamma L_som (Forest et al. 2019; seed 002)",
        },
    )
    autoencoderEpochs = pexConfig.Field[int](
        doc="Epochs of the autoencoder alone (combined mode: before the joint epochs; may be 0).",
        default=20,
        check=lambda n: n >= 0,
    )
    somEpochs = pexConfig.Field[int](
        doc="Epochs of the batch SOM (separate mode); 20 reach a quantization error within 0.2% of "
        "30's in two thirds of the time (bench/bench_desom.py), but the SOM is a few seconds of a "
        "DESOM's training and the 30-epoch map labelled better on held-out triplets (desom.rst).",
        default=30,
        check=lambda n: n > 0,
    )
    combinedEpochs = pexConfig.Field[int](
        doc="Joint epochs (combined mode).", default=10, check=lambda n: n > 0
    )
    gamma = pexConfig.Field[float](
        doc="Weight of the SOM loss in combined mode (seed 002: 0.0075).",
        default=0.0075,
        check=lambda g: g >= 0,
    )
    tMax = pexConfig.Field[float](doc="First temperature of the neighbourhood kernel.", default=10.0)
    tMin = pexConfig.Field[float](doc="Last temperature of the neighbourhood kernel.", default=0.01)
    batchSize = pexConfig.Field[int](doc="Minibatch size.", default=256, check=lambda n: n > 0)
    learningRate = pexConfig.Field[float](doc="Adam learning rate.", default=1e-3, check=lambda r: r > 0)
    seed = pexConfig.Field[int](doc="Seed of the initialization and the order.", default=1)
    blocksPerShuffle = pexConfig.Field[int](
        doc="Detector datasets whose thumbnails are shuffled together.", default=16, check=lambda n: n > 0
    )
    augment = pexConfig.Field[bool](
        doc="Use the thumbnails' 8 flips and 90-degree rotations: the autoencoder sees each thumbnail "
        "turned at random, the map is trained on all 8 views, and the prototypes are labelled from all 8 "
        "(8 times the statistics per prototype). The prototype labelling then generalizes to another tract "
        "(see desom.rst).",
        default=True,
    )
    cacheBlocks = pexConfig.Field[bool](
        doc="Keep each dataset's thumbnails in a temporary directory once read (see TrainRealBogusConfig).",
        default=True,
    )
    minSnr = pexConfig.Field[float](
        doc="Train only on triplets with absolute S/N above this (0: all).",
        default=0.0,
        check=lambda s: s >= 0,
    )
    excludeKinds = pexConfig.ListField[str](
        doc="Withhold these detection kinds from training (and labelling), e.g. ['streak'], to see how the "
        "DESOM flags a pattern it never saw.",
        default=[],
    )
    labellingMethod = pexConfig.ChoiceField[str](
        doc="How the prototypes are labelled real or bogus.",
        default="scores",
        allowed={
            "ratio": "P(real | PV) / P(bogus | PV) >= ratioThreshold, from the triplets' labels",
            "scores": "PVs ordered by the scorePercentile of the classifier's scores, switched off one by "
            "one until the FPR on the triplets is at most targetFpr (seed 000 section 4.2)",
        },
    )
    ratioThreshold = pexConfig.Field[float](doc="Threshold of the 'ratio' labelling.", default=1.0)
    scorePercentile = pexConfig.Field[float](
        doc="Percentile of the members' classifier scores that orders the PVs ('scores' labelling). "
        "Seed 000 found the 99th best with its CNN; with the shipped CNN, whose scores are sharper, the "
        "median (50) gave the lowest MDR at the target FPR on held-out triplets of the training tract "
        "(see desom.rst).",
        default=50.0,
        check=lambda p: 0 <= p <= 100,
    )
    targetFpr = pexConfig.Field[float](
        doc="False-positive rate the 'scores' labelling must meet.", default=0.01, check=lambda f: 0 < f < 1
    )
    editsFile = pexConfig.Field[str](
        doc="YAML file of hand edits applied on top of the labelling (model_version, add, remove: lists of "
        "[row, column]); empty: none.",
        default="",
    )
    useClassifier = pexConfig.Field[bool](
        doc="Score the triplets with the CNN (modelSource/modelFile): needed by the 'scores' labelling, "
        "the stacked score and the score plots.",
        default=True,
    )
    stackerValidationFraction = pexConfig.Field[float](
        doc="The stacked score is fitted on the CNN's validation rows, chosen as TrainRealBogusTask chose "
        "them: set this and stackerSeed to its validationFraction and seed.",
        default=0.15,
        check=lambda f: 0 < f < 1,
    )
    stackerSeed = pexConfig.Field[int](
        doc="TrainRealBogusTask's seed (see stackerValidationFraction).", default=1
    )
    modelVersion = pexConfig.Field[str](
        doc="Version written in the DESOM and its labelling (1 to 7 characters; with relabelDesomFile, the "
        "file's version is kept instead).",
        default="desom01",
    )
    relabelDesomFile = pexConfig.Field[str](
        doc="A DESOM file (e.g. the shipped one) to label instead of training one: its network, map and "
        "thumbnail settings are kept, the triplets placed on it, its prototypes labelled and the stacked "
        "score fitted again, e.g. on a new classifier's scores. Empty: train a DESOM.",
        default="",
    )
    outputFile = pexConfig.Field[str](
        doc="Also write the DESOM to this file; empty: only to the butler.", default=""
    )
    labelsFile = pexConfig.Field[str](
        doc="Also write the prototype labelling to this YAML file; empty: only to the butler.", default=""
    )
    outputDir = pexConfig.Field[str](
        doc="Also write the plots as PNG files here; empty: only to the butler.", default=""
    )

    def validate(self) -> None:
        super().validate()
        check_version_field(self, "modelVersion", 7)
        try:
            get_autoencoder_class(self.architecture)
        except ValueError as err:
            raise pexConfig.FieldValidationError(TrainDesomConfig.architecture, self, str(err)) from None
        try:
            ModelInput(self.channels, self.thumbnailSize, self.normalization)
        except ValueError as err:
            raise pexConfig.FieldValidationError(TrainDesomConfig.channels, self, str(err)) from None
        if not 0 < self.tMin <= self.tMax:
            raise pexConfig.FieldValidationError(
                TrainDesomConfig.tMin, self, f"must satisfy 0 < tMin <= tMax, got {self.tMin} and {self.tMax}"
            )
        if self.trainingMode == "separate" and self.autoencoderEpochs < 1:
            raise pexConfig.FieldValidationError(
                TrainDesomConfig.autoencoderEpochs, self, "the separate mode needs at least one epoch"
            )
        if self.labellingMethod == "scores" and not self.useClassifier:
            raise pexConfig.FieldValidationError(
                TrainDesomConfig.labellingMethod, self, "the 'scores' labelling needs useClassifier"
            )
        for field, value in (
            (TrainDesomConfig.outputFile, self.outputFile),
            (TrainDesomConfig.labelsFile, self.labelsFile),
        ):
            if value and not os.path.isdir(os.path.dirname(os.path.abspath(value))):
                raise pexConfig.FieldValidationError(field, self, f"directory of {value} does not exist")
        if self.relabelDesomFile and not os.path.isfile(self.relabelDesomFile):
            raise pexConfig.FieldValidationError(
                TrainDesomConfig.relabelDesomFile, self, f"{self.relabelDesomFile} does not exist"
            )
        if self.editsFile and not os.path.isfile(self.editsFile):
            raise pexConfig.FieldValidationError(
                TrainDesomConfig.editsFile, self, f"{self.editsFile} does not exist"
            )


class TrainDesomTask(pipeBase.PipelineTask):
    """Train a DESOM on labelled triplets (or take one), label its prototypes, and fit the stacked score.

    Thumbnails are the triplets' channels of ``channels``, centre-cropped
    to ``thumbnailSize`` and normalized (the one path of
    `~lsst.meas.realbogus.stamps.batch.ModelInput`), streamed from the
    butler as the CNN's training streams them.  The autoencoder and the map
    are trained as ``trainingMode`` says (`lsst.meas.realbogus.desom.training`);
    every triplet is then placed on the map, and the prototypes are labelled
    from the triplets' labels or from the CNN's scores
    (`lsst.meas.realbogus.desom.labelling`), with ``editsFile`` on top.  With
    the CNN, a stacked score (`lsst.meas.realbogus.desom.stacking`) is fitted
    on the CNN's validation rows and kept in the labelling.  With
    ``relabelDesomFile`` the training is skipped: that DESOM is labelled (for
    a new classifier, say) and written out unchanged.
    """

    ConfigClass = TrainDesomConfig
    _DefaultName = "trainDesom"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config.check_device_here()
        set_torch_threads(self.config.numThreads)
        self.model: LoadedModel | None = None
        if self.config.useClassifier and self.config.modelSource == "file":
            self.model = load_model(self.config.resolved_model_file(), backend=self.config.resolved_backend())
        self._workdir = tempfile.TemporaryDirectory(prefix="realbogus_desom_")

    def runQuantum(
        self,
        butlerQC: pipeBase.QuantumContext,
        inputRefs: pipeBase.InputQuantizedConnection,
        outputRefs: pipeBase.OutputQuantizedConnection,
    ) -> None:
        set_torch_threads(self.config.numThreads or butlerQC.resources.num_cores)
        if self.config.useClassifier and self.config.modelSource == "butler":
            self.model = butlerQC.get(inputRefs.model)
        outputs = self.run(butlerQC.get(inputRefs.triplets), provenance=f"run {outputRefs.desom.run}")
        butlerQC.put(outputs, outputRefs)

    @timeMethod
    def run(self, triplets: Sequence[Any], provenance: str = "") -> pipeBase.Struct:
        """Train, label and draw.

        Parameters
        ----------
        triplets : sequence
            `~lsst.meas.realbogus.stamps.triplets.LabelledTriplets`, or
            deferred handles to them.
        provenance : `str`
            Where the data came from, recorded in the DESOM.

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``desom`` (`~lsst.meas.realbogus.desom.model.LoadedDesom`),
            ``desomLabels`` (`dict`, a
            `~lsst.meas.realbogus.desom.labelling.PrototypeLabels`),
            ``history`` (`dict`) and the figures.

        Raises
        ------
        ValueError
            If there is no data, or the edits do not fit the map.
        """
        config = self.config
        if not triplets:
            raise ValueError("no realbogus_triplets datasets to train on: does the data query select any?")
        config.apply_retain_freed_memory(self.log)
        if config.useClassifier and self.model is None:
            raise RuntimeError("No classifier: with modelSource='butler', set task.model before run().")
        relabelled = None
        if config.relabelDesomFile:
            relabelled = load_desom(config.relabelDesomFile, device=config.device)
            thumbnails = relabelled.metadata.input
        else:
            thumbnails = ModelInput(config.channels, config.thumbnailSize, config.normalization)
        blocks = TripletBlocks(
            triplets,
            thumbnails.channels,
            thumbnails.normalization,
            size=thumbnails.size,
            min_snr=config.minSnr,
            exclude_kinds=config.excludeKinds,
        )
        if relabelled is None:
            desom, result = self._train(blocks, thumbnails, len(triplets), provenance)
            som = result.som
        else:
            desom, result = relabelled, None
            som = SelfOrganizingMap(*desom.metadata.map_shape, desom.metadata.latent_size)
            som.prototypes.data.copy_(desom.prototypes.detach().cpu())
            if config.outputFile and os.path.abspath(config.outputFile) != os.path.abspath(desom.path):
                shutil.copyfile(desom.path, config.outputFile)
        metadata = desom.metadata
        placed = self._place(blocks, desom)
        labels, summary, curves = self._label(desom, placed)
        if config.labelsFile:
            labels.write(config.labelsFile)
        history = {
            "settings": {k: v for k, v in config.toDict().items() if k != "connections"},
            "labelling": summary,
            "metadata": metadata.to_json(),
        }
        if result is not None:
            history |= result.summary()
            self.metadata["quantizationError"] = result.quantization_error
            self.metadata["topographicError"] = result.topographic_error
        else:
            # Not trained here: what was placed on the map, and from where.
            history |= {"count": len(placed["pv"]), "relabelled": desom.path}
        self.metadata["realPrototypes"] = int(labels.real.sum())
        figures = self._figures(desom, som, labels, placed, curves)
        if config.outputDir:
            os.makedirs(config.outputDir, exist_ok=True)
            for name, figure in figures.items():
                figure.savefig(
                    os.path.join(config.outputDir, f"desom_{name.removesuffix('Plot')}.png"), dpi=100
                )
        self.log.info(
            "DESOM %s%s: %d of %d prototypes labelled real (%s); training triplets: MDR %.4f at FPR %.4f; "
            "held-out triplets: MDR %.4f at FPR %.4f.",
            metadata.version,
            " (relabelled)" if result is None else "",
            labels.real.sum(),
            labels.real.size,
            labels.method,
            summary["mdr"],
            summary["fpr"],
            summary["held_out"].get("mdr", np.nan),
            summary["held_out"].get("fpr", np.nan),
        )
        return pipeBase.Struct(desom=desom, desomLabels=labels.to_dict(), history=history, **figures)

    def _train(
        self, blocks: TripletBlocks, thumbnails: ModelInput, n_datasets: int, provenance: str
    ) -> tuple[LoadedDesom, Any]:
        """Train the autoencoder and the map as configured; the saved and loaded DESOM, and the result."""
        config = self.config
        with tempfile.TemporaryDirectory(prefix="realbogus_desom_blocks_") as cache:
            source = CachedBlocks(blocks, cache, self.log) if config.cacheBlocks else blocks
            result = train_desom(
                source,
                architecture=config.architecture,
                latent_size=config.latentSize,
                map_shape=(config.mapRows, config.mapCols),
                mode=config.trainingMode,
                autoencoder_epochs=config.autoencoderEpochs,
                som_epochs=config.somEpochs,
                combined_epochs=config.combinedEpochs,
                gamma=config.gamma,
                t_max=config.tMax,
                t_min=config.tMin,
                batch_size=config.batchSize,
                learning_rate=config.learningRate,
                seed=config.seed,
                device=config.device,
                blocks_per_shuffle=config.blocksPerShuffle,
                augment=config.augment,
                log=self.log,
            )
        metadata = DesomMetadata(
            version=config.modelVersion,
            thumbnail_size=thumbnails.size,
            channels=thumbnails.channels,
            normalization=thumbnails.normalization,
            latent_size=config.latentSize,
            map_rows=config.mapRows,
            map_cols=config.mapCols,
            architecture=config.architecture,
            training_mode=config.trainingMode,
            distance_percentiles=result.distance_percentiles,
            provenance=(
                f"TrainDesomTask {config.architecture} {config.trainingMode} on {result.count} "
                f"latent vectors of {n_datasets} detector-visits"
                f"{', ' + provenance if provenance else ''}; seed {config.seed}"
                f"{'; without ' + ', '.join(config.excludeKinds) if config.excludeKinds else ''}"
            ),
        )
        path = config.outputFile or os.path.join(self._workdir.name, f"{config.modelVersion}.pt")
        save_desom(
            DesomNetwork(result.autoencoder.encoder, result.autoencoder.decoder, result.som.prototypes),
            metadata,
            path,
        )
        desom = load_desom(path, device=config.device)
        return desom, result

    def _place(self, blocks: TripletBlocks, desom: LoadedDesom) -> dict[str, np.ndarray]:
        """Every kept triplet on the map (all 8 views with ``augment``).

        Per placed view: PV, distance, label, kind, key, the CNN score of the
        triplet, and ``view`` (0 for the triplet as it is); and ``sample``, a
        few thumbnails for the figures.
        """
        names = ("pv", "distance", "is_real", "kind", "key", "score", "view")
        parts: dict[str, list] = {k: [] for k in names}
        sample: list[np.ndarray] = []
        cnn = self.model
        for i in range(len(blocks)):
            triplets = blocks.triplets(i)
            keep = blocks.rows(triplets)
            stamps = triplets.cutouts[keep]
            table = triplets.table[keep]
            batch = desom.metadata.input.prepare(stamps, CHANNELS)
            score = cnn.predict(cnn.metadata.input.prepare(stamps, CHANNELS)) if cnn is not None else None
            views = dihedral_views(batch) if self.config.augment else [batch]
            for number, view in enumerate(views):
                pv, distance = desom.assign(view)
                parts["pv"].append(pv)
                parts["distance"].append(distance)
                parts["is_real"].append(np.asarray(table["isReal"], dtype=bool))
                parts["kind"].append(np.asarray(table["kind"]).astype(str))
                parts["key"].append(np.asarray(table[table.colnames[0]], dtype=np.int64))
                parts["view"].append(np.full(len(pv), number, dtype=np.int8))
                if score is not None:
                    parts["score"].append(score)
            if sum(len(s) for s in sample) < 8:
                sample.append(batch[:8])
        placed = {k: np.concatenate(v) for k, v in parts.items() if v}
        placed["sample"] = np.concatenate(sample)[:8]
        return placed

    def _label(self, desom: LoadedDesom, placed: dict) -> tuple[PrototypeLabels, dict, dict]:
        """Label the prototypes as configured, apply the edits, fit the stacked score."""
        config = self.config
        md = desom.metadata
        k = md.map_rows * md.map_cols
        pv, is_real = placed["pv"], placed["is_real"]
        n_real, n_bogus = prototype_counts(pv, is_real, k)
        score = placed.get("score")
        curves = {}
        real, curve, parameters = self._select(pv, score, is_real, k)
        if curve is not None:
            curves[f"p{config.scorePercentile:g}"] = curve
        # How the selection holds up on triplets it was not made from: labelled again without the
        # held-out rows (those the stacked score is fitted on), then applied to them, as they are.
        held_out = validation_rows(placed["key"], config.stackerValidationFraction, config.stackerSeed)
        kept = ~held_out
        held_out &= placed["view"] == 0
        held_out_rates: dict = {}
        if kept.any() and held_out.any():
            real_kept = self._select(pv[kept], None if score is None else score[kept], is_real[kept], k)[0]
            held_out_rates = _rates(real_kept[pv[held_out]], is_real[held_out])
        edits: dict = {}
        if config.editsFile:
            edits = read_label_edits(config.editsFile)
            real = apply_edits(real, edits, md.map_shape, md.version, where=config.editsFile)
        stacker: dict = {}
        if self.model is not None:
            # The CNN's validation rows, each triplet as it is (view 0).
            validation = validation_rows(placed["key"], config.stackerValidationFraction, config.stackerSeed)
            validation &= placed["view"] == 0
            fraction = PrototypeLabels(
                md.version, md.map_shape, real, n_real=n_real, n_bogus=n_bogus
            ).real_fraction
            features = stacking_features(
                placed["score"], fraction[pv], placed["distance"], float(is_real.mean())
            )
            try:
                stacker = fit_stacker(features[validation], is_real[validation])
            except ValueError as err:
                self.log.warning("No stacked score: %s.", err)
        labels = PrototypeLabels(
            model_version=md.version,
            map_shape=md.map_shape,
            real=real,
            method=config.labellingMethod,
            parameters=parameters,
            n_real=n_real,
            n_bogus=n_bogus,
            edits={key: edits[key] for key in ("add", "remove") if key in edits},
            stacker=stacker,
        )
        # The selection's rates on the triplets (all their views with augment).
        summary = {
            "real_prototypes": int(real.sum()),
            **_rates(real[pv], is_real),
            "held_out": held_out_rates | {"fraction": config.stackerValidationFraction},
            "stacked_score": bool(stacker),
        }
        return labels, summary, curves

    def _select(
        self, pv: np.ndarray, score: np.ndarray | None, is_real: np.ndarray, k: int
    ) -> tuple[np.ndarray, Any, dict]:
        """The configured labelling: real PVs, the switch-off curve (or None), the parameters."""
        config = self.config
        if config.labellingMethod == "ratio":
            real, _ = label_by_ratio(pv, is_real, k, config.ratioThreshold)
            return real, None, {"ratio_threshold": config.ratioThreshold}
        real, curve, step = label_by_scores(pv, score, is_real, k, config.scorePercentile, config.targetFpr)
        parameters = {
            "score_percentile": config.scorePercentile,
            "target_fpr": config.targetFpr,
            "switched_off": step,
            "classifier": self.model.metadata.version,
        }
        return real, curve, parameters

    def _figures(
        self, desom: LoadedDesom, som: SelfOrganizingMap, labels: PrototypeLabels, placed: dict, curves: dict
    ) -> dict:
        md = desom.metadata
        shape = md.map_shape
        decoded = desom.decoded_prototypes()
        sample = placed["sample"]
        sample_pv, sample_distance = desom.assign(sample)
        captions = [
            f"PV {divmod(int(p), md.map_cols)}\nd={d:.2f}" for p, d in zip(sample_pv, sample_distance)
        ]
        figures = {
            "mapPlot": desom_plots.plot_decoded_map(decoded, shape, labels.real),
            "reconstructionPlot": desom_plots.plot_reconstructions(sample, decoded[sample_pv], captions),
            "ratioPlot": desom_plots.plot_ratio_map(labels.n_real, labels.n_bogus, shape),
            "uMatrixPlot": desom_plots.plot_u_matrix(u_matrix(som)),
        }
        if self.config.useClassifier:
            pv, score, is_real = placed["pv"], placed["score"], placed["is_real"]
            k = shape[0] * shape[1]
            figures["scorePlot"] = desom_plots.plot_score_histograms(
                pv, score, shape, "classifier's scores on each PV's members (0 to 1, left to right)"
            )
            for percentile in (50.0, 90.0, 99.0):
                name = f"p{percentile:g}"
                if name not in curves:
                    curves[name] = label_by_scores(pv, score, is_real, k, percentile, self.config.targetFpr)[
                        1
                    ]
            figures["rocPlot"] = desom_plots.plot_switch_off_roc(
                curves, score_curves(score, is_real), self.config.targetFpr
            )
        return figures


def _rates(selected: np.ndarray, is_real: np.ndarray) -> dict[str, float]:
    """False-positive and missed-detection rates of a PV selection (NaN without bogus or real rows)."""
    return {
        "fpr": float(np.mean(selected[~is_real])) if (~is_real).any() else float("nan"),
        "mdr": float(np.mean(~selected[is_real])) if is_real.any() else float("nan"),
    }
