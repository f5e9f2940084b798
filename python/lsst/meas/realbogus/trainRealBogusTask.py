"""TrainRealBogusTask: train a real/bogus CNN on labelled triplets and write it as a TorchScript model."""

from __future__ import annotations

__all__ = ("TrainRealBogusConfig", "TrainRealBogusConnections", "TrainRealBogusTask")

import functools
import math
import os
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase
import lsst.pipe.base.connectionTypes as cT
from lsst.utils.logging import PeriodicLogger
from lsst.utils.timer import timeMethod

from .cnn import (
    CachedBlocks,
    Calibration,
    Ensemble,
    MemberCheckpoints,
    TripletBlocks,
    fit_calibration,
    get_architecture_class,
    train_classifier,
    training_key,
)
from .evaluation.metrics import calibration as reliability
from .evaluation.metrics import roc_auc
from .inference import (
    LoadedModel,
    ModelMetadata,
    load_model,
    save_torchscript,
    set_torch_threads,
)
from .sharedConfig import RetainFreedMemoryMixin, TorchDeviceMixin, check_version_field
from .sharedConnections import ModelConnections, TripletTrainingConnections, connect_to
from .stamps import CHANNELS, NORMALIZATIONS, LabelledTriplets, ModelInput, triplets_digest


def _ece(logits: np.ndarray, labels: np.ndarray) -> float:
    """Expected calibration error (10 bins) of the sigmoids of ``logits``."""
    return reliability(1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64))), labels)["ece"]


class TrainRealBogusConnections(TripletTrainingConnections, dimensions=()):
    """Every labelled triplet dataset of the data query in; one model out."""

    model = connect_to(
        cT.Output,
        ModelConnections.model,
        "The trained TorchScript model with its metadata (what RealBogusTask reads with "
        "modelSource='butler').",
    )
    history = cT.Output(
        doc="Training record: settings, class counts, loss and validation AUC per epoch.",
        name="realbogus_training_history",
        storageClass="StructuredDataDict",
        dimensions=(),
    )


