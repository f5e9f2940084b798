"""FilterByRealBogusTask: split a detector's diaSources into high- and low-score tables."""

from __future__ import annotations

__all__ = ("FilterByRealBogusConfig", "FilterByRealBogusConnections", "FilterByRealBogusTask")

import astropy.table
import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase
import lsst.pipe.base.connectionTypes as cT
from lsst.utils.timer import timeMethod

from .realBogusTask import RealBogusConnections
from .sharedConfig import DiaSourceColumnsMixin
from .sharedConnections import PER_DETECTOR, DetectorInputConnections, DiaSourceStorageConnections, connect_to


def _split(what: str, description: str) -> cT.Output:
    return cT.Output(
        doc=f"diaSources {description}, with every input column and the score.",
        name=f"dia_source_{what}_realbogus",
        storageClass="ArrowAstropy",
        dimensions=PER_DETECTOR,
    )


class FilterByRealBogusConnections(DiaSourceStorageConnections, dimensions=PER_DETECTOR):
    """A detector's diaSources and their scores in; the two halves out."""

    diaSources = connect_to(cT.Input, DetectorInputConnections.diaSources, "diaSources to split.")
    scores = connect_to(cT.Input, RealBogusConnections.scores, "Their scores, from RealBogusTask.")
    highScoreDiaSources = _split("high", "scored at or above the threshold (and, by default, unscored)")
    lowScoreDiaSources = _split("low", "scored below the threshold")


class FilterByRealBogusConfig(
    DiaSourceColumnsMixin, pipeBase.PipelineTaskConfig, pipelineConnections=FilterByRealBogusConnections
):
    """Configuration of `FilterByRealBogusTask`."""

    threshold = pexConfig.Field[float](
        doc="diaSources scored at or above this go to the high-score table (0.5, as Rubin's alert "
        "production filters on its reliability score since early 2026).",
        default=0.5,
        check=lambda t: 0.0 <= t <= 1.0,
    )
    scoreColumn = pexConfig.Field[str](doc="Score column of the score table.", default="score")
    keepUnscored = pexConfig.Field[bool](
        doc="Put diaSources without a score (NaN: no position) in the high-score table, so that no "
        "candidate is dropped for want of a score; False puts them in the low-score table.",
        default=True,
    )


class FilterByRealBogusTask(pipeBase.PipelineTask):
    """Split a detector's diaSources at a score threshold.

    Each diaSource goes to exactly one of the two outputs, in input order,
    with all its columns and its score (``scoreColumn``).  The score table
    must be the diaSource table's: the same identifiers in the same order,
    as `RealBogusTask` writes it.
    """

    ConfigClass = FilterByRealBogusConfig
    _DefaultName = "filterByRealBogus"

    @timeMethod
    def run(self, diaSources: astropy.table.Table, scores: astropy.table.Table) -> pipeBase.Struct:
        """Split ``diaSources`` by their ``scores``.

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``highScoreDiaSources`` and ``lowScoreDiaSources``
            (`astropy.table.Table`).

        Raises
        ------
        ValueError
            If a column is missing, or the score table's identifiers are not
            the diaSources' in the same order (naming the first mismatch).
        """
        config = self.config
        for table, what, columns in (
            (diaSources, "diaSource table", (config.idColumn,)),
            (scores, "score table", (config.idColumn, config.scoreColumn)),
        ):
            missing = [c for c in columns if c not in table.colnames]
            if missing:
                raise ValueError(f"the {what} has no column(s) {missing}; it has {table.colnames}")
        ids = np.asarray(diaSources[config.idColumn])
        scored_ids = np.asarray(scores[config.idColumn])
        if len(ids) != len(scored_ids):
            raise ValueError(
                f"the score table has {len(scored_ids)} rows for {len(ids)} diaSources: it is not "
                f"this detector's score table"
            )
        differ = np.flatnonzero(ids != scored_ids)
        if len(differ):
            i = int(differ[0])
            raise ValueError(
                f"the score table's {config.idColumn} differs from the diaSources' at {len(differ)} rows "
                f"(first at row {i}: {scored_ids[i]} for {ids[i]}): it is not this detector's score table"
            )
        score = np.asarray(scores[config.scoreColumn], dtype=np.float32)
        high = score >= config.threshold
        if config.keepUnscored:
            high |= np.isnan(score)
        table = astropy.table.Table(diaSources, copy=True)
        table[config.scoreColumn] = score
        self.metadata["numHighScore"] = int(high.sum())
        self.metadata["numLowScore"] = int((~high).sum())
        self.log.info(
            "%d of %d diaSources scored at or above %.3g (%d unscored, kept %s).",
            high.sum(),
            len(high),
            config.threshold,
            np.isnan(score).sum(),
            "high" if config.keepUnscored else "low",
        )
        return pipeBase.Struct(highScoreDiaSources=table[high], lowScoreDiaSources=table[~high])
