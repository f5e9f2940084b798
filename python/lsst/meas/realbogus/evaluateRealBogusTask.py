"""EvaluateRealBogusTask: metrics and plots of real/bogus scores against labels, over a data query."""

from __future__ import annotations

__all__ = ("EvaluateRealBogusConfig", "EvaluateRealBogusConnections", "EvaluateRealBogusTask")

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase
import lsst.pipe.base.connectionTypes as cT
from lsst.daf.butler import DeferredDatasetHandle
from lsst.utils.timer import timeMethod

from .desom import plots as desom_plots
from .desom.model import LoadedDesom, load_desom
from .evaluation import plots
from .evaluation.report import (
    ScoredDetections,
    collect_scores,
    desom_summary,
    evaluate_scores,
    json_safe,
    prototype_summary,
    uncertainty_summary,
)
from .evaluation.saliency import saliency_maps
from .inference import LoadedModel, load_model
from .labelDetectionsTask import LabelDetectionsConnections
from .realBogusTask import RealBogusConnections
from .sharedConfig import CutoutFieldsMixin, DesomSourceMixin, DiaSourceColumnsMixin, ModelSourceMixin
from .sharedConnections import (
    DesomConnections,
    DetectorInputConnections,
    DiaSourceStorageConnections,
    ModelConnections,
    for_every_detector,
    plot_output,
)

_IMAGE_INPUTS = ("diaSources", "science", "template", "difference")


def _resolve(item: Any) -> Any:
    """The dataset itself, read from the butler if ``item`` is a deferred handle."""
    return item.get() if isinstance(item, DeferredDatasetHandle) else item


class EvaluateRealBogusConnections(
    DiaSourceStorageConnections, ModelConnections, DesomConnections, dimensions=()
):
    """Scores and labels of every detector of the data query in; metrics and plots out.

    The images of every detector are inputs too, read only for the detectors
    of the saliency sample (and not connected at all when
    ``saliencyCount`` is 0).
    """

    scores = for_every_detector(RealBogusConnections.scores, "Real/bogus scores (RealBogusTask output).")
    labels = for_every_detector(
        LabelDetectionsConnections.labels, "Labels of the same diaSources (LabelDetectionsTask output)."
    )
    diaSources = for_every_detector(
        DetectorInputConnections.diaSources, "diaSources (positions of the saliency sample)."
    )
    science = for_every_detector(
        DetectorInputConnections.science, "Science images (for the saliency sample)."
    )
    template = for_every_detector(DetectorInputConnections.template, "Templates (for the saliency sample).")
    difference = for_every_detector(
        DetectorInputConnections.difference, "Difference images (for the saliency sample)."
    )
    metrics = cT.Output(
        doc="Every metric, overall, per S/N cut and bin, and per kind (YAML).",
        name="realbogus_metrics",
        storageClass="StructuredDataDict",
        dimensions=(),
    )
    rocPlot = plot_output("roc", "ROC curves")
    prPlot = plot_output("pr", "Precision-recall curves with the OSS-REQ-0353 point")
    detPlot = plot_output("det", "Detection-error trade-off curves")
    calibrationPlot = plot_output("calibration", "Reliability diagram with the ECE")
    snrPlot = plot_output("snr", "Completeness, purity and FPR by S/N bin")
    kindPlot = plot_output("kind", "Fraction scored real by detection kind")
    saliencyPlot = plot_output("saliency", "Saliency maps of sampled detections")
    prototypePlot = plot_output("prototype", "The classifier's error rate on each DESOM prototype")

    def __init__(self, *, config: EvaluateRealBogusConfig | None = None) -> None:
        super().__init__(config=config)
        if config is None or config.saliencyCount == 0:
            for name in _IMAGE_INPUTS + ("saliencyPlot",):
                delattr(self, name)
        if config is None or not config.doDesom:
            del self.prototypePlot


