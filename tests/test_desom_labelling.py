"""Labelling prototypes: by ratio, by switching off in score order, hand edits, the stored form."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus.desom.labelling import (
    PrototypeLabels,
    apply_edits,
    label_by_ratio,
    label_by_scores,
    prototype_counts,
    read_edits,
    switch_off_curve,
)


@pytest.fixture
def placed():
    """Six PVs: 0-1 real-rich, 2 mixed, 3-4 bogus, 5 empty; scores follow the labels but PV 2 is noisy."""
    rng = np.random.default_rng(3)
    pv = np.repeat([0, 1, 2, 3, 4], [40, 30, 20, 200, 210])
    is_real = np.r_[np.ones(38, bool), np.zeros(2, bool), np.ones(30, bool), rng.random(20) < 0.5,
                    np.zeros(200, bool), np.zeros(209, bool), np.ones(1, bool)]  # fmt: skip
    scores = np.where(is_real, rng.uniform(0.7, 1.0, len(pv)), rng.uniform(0.0, 0.3, len(pv)))
    return pv, is_real, scores


def test_counts_and_ratio(placed):
    pv, is_real, _ = placed
    n_real, n_bogus = prototype_counts(np.r_[pv, -1], np.r_[is_real, True], 6)
    assert n_real[0] == 38 and n_bogus[0] == 2 and n_real[5] == n_bogus[5] == 0
    real, ratio = label_by_ratio(pv, is_real, 6, threshold=1.0)
    assert real[[0, 1]].all() and not real[[3, 4, 5]].any()
    assert ratio[0] == pytest.approx(19.0) and np.isinf(ratio[1]) and np.isnan(ratio[5])


def test_switch_off_curve_and_selection(placed):
    pv, is_real, scores = placed
    curve = switch_off_curve(pv, scores, is_real, 6, percentile=99)
    assert curve.order[0] == 5  # the empty PV goes first
    assert len(curve.fpr) == 7 and curve.fpr[0] == 1.0 and curve.mdr[0] == 0.0
    assert np.all(np.diff(curve.fpr) <= 0) and np.all(np.diff(curve.mdr) >= 0)
    real, curve, step = label_by_scores(pv, scores, is_real, 6, percentile=99, target_fpr=0.05)
    assert curve.fpr[step] <= 0.05 and (step == 0 or curve.fpr[step - 1] > 0.05)
    assert real[[0, 1]].all() and not real[[3, 4, 5]].any()
    # By the brute force: the selection's FPR and MDR on the data.
    chosen = real[pv]
    assert np.mean(chosen[~is_real]) == pytest.approx(curve.fpr[step])
    assert np.mean(~chosen[is_real]) == pytest.approx(curve.mdr[step])


def test_edits(tmp_path):
    real = np.zeros(6, bool)
    edited = apply_edits(real, {"model_version": "d1", "add": [[0, 1], 4], "remove": [4]}, (2, 3), "d1")
    assert edited.tolist() == [False, True, False, False, False, False] and not real.any()
    with pytest.raises(ValueError, match=r"PV \[2, 0\] is outside the 2x3 map"):
        apply_edits(real, {"model_version": "d1", "add": [[2, 0]]}, (2, 3), "d1")
    with pytest.raises(ValueError, match="PV 6 is outside"):
        apply_edits(real, {"model_version": "d1", "remove": [6]}, (2, 3), "d1")
    with pytest.raises(ValueError, match="edits.yaml: edits are for DESOM version 'd0', not 'd1'"):
        apply_edits(real, {"model_version": "d0"}, (2, 3), "d1", where="edits.yaml")
    with pytest.raises(ValueError, match="unknown keys"):
        apply_edits(real, {"model_version": "d1", "ad": [1]}, (2, 3), "d1")
    path = tmp_path / "edits.yaml"
    path.write_text("model_version: d1\nadd: [[1, 2]]\n")
    assert apply_edits(real, read_edits(path), (2, 3), "d1")[5]
    path.write_text("- 1\n")
    with pytest.raises(ValueError, match="YAML mapping"):
        read_edits(path)


def test_stored_form_round_trip(tmp_path):
    real = [True, False, False, False, True, False]
    labels = PrototypeLabels(
        "d1", (2, 3), real, method="ratio", parameters={"ratio_threshold": 1},
        n_real=[5, 0, 1, 0, 3, 0], n_bogus=[1, 0, 9, 4, 0, 0], stacker={"features": ["a"]},
    )  # fmt: skip
    record = labels.to_dict()
    assert record["real"] == [[0, 0], [1, 1]]
    labels.write(tmp_path / "labels.yaml")
    back = PrototypeLabels.read(tmp_path / "labels.yaml")
    assert np.array_equal(back.real, labels.real) and back.stacker == {"features": ["a"]}
    np.testing.assert_allclose(back.real_fraction, [5 / 6, np.nan, 0.1, 0, 1, np.nan])
    back.check_for("d1", (2, 3))
    with pytest.raises(ValueError, match="not of 'd2'"):
        back.check_for("d2", (2, 3))
    with pytest.raises(ValueError, match="not a meas_realbogus prototype labelling"):
        PrototypeLabels.from_dict({"real": []}, where="x.yaml")
    with pytest.raises(ValueError, match="7 PV labels for a 2x3 map"):
        PrototypeLabels("d1", (2, 3), np.zeros(7, bool))
