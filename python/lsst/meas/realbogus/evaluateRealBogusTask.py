"""EvaluateRealBogusTask: metrics and plots of real/bogus scores against labels, over a data query."""

from __future__ import annotations

__all__ = (
    "EvaluateRealBogusConfig",
    "EvaluateRealBogusConnections",
    "EvaluateRealBogusTask",
    "evaluate_scores",
)

import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase
import lsst.pipe.base.connectionTypes as cT
from lsst.daf.butler import DeferredDatasetHandle

from . import plots
from .cutouts import cut_images
from .metrics import calibration, score_curves, summarize_scores, threshold_summary
from .model import LoadedModel, load_model
from .normalization import normalize
from .saliency import saliency_maps
from .sharedConfig import CutoutFieldsMixin, DiaSourceColumnsMixin, ModelSourceMixin

_PER_DETECTOR = ("instrument", "visit", "detector")


def _resolve(item: Any) -> Any:
    """The dataset itself, read from the butler if ``item`` is a deferred handle."""
    return item.get() if isinstance(item, DeferredDatasetHandle) else item


def _plot_connection(name: str, what: str) -> cT.Output:
    return cT.Output(doc=f"{what} (PNG).", name=f"realbogus_{name}_plot", storageClass="Plot", dimensions=())


class EvaluateRealBogusConnections(pipeBase.PipelineTaskConnections, dimensions=()):
    """Scores and labels of every detector of the data query in; metrics and plots out."""

    scores = cT.Input(
        doc="Real/bogus scores (RealBogusTask output).",
        name="dia_source_realbogus",
        storageClass="ArrowAstropy",
        dimensions=_PER_DETECTOR,
        multiple=True,
        deferLoad=True,
    )
    labels = cT.Input(
        doc="Labels of the same diaSources (LabelDetectionsTask output).",
        name="dia_source_realbogus_label",
        storageClass="ArrowAstropy",
        dimensions=_PER_DETECTOR,
        multiple=True,
        deferLoad=True,
    )
    diaSources = cT.Input(
        doc="diaSources (positions of the saliency sample).",
        name="dia_source_unstandardized",
        storageClass="ArrowAstropy",
        dimensions=_PER_DETECTOR,
        multiple=True,
        deferLoad=True,
    )
    science = cT.Input(
        doc="Science images (read only for the detectors of the saliency sample).",
        name="preliminary_visit_image",
        storageClass="VisitImage",
        dimensions=_PER_DETECTOR,
        multiple=True,
        deferLoad=True,
    )
    template = cT.Input(
        doc="Templates (read only for the saliency sample).",
        name="template_detector",
        storageClass="VisitImage",
        dimensions=_PER_DETECTOR,
        multiple=True,
        deferLoad=True,
    )
    difference = cT.Input(
        doc="Difference images (read only for the saliency sample).",
        name="difference_image",
        storageClass="DifferenceImage",
        dimensions=_PER_DETECTOR,
        multiple=True,
        deferLoad=True,
    )
    model = cT.PrerequisiteInput(
        doc="The evaluated model (used when config.modelSource is 'butler').",
        name="realbogus_model",
        storageClass="RealBogusModel",
        dimensions=(),
    )
    metrics = cT.Output(
        doc="Every metric, overall, per S/N cut and bin, and per kind (YAML).",
        name="realbogus_metrics",
        storageClass="StructuredDataDict",
        dimensions=(),
    )
    rocPlot = _plot_connection("roc", "ROC curves")
    prPlot = _plot_connection("pr", "Precision-recall curves with the OSS-REQ-0353 point")
    detPlot = _plot_connection("det", "Detection-error trade-off curves")
    calibrationPlot = _plot_connection("calibration", "Reliability diagram with the ECE")
    snrPlot = _plot_connection("snr", "Completeness, purity and FPR by S/N bin")
    kindPlot = _plot_connection("kind", "Fraction scored real by detection kind")
    saliencyPlot = _plot_connection("saliency", "Saliency maps of sampled detections")

    def __init__(self, *, config: EvaluateRealBogusConfig | None = None) -> None:
        super().__init__(config=config)
        if config is None or config.modelSource != "butler":
            del self.model
        if config is None or config.saliencyCount == 0:
            for name in ("diaSources", "science", "template", "difference", "saliencyPlot"):
                delattr(self, name)


