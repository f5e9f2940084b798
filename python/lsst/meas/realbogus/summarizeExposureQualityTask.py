"""SummarizeExposureQualityTask: gather the detector-visits' quality rows, which share a cell, and (with
known labels) how well the cell labels match them.
"""

from __future__ import annotations

__all__ = (
    "SummarizeExposureQualityConfig",
    "SummarizeExposureQualityConnections",
    "SummarizeExposureQualityTask",
)

from collections.abc import Sequence
from typing import Any

import astropy.table
import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase
import lsst.pipe.base.connectionTypes as cT
from lsst.utils.timer import timeMethod

from .exposureQualityTask import ExposureQualityConnections
from .quality.labelling import class_counts, labels_by_visit
from .quality.metrics import quality_metrics
from .quality.plots import plot_cell_members, plot_density_beside_image, plot_label_map
from .sharedConfig import QualityClassesMixin
from .sharedConnections import connect_to, for_every_detector, plot_output
from .trainExposureQualityTask import TrainExposureQualityConnections

SUMMARY_COLUMNS = (
    "visit",
    "detector",
    "nDetected",
    "nUsed",
    "flag_tooFewSources",
    "cell",
    "cellRow",
    "cellCol",
    "distance",
    "label",
    "cellLabel",
    "flag_background",
)
"""Columns of the per-detector rows kept in the summary (not the histogram and the preview); rows
written before the background check lack its two columns."""


class SummarizeExposureQualityConnections(pipeBase.PipelineTaskConnections, dimensions=()):
    """Every ``exposure_quality`` row of the data query (and known labels, with doEvaluate) in."""

    exposureQuality = for_every_detector(
        ExposureQualityConnections.exposureQuality, "Quality row of every detector-visit."
    )
    knownLabels = connect_to(
        cT.Input, TrainExposureQualityConnections.knownLabels, "Known quality of each visit.", multiple=True
    )
    summary = cT.Output(
        doc="One row per detector-visit (counts, cell, distance, label; the known label with doEvaluate), "
        "sorted by cell: the visits that share a cell are together.",
        name="exposure_quality_summary",
        storageClass="ArrowAstropy",
        dimensions=(),
    )
    metrics = cT.Output(
        doc="Accuracy, precision and recall of 'good', per-class recall and the confusion matrix.",
        name="exposure_quality_metrics",
        storageClass="StructuredDataDict",
        dimensions=(),
    )
    labelMapPlot = plot_output(
        "exposure_quality_cells",
        "DESOM-2 cells of these detector-visits coloured by label (seed 002 figure 10)",
    )
    cellMembersPlot = plot_output("exposure_quality_members", "Members of one cell (seed 002 figures 11-17)")
    densityPlot = plot_output(
        "exposure_quality_density", "One detector-visit's image beside its density map (seed 002 figure 8)"
    )

    def __init__(self, *, config: SummarizeExposureQualityConfig | None = None) -> None:
        super().__init__(config=config)
        if config is None or not config.doEvaluate:
            del self.knownLabels
            del self.metrics


class SummarizeExposureQualityConfig(
    QualityClassesMixin, pipeBase.PipelineTaskConfig, pipelineConnections=SummarizeExposureQualityConnections
):
    """Configuration of `SummarizeExposureQualityTask`."""

    doEvaluate = pexConfig.Field[bool](
        doc="Compare the labels with known labels (connections.knownLabels; default: the simulator's truth).",
        default=False,
    )
    cell = pexConfig.Field[int](
        doc="Cell (flat index) whose members cellMembersPlot shows; -1: the most populated cell.", default=-1
    )
    exampleVisit = pexConfig.Field[int](doc="Visit densityPlot shows; -1: the first row's.", default=-1)
    exampleDetector = pexConfig.Field[int](doc="Detector densityPlot shows (with exampleVisit).", default=0)


