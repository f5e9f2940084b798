"""Labels of detections from the truth (DMTN-216) and the metrics on them."""

from __future__ import annotations

import astropy.table
import numpy as np
import pytest
from lsst.meas.realbogus.labels import label_detections
from lsst.meas.realbogus.metrics import completeness_purity, roc_auc


def test_labels_points_and_lines():
    truth = astropy.table.Table(
        {
            "x": [10.0, 50.0, 100.0, 200.0],
            "y": [10.0, 50.0, 100.0, 200.0],
            "kind": ["hostless", "cosmic_ray", "streak", "variable"],
            "isReal": [True, False, False, True],
            "length": [0.0, 3.0, 80.0, 0.0],
            "angle": [0.0, 45.0, 0.0, 0.0],
        }
    )
    dets = astropy.table.Table(
        {
            "x": [11.0, 51.5, 130.0, 100.0, 300.0, 200.5, 145.0],
            "y": [10.5, 50.0, 101.0, 100.0, 3.0, 199.0, 100.0],
        }
    )
    is_real, kind, index, distance = label_detections(dets, truth, radius=3.0)
    assert is_real.tolist() == [True, False, False, False, False, True, False]
    assert kind.tolist() == ["hostless", "cosmic_ray", "streak", "streak", "unknown", "variable", "unknown"]


def test_roc_auc_and_completeness_purity():
    labels = np.array([True, True, False, False, True, False])
    scores = np.array([0.9, 0.8, 0.3, 0.1, 0.4, 0.6])
    # Of the 9 (real, bogus) pairs, only (0.4, 0.6) is ordered wrongly.
    assert roc_auc(scores, labels) == pytest.approx(8 / 9)
    assert roc_auc(np.ones(4), np.array([True, False, True, False])) == pytest.approx(0.5)
    assert np.isnan(roc_auc(scores, np.ones(6, bool)))
    completeness, purity = completeness_purity(scores, labels, 0.5)
    assert completeness == pytest.approx(2 / 3) and purity == pytest.approx(2 / 3)
