"""LabelDetectionsTask: label every diaSource of a detector real or bogus from a truth catalog."""

from __future__ import annotations

__all__ = ("LabelDetectionsConfig", "LabelDetectionsConnections", "LabelDetectionsTask")

import astropy.table

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase
import lsst.pipe.base.connectionTypes as cT
from lsst.utils.timer import timeMethod

from .evaluation.labels import label_table
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
    labels = cT.Output(
        doc="Label of every diaSource, in input order: id, isReal, kind, snr, truthIndex, matchDistance.",
        name="dia_source_realbogus_label",
        storageClass="ArrowAstropy",
        dimensions=PER_DETECTOR,
    )


class LabelDetectionsConfig(
    DiaSourceColumnsMixin, pipeBase.PipelineTaskConfig, pipelineConnections=LabelDetectionsConnections
):
    """Configuration of `LabelDetectionsTask`."""

    matchRadius = pexConfig.Field[float](
        doc="A diaSource is real if and only if a real truth entry lies within this radius, pixels "
        "(DMTN-216: positives are candidates that match a truth-catalog transient).",
        default=3.0,
        check=lambda r: r > 0,
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
    """Label diaSources by matching them to a truth catalog (DMTN-216).

    A diaSource is real if and only if a real truth entry lies within
    ``matchRadius`` pixels of it.  Each gets the kind of what it matched (a
    transient kind if real; the artifact that caused it if bogus, or
    ``unknown``), so the evaluation can be broken down by kind.  An empty
    diaSource table gives an empty label table, so that every score table
    has its labels.
    """

    ConfigClass = LabelDetectionsConfig
    _DefaultName = "labelDetections"

    @timeMethod
    def run(self, diaSources: astropy.table.Table, truth: astropy.table.Table) -> pipeBase.Struct:
        """Label diaSources.

        Parameters
        ----------
        diaSources : `astropy.table.Table`
            diaSources with id, centroid and S/N columns (see config).
        truth : `astropy.table.Table`
            Truth catalog with pixel positions.

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
        table = label_table(
            diaSources,
            truth,
            config.matchRadius,
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
        self.log.info("Labelled %d diaSources: %d real, %d bogus.", len(table), n_real, len(table) - n_real)
        return pipeBase.Struct(labels=table)