class EvaluateRealBogusConfig(
    pipeBase.PipelineTaskConfig,
    ModelSourceMixin,
    CutoutFieldsMixin,
    DiaSourceColumnsMixin,
    pipelineConnections=EvaluateRealBogusConnections,
):
    """Configuration of `EvaluateRealBogusTask`.

    ``modelSource`` and ``modelFile`` must name the model that made the
    scores (EvaluateRealBogus.yaml sets both tasks from the pipeline
    parameters of the same names); the task checks the model version.
    """

    threshold = pexConfig.Field[float](
        doc="Score threshold for completeness, purity and the per-bin and per-kind figures. "
        "None: the threshold recorded in the model.",
        default=None,
        optional=True,
        check=lambda t: 0 <= t <= 1,
    )
    snrCuts = pexConfig.ListField[float](
        doc="Also report every metric for absolute S/N above each of these (the seeds use 5 and 6).",
        default=[5.0, 6.0],
    )
    snrBins = pexConfig.ListField[float](
        doc="Edges of the absolute S/N bins (increasing; the last bin is open).",
        default=[0.0, 5.0, 6.0, 8.0, 10.0, 20.0, 50.0],
    )
    targetFpr = pexConfig.Field[float](
        doc="False-positive rate at which the missed-detection rate (the seeds' figure of merit) is given.",
        default=0.01,
        check=lambda f: 0 < f < 1,
    )
    targetMdr = pexConfig.Field[float](
        doc="Missed-detection rate at which the false-positive rate is given.",
        default=0.01,
        check=lambda f: 0 < f < 1,
    )
    requiredCompleteness = pexConfig.Field[float](
        doc="Completeness of the requirement point (OSS-REQ-0353: 0.90).", default=0.90
    )
    requiredPurity = pexConfig.Field[float](
        doc="Purity of the requirement point (OSS-REQ-0353: 0.95).", default=0.95
    )
    calibrationBins = pexConfig.Field[int](
        doc="Score bins of the reliability diagram.", default=10, check=lambda n: n >= 2
    )
    saliencyCount = pexConfig.Field[int](
        doc="Detections in the saliency plot (the best and worst scored of each class); 0: no saliency "
        "plot, and no images are read.",
        default=8,
        check=lambda n: 0 <= n <= 40,
    )
    outputDir = pexConfig.Field[str](
        doc="Also write metrics.json and the plots as PNG files in this directory (created); empty: "
        "only to the butler.",
        default="",
    )

    def validate(self) -> None:
        super().validate()
        self.validate_model_source()
        edges = list(self.snrBins)
        if len(edges) < 1 or any(b <= a for a, b in zip(edges[:-1], edges[1:])):
            raise pexConfig.FieldValidationError(
                EvaluateRealBogusConfig.snrBins, self, f"must be increasing, got {edges}"
            )
        if any(c < 0 for c in self.snrCuts):
            raise pexConfig.FieldValidationError(
                EvaluateRealBogusConfig.snrCuts, self, f"must be non-negative, got {list(self.snrCuts)}"
            )


def _kind_summary(scores: np.ndarray, is_real: np.ndarray, kind: np.ndarray, threshold: float) -> dict:
    out = {}
    for name in np.unique(kind):
        rows = kind == name
        selected = scores[rows] >= threshold
        real = bool(is_real[rows].mean() >= 0.5)
        out[str(name)] = {
            "count": int(rows.sum()),
            "real": real,
            "selected_fraction": float(selected.mean()),
            "mean_score": float(scores[rows].mean()),
            # For real kinds the fraction selected is the completeness; for bogus ones the FPR.
            ("completeness" if real else "fpr"): float(selected.mean()),
        }
    return out