class EvaluateRealBogusConfig(
    ModelSourceMixin,
    DesomSourceMixin,
    CutoutFieldsMixin,
    DiaSourceColumnsMixin,
    pipeBase.PipelineTaskConfig,
    pipelineConnections=EvaluateRealBogusConnections,
):
    """Configuration of `EvaluateRealBogusTask`.

    ``modelSource`` and ``modelFile`` must name the model that made the
    scores (EvaluateRealBogus.yaml sets both tasks from the pipeline
    parameters of the same names); the task checks the model version.
    With ``doDesom``, the scores must carry DESOM columns (RealBogusTask with
    ``doDesom``, from the same DESOM: the DESOM fields are set from the same
    pipeline parameters, and the version is checked); the evaluation then
    also reports the prototype labelling and the stacked score as
    classifiers, the fraction flagged unusual by kind, and the classifier's
    errors on each prototype (metrics ``desom`` and ``by_prototype``, and
    ``prototypePlot``).
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

    def setDefaults(self) -> None:
        super().setDefaults()
        self.backend = "torchscript"  # the saliency maps need torch's gradients

    def validate(self) -> None:
        super().validate()
        if self.saliencyCount and self.resolved_backend() != "torchscript":
            raise pexConfig.FieldValidationError(
                EvaluateRealBogusConfig.saliencyCount,
                self,
                "saliency maps need the model's gradients (backend 'torchscript'); set saliencyCount=0",
            )
        edges = list(self.snrBins)
        if len(edges) < 1 or any(b <= a for a, b in zip(edges[:-1], edges[1:])):
            raise pexConfig.FieldValidationError(
                EvaluateRealBogusConfig.snrBins, self, f"must be increasing, got {edges}"
            )
        if any(c < 0 for c in self.snrCuts):
            raise pexConfig.FieldValidationError(
                EvaluateRealBogusConfig.snrCuts, self, f"must be non-negative, got {list(self.snrCuts)}"
            )


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
        self.desom: LoadedDesom | None = None
        if self.config.modelSource == "file":
            self.model = load_model(self.config.resolved_model_file(), backend=self.config.resolved_backend())
        if self.config.doDesom and self.config.desomSource == "file":
            self.desom = load_desom(self.config.resolved_desom_files()[0])

    def runQuantum(
        self,
        butlerQC: pipeBase.QuantumContext,
        inputRefs: pipeBase.InputQuantizedConnection,
        outputRefs: pipeBase.OutputQuantizedConnection,
    ) -> None:
        if self.config.modelSource == "butler":
            self.model = butlerQC.get(inputRefs.model)
        if self.config.doDesom and self.config.desomSource == "butler":
            self.desom = butlerQC.get(inputRefs.desom)
        inputs = {}
        for name in ("scores", "labels") + _IMAGE_INPUTS:
            if hasattr(inputRefs, name):
                handles = butlerQC.get(getattr(inputRefs, name))
                inputs[name] = {h.dataId: h for h in handles}
        images = None
        if "science" in inputs:
            images = {
                data_id: {c: inputs[c][data_id] for c in _IMAGE_INPUTS}
                for data_id in inputs["science"]
                if all(data_id in inputs[c] for c in _IMAGE_INPUTS)
            }
        outputs = self.run(inputs["scores"], inputs["labels"], images)
        butlerQC.put(outputs, outputRefs)

    @timeMethod
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
            If scores and labels do not cover the same diaSources, or the
            scores were made by another model.
        lsst.pipe.base.NoWorkFound
            If no diaSource was scored (no detectors, or only empty tables).
        """
        config = self.config
        model = self.model
        if model is None:
            raise RuntimeError("No model: with modelSource='butler', set task.model before run().")

        missing = sorted(str(d) for d in set(scores) ^ set(labels))
        if missing:
            raise ValueError(f"scores and labels do not cover the same detectors: {missing[:5]}")
        keys = sorted(scores, key=str)
        data = collect_scores(
            ((key, _resolve(scores[key]), _resolve(labels[key])) for key in keys), config.idColumn
        )
        if data.versions and data.versions != {model.metadata.version}:
            raise ValueError(
                f"the scores were made by model version(s) {sorted(data.versions)}, but the evaluation "
                f"model {model.path} is version {model.metadata.version}; give realBogus and "
                "evaluateRealBogus the same model (pipeline parameters modelSource and modelFile)"
            )
        if len(data.score) == 0:
            raise pipeBase.NoWorkFound(
                f"nothing to evaluate: no scored diaSources in {len(keys)} detectors "
                f"({data.counts['unscored']} unscored)"
            )
        threshold = config.threshold if config.threshold is not None else model.metadata.threshold
        metrics, curves = evaluate_scores(
            data.score,
            data.is_real,
            data.kind,
            data.snr,
            threshold,
            snr_cuts=config.snrCuts,
            snr_bins=config.snrBins,
            target_fpr=config.targetFpr,
            target_mdr=config.targetMdr,
            required_completeness=config.requiredCompleteness,
            required_purity=config.requiredPurity,
            calibration_bins=config.calibrationBins,
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
            "unscored": data.counts["unscored"],
            "threshold": float(threshold),
        } | metrics
        if len(data.score_std):
            metrics["uncertainty"] = uncertainty_summary(data.score, data.is_real, data.score_std, threshold)
            u = metrics["uncertainty"]
            self.log.info(
                "Ensemble spread: AUC %.3f for wrong against right scores; %.0f%% of the wrong scores are "
                "among the 10%% most uncertain.",
                u["auc_wrong_vs_right"],
                100 * u["wrong_in_top10pct_std"],
            )
        figures = self._plots(metrics, curves, threshold)
        if config.doDesom:
            if self.desom is None:
                raise RuntimeError("No DESOM: with desomSource='butler', set task.desom before run().")
            if not data.desom:
                raise ValueError(
                    "doDesom is set but the score tables have no DESOM columns: score them with "
                    "realBogus:doDesom=True (pipeline parameter doDesom)"
                )
            desom_versions = set(np.unique(data.desom["desomVersion"]).astype(str))
            if desom_versions != {self.desom.metadata.version}:
                raise ValueError(
                    f"the scores were placed by DESOM version(s) {sorted(desom_versions)}, but the "
                    f"evaluation DESOM {self.desom.path} is version {self.desom.metadata.version}"
                )
            rows, cols = self.desom.metadata.map_shape
            metrics["desom"] = desom_summary(
                data.score, data.is_real, data.kind, data.desom, threshold, config.targetFpr, config.targetMdr
            )
            per_pv = prototype_summary(
                data.score, data.is_real, data.desom["desomPv"], rows * cols, threshold
            )
            metrics["by_prototype"] = {"map_shape": [rows, cols]} | per_pv
            figures["prototypePlot"] = desom_plots.plot_per_prototype(
                np.asarray(per_pv["error_rate"]),
                np.asarray(per_pv["count"]),
                (rows, cols),
                "fraction misclassified",
                f"classifier errors per prototype at {threshold:.3g}",
                cmap="magma",
            )
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

    def _saliency(self, data: ScoredDetections, keys: list, images: Mapping[Any, Mapping[str, Any]]) -> Any:
        """Saliency maps of the best and worst scored real and bogus detections.

        Each detection is cut as it was scored: resampled by its table's
        ``psfScale`` when its detector's PSF was outside the model's widths.
        """
        model = self.model
        md = model.metadata
        score, is_real = data.score, data.is_real
        per_group = max(1, self.config.saliencyCount // 4)
        chosen, captions = [], []
        for cls, name in ((True, "real"), (False, "bogus")):
            members = np.flatnonzero(is_real == cls)
            order = members[np.argsort(-score[members], kind="stable")]
            for rows, where in ((order[:per_group], "highest"), (order[::-1][:per_group], "lowest")):
                for i in rows:
                    if i not in chosen:
                        chosen.append(int(i))
                        captions.append(f"{name}, {data.kind[i]}\nscore {score[i]:.3f} ({where})")
        cutouts = []
        loaded: dict[Any, dict[str, Any]] = {}
        for i in chosen:
            key = keys[int(data.detector[i])]
            if key not in images:
                raise ValueError(f"no images for {key}, needed for the saliency maps")
            if key not in loaded:
                # Each detector's images are read once, however many sampled detections it holds.
                loaded[key] = {k: _resolve(v) for k, v in images[key].items()}
            entry = loaded[key]
            dia = entry["diaSources"]
            row = int(data.row[i])
            batch = md.input.cut(
                entry,
                np.asarray(dia[self.config.xColumn], dtype=float)[row : row + 1],
                np.asarray(dia[self.config.yColumn], dtype=float)[row : row + 1],
                fill=self.config.fillValue,
                bad_mask_planes=self.config.badMaskPlanes,
                scale=float(data.psf_scale[i]),
            )
            cutouts.append(batch.data)
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
            # Strict JSON: undefined metrics (NaN) are written as null.
            json.dump(json_safe(metrics), stream, indent=1, allow_nan=False)
        for name, figure in figures.items():
            figure.savefig(os.path.join(self.config.outputDir, f"{name.removesuffix('Plot')}.png"), dpi=110)
        self.log.info("Wrote metrics.json and %d plots to %s.", len(figures), self.config.outputDir)
