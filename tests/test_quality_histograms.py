"""Prototype histograms and their per-cell scaling (quality/histograms.py)."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus.quality.histograms import cell_scale, histo_vector, scale_histograms


def test_histo_vector_counts_and_scales_to_the_detected_number():
    h = histo_vector(np.array([0, 2, 2, 3]), 5)
    assert h.tolist() == [1, 0, 2, 1, 0]
    scaled = histo_vector(np.array([0, 2, 2, 3]), 5, n_detected=10)
    assert scaled.sum() == pytest.approx(10) and scaled[2] == pytest.approx(5)
    assert histo_vector(np.array([], dtype=int), 3, n_detected=7).tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="prototype indices"):
        histo_vector(np.array([5]), 5)


def test_cells_are_scaled_by_their_training_maximum():
    h = np.array([[1.0, 0.0, 4.0], [3.0, 0.0, 2.0]])
    scale = cell_scale(h)
    assert scale.tolist() == [3.0, 1.0, 4.0]  # a cell never used keeps scale 1
    scaled = scale_histograms(h, scale)
    assert scaled.max(axis=0).tolist() == [1.0, 0.0, 1.0]
    assert scale_histograms(np.array([6.0, 0.0, 2.0]), scale).tolist() == [[2.0, 0.0, 0.5]]  # not clipped
    with pytest.raises(ValueError, match="3 cell scales"):
        scale_histograms(np.ones((1, 4)), scale)
    with pytest.raises(ValueError, match="N > 0"):
        cell_scale(np.zeros((0, 3)))
