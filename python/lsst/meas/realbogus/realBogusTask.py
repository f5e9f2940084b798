"""RealBogusTask: score every diaSource of a detector with a real/bogus model."""

from __future__ import annotations

__all__ = ("RealBogusConfig", "RealBogusConnections", "RealBogusTask")

import dataclasses
import os
from typing import Any

import astropy.table
import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase
import lsst.pipe.base.connectionTypes as cT
from lsst.utils.timer import timeMethod

from .butler.planes import read_planes
from .desom.labelling import PrototypeLabels
from .desom.model import LoadedDesom, load_desom
from .desom.stacking import stacked_scores, stacking_features
from .inference import LoadedModel, ModelMetadata, cpu_threads, load_model, set_torch_threads
from .sharedConfig import (
    CutoutFieldsMixin,
    CutoutSizeMixin,
    DesomSourceMixin,
    DiaSourceColumnsMixin,
    ModelSourceMixin,
    TorchDeviceMixin,
)
from .sharedConnections import PER_DETECTOR, DesomConnections, DetectorInputConnections, ModelConnections
from .stamps import Cutouts
from .stamps.resampling import MAX_RESAMPLING, bounded_psf_scale, centre_psf_fwhm, psf_scale


class RealBogusConnections(
    DetectorInputConnections, ModelConnections, DesomConnections, dimensions=PER_DETECTOR
):
    """The detector's diaSources and images (and the model and DESOM, if in the butler) in; scores out."""

    # Deferred, so that only the planes the task uses are read (config.doReadPlanesOnly).
    science = dataclasses.replace(DetectorInputConnections.science, deferLoad=True)
    template = dataclasses.replace(DetectorInputConnections.template, deferLoad=True)
    difference = dataclasses.replace(DetectorInputConnections.difference, deferLoad=True)

    scores = cT.Output(
        doc="Real/bogus score and flags of every input diaSource, in input order.",
        name="dia_source_realbogus",
        storageClass="ArrowAstropy",
        dimensions=PER_DETECTOR,
    )


class RealBogusConfig(
    ModelSourceMixin,
    DesomSourceMixin,
    CutoutSizeMixin,
    CutoutFieldsMixin,
    DiaSourceColumnsMixin,
    TorchDeviceMixin,
    pipeBase.PipelineTaskConfig,
    pipelineConnections=RealBogusConnections,
):
    """Configuration of `RealBogusTask`."""

    doReadPlanesOnly = pexConfig.Field[bool](
        doc="Read only the image and mask planes of the science, template and difference images (not "
        "their variance, PSF and the rest) when their storage class can (the lsst.images types); "
        "otherwise, and when False, read them whole. See doc/lsst.meas.realbogus/scaleout.rst for "
        "the time and memory it saves.",
        default=True,
    )
    maxBadPixelFraction = pexConfig.Field[float](
        doc="Flag a diaSource (flag_badPixels) when more than this fraction of its cutout pixels is "
        "missing (NaN, infinite, a sentinel of magnitude >= 1e30, masked) or off the image (in any "
        "channel). A cutout with no valid pixel gets no score (flag_noScore).",
        default=0.2,
        check=lambda f: 0.0 <= f <= 1.0,
    )
    batchSize = pexConfig.Field[int](
        doc="Cutouts per model batch (64: the fastest measured on a 2-core CPU for both backends, see "
        "task.rst).",
        default=64,
        check=lambda n: n > 0,
    )
    maxPsfFwhm = pexConfig.Field[float](
        doc="Widest PSF FWHM (pixels) to show the model: a detector whose difference-image PSF is wider "
        "has its cutouts cut wider by the ratio and averaged onto the model's grid, so the PSF looks "
        "this wide (a network has not learnt PSFs wider than its training images'). None: the "
        "model's own max_psf_fwhm (the widest of its training set; 0 for a model that does not "
        "record it); 0: never resample. The PSF is read from the difference image (its psf "
        "component) only when this is not 0.",
        default=None,
        optional=True,
        check=lambda f: f >= 0,
    )
    minPsfFwhm = pexConfig.Field[float](
        doc="Narrowest PSF FWHM (pixels) to show the model: a detector whose difference-image PSF is "
        "narrower (undersampled) has its cutouts interpolated up from their centres by the ratio, so "
        "the PSF looks this wide. None: the model's own min_psf_fwhm (the narrowest of its training "
        "set; 0 for a model that does not record it); 0: never interpolate.",
        default=None,
        optional=True,
        check=lambda f: f >= 0,
    )
    maxPsfResampling = pexConfig.Field[float](
        doc="Largest factor the cutouts are resampled by, either way: a PSF further outside the limits "
        "(a corrupt PSF model, or data unlike any training set) is resampled by this much only, and "
        "its rows get flag_psfOutOfRange.",
        default=MAX_RESAMPLING,
        check=lambda f: f >= 1,
    )
    desomBatchSize = pexConfig.Field[int](
        doc="Thumbnails per DESOM encoder batch (256: the fastest measured on a 2-core CPU, see task.rst).",
        default=256,
        check=lambda n: n > 0,
    )

    def validate(self) -> None:
        """Validate, and raise if ``minPsfFwhm`` is above ``maxPsfFwhm`` (both set, neither 0)."""
        super().validate()
        high, low = self.maxPsfFwhm, self.minPsfFwhm
        if high and low and low > high:
            raise pexConfig.FieldValidationError(
                RealBogusConfig.minPsfFwhm, self, f"minPsfFwhm {low} is above maxPsfFwhm {high}"
            )


