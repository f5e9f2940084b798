"""The evaluation report: scores joined to labels, every metric of them, strict JSON."""

from __future__ import annotations

import json

import astropy.table
import numpy as np
import pytest
from lsst.meas.realbogus.evaluation.metrics import summarize_scores
from lsst.meas.realbogus.evaluation.report import collect_scores, evaluate_scores, json_safe


def _detector(ids, scores, is_real, version="v1"):
    n = len(ids)
    score_table = astropy.table.Table(
        {
            "diaSourceId": ids,
            "score": np.asarray(scores, dtype=np.float32),
            "flag_edge": np.arange(n) == 0,
            "flag_badPixels": np.zeros(n, bool),
            "modelVersion": [version] * n,
        }
    )
    labels = astropy.table.Table(
        {
            "diaSourceId": ids,
            "isReal": is_real,
            "kind": np.where(is_real, "host", "cosmic_ray"),
            "snr": np.linspace(4, 12, n),
        }
    )
    return score_table, labels


def test_collect_joins_detectors_and_counts_every_row():
    a = _detector(np.arange(4), [0.9, np.nan, 0.2, 0.7], np.array([True, True, False, False]))
    b = _detector(np.arange(4, 7), [0.1, 0.8, 0.3], np.array([False, True, False]), version="v2")
    b[0]["psfScale"] = np.float32(0.75)  # a detector resampled by RealBogusTask
    scored = collect_scores([("a", *a), ("b", *b)])
    assert scored.score.tolist() == pytest.approx([0.9, 0.2, 0.7, 0.1, 0.8, 0.3])
    assert scored.psf_scale.tolist() == [1.0] * 3 + [0.75] * 3
    assert scored.detector.tolist() == [0, 0, 0, 1, 1, 1] and scored.row.tolist() == [0, 2, 3, 0, 1, 2]
    assert scored.versions == {"v1", "v2"}
    counts = {"detectors": 2, "sources": 7, "real": 3, "bogus": 4, "unscored": 1, "flag_edge": 2}
    assert scored.counts == counts | {"flag_badPixels": 0}
    empty = collect_scores([])
    assert len(empty.score) == 0 and empty.counts["detectors"] == 0


def test_collect_refuses_mismatched_rows():
    scores, labels = _detector(np.arange(3), [0.1, 0.2, 0.3], np.array([True, False, True]))
    labels["diaSourceId"] = [0, 2, 1]
    with pytest.raises(ValueError, match="det 7: scores and labels are not of the same diaSources"):
        collect_scores([("det 7", scores, labels)])


def test_evaluate_scores_subsets_bins_and_kinds():
    rng = np.random.default_rng(1)
    n = 600
    is_real = rng.random(n) < 0.4
    scores = np.clip(rng.normal(is_real * 0.8 + 0.1, 0.2), 0, 1)
    snr = rng.uniform(3, 60, n)
    kind = np.where(is_real, "host", np.where(rng.random(n) < 0.5, "cosmic_ray", "dipole"))
    metrics, curves = evaluate_scores(scores, is_real, kind, snr, 0.5, snr_cuts=[6.0], snr_bins=[0, 10, 30])
    assert set(curves) == {"overall", "snr>6"}
    assert metrics["overall"] == summarize_scores(scores, is_real, 0.5)
    bright = snr > 6
    assert metrics["snr>6"]["count"] == bright.sum()
    assert [b["bin"] for b in metrics["by_snr"]] == ["0-10", "10-30", ">30"]
    assert sum(b["count"] for b in metrics["by_snr"]) == n
    host = metrics["by_kind"]["host"]
    assert host["real"] and host["completeness"] == pytest.approx(np.mean(scores[is_real] >= 0.5))
    assert metrics["by_kind"]["dipole"]["fpr"] == pytest.approx(np.mean(scores[kind == "dipole"] >= 0.5))
    assert len(metrics["calibration"]["count"]) == 10
    # A subset with no detections is reported as empty.
    assert evaluate_scores(scores, is_real, kind, snr, 0.5, snr_cuts=[100.0])[0]["snr>100"] == {"count": 0}


def test_json_safe_writes_strict_json():
    value = {
        "a": float("nan"),
        "b": [1.0, float("inf"), {"c": -float("inf")}],
        "d": np.float64(2.5),
        "e": "x",
    }
    text = json.dumps(json_safe(value), allow_nan=False)
    assert json.loads(text) == {"a": None, "b": [1.0, None, {"c": None}], "d": 2.5, "e": "x"}


def test_uncertainty_summary_finds_wrong_scores_among_uncertain_ones():
    from lsst.meas.realbogus.evaluation.report import uncertainty_summary

    rng = np.random.default_rng(2)
    is_real = rng.uniform(size=2000) < 0.4
    scores = np.where(is_real, 0.9, 0.1)
    wrong = rng.uniform(size=2000) < 0.05
    scores[wrong] = 1 - scores[wrong]
    informative = np.where(wrong, 0.3, 0.05) + rng.uniform(0, 0.1, 2000)
    summary = uncertainty_summary(scores, is_real, informative, 0.5)
    assert summary["wrong"] == wrong.sum() and summary["auc_wrong_vs_right"] > 0.99
    assert summary["wrong_in_top10pct_std"] == 1.0
    assert summary["error_rate_top5pct_std"] > 0.9 > summary["error_rate"]
    useless = uncertainty_summary(scores, is_real, rng.uniform(size=2000), 0.5)
    assert abs(useless["auc_wrong_vs_right"] - 0.5) < 0.1
