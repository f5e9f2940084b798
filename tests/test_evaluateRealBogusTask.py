"""EvaluateRealBogusTask.run() on in-memory scores, labels and images."""

from __future__ import annotations

import json

import astropy.table
import numpy as np
import pytest
from lsst.meas.realbogus import LabelDetectionsTask, RealBogusTask
from lsst.meas.realbogus.evaluateRealBogusTask import EvaluateRealBogusConfig, EvaluateRealBogusTask
from lsst.pex.config import FieldValidationError
from lsst.pipe.base import NoWorkFound
from matplotlib.figure import Figure


def _tables(version: str, n: int = 6):
    ids = np.arange(n)
    labels = astropy.table.Table(
        {
            "diaSourceId": ids,
            "isReal": ids % 2 == 0,
            "kind": ["host", "cosmic_ray"] * (n // 2),
            "snr": ids + 5.0,
        }
    )
    scores = astropy.table.Table({"diaSourceId": ids, "score": ids / n, "modelVersion": [version] * n})
    return scores, labels


def test_refuses_scores_of_another_model():
    task = EvaluateRealBogusTask()  # the shipped model, from its file
    scores, labels = _tables("other")
    with pytest.raises(ValueError, match=r"model version\(s\) \['other'\].*" + task.model.metadata.version):
        task.run({"d": scores}, {"d": labels})
    scores["modelVersion"] = [task.model.metadata.version] * 6
    assert task.run({"d": scores}, {"d": labels}).metrics["overall"]["count"] == 6
    with pytest.raises(ValueError, match="same detectors"):
        task.run({"d": scores}, {"e": labels})


def test_nothing_scored_is_no_work():
    task = EvaluateRealBogusTask()
    scores, labels = _tables(task.model.metadata.version)
    scores["score"] = np.nan
    with pytest.raises(NoWorkFound, match=r"no scored diaSources in 1 detectors \(6 unscored\)"):
        task.run({"d": scores}, {"d": labels})
    with pytest.raises(NoWorkFound):
        task.run({}, {})


def test_metrics_plots_saliency_and_files(detector_visit, detector_inputs, tmp_path, shipped_model_version):
    product, _ = detector_visit
    scores = RealBogusTask().run(**detector_inputs).scores
    labels = LabelDetectionsTask().run(product.dia_sources, product.truth).labels
    config = EvaluateRealBogusConfig()
    config.saliencyCount = 4
    config.outputDir = str(tmp_path / "eval")
    config.snrCuts = [5.0, 1e6]  # the second selects nothing: it is reported as {"count": 0}
    task = EvaluateRealBogusTask(config=config)
    result = task.run({"d": scores}, {"d": labels}, {"d": detector_inputs})
    metrics = result.metrics
    assert metrics["overall"]["count"] == len(scores) and metrics["detectors"] == 1
    assert metrics["model"]["version"] == shipped_model_version and metrics["threshold"] == 0.5
    for name in ("rocPlot", "prPlot", "detPlot", "calibrationPlot", "snrPlot", "kindPlot", "saliencyPlot"):
        assert isinstance(getattr(result, name), Figure), name
    assert len(result.saliencyPlot.axes) == 2 * 3 * 4  # 4 detections, 3 channels, image and map
    # Detections are cut for their saliency maps as they were scored: resampled by psfScale.
    resampled = scores.copy()
    resampled["psfScale"] = np.float32(0.8)
    plot = task.run({"d": resampled}, {"d": labels}, {"d": detector_inputs}).saliencyPlot
    first = [figure.axes[0].images[0].get_array() for figure in (result.saliencyPlot, plot)]
    assert first[0].shape == first[1].shape and not np.allclose(first[0], first[1])
    with open(tmp_path / "eval" / "metrics.json") as stream:
        written = json.load(stream, parse_constant=lambda name: pytest.fail(f"metrics.json holds {name}"))
    assert written["snr>1e+06"] == {"count": 0}
    assert written["overall"]["auc"] == pytest.approx(metrics["overall"]["auc"])
    # A threshold that leaves nothing selected: purity is undefined, null in the JSON. (The sigmoid of
    # a logit above about 37 is 1 even in float64, so the scores are halved for this.)
    config.threshold = 1.0
    config.saliencyCount = 0
    halved = scores.copy()
    halved["logit"] = np.log(halved["score"] / 2) - np.log1p(-halved["score"] / 2)
    EvaluateRealBogusTask(config=config).run({"d": halved}, {"d": labels})
    with open(tmp_path / "eval" / "metrics.json") as stream:
        assert json.load(stream)["overall"]["purity"] is None


def test_config_checks():
    config = EvaluateRealBogusConfig()
    config.snrBins = [0.0, 5.0, 5.0]
    with pytest.raises(FieldValidationError, match="increasing"):
        config.validate()
    config = EvaluateRealBogusConfig()
    config.modelFile = "/no/such/model.pt"
    with pytest.raises(FieldValidationError, match="does not exist"):
        config.validate()
    config = EvaluateRealBogusConfig()
    config.saliencyCount = 0
    connections = EvaluateRealBogusConfig.ConnectionsClass(config=config)
    assert connections.inputs == {"scores", "labels"} and "saliencyPlot" not in connections.outputs