def _bin_summary(
    scores: np.ndarray, is_real: np.ndarray, snr: np.ndarray, edges: Sequence[float], threshold: float
) -> list[dict]:
    out = []
    uppers = list(edges[1:]) + [math.inf]
    for lo, hi in zip(edges, uppers):
        rows = (np.abs(snr) >= lo) & (np.abs(snr) < hi)
        name = f"{lo:g}-{hi:g}" if math.isfinite(hi) else f">{lo:g}"
        bounds = {"bin": name, "low": float(lo), "high": float(hi)}
        out.append(bounds | threshold_summary(scores[rows], is_real[rows], threshold))
    return out


def evaluate_scores(
    scores: np.ndarray,
    is_real: np.ndarray,
    kind: np.ndarray,
    snr: np.ndarray,
    threshold: float,
    config: EvaluateRealBogusConfig,
) -> tuple[dict, dict]:
    """Every metric of a set of scored detections.

    Parameters
    ----------
    scores, is_real, kind, snr : `numpy.ndarray`
        One entry per scored detection (finite scores).
    threshold : `float`
        Score threshold.
    config : `EvaluateRealBogusConfig`
        Cuts, bins, targets.

    Returns
    -------
    metrics : `dict`
        ``overall`` and ``snr>X`` summaries (`~lsst.meas.realbogus.metrics.summarize_scores`),
        ``by_snr`` bins, ``by_kind``, ``calibration``.
    curves : `dict` [`str`, `~lsst.meas.realbogus.metrics.Curves`]
        Curves of the overall set and of each S/N cut, for the plots.
    """
    subsets = {"overall": np.ones(len(scores), dtype=bool)}
    for cut in config.snrCuts:
        subsets[f"snr>{cut:g}"] = np.abs(snr) > cut
    targets = dict(
        fpr=config.targetFpr,
        mdr=config.targetMdr,
        completeness=config.requiredCompleteness,
        purity=config.requiredPurity,
    )
    metrics: dict[str, Any] = {}
    curves = {}
    for name, rows in subsets.items():
        if rows.sum() == 0:
            metrics[name] = {"count": 0}
            continue
        metrics[name] = summarize_scores(scores[rows], is_real[rows], threshold, **targets)
        if is_real[rows].any() and not is_real[rows].all():
            curves[name] = score_curves(scores[rows], is_real[rows])
    metrics["by_snr"] = _bin_summary(scores, is_real, snr, list(config.snrBins), threshold)
    metrics["by_kind"] = _kind_summary(scores, is_real, kind, threshold)
    metrics["calibration"] = calibration(scores, is_real, config.calibrationBins)
    return metrics, curves