class TrainRealBogusConfig(
    RetainFreedMemoryMixin,
    TorchDeviceMixin,
    pipeBase.PipelineTaskConfig,
    pipelineConnections=TrainRealBogusConnections,
):
    """Configuration of `TrainRealBogusTask`."""

    architecture = pexConfig.Field[str](
        doc="Network architecture, a name of lsst.meas.realbogus.cnn.list_architectures(): dia_cnn (the "
        "DIA-based CNN of Acero-Cuellar et al.), vgg6 (DMTN-272's VGG6), resnet_small, or one added with "
        "register_architecture (checked when the config is validated).",
        default="dia_cnn",
    )
    channels = pexConfig.ListField[str](
        doc="Input channels, in order: ['template', 'science', 'difference'] (DIA-based) or "
        "['template', 'science'] (the 'noDIA' model of Acero-Cuellar et al.).",
        default=list(CHANNELS),
    )
    normalization = pexConfig.ChoiceField[str](
        doc="Per-cutout normalization, recorded in the model. robust_asinh (the shipped model's) bounds "
        "saturated stars and bleed trails, which make training with plain robust unstable.",
        default="robust_asinh",
        allowed={name: "see lsst.meas.realbogus.stamps.normalization" for name in NORMALIZATIONS},
    )
    cutoutSize = pexConfig.Field[int](
        doc="Cutout size the model takes; triplets are centre-cropped to it. 0: the triplets' size.",
        default=0,
        check=lambda n: n == 0 or n >= 4,
    )
    minSnr = pexConfig.Field[float](
        doc="Train only on triplets with absolute S/N above this (0: all).",
        default=0.0,
        check=lambda s: s >= 0,
    )
    dropEdge = pexConfig.Field[bool](doc="Leave out triplets that run off the image.", default=False)
    epochs = pexConfig.Field[int](doc="Maximum number of epochs.", default=45, check=lambda n: n > 0)
    patience = pexConfig.Field[int](
        doc="Stop after this many epochs without a better validation AUC.", default=10, check=lambda n: n > 0
    )
    batchSize = pexConfig.Field[int](doc="Mini-batch size.", default=128, check=lambda n: n > 0)
    channelsLast = pexConfig.Field[bool](
        doc="Train in PyTorch's channels-last memory format: the same layers over another order of the "
        "pixels in memory, which CPU convolutions run faster (training.rst, 'Training speed'; "
        "bench/bench_training_step.py). The weights differ from an ordinary-format training as another "
        "seed's would (rounding, and dropout's masks are drawn in memory order); the model written is "
        "in the ordinary format either way.",
        default=True,
    )
    learningRate = pexConfig.Field[float](doc="Adam learning rate.", default=1e-3, check=lambda r: r > 0)
    learningRateSchedule = pexConfig.ChoiceField[str](
        doc="How the learning rate changes over the epochs.",
        allowed={
            "constant": "learningRate throughout",
            "cosine": "from learningRate to 0 along half a cosine over epochs (set patience to epochs to "
            "let it finish)",
        },
        default="constant",
    )
    maxZoom = pexConfig.Field[float](
        doc="Augmentation: half of the training cutouts (at random, each epoch) are magnified about "
        "their centres by a factor drawn log-uniformly in [1, maxZoom], as if their PSF were wider in "
        "pixels (coarser sampling or worse seeing than the training images). 1: no magnification.",
        default=1.0,
        check=lambda z: z >= 1,
    )
    positiveWeight = pexConfig.Field[float](
        doc="Weight of the real class in the loss (DMTN-272 uses 20). 0: the bogus-to-real ratio of "
        "the training rows.",
        default=0.0,
        check=lambda w: w >= 0,
    )
    validationFraction = pexConfig.Field[float](
        doc="Fraction of triplets held out (by a seeded hash of the diaSource id) to pick the best epoch.",
        default=0.15,
        check=lambda f: 0 < f < 1,
    )
    seed = pexConfig.Field[int](doc="Seed of the split, initialization, order and augmentation.", default=1)
    blocksPerShuffle = pexConfig.Field[int](
        doc="Detector datasets whose triplets are shuffled together; memory holds about two such groups "
        "plus the validation rows.",
        default=16,
        check=lambda n: n > 0,
    )
    cacheBlocks = pexConfig.Field[bool](
        doc="Keep each dataset's normalized cutouts in a temporary directory (under TMPDIR) once read, "
        "so later epochs neither read the butler nor normalize again. Memory use is the same; the "
        "directory grows to the size of the training set (about 31 kB per 3x51x51 triplet) and is "
        "removed after training. False: read and normalize every dataset every epoch.",
        default=True,
    )
    ensembleSize = pexConfig.Field[int](
        doc="Networks trained (seeds seed, seed+1, ...; one validation split) and shipped as one deep "
        "ensemble: the score is the sigmoid of their mean logit, and RealBogusTask's scoreStd the spread "
        "of their scores. Training and scoring cost grow in proportion. 1: a single network.",
        default=1,
        check=lambda n: 1 <= n <= 16,
    )
    calibrate = pexConfig.Field[bool](
        doc="Fit a temperature and a logit offset on the validation rows (maximum likelihood) and store "
        "them in the model, so its scores read as probabilities of real at the training set's class "
        "balance. False: the raw sigmoid of the network (over-confident, and biased to real by the class "
        "weight).",
        default=True,
    )
    modelVersion = pexConfig.Field[str](
        doc="Version written in the model and in every score row (1 to 7 characters).",
        default="rbtrain",
    )
    threshold = pexConfig.Field[float](
        doc="Recommended score threshold recorded in the model.", default=0.5, check=lambda t: 0 <= t <= 1
    )
    outputFile = pexConfig.Field[str](
        doc="Also write the model to this file (e.g. to ship it); empty: only to the butler.", default=""
    )
    checkpointDir = pexConfig.Field[str](
        doc="Save each ensemble member in this directory (member1.pt, ...) as soon as it is trained, and "
        "the state of the member in training after each epoch (member1.progress.pt, ...), under a key of "
        "the settings that decide its weights and of the input datasets' content; a rerun with the same key "
        "(triplets rebuilt identically, in any collection or repository, included) loads "
        "the trained members and goes on from the last saved epoch, so an interrupted training loses at "
        "most one epoch and ends with the same weights. Empty: no checkpoints.",
        default="",
    )

    def validate(self) -> None:
        super().validate()
        check_version_field(self, "modelVersion", 7)
        try:
            get_architecture_class(self.architecture)
        except ValueError as err:
            raise pexConfig.FieldValidationError(TrainRealBogusConfig.architecture, self, str(err)) from None
        try:
            ModelInput(self.channels, self.cutoutSize or 4, self.normalization)
        except ValueError as err:
            raise pexConfig.FieldValidationError(TrainRealBogusConfig.channels, self, str(err)) from None
        if self.outputFile and not os.path.isdir(os.path.dirname(os.path.abspath(self.outputFile))):
            raise pexConfig.FieldValidationError(
                TrainRealBogusConfig.outputFile, self, f"directory of {self.outputFile} does not exist"
            )


