"""Calibration of logits on held-out rows: the temperature and offset are recovered by maximum likelihood."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus.cnn import Calibration, fit_calibration
from lsst.meas.realbogus.evaluation.metrics import calibration as reliability


def _sample(temperature: float, offset: float, n: int = 200_000, seed: int = 3):
    """Logits whose true probability of real is sigmoid(z / temperature + offset)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 6.0, n)
    p = 1 / (1 + np.exp(-(z / temperature + offset)))
    return z, rng.uniform(size=n) < p


def test_recovers_a_known_temperature_and_offset():
    z, y = _sample(2.5, -0.7)
    fitted = fit_calibration(z, y)
    assert fitted.temperature == pytest.approx(2.5, rel=0.03)
    assert fitted.offset == pytest.approx(-0.7, abs=0.05)
    raw = reliability(1 / (1 + np.exp(-z)), y)["ece"]
    calibrated = reliability(1 / (1 + np.exp(-fitted.apply(z))), y)["ece"]
    assert calibrated < 0.01 < raw


def test_temperature_only_and_order_kept():
    z, y = _sample(0.5, 0.0)
    fitted = fit_calibration(z, y, with_offset=False)
    assert fitted.offset == 0.0 and fitted.temperature == pytest.approx(0.5, rel=0.05)
    assert np.all(np.diff(fitted.apply(np.sort(z))) > 0)


def test_bad_rows_are_errors():
    with pytest.raises(ValueError, match="one class"):
        fit_calibration(np.arange(4.0), np.ones(4, bool))
    with pytest.raises(ValueError, match="non-finite"):
        fit_calibration(np.array([0.0, np.nan]), np.array([True, False]))
    with pytest.raises(ValueError, match="backwards"):
        fit_calibration(np.linspace(-5, 5, 100), np.linspace(-5, 5, 100) < 0)


def test_identity():
    assert np.array_equal(Calibration(1.0, 0.0).apply(np.array([-3.0, 2.0])), [-3.0, 2.0])
