"""Confusion matrix and good-versus-bad figures (quality/metrics.py)."""

from __future__ import annotations

import pytest
from lsst.meas.realbogus.quality.metrics import confusion_matrix, quality_metrics

CLASSES = ["good", "tracking", "focus"]


def test_confusion_and_seed_002_figures():
    truth = ["good", "good", "good", "tracking", "tracking", "focus", "focus"]
    labels = ["good", "good", "tracking", "tracking", "good", "tracking", ""]
    matrix = confusion_matrix(truth, labels, CLASSES)
    assert matrix.tolist() == [[2, 1, 0, 0], [1, 1, 0, 0], [0, 1, 0, 1]]
    m = quality_metrics(truth, labels, CLASSES)
    # good: TP 2, FN 1, FP 1, TN 3 (a problem labelled any problem, or not placed, is a true negative).
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["accuracy"] == pytest.approx(5 / 7)
    assert m["class_accuracy"] == pytest.approx(3 / 7)
    assert m["recall_by_class"]["focus"] == 0.0 and m["unplaced"] == 1
    assert m["confusion"]["columns"][-1] == "unplaced"
    with pytest.raises(ValueError, match="not among the classes"):
        confusion_matrix(["cloudy"], ["good"], CLASSES)
