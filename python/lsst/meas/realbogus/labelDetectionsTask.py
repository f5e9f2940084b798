"""LabelDetectionsTask: label every diaSource of a detector real or bogus from a truth catalog."""

from __future__ import annotations

__all__ = ("LabelDetectionsConfig", "LabelDetectionsConnections", "LabelDetectionsTask")

from typing import Any

import astropy.table
import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase
import lsst.pipe.base.connectionTypes as cT
from lsst.utils.timer import timeMethod

from .evaluation.labels import footprint_psf_sigma, label_table
from .sharedConfig import DiaSourceColumnsMixin
from .sharedConnections import PER_DETECTOR, DetectorInputConnections, DiaSourceStorageConnections, connect_to


class LabelDetectionsConnections(DiaSourceStorageConnections, dimensions=PER_DETECTOR):
    """diaSources and the truth of the same detector in; one label per diaSource out."""

    diaSources = connect_to(
        cT.Input,
        DetectorInputConnections.diaSources,
        "diaSources to label (one label row is written for each).",
    )
    truth = cT.Input(
        doc="Truth catalog: the simulator's (transients and artifacts) or an injected-source catalog "
        "(set truthIsRealColumn and truthKindColumn empty).",
        name="realbogus_sim_truth",
        storageClass="ArrowAstropy",
        dimensions=PER_DETECTOR,
    )
    differencePsf = cT.Input(
        doc="PSF of the difference image the diaSources were found on, for the footprint rule's "
        "aperture (removed unless labelRule is 'footprint' and psfSource is 'image').",
        name="difference_image.psf",
        storageClass="PointSpreadFunction",
        dimensions=PER_DETECTOR,
    )
    labels = cT.Output(
        doc="Label of every diaSource, in input order: id, isReal, kind, snr, truthIndex, matchDistance, "
        "realFluxFraction.",
        name="dia_source_realbogus_label",
        storageClass="ArrowAstropy",
        dimensions=PER_DETECTOR,
    )

    def __init__(self, *, config: Any = None) -> None:
        super().__init__(config=config)
        if config is not None and (config.labelRule != "footprint" or config.psfSource != "image"):
            del self.differencePsf


class LabelDetectionsConfig(
    DiaSourceColumnsMixin, pipeBase.PipelineTaskConfig, pipelineConnections=LabelDetectionsConnections
):
    """Configuration of `LabelDetectionsTask`."""

    labelRule = pexConfig.ChoiceField[str](
        doc="How a diaSource is labelled real.",
        default="footprint",
        allowed={
            "footprint": "Real if a real truth entry lies within matchRadius, or if the real truth flux "
            "within the diaSource's PSF aperture, sum of f * exp(-d^2 / (4 sigma^2)) over the real "
            "entries at distance d, is at least fluxFraction of its PSF flux (with its sign): blends of "
            "real transients, or a transient beside an artifact, whose centroid falls outside the radius.",
            "radius": "DMTN-216: real if and only if a real truth entry lies within matchRadius.",
        },
    )
    matchRadius = pexConfig.Field[float](
        doc="A diaSource is real if a real truth entry lies within this radius, pixels (DMTN-216: "
        "positives are candidates that match a truth-catalog transient); under the radius rule, if "
        "and only if.",
        default=3.0,
        check=lambda r: r > 0,
    )
    fluxFraction = pexConfig.RangeField[float](
        doc="Footprint rule: fraction of a diaSource's PSF flux that the real truth flux in its PSF "
        "aperture must explain for it to be real, in (0, 1].",
        default=0.5,
        min=0.0,
        inclusiveMin=False,
        max=1.0,
        inclusiveMax=True,
    )
    psfSource = pexConfig.ChoiceField[str](
        doc="Footprint rule: where the Gaussian sigma of the difference image's PSF comes from.",
        default="image",
        allowed={
            "image": "The differencePsf input (difference_image.psf): its sigma if Gaussian, else the "
            "second-moment sigma of its kernel image at the centre of the diaSources.",
            "config": "psfFwhm.",
        },
    )
    psfFwhm = pexConfig.Field[float](
        doc="Footprint rule: FWHM of the difference image's PSF, pixels, when psfSource is 'config' or "
        "run() is given no PSF.",
        default=5.0,
        check=lambda f: f > 0,
    )
    psfFluxColumn = pexConfig.Field[str](
        doc="Footprint rule: PSF flux column of the diaSource table (the detected flux).",
        default="psfFlux",
    )
    truthFluxColumn = pexConfig.Field[str](
        doc="Footprint rule: difference-image flux column of the truth (science minus template; for a "
        "variable star its flux change), in the units of psfFluxColumn.",
        default="flux",
    )
    snrColumn = pexConfig.Field[str](
        doc="Detection S/N column of the diaSource table, copied to the labels (for S/N cuts and bins).",
        default="snr",
    )
    truthXColumn = pexConfig.Field[str](doc="Truth x column, pixels.", default="x")
    truthYColumn = pexConfig.Field[str](doc="Truth y column, pixels.", default="y")
    truthIsRealColumn = pexConfig.Field[str](
        doc="Boolean truth column marking real transients. Empty: every truth row is a transient "
        "(an injected-source catalog).",
        default="isReal",
    )
    truthKindColumn = pexConfig.Field[str](
        doc="Truth column naming each entry's kind (host, hostless, variable, cosmic_ray...). Empty: "
        "every truth row is of kind defaultKind.",
        default="kind",
    )
    defaultKind = pexConfig.Field[str](
        doc="Kind of truth rows when truthKindColumn is empty.", default="injected"
    )


