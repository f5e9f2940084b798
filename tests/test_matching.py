"""Nearest-neighbour matching within a radius."""

from __future__ import annotations

import numpy as np
from lsst.meas.realbogus.evaluation.matching import match_nearest


def test_nearest_within_radius():
    x2, y2 = np.array([0.0, 10.0, 10.5]), np.array([0.0, 0.0, 0.0])
    index, distance = match_nearest(np.array([0.5, 10.4, 50.0]), np.array([0.0, 0.0, 0.0]), x2, y2, 3.0)
    assert index.tolist() == [0, 2, -1]
    assert np.allclose(distance[:2], [0.5, 0.1])
    assert np.isinf(distance[2])


def test_empty_sets():
    index, distance = match_nearest(np.zeros(2), np.zeros(2), np.zeros(0), np.zeros(0), 1.0)
    assert index.tolist() == [-1, -1] and np.isinf(distance).all()
    index, _ = match_nearest(np.zeros(0), np.zeros(0), np.zeros(3), np.zeros(3), 1.0)
    assert len(index) == 0
