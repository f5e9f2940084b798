"""LabelDetectionsTask: label every diaSource of a detector real or bogus from a truth catalog."""

from __future__ import annotations

__all__ = ("LabelDetectionsConfig", "LabelDetectionsConnections", "LabelDetectionsTask")

import astropy.table
import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase
import lsst.pipe.base.connectionTypes as cT

from .labels import label_detections
from .sharedConfig import DiaSourceColumnsMixin


class LabelDetectionsConnections(
    pipeBase.PipelineTaskConnections, dimensions=("instrument", "visit", "detector")
):
    """diaSources and the truth of the same detector in; one label per diaSource out."""

    diaSources = cT.Input(
        doc="diaSources to label (one label row is written for each).",
        name="dia_source_unstandardized",
        storageClass="ArrowAstropy",
        dimensions=("instrument", "visit", "detector"),
    )
    truth = cT.Input(
        doc="Truth catalog: the simulator's (transients and artifacts) or an injected-source catalog "
        "(set truthIsRealColumn and truthKindColumn empty).",
        name="realbogus_sim_truth",
        storageClass="ArrowAstropy",
        dimensions=("instrument", "visit", "detector"),
    )
    labels = cT.Output(
        doc="Label of every diaSource, in input order: id, isReal, kind, snr, truthIndex, matchDistance.",
        name="dia_source_realbogus_label",
        storageClass="ArrowAstropy",
        dimensions=("instrument", "visit", "detector"),
    )


class LabelDetectionsConfig(
    pipeBase.PipelineTaskConfig, DiaSourceColumnsMixin, pipelineConnections=LabelDetectionsConnections
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
    ``unknown``), so the evaluation can be broken down by kind.
    """

    ConfigClass = LabelDetectionsConfig
    _DefaultName = "labelDetections"

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
            ``labels``: `astropy.table.Table`, one row per diaSource, in order.

        Raises
        ------
        ValueError
            If a configured column is missing (the message names it).
        """
        config = self.config
        for column in (config.idColumn, config.snrColumn):
            if column not in diaSources.colnames:
                raise ValueError(f"diaSource table has no column {column!r} (columns: {diaSources.colnames})")
        labels = label_detections(
            diaSources,
            truth,
            config.matchRadius,
            x_column=config.xColumn,
            y_column=config.yColumn,
            truth_x_column=config.truthXColumn,
            truth_y_column=config.truthYColumn,
            is_real_column=config.truthIsRealColumn or None,
            kind_column=config.truthKindColumn or None,
            default_kind=config.defaultKind,
        )
        table = astropy.table.Table(
            {
                config.idColumn: np.asarray(diaSources[config.idColumn]),
                "isReal": labels.is_real,
                "kind": labels.kind,
                "snr": np.asarray(diaSources[config.snrColumn], dtype=np.float32),
                "truthIndex": labels.truth_index,
                "matchDistance": labels.distance.astype(np.float32),
            }
        )
        table.meta["MATCH_RADIUS"] = config.matchRadius
        self.metadata["numSources"] = len(table)
        self.metadata["numReal"] = int(labels.is_real.sum())
        self.log.info(
            "Labelled %d diaSources: %d real, %d bogus.",
            len(table),
            labels.is_real.sum(),
            len(table) - labels.is_real.sum(),
        )
        return pipeBase.Struct(labels=table)