class EvaluateRealBogusTask(pipeBase.PipelineTask):
    """Measure how well a model's scores separate real from bogus diaSources.

    Reads the scores and labels of every detector of the data query and
    reports, overall, above each S/N cut, by S/N bin and by detection kind:
    AUC, completeness, purity and FPR at the threshold, the missed-detection
    rate at the target FPR (the seeds' figure of merit), the FPR at the
    target MDR, the threshold that best meets the OSS-REQ-0353 point, and
    the calibration (ECE).  Plots: ROC, precision-recall (with the
    requirement point), DET, reliability, by S/N, by kind, and saliency maps
    of a sample of detections, as in Acero-Cuellar et al.
    """

    ConfigClass = EvaluateRealBogusConfig
    _DefaultName = "evaluateRealBogus"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model: LoadedModel | None = None
        if self.config.modelSource == "file":
            self.model = load_model(self.config.resolved_model_file())

    def runQuantum(
        self,
        butlerQC: pipeBase.QuantumContext,
        inputRefs: pipeBase.InputQuantizedConnection,
        outputRefs: pipeBase.OutputQuantizedConnection,
    ) -> None:
        if self.config.modelSource == "butler":
            self.model = butlerQC.get(inputRefs.model)
        inputs = {}
        for name in ("scores", "labels", "diaSources", "science", "template", "difference"):
            if hasattr(inputRefs, name):
                handles = butlerQC.get(getattr(inputRefs, name))
                inputs[name] = {h.dataId: h for h in handles}
        images = None
        if "science" in inputs:
            images = {
                data_id: {c: inputs[c][data_id] for c in ("diaSources", "science", "template", "difference")}
                for data_id in inputs["science"]
                if all(data_id in inputs[c] for c in ("diaSources", "template", "difference"))
            }
        outputs = self.run(inputs["scores"], inputs["labels"], images)
        butlerQC.put(outputs, outputRefs)

    def run(
        self,
        scores: Mapping[Any, Any],
        labels: Mapping[Any, Any],
        images: Mapping[Any, Mapping[str, Any]] | None = None,
    ) -> pipeBase.Struct:
        """Evaluate.

        Parameters
        ----------
        scores : `~collections.abc.Mapping`
            Score tables (or deferred handles to them) by data ID.
        labels : `~collections.abc.Mapping`
            Label tables (or handles) by the same data IDs.
        images : `~collections.abc.Mapping`, optional
            By data ID, ``diaSources``, ``science``, ``template`` and
            ``difference`` (objects or handles), for the saliency maps.

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``metrics`` (`dict`) and one `matplotlib.figure.Figure` per plot
            (``rocPlot``, ``prPlot``, ...).

        Raises
        ------
        ValueError
            If scores and labels do not cover the same diaSources, there is
            nothing to evaluate, or the scores were made by another model.
        """
        config = self.config
        model = self.model
        if model is None:
            raise RuntimeError("No model: with modelSource='butler', set task.model before run().")

        missing = sorted(str(d) for d in set(scores) ^ set(labels))
        if missing:
            raise ValueError(f"scores and labels do not cover the same detectors: {missing[:5]}")
        if not scores:
            raise ValueError("nothing to evaluate: no scored detectors in the data query")
        parts: dict[str, list] = {k: [] for k in ("score", "isReal", "kind", "snr", "key", "row")}
        versions: set[str] = set()
        unscored = 0
        keys = sorted(scores, key=str)
        for number, key in enumerate(keys):
            table, label = _resolve(scores[key]), _resolve(labels[key])
            id_column = config.idColumn
            if not np.array_equal(np.asarray(table[id_column]), np.asarray(label[id_column])):
                raise ValueError(f"{key}: scores and labels are not of the same diaSources, row for row")
            versions.update(str(v) for v in np.unique(np.asarray(table["modelVersion"])))
            s = np.asarray(table["score"], dtype=float)
            ok = np.isfinite(s)
            unscored += int((~ok).sum())
            parts["score"].append(s[ok])
            parts["isReal"].append(np.asarray(label["isReal"], dtype=bool)[ok])
            parts["kind"].append(np.asarray(label["kind"]).astype(str)[ok])
            parts["snr"].append(np.asarray(label["snr"], dtype=float)[ok])
            parts["key"].append(np.full(int(ok.sum()), number))
            parts["row"].append(np.flatnonzero(ok))
        if versions and versions != {model.metadata.version}:
            raise ValueError(
                f"the scores were made by model version(s) {sorted(versions)}, but the evaluation model "
                f"{model.path} is version {model.metadata.version}; give realBogus and evaluateRealBogus "
                "the same model (pipeline parameters modelSource and modelFile)"
            )
        data = {k: np.concatenate(v) for k, v in parts.items()}
        if len(data["score"]) == 0:
            raise ValueError("nothing to evaluate: no scored diaSources")
        threshold = config.threshold if config.threshold is not None else model.metadata.threshold
        metrics, curves = evaluate_scores(
            data["score"], data["isReal"], data["kind"], data["snr"], threshold, config
        )
        metrics = {
            "model": {
                "version": model.metadata.version,
                "architecture": model.metadata.architecture,
                "channels": list(model.metadata.channels),
                "normalization": model.metadata.normalization,
                "cutout_size": model.metadata.cutout_size,
                "provenance": model.metadata.provenance,
            },
            "detectors": len(keys),
            "unscored": unscored,
            "threshold": float(threshold),
        } | metrics
        figures = self._plots(metrics, curves, threshold)
        if images is not None and config.saliencyCount:
            figures["saliencyPlot"] = self._saliency(data, keys, images)
        self._log_summary(metrics)
        if config.outputDir:
            self._write_files(metrics, figures)
        return pipeBase.Struct(metrics=metrics, **figures)

    def _plots(self, metrics: dict, curves: dict, threshold: float) -> dict:
        config = self.config
        aucs = {name: metrics[name]["auc"] for name in curves}
        operating = {name: (metrics[name]["completeness"], metrics[name]["purity"]) for name in curves}
        return {
            "rocPlot": plots.plot_roc(curves, aucs),
            "prPlot": plots.plot_precision_recall(
                curves, (config.requiredCompleteness, config.requiredPurity), operating
            ),
            "detPlot": plots.plot_det(curves, config.targetFpr),
            "calibrationPlot": plots.plot_calibration(metrics["calibration"]),
            "snrPlot": plots.plot_by_snr(metrics["by_snr"], threshold),
            "kindPlot": plots.plot_by_kind(metrics["by_kind"], threshold),
        }

    def _saliency(self, data: dict, keys: list, images: Mapping[Any, Mapping[str, Any]]) -> Any:
        """Saliency maps of the best and worst scored real and bogus detections."""
        model = self.model
        md = model.metadata
        score, is_real = data["score"], data["isReal"]
        per_group = max(1, self.config.saliencyCount // 4)
        chosen, captions = [], []
        for cls, name in ((True, "real"), (False, "bogus")):
            members = np.flatnonzero(is_real == cls)
            order = members[np.argsort(-score[members], kind="stable")]
            for rows, where in ((order[:per_group], "highest"), (order[::-1][:per_group], "lowest")):
                for i in rows:
                    if i not in chosen:
                        chosen.append(int(i))
                        captions.append(f"{name}, {data['kind'][i]}\nscore {score[i]:.3f} ({where})")
        cutouts = []
        loaded: dict[Any, dict[str, Any]] = {}
        for i in chosen:
            key = keys[int(data["key"][i])]
            if key not in images:
                raise ValueError(f"no images for {key}, needed for the saliency maps")
            if key not in loaded:
                # Each detector's images are read once, however many sampled detections it holds.
                loaded[key] = {k: _resolve(v) for k, v in images[key].items()}
            entry = loaded[key]
            dia = entry["diaSources"]
            row = int(data["row"][i])
            cut = cut_images(
                entry,
                md.channels,
                np.asarray(dia[self.config.xColumn], dtype=float)[row : row + 1],
                np.asarray(dia[self.config.yColumn], dtype=float)[row : row + 1],
                md.cutout_size,
                fill=self.config.fillValue,
                bad_mask_planes=self.config.badMaskPlanes,
            )
            cutouts.append(normalize(cut.data, md.normalization))
        stack = np.concatenate(cutouts)
        return plots.plot_saliency(stack, saliency_maps(model, stack), md.channels, captions)

    def _log_summary(self, metrics: dict) -> None:
        fpr_key = f"mdr_at_fpr_{self.config.targetFpr:g}"
        for name in ["overall"] + [f"snr>{c:g}" for c in self.config.snrCuts]:
            m = metrics[name]
            if not m.get("count"):
                continue
            req = m["requirement"]
            self.log.info(
                "%s: %d diaSources (%d real): AUC %.4f; completeness %.3f, purity %.3f at %.3g; "
                "MDR %.4f at FPR %g; requirement (%.2f, %.2f) %s at threshold %.3g (completeness %.3f).",
                name,
                m["count"],
                m["real"],
                m["auc"],
                m["completeness"],
                m["purity"],
                metrics["threshold"],
                m[fpr_key],
                self.config.targetFpr,
                req["target_completeness"],
                req["target_purity"],
                "met" if req["met"] else "NOT met",
                req["threshold"],
                req["completeness"],
            )

    def _write_files(self, metrics: dict, figures: dict) -> None:
        os.makedirs(self.config.outputDir, exist_ok=True)
        with open(os.path.join(self.config.outputDir, "metrics.json"), "w") as stream:
            json.dump(metrics, stream, indent=1)
        for name, figure in figures.items():
            figure.savefig(os.path.join(self.config.outputDir, f"{name.removesuffix('Plot')}.png"), dpi=110)
        self.log.info("Wrote metrics.json and %d plots to %s.", len(figures), self.config.outputDir)