class SummarizeExposureQualityTask(pipeBase.PipelineTask):
    """Gather the quality rows of every detector-visit, and draw and (optionally) score them."""

    ConfigClass = SummarizeExposureQualityConfig
    _DefaultName = "summarizeExposureQuality"

    def runQuantum(
        self,
        butlerQC: pipeBase.QuantumContext,
        inputRefs: pipeBase.InputQuantizedConnection,
        outputRefs: pipeBase.OutputQuantizedConnection,
    ) -> None:
        rows = [h.get() for h in butlerQC.get(inputRefs.exposureQuality)]
        if not rows:
            raise pipeBase.NoWorkFound("no exposure_quality rows in the data query")
        known = butlerQC.get(inputRefs.knownLabels) if self.config.doEvaluate else None
        butlerQC.put(self.run(rows, known), outputRefs)

    @timeMethod
    def run(self, rows: Sequence[astropy.table.Table], known: Sequence[Any] | None = None) -> pipeBase.Struct:
        """Gather, draw, and score against ``known`` labels if given.

        Parameters
        ----------
        rows : sequence of `astropy.table.Table`
            ``exposure_quality`` rows.
        known : sequence of `astropy.table.Table`, optional
            Known labels (``visit`` and ``labelColumn``); required with ``doEvaluate``.

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``summary`` (`astropy.table.Table`), ``metrics`` (`dict`, with
            ``doEvaluate``) and the figures.

        Raises
        ------
        ValueError
            If there are no rows, or a visit has no known label.
        """
        config = self.config
        if not rows:
            raise ValueError("no exposure_quality rows to summarize")
        table = astropy.table.vstack([astropy.table.Table(r) for r in rows], metadata_conflicts="silent")
        summary = table[[c for c in SUMMARY_COLUMNS if c in table.colnames]]
        outputs = pipeBase.Struct()
        classes = list(config.classes)
        cells = np.asarray(table["cell"], dtype=np.int64)
        shape = _one_shape(table, "desom2Shape")
        n_cells = shape[0] * shape[1]
        truth: list[str] | None = None
        if config.doEvaluate:
            if known is None:
                raise ValueError("doEvaluate needs the known labels")
            by_visit = labels_by_visit(known, config.labelColumn)
            missing = sorted({int(v) for v in summary["visit"]} - set(by_visit))
            if missing:
                raise ValueError(f"no known quality for visits {missing[:10]}")
            truth = [by_visit[int(v)] for v in summary["visit"]]
            summary["known"] = np.array(truth, dtype=str)
            outputs.metrics = quality_metrics(truth, list(summary["label"]), classes, config.goodClass)
            self._log_metrics(outputs.metrics)
        order = np.lexsort((np.asarray(summary["detector"]), np.asarray(summary["visit"]), cells))
        outputs.summary = summary[order]
        shared = _shared_cells(summary)
        self.log.info(
            "%d detector-visits on %d cells (%d flagged with too few sources); %d cells hold more than one.",
            len(summary),
            len(np.unique(cells[cells >= 0])),
            int(np.sum(cells < 0)),
            len(shared),
        )
        # Cell labels as the rows carry them; the counts are of the known labels if any, else the labels.
        cell_labels = [""] * n_cells
        for c, label in zip(cells, summary["label"]):
            if c >= 0:
                cell_labels[c] = str(label)
        placed = cells >= 0
        source = truth if truth is not None else [str(v) for v in summary["label"]]
        counts = class_counts(cells[placed], [s for s, p in zip(source, placed) if p], classes, n_cells)
        outputs.labelMapPlot = plot_label_map(
            counts,
            cell_labels,
            classes,
            shape,
            f"{int(placed.sum())} detector-visits on DESOM-2 (colour: cell label; number: "
            f"{'known labels' if truth is not None else 'members'}; white text: mixed)",
        )
        outputs.cellMembersPlot = self._members(table, cells, truth)
        outputs.densityPlot = self._density(table, _one_shape(table, "desom1Shape"))
        return outputs

    def _members(self, table: astropy.table.Table, cells: np.ndarray, truth: list[str] | None) -> Any:
        chosen = self.config.cell
        if chosen < 0:
            values, counts = np.unique(cells[cells >= 0], return_counts=True)
            chosen = int(values[np.argmax(counts)]) if len(values) else -1
        members = np.flatnonzero(cells == chosen)[:9]
        captions = [
            f"visit {table['visit'][i]} det {table['detector'][i]}"
            + (f"\nknown: {truth[i]}" if truth is not None else "")
            for i in members
        ]
        label = str(table["label"][members[0]]) if len(members) else ""
        return plot_cell_members(
            [table["preview"][i] for i in members],
            captions,
            f"cell {chosen} (label {label or 'none'}): {int(np.sum(cells == chosen))} detector-visits",
        )

    def _density(self, table: astropy.table.Table, shape: tuple[int, int]) -> Any:
        config = self.config
        index = 0
        if config.exampleVisit >= 0:
            found = np.flatnonzero(
                (table["visit"] == config.exampleVisit) & (table["detector"] == config.exampleDetector)
            )
            if not len(found):
                raise ValueError(
                    f"visit {config.exampleVisit} detector {config.exampleDetector} is not among the rows"
                )
            index = int(found[0])
        row = table[index]
        return plot_density_beside_image(
            row["preview"],
            np.asarray(row["histogram"]),
            shape,
            f"visit {row['visit']} detector {row['detector']}: {row['nDetected']} sources, "
            f"cell {row['cell']} ({row['label'] or 'none'})",
        )

    def _log_metrics(self, metrics: dict) -> None:
        self.log.info(
            "Against known labels (%d detector-visits): accuracy %.3f, good precision %.3f, good recall "
            "%.3f, exact class %.3f; %d unplaced.",
            metrics["n"],
            metrics["accuracy"],
            metrics["precision"],
            metrics["recall"],
            metrics["class_accuracy"],
            metrics["unplaced"],
        )
        confusion = metrics["confusion"]
        width = max(len(c) for c in confusion["columns"]) + 1
        lines = ["known \\ label".ljust(width) + "".join(c.rjust(width) for c in confusion["columns"])]
        for name, counts in zip(confusion["classes"], confusion["matrix"]):
            lines.append(name.ljust(width) + "".join(str(n).rjust(width) for n in counts))
        self.log.info("Confusion matrix (rows: known class; columns: label):\n%s", "\n".join(lines))


def _one_shape(table: astropy.table.Table, column: str) -> tuple[int, int]:
    """The map shape all rows share (`ValueError` if they were made with different models)."""
    shapes = {tuple(int(v) for v in shape) for shape in table[column]}
    if len(shapes) != 1:
        versions = sorted(set(table["desom2Version"]))
        raise ValueError(f"the rows were made with different models ({versions}): maps {sorted(shapes)}")
    return shapes.pop()


def _shared_cells(summary: astropy.table.Table) -> dict[int, list[tuple[int, int]]]:
    """Cells holding more than one detector-visit: cell to its (visit, detector) pairs."""
    out: dict[int, list[tuple[int, int]]] = {}
    for cell, visit, detector in zip(summary["cell"], summary["visit"], summary["detector"]):
        if cell >= 0:
            out.setdefault(int(cell), []).append((int(visit), int(detector)))
    return {c: members for c, members in out.items() if len(members) > 1}
