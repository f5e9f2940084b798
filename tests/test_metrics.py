"""Metrics of scores against labels: AUC, operating points, the requirement point, calibration."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus.evaluation.metrics import (
    calibration,
    completeness_purity,
    fpr_at_mdr,
    mdr_at_fpr,
    requirement_threshold,
    roc_auc,
    score_curves,
    summarize_scores,
)


def test_roc_auc_and_completeness_purity():
    labels = np.array([True, True, False, False, True, False])
    scores = np.array([0.9, 0.8, 0.3, 0.1, 0.4, 0.6])
    # Of the 9 (real, bogus) pairs, only (0.4, 0.6) is ordered wrongly.
    assert roc_auc(scores, labels) == pytest.approx(8 / 9)
    assert roc_auc(np.ones(4), np.array([True, False, True, False])) == pytest.approx(0.5)
    assert np.isnan(roc_auc(scores, np.ones(6, bool)))
    completeness, purity = completeness_purity(scores, labels, 0.5)
    assert completeness == pytest.approx(2 / 3) and purity == pytest.approx(2 / 3)


def test_operating_points_match_brute_force():
    rng = np.random.default_rng(3)
    labels = rng.random(2000) < 0.3
    scores = np.round(np.clip(rng.normal(labels * 1.0, 0.35), 0, 1), 3)  # with ties
    curves = score_curves(scores, labels)
    for i in range(0, len(curves.threshold), 37):
        t = curves.threshold[i]
        assert curves.true_positives[i] == np.sum((scores >= t) & labels)
        assert curves.false_positives[i] == np.sum((scores >= t) & ~labels)
    mdr, t = mdr_at_fpr(scores, labels, 0.01)
    assert np.mean(scores[~labels] >= t) <= 0.01
    assert mdr == pytest.approx(np.mean(scores[labels] < t))
    # The next lower distinct score would exceed the FPR.
    lower = scores[scores < t].max()
    assert np.mean(scores[~labels] >= lower) > 0.01
    fpr, t2 = fpr_at_mdr(scores, labels, 0.01)
    assert np.mean(scores[labels] < t2) <= 0.01 and fpr == pytest.approx(np.mean(scores[~labels] >= t2))
    req = requirement_threshold(scores, labels, 0.9, 0.95)
    assert req["purity"] >= 0.95
    assert req["met"] == (req["completeness"] >= 0.9)


def test_calibration():
    perfect = calibration(np.r_[np.zeros(50), np.ones(50)], np.r_[np.zeros(50, bool), np.ones(50, bool)])
    assert perfect["ece"] == pytest.approx(0.0)
    assert calibration(np.full(100, 0.9), np.zeros(100, bool))["ece"] == pytest.approx(0.9)


def test_summary_names_its_targets_and_refuses_nan_scores():
    labels = np.arange(20) % 2 == 0
    summary = summarize_scores(labels * 0.8 + 0.1, labels, 0.5, fpr=0.05, mdr=0.02)
    assert summary["auc"] == 1.0 and summary["accuracy"] == 1.0
    assert {"mdr_at_fpr_0.05", "fpr_at_mdr_0.02", "requirement"} <= set(summary)
    with pytest.raises(ValueError, match="finite"):
        roc_auc(np.array([0.1, np.nan]), np.array([True, False]))
