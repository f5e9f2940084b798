"""Cell labels by majority with hand edits (quality/labelling.py)."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus.quality.labelling import (
    CellLabels,
    apply_cell_edits,
    class_counts,
    label_by_majority,
)

CLASSES = ["good", "tracking", "focus"]


def test_majority_and_nearest_fill():
    cells = np.array([0, 0, 0, 3, 3, 8])
    known = ["good", "good", "focus", "tracking", "tracking", "focus"]
    counts = class_counts(cells, known, CLASSES, 9)
    assert counts[0].tolist() == [2, 0, 1]
    labels, filled = label_by_majority(counts, CLASSES, (3, 3))
    assert labels[0] == "good" and labels[3] == "tracking" and labels[8] == "focus"
    assert labels[1] == "good" and labels[6] == "tracking" and labels[5] == "focus"  # nearest labelled
    assert filled.tolist() == [False, True, True, False, True, True, True, True, False]
    unfilled, none = label_by_majority(counts, CLASSES, (3, 3), fill=False)
    assert unfilled[1] == "" and not none.any()
    with pytest.raises(ValueError, match="not among the classes"):
        class_counts(cells, ["good"] * 5 + ["cloudy"], CLASSES, 9)


def test_edits():
    labels = ["good"] * 4
    edited = apply_cell_edits(
        labels, {"model_version": "v1", "set": [[1, 0, "focus"]]}, (2, 2), "v1", CLASSES
    )
    assert edited == ["good", "good", "focus", "good"] and labels[2] == "good"
    for edits, message in (
        ({"model_version": "v0", "set": []}, "not 'v1'"),
        ({"model_version": "v1", "add": []}, "unknown keys"),
        ({"model_version": "v1", "set": [[0, 0, "cloudy"]]}, "not one of"),
        ({"model_version": "v1", "set": [[2, 0, "good"]]}, "outside the 2x2 map"),
        ({"model_version": "v1", "set": [[0, 0]]}, r"\[row, column, label\]"),
    ):
        with pytest.raises(ValueError, match=message):
            apply_cell_edits(labels, edits, (2, 2), "v1", CLASSES, where="e.yaml")


def test_cell_labels_round_trip_and_check(tmp_path):
    counts = np.array([[1, 0, 0], [0, 0, 0], [0, 2, 1], [0, 0, 0]])
    labels = CellLabels("v1", (2, 2), CLASSES, ["good", "good", "tracking", ""], counts)
    path = tmp_path / "labels.yaml"
    labels.write(path)
    again = CellLabels.read(path)
    assert again.labels == labels.labels and np.array_equal(again.counts, counts)
    assert again.label_of(np.array([2, -1, 3])).tolist() == ["tracking", "", ""]
    again.check_for("v1", (2, 2))
    with pytest.raises(ValueError, match="not of v2"):
        again.check_for("v2", (2, 2), where=str(path))
    path.write_text("model_version: v1\n")
    with pytest.raises(ValueError, match="labels.yaml: not a cell labelling"):
        CellLabels.read(path)
    with pytest.raises(ValueError, match="not among the classes"):
        CellLabels("v1", (1, 1), CLASSES, ["cloudy"], np.zeros((1, 3)))


def test_neighbourhood_vote():
    # A 1x5 map: one 'tracking' exposure on cell 2 between four 'good' ones on cells 1 and 3.
    counts = np.zeros((5, 3), int)
    counts[1, 0] = counts[3, 0] = 2
    counts[2, 1] = 1
    alone, _ = label_by_majority(counts, CLASSES, (1, 5))
    assert alone[2] == "tracking"
    voted, no_members = label_by_majority(counts, CLASSES, (1, 5), radius=1.0)
    assert voted == ["good"] * 5 and no_members.tolist() == [True, False, False, False, True]


def test_skipped_classes_do_not_vote():
    # A 1x4 map: cell 0 mostly 'focus' (skipped, decided elsewhere) with one 'good', cell 2 only
    # 'focus', cell 3 'tracking'.
    counts = np.zeros((4, 3), int)
    counts[0] = [1, 0, 3]
    counts[2, 2] = 2
    counts[3, 1] = 1
    labels, filled = label_by_majority(counts, CLASSES, (1, 4))
    assert labels == ["focus", "focus", "focus", "tracking"]
    labels, filled = label_by_majority(counts, CLASSES, (1, 4), skip=["focus"])
    assert labels == ["good", "good", "tracking", "tracking"]
    assert filled.tolist() == [False, True, True, False]
    voted, _ = label_by_majority(counts, CLASSES, (1, 4), radius=1.0, skip=["focus"])
    assert "focus" not in voted
    with pytest.raises(ValueError, match="to skip \\['cloudy'\\]"):
        label_by_majority(counts, CLASSES, (1, 4), skip=["cloudy"])