class RealBogusTask(pipeBase.PipelineTask):
    """Score every diaSource of a detector as real (1) or bogus (0).

    Template, science and difference cutouts are cut around each diaSource
    centroid in one pass over each image, normalized as the model's metadata
    says (`lsst.meas.realbogus.stamps.batch.ModelInput`), and scored by the
    model in batches.  The output has exactly one row per input diaSource,
    in input order, with flags for cutouts off the image edge, cutouts with
    too many missing pixels (NaN, infinite, sentinel or masked; counted in
    ``badPixelFraction``), and rows that could not be scored (a non-finite
    centroid, a cutout with no valid pixel, or a non-finite model output).
    Missing pixels are left out of the normalization's statistics.  A detector
    whose PSF is wider than the model's training images (``maxPsfFwhm``, by
    default the model's ``max_psf_fwhm``) has its cutouts cut wider and
    averaged down so that the PSF looks as wide as the widest training one;
    one whose PSF is narrower (``minPsfFwhm``, the model's ``min_psf_fwhm``)
    has them interpolated up to the narrowest
    (`lsst.meas.realbogus.stamps.resampling`).  An empty diaSource table gives
    an empty score table, not `~lsst.pipe.base.NoWorkFound`, so that
    alert-production tasks downstream still run for the detector.

    With ``doDesom``, every diaSource is also placed on a DESOM's map
    (seed 000): its prototype (PV) index and map row and column, whether
    that PV is labelled real, its distance to the PV, ``flag_unusual`` when
    that distance exceeds the ``unusualPercentile`` of the training
    distances, and the stacked score if the labelling carries one.  The
    DESOM thumbnails are cut with the CNN's cutouts when the CNN's channels
    and size cover them (one pass over the images).

    The models are loaded once per process, and checked against the
    configuration when the task is constructed, before any data is read.
    """

    ConfigClass = RealBogusConfig
    _DefaultName = "realBogus"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model: LoadedModel | None = None
        self.desom: LoadedDesom | None = None
        self.desomLabels: PrototypeLabels | None = None
        self._cutout_buffer: np.ndarray | None = None
        self.config.check_device_here()
        set_torch_threads(self.config.numThreads)
        if self.config.modelSource == "file":
            # Raises ModelError, naming the file and the problem, before any data is read.
            self.set_model(
                load_model(
                    self.config.resolved_model_file(),
                    device=self.config.device,
                    backend=self.config.resolved_backend(),
                )
            )
        if self.config.doDesom and self.config.desomSource == "file":
            desom_file, labels_file = self.config.resolved_desom_files()
            self.set_desom(
                load_desom(desom_file, device=self.config.device), PrototypeLabels.read(labels_file)
            )

    def set_model(self, model: LoadedModel) -> None:
        """Use ``model``, after checking it against the configuration.

        Raises
        ------
        lsst.meas.realbogus.inference.ModelError
            If the model does not take the configured cutout size.
        ValueError
            If the narrowest PSF width to show it (``minPsfFwhm``, or the model's
            ``min_psf_fwhm``) is above the widest (``maxPsfFwhm``, or the model's).
        """
        if model.device != self.config.device:
            model = load_model(model.path, device=self.config.device, backend=model.backend.name)
        model.check_compatible(cutout_size=self.config.cutoutSize)
        config, md = self.config, model.metadata
        high = md.max_psf_fwhm if config.maxPsfFwhm is None else config.maxPsfFwhm
        low = md.min_psf_fwhm if config.minPsfFwhm is None else config.minPsfFwhm
        if 0 < high < low:
            raise ValueError(
                f"the narrowest PSF FWHM to show model {md.version}, {low} pixels "
                f"({'minPsfFwhm' if config.minPsfFwhm is not None else 'its min_psf_fwhm'}), is above the "
                f"widest, {high} ({'maxPsfFwhm' if config.maxPsfFwhm is not None else 'its max_psf_fwhm'}); "
                "set the other limit too (0 turns one off)"
            )
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

    def set_desom(self, desom: LoadedDesom, labels: PrototypeLabels) -> None:
        """Flag with ``desom`` and its prototype ``labels``, after checking them against each other.

        Raises
        ------
        lsst.meas.realbogus.inference.ModelError
            If the DESOM does not record the ``unusualPercentile`` distance.
        ValueError
            If the labelling is of another DESOM version or map shape.
        """
        if desom.device != self.config.device:
            desom = load_desom(desom.path, device=self.config.device)
        md = desom.metadata
        where = self.config.resolved_desom_files()[1] if self.config.desomSource == "file" else "desomLabels"
        labels.check_for(md.version, md.map_shape, where=where)
        desom.metadata.unusual_distance(self.config.unusualPercentile)
        self.desom, self.desomLabels = desom, labels

    def max_psf_fwhm(self) -> float:
        """The widest PSF FWHM (pixels) shown to the model: ``maxPsfFwhm``, or the model's own (0: none)."""
        if self.config.maxPsfFwhm is not None:
            return self.config.maxPsfFwhm
        return self.model.metadata.max_psf_fwhm if self.model is not None else 0.0

    def min_psf_fwhm(self) -> float:
        """The narrowest PSF FWHM (pixels) to show the model: ``minPsfFwhm``, or the model's (0: none)."""
        if self.config.minPsfFwhm is not None:
            return self.config.minPsfFwhm
        return self.model.metadata.min_psf_fwhm if self.model is not None else 0.0

    def _buffer(self, n: int, md: ModelMetadata) -> np.ndarray | None:
        """A cutout buffer reused from detector to detector (up to 256 MB), or `None` for a fresh one."""
        shape = md.input.shape
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
        set_torch_threads(self.config.numThreads or butlerQC.resources.num_cores)
        if self.config.modelSource == "butler":
            # The models first: a wrong model fails before the images are read.
            self.set_model(butlerQC.get(inputRefs.model))
        if self.config.doDesom and self.config.desomSource == "butler":
            labels = PrototypeLabels.from_dict(
                butlerQC.get(inputRefs.desomLabels), where="realbogus_desom_labels"
            )
            self.set_desom(butlerQC.get(inputRefs.desom), labels)
        inputs = {"diaSources": butlerQC.get(inputRefs.diaSources)}
        for name in ("science", "template", "difference"):
            handle = butlerQC.get(getattr(inputRefs, name))
            inputs[name] = read_planes(handle) if self.config.doReadPlanesOnly else handle.get()
            if name == "difference" and (self.max_psf_fwhm() > 0 or self.min_psf_fwhm() > 0):
                psf = getattr(inputs[name], "psf", None)
                inputs["psf"] = handle.get(component="psf") if psf is None else psf
        outputs = self.run(**inputs)
        butlerQC.put(outputs, outputRefs)

    @timeMethod
    def run(
        self,
        diaSources: astropy.table.Table,
        science: Any,
        template: Any,
        difference: Any,
        psf: Any = None,
    ) -> pipeBase.Struct:
        """Score diaSources.

        Parameters
        ----------
        diaSources : `astropy.table.Table`
            diaSources, with id and centroid columns (see config).
        science, template : `lsst.images.VisitImage`
            Science image and template, on the same pixel grid.
        difference : `lsst.images.DifferenceImage`
            Difference image, on the same pixel grid. Only the image and
            mask planes and the bounding box of the three are used, so any
            `lsst.images.MaskedImage` will do.
        psf : `lsst.images.psfs.PointSpreadFunction`, optional
            PSF of the difference image, used when `max_psf_fwhm` or
            `min_psf_fwhm` is not 0 (default: ``difference.psf``, if it has
            one; with neither, no resampling).

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``scores``: `astropy.table.Table` with one row per diaSource:
            the id, ``score`` (probability of real, calibrated by the model's
            temperature), ``logit`` (its log-odds: the same order, without
            float32's ties at 1), ``scoreStd`` (spread of an ensemble's
            members, NaN for a single network), ``flag_edge``,
            ``flag_badPixels``, ``flag_noScore``, ``badPixelFraction``,
            ``modelVersion``, ``psfScale`` (the factor the cutouts' pixels
            were widened by: above 1 averaged down, below 1 interpolated up,
            1 for neither) and ``flag_psfOutOfRange`` (the PSF needed more
            than ``maxPsfResampling``).

        Raises
        ------
        ValueError
            If a required column is missing, the images are not on one
            pixel grid, or a bad mask plane is in none of the images.
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

        x = np.asarray(diaSources[config.xColumn], dtype=np.float64)
        y = np.asarray(diaSources[config.yColumn], dtype=np.float64)
        desom = None
        if config.doDesom:
            if self.desom is None or self.desomLabels is None:
                raise RuntimeError("No DESOM: with desomSource='butler', call set_desom() before run().")
            desom = self.desom
        threads = cpu_threads()
        scale, out_of_range = self._psf_scale(difference, psf)
        if desom is None:
            batch = md.input.cut(
                images,
                x,
                y,
                fill=config.fillValue,
                bad_mask_planes=config.badMaskPlanes,
                out=self._buffer(len(x), md),
                threads=threads,
                scale=scale,
            )
        else:
            # One cut for both models when the CNN's cutouts hold the DESOM's thumbnails.
            raw = md.input.cut_raw(
                images,
                x,
                y,
                fill=config.fillValue,
                bad_mask_planes=config.badMaskPlanes,
                out=self._buffer(len(x), md),
                scale=scale,
            )
            batch = Cutouts(
                md.input.prepare(raw.data, md.channels, threads=threads), raw.off_image, raw.bad_fraction
            )
            if md.input.covers(desom.metadata.input):
                thumbnails = desom.metadata.input.prepare(raw.data, md.channels)
            else:
                thumbnails = desom.metadata.input.cut(
                    images, x, y, fill=config.fillValue, bad_mask_planes=config.badMaskPlanes
                ).data
        # A cutout with no valid pixel (off the image, all missing, or a non-finite centroid) is not scored.
        scorable = batch.bad_fraction < 1.0
        scores = np.full(len(x), np.nan, dtype=np.float32)
        logits = np.full(len(x), np.nan, dtype=np.float32)
        spread = np.full(len(x), np.nan, dtype=np.float32)
        if scorable.any():
            # Only the rare unscorable rows force a copy of the batch.
            rows = batch.data if scorable.all() else batch.data[scorable]
            result = self.model.score(rows, batch_size=config.batchSize)
            scores[scorable], logits[scorable] = result.score, result.logit
            if md.members > 1:
                spread[scorable] = result.std
        no_score = ~np.isfinite(scores)
        scores[no_score] = logits[no_score] = spread[no_score] = np.nan

        table = astropy.table.Table(
            {
                config.idColumn: np.asarray(diaSources[config.idColumn]),
                "score": scores,
                "logit": logits,
                "scoreStd": spread,
                "flag_edge": batch.off_image,
                "flag_badPixels": batch.bad_fraction > config.maxBadPixelFraction,
                "flag_noScore": no_score,
                "badPixelFraction": batch.bad_fraction,
            }
        )
        table["modelVersion"] = np.full(len(table), md.version, dtype="U7")
        table["psfScale"] = np.full(len(table), scale, dtype=np.float32)
        table["flag_psfOutOfRange"] = np.full(len(table), out_of_range)
        if desom is not None:
            self._add_desom_columns(table, thumbnails, scorable)
        table.meta["MODEL_VERSION"] = md.version
        table.meta["MODEL_FILE"] = os.path.basename(self.model.path)
        self.metadata["numSources"] = len(table)
        self.metadata["numFlaggedEdge"] = int(table["flag_edge"].sum())
        self.metadata["numFlaggedBadPixels"] = int(table["flag_badPixels"].sum())
        self.metadata["numNoScore"] = int(no_score.sum())
        self.metadata["psfScale"] = scale
        self.log.info(
            "Scored %d diaSources (%d at the edge, %d with bad pixels, %d unscored) with model %s.",
            len(table),
            table["flag_edge"].sum(),
            table["flag_badPixels"].sum(),
            no_score.sum(),
            md.version,
        )
        return pipeBase.Struct(scores=table)

    def _psf_scale(self, difference: Any, psf: Any) -> tuple[float, bool]:
        """The factor to widen the cutouts' pixels by for the PSF to be within the limits, and whether it
        had to be capped at ``maxPsfResampling`` (1 and False: within them, or no limits).
        """
        high, low = self.max_psf_fwhm(), self.min_psf_fwhm()  # checked against each other by set_model
        if high <= 0 and low <= 0:
            return 1.0, False
        fwhm = centre_psf_fwhm(difference, psf)
        if not np.isfinite(fwhm):
            if self.metadata.get("psfMissing") is None:
                self.log.warning("No PSF for the difference image: cutouts are not resampled to its width.")
            self.metadata["psfMissing"] = True
            return 1.0, False
        cap = self.config.maxPsfResampling
        scale, capped = bounded_psf_scale(fwhm, high, low, cap)
        if capped:
            self.log.warning(
                "PSF FWHM %.2f pixels would need the cutouts resampled by %.3f, beyond maxPsfResampling "
                "(%.1f): resampled by %.3f and flagged flag_psfOutOfRange.",
                fwhm,
                psf_scale(fwhm, high, low),
                cap,
                scale,
            )
        elif scale != 1.0:
            self.log.info(
                "PSF FWHM %.2f pixels is outside the limits, %.2f to %.2f: cutouts resampled by %.3f.",
                fwhm,
                low,
                high,
                scale,
            )
        return scale, capped

    def _add_desom_columns(
        self, table: astropy.table.Table, thumbnails: np.ndarray, scorable: np.ndarray
    ) -> None:
        """Place the scorable rows on the DESOM's map and add its columns (and the stacked score)."""
        desom, labels, config = self.desom, self.desomLabels, self.config
        md = desom.metadata
        n = len(table)
        pv = np.full(n, -1, dtype=np.int32)
        distance = np.full(n, np.nan, dtype=np.float32)
        if scorable.any():
            rows = thumbnails if scorable.all() else thumbnails[scorable]
            pv[scorable], distance[scorable] = desom.assign(rows, batch_size=config.desomBatchSize)
        placed = pv >= 0
        table["desomPv"] = pv
        table["desomPvRow"] = np.where(placed, pv // md.map_cols, -1).astype(np.int16)
        table["desomPvCol"] = np.where(placed, pv % md.map_cols, -1).astype(np.int16)
        table["desomPvReal"] = placed & labels.real[np.maximum(pv, 0)]
        table["desomDistance"] = distance
        table["flag_unusual"] = placed & (distance > md.unusual_distance(config.unusualPercentile))
        table["flag_noDesom"] = ~placed
        stacked = np.full(n, np.nan, dtype=np.float32)
        # The stacker was fitted on one classifier's scores; with another it would be meaningless.
        classifier = str(labels.parameters.get("classifier", ""))
        cnn_version = self.model.metadata.version
        if labels.stacker and classifier and classifier != cnn_version:
            if self.metadata.get("stackerSkipped") is None:
                self.log.warning(
                    "scoreStacked is NaN: the prototype labelling's stacker was fitted on the scores of "
                    "classifier %s, not of %s (retrain it with make default-desom).",
                    classifier,
                    cnn_version,
                )
            self.metadata["stackerSkipped"] = True
        elif labels.stacker:
            fraction = labels.real_fraction[np.maximum(pv, 0)]
            prior = labels.n_real.sum() / max(labels.n_real.sum() + labels.n_bogus.sum(), 1)
            features = stacking_features(table["score"], np.where(placed, fraction, np.nan), distance, prior)
            ok = placed & np.isfinite(table["score"])
            stacked[ok] = stacked_scores(labels.stacker, features[ok])
        table["scoreStacked"] = stacked
        table["desomVersion"] = np.full(n, md.version, dtype="U7")
        table.meta["DESOM_VERSION"] = md.version
        self.metadata["numUnusual"] = int(table["flag_unusual"].sum())
        self.metadata["numDesomReal"] = int(table["desomPvReal"].sum())
