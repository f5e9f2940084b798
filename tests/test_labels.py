"""Labels of detections from the truth (DMTN-216): arrays and the label table."""

from __future__ import annotations

import astropy.table
import numpy as np
import pytest
from lsst.meas.realbogus.evaluation.labels import label_detections, label_table


@pytest.fixture
def truth():
    return astropy.table.Table(
        {
            "x": [10.0, 50.0, 100.0, 200.0],
            "y": [10.0, 50.0, 100.0, 200.0],
            "kind": ["hostless", "cosmic_ray", "streak", "variable"],
            "isReal": [True, False, False, True],
            "length": [0.0, 3.0, 80.0, 0.0],
            "angle": [0.0, 45.0, 0.0, 0.0],
        }
    )


@pytest.fixture
def detections():
    return astropy.table.Table(
        {
            "diaSourceId": np.arange(7) + 100,
            "x": [11.0, 51.5, 130.0, 100.0, 300.0, 200.5, 145.0],
            "y": [10.5, 50.0, 101.0, 100.0, 3.0, 199.0, 100.0],
            "snr": np.arange(7) + 5.0,
        }
    )


def test_labels_points_and_lines(truth, detections):
    is_real, kind, index, distance, fraction = label_detections(detections, truth, radius=3.0)
    assert is_real.tolist() == [True, False, False, False, False, True, False]
    assert kind.tolist() == ["hostless", "cosmic_ray", "streak", "streak", "unknown", "variable", "unknown"]
    assert index.tolist() == [0, -1, -1, -1, -1, 3, -1]
    assert distance[0] == pytest.approx(np.hypot(1.0, 0.5)) and np.isnan(distance[1])
    assert np.isnan(fraction).all()  # the radius rule measures no flux


def test_injected_catalog_every_row_real(truth, detections):
    labels = label_detections(detections, truth, 3.0, is_real_column=None, kind_column=None)
    assert labels.is_real.tolist() == [True, True, False, True, False, True, False]
    assert set(labels.kind[labels.is_real]) == {"injected"}


def test_label_table_one_row_per_detection(truth, detections):
    table = label_table(detections, truth, 3.0)
    assert table.colnames == ["diaSourceId", "isReal", "kind", "snr", "truthIndex", "matchDistance"]
    assert table["diaSourceId"].tolist() == detections["diaSourceId"].tolist()
    assert table["isReal"].tolist() == label_detections(detections, truth, 3.0).is_real.tolist()
    assert table.meta["MATCH_RADIUS"] == 3.0
    assert len(label_table(detections[:0], truth, 3.0)) == 0


def test_label_table_without_snr(truth, detections):
    table = label_table(detections[["diaSourceId", "x", "y"]], truth, 3.0, snr_column=None)
    assert np.isnan(table["snr"]).all() and table["isReal"].sum() == 2


def test_missing_columns_are_named(truth, detections):
    with pytest.raises(ValueError, match="no column 'snr'"):
        label_table(detections[["diaSourceId", "x", "y"]], truth, 3.0)
    with pytest.raises(ValueError, match="truth table has no column 'kind2'"):
        label_detections(detections, truth, 3.0, kind_column="kind2")