class LabelDetectionsTask(pipeBase.PipelineTask):
    """Label diaSources from a truth catalog.

    Under the ``radius`` rule (DMTN-216) a diaSource is real if and only if a
    real truth entry lies within ``matchRadius`` pixels of it; under the
    ``footprint`` rule (the default) it is also real when the real truth flux
    within its PSF aperture explains at least ``fluxFraction`` of its PSF
    flux (`~lsst.meas.realbogus.evaluation.labels.label_detections`).
    Each gets the kind of what it matched (a transient kind if real; the
    artifact that caused it if bogus, or ``unknown``), so the evaluation can be broken down by kind.  An empty
    diaSource table gives an empty label table, so that every score table
    has its labels.
    """

    ConfigClass = LabelDetectionsConfig
    _DefaultName = "labelDetections"

    @timeMethod
    def run(
        self, diaSources: astropy.table.Table, truth: astropy.table.Table, differencePsf: Any = None
    ) -> pipeBase.Struct:
        """Label diaSources.

        Parameters
        ----------
        diaSources : `astropy.table.Table`
            diaSources with id, centroid, S/N and (footprint rule) PSF flux
            columns (see config).
        truth : `astropy.table.Table`
            Truth catalog with pixel positions (and, footprint rule, fluxes).
        differencePsf : `lsst.images.psfs.PointSpreadFunction`, optional
            PSF of the difference image (footprint rule, ``psfSource``
            ``image``); `None`: a Gaussian of FWHM ``psfFwhm``.

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``labels``: `astropy.table.Table`, one row per diaSource, in order
            (`~lsst.meas.realbogus.evaluation.labels.label_table`).

        Raises
        ------
        ValueError
            If a configured column is missing (the message names it).
        """
        config = self.config
        rule_options: dict[str, Any] = {"rule": config.labelRule}
        if config.labelRule == "footprint":
            use_image = differencePsf is not None and config.psfSource == "image"
            psf_sigma = footprint_psf_sigma(
                differencePsf,
                np.asarray(diaSources[config.xColumn], dtype=float),
                np.asarray(diaSources[config.yColumn], dtype=float),
                None if use_image else config.psfFwhm,
            )
            rule_options.update(
                psf_sigma=psf_sigma,
                flux_fraction=config.fluxFraction,
                flux_column=config.psfFluxColumn,
                truth_flux_column=config.truthFluxColumn,
            )
            self.metadata["psfSigma"] = psf_sigma
        table = label_table(
            diaSources,
            truth,
            config.matchRadius,
            **rule_options,
            id_column=config.idColumn,
            snr_column=config.snrColumn,
            x_column=config.xColumn,
            y_column=config.yColumn,
            truth_x_column=config.truthXColumn,
            truth_y_column=config.truthYColumn,
            is_real_column=config.truthIsRealColumn or None,
            kind_column=config.truthKindColumn or None,
            default_kind=config.defaultKind,
        )
        n_real = int(table["isReal"].sum())
        self.metadata["numSources"] = len(table)
        self.metadata["numReal"] = n_real
        self.log.info(
            "Labelled %d diaSources (%s rule): %d real, %d bogus.",
            len(table),
            config.labelRule,
            n_real,
            len(table) - n_real,
        )
        return pipeBase.Struct(labels=table)