class TrainRealBogusTask(pipeBase.PipelineTask):
    """Train a real/bogus classifier on every labelled triplet dataset of a data query.

    The triplets are streamed from the butler one detector dataset at a time
    (see `lsst.meas.realbogus.cnn.training`), so the training set may be larger
    than memory.  Class counts are checked before the first epoch.  The model
    is written as TorchScript with the metadata `RealBogusTask` needs
    (channels, size, normalization, version) to the butler, and optionally
    to ``outputFile``.
    """

    ConfigClass = TrainRealBogusConfig
    _DefaultName = "trainRealBogus"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config.check_device_here()
        set_torch_threads(self.config.numThreads)
        self._workdir = tempfile.TemporaryDirectory(prefix="realbogus_train_")

    def runQuantum(
        self,
        butlerQC: pipeBase.QuantumContext,
        inputRefs: pipeBase.InputQuantizedConnection,
        outputRefs: pipeBase.OutputQuantizedConnection,
    ) -> None:
        set_torch_threads(self.config.numThreads or butlerQC.resources.num_cores)
        handles = butlerQC.get(inputRefs.triplets)
        outputs = self.run(handles, provenance=f"run {outputRefs.model.run}")
        butlerQC.put(outputs, outputRefs)

    @timeMethod
    def run(self, triplets: Sequence[Any], provenance: str = "") -> pipeBase.Struct:
        """Train.

        Parameters
        ----------
        triplets : sequence
            `~lsst.meas.realbogus.stamps.triplets.LabelledTriplets`, or
            deferred handles to them.
        provenance : `str`
            Where the data came from, recorded in the model.

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``model``: `~lsst.meas.realbogus.inference.model.LoadedModel`;
            ``history``: `dict` (settings, counts, per-epoch record).

        Raises
        ------
        ValueError
            Before training, if there is no data or a class is missing: the
            user asked for a model, so an empty training set is an error,
            not `~lsst.pipe.base.NoWorkFound`.
        lsst.meas.realbogus.cnn.training.TrainingDivergedError
            If the loss becomes NaN or infinite.
        """
        config = self.config
        if not triplets:
            raise ValueError("no realbogus_triplets datasets to train on: does the data query select any?")
        config.apply_retain_freed_memory(self.log)
        with tempfile.TemporaryDirectory(prefix="realbogus_blocks_") as cache:
            blocks = TripletBlocks(
                triplets,
                config.channels,
                config.normalization,
                size=config.cutoutSize,
                min_snr=config.minSnr,
                drop_edge=config.dropEdge,
            )
            source = CachedBlocks(blocks, cache, self.log) if config.cacheBlocks else blocks
            checkpoints = (
                MemberCheckpoints(config.checkpointDir, self._training_key(triplets), self.log)
                if config.checkpointDir
                else None
            )
            results = []
            psf_fwhm_range = None
            n_loaded = 0
            for member in range(config.ensembleSize):
                loaded = checkpoints.load(member, config.architecture) if checkpoints else None
                if loaded is not None:
                    n_loaded += 1
                    results.append(loaded[0])
                    psf_fwhm_range = psf_fwhm_range or loaded[1]
                    continue
                if config.ensembleSize > 1:
                    self.log.info("Ensemble member %d of %d.", member + 1, config.ensembleSize)
                results.append(
                    train_classifier(
                        source,
                        architecture=config.architecture,
                        epochs=config.epochs,
                        batch_size=config.batchSize,
                        learning_rate=config.learningRate,
                        schedule=config.learningRateSchedule,
                        max_zoom=config.maxZoom,
                        positive_weight=config.positiveWeight or None,
                        validation_fraction=config.validationFraction,
                        patience=config.patience,
                        seed=config.seed + member,
                        split_seed=config.seed,
                        device=config.device,
                        blocks_per_shuffle=config.blocksPerShuffle,
                        channels_last=config.channelsLast,
                        log=self.log,
                        resume=checkpoints.load_progress(member) if checkpoints else None,
                        on_epoch=functools.partial(checkpoints.save_progress, member)
                        if checkpoints
                        else None,
                    )
                )
                psf_fwhm_range = (blocks.min_psf_fwhm, blocks.max_psf_fwhm)
                if checkpoints:
                    checkpoints.save(member, results[-1], psf_fwhm_range)
        result = results[0]
        val_logits = np.mean([r.val_logits for r in results], axis=0)
        val_labels = result.val_labels
        calibration = Calibration(1.0, 0.0)
        if config.calibrate:
            try:
                calibration = fit_calibration(val_logits, val_labels)
            except ValueError as err:
                self.log.warning("The model is not calibrated: %s.", err)
        before = _ece(Calibration(1.0, 0.0).apply(val_logits), val_labels)
        after = _ece(calibration.apply(val_logits), val_labels)
        val_auc = roc_auc(val_logits, val_labels)
        module = result.module if len(results) == 1 else Ensemble([r.module for r in results]).eval()
        seconds = sum(r.seconds for r in results)
        n_train = result.counts["train_real"] + result.counts["train_bogus"]
        epochs = ", ".join(str(r.best_epoch) for r in results)
        metadata = ModelMetadata(
            version=config.modelVersion,
            cutout_size=int(result.input_shape[-1]),
            channels=tuple(config.channels),
            normalization=config.normalization,
            output="logit",
            temperature=round(calibration.temperature, 6),
            logit_offset=round(calibration.offset, 6),
            members=len(results),
            architecture=config.architecture,
            # Rounded outwards, so that no training PSF is itself outside the limits.
            max_psf_fwhm=math.ceil(psf_fwhm_range[1] * 1000) / 1000,
            min_psf_fwhm=math.floor(psf_fwhm_range[0] * 1000) / 1000,
            threshold=config.threshold,
            provenance=(
                f"TrainRealBogusTask {config.architecture}{f' x{len(results)}' if len(results) > 1 else ''} "
                f"on {n_train} triplets ({result.counts['train_real']} real) of {len(triplets)} "
                f"detector-visits{', ' + provenance if provenance else ''}; seed {config.seed}; best epoch "
                f"{epochs}, validation AUC {val_auc:.4f}; temperature {calibration.temperature:.3f}, "
                f"offset {calibration.offset:.3f} (validation ECE {before:.4f} -> {after:.4f})"
            ),
        )
        path = config.outputFile or os.path.join(self._workdir.name, f"{config.modelVersion}.pt")
        save_torchscript(module, metadata, path)
        model: LoadedModel = load_model(path, device="cpu")
        history = {
            "architecture": config.architecture,
            "channels": list(config.channels),
            "normalization": config.normalization,
            "cutout_size": metadata.cutout_size,
            "datasets": len(triplets),
            "counts": result.counts,
            "positive_weight": result.positive_weight,
            "best_epoch": result.best_epoch,
            "val_auc": val_auc,
            "seconds": seconds,
            "epochs": result.history,
            "members": [
                {
                    "seed": config.seed + i,
                    "best_epoch": r.best_epoch,
                    "val_auc": r.val_auc,
                    "epochs": r.history,
                }
                for i, r in enumerate(results)
            ],
            "calibration": {
                "calibrated": calibration != Calibration(1.0, 0.0),
                "temperature": calibration.temperature,
                "offset": calibration.offset,
                "val_ece_before": before,
                "val_ece_after": after,
            },
            "model_metadata": metadata.to_json(),
        }
        self.metadata["bestEpoch"] = result.best_epoch
        self.metadata["validationAuc"] = val_auc
        self.metadata["temperature"] = calibration.temperature
        self.metadata["validationEce"] = after
        self.log.info(
            "Trained %s (%.0f s of training%s): best epoch %s, validation AUC %.4f; temperature %.3f, "
            "offset %.3f, validation ECE %.4f (uncalibrated %.4f)%s.",
            config.modelVersion,
            seconds,
            # A loaded member's seconds are those of the run that trained it.
            f", {n_loaded} of {len(results)} members loaded from {config.checkpointDir}" if n_loaded else "",
            epochs,
            val_auc,
            calibration.temperature,
            calibration.offset,
            after,
            before,
            f"; written to {config.outputFile}" if config.outputFile else "",
        )
        return pipeBase.Struct(model=model, history=history)

    def _training_key(self, triplets: Sequence[Any]) -> str:
        """The checkpoint key: every setting that decides the weights, and the input datasets' content."""
        config = self.config
        names = (
            "architecture channels normalization cutoutSize minSnr dropEdge epochs patience batchSize "
            "learningRate learningRateSchedule maxZoom positiveWeight validationFraction seed "
            "blocksPerShuffle channelsLast"
        ).split()
        settings = {name: getattr(config, name) for name in names}
        settings["channels"] = list(config.channels)
        # Each input is named by what it holds, so triplets rebuilt identically (another collection,
        # another machine) resume the training, and triplets that differ in one pixel or label do not.
        periodic = PeriodicLogger(self.log, interval=30.0)
        inputs = []
        for i, item in enumerate(triplets):
            inputs.append(triplets_digest(item if isinstance(item, LabelledTriplets) else item.get()))
            periodic.log("Checkpoint key: read %d of %d triplet datasets.", i + 1, len(triplets))
        return training_key(settings, inputs)
