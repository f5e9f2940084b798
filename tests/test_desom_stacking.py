"""The stacked score: features, fit, application."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus.desom.stacking import FEATURES, fit_stacker, stacked_scores, stacking_features


def test_features():
    f = stacking_features(np.array([0.5, 1.0]), np.array([np.nan, 0.2]), np.array([0.0, np.e - 1]), prior=0.3)
    assert f.shape == (2, len(FEATURES))
    np.testing.assert_allclose(f[0], [0.0, 0.3, 0.0])
    assert f[1, 0] > 13 and f[1, 2] == pytest.approx(1.0)


def test_stacking_uses_the_prototype_where_the_cnn_is_unsure():
    rng = np.random.default_rng(1)
    n = 4000
    is_real = rng.random(n) < 0.4
    cnn = np.clip(np.where(is_real, 0.6, 0.4) + rng.normal(0, 0.15, n), 0.001, 0.999)  # an unsure CNN
    fraction = np.where(is_real, rng.uniform(0.6, 1.0, n), rng.uniform(0.0, 0.4, n))  # an informative PV
    features = stacking_features(cnn, fraction, rng.uniform(0, 2, n), prior=0.4)
    stacker = fit_stacker(features, is_real)
    assert stacker["features"] == list(FEATURES) and stacker["count"] == n
    stacked = stacked_scores(stacker, features)
    assert stacked.dtype == np.float32 and np.all((stacked >= 0) & (stacked <= 1))
    assert np.mean((stacked >= 0.5) == is_real) > np.mean((cnn >= 0.5) == is_real) + 0.05
    features[0, 1] = np.nan
    assert np.isnan(stacked_scores(stacker, features)[0])


def test_one_class_is_refused():
    with pytest.raises(ValueError, match="cannot fit the stacked score on 10 detections"):
        fit_stacker(np.zeros((10, 3)), np.zeros(10, bool))
    with pytest.raises(ValueError, match="is not"):
        stacked_scores({"features": ["x"]}, np.zeros((1, 3)))
