"""Visit-level quality problems of the simulator (simulation/quality.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from lsst.meas.realbogus.simulation.config import PRESETS, SimulationConfig
from lsst.meas.realbogus.simulation.quality import (
    BACKGROUND_PROBLEMS,
    QUALITY_CLASSES,
    VisitQuality,
    background_layer,
    draw_visit_quality,
    quality_psf_family,
)
from lsst.meas.realbogus.simulation.repo import plan_work, visit_quality_table
from lsst.pex.config import FieldValidationError

RANGES = {
    "tracking_range": (1.6, 2.4),
    "severe_tracking_range": (3.5, 6.0),
    "focus_range": (2.5, 4.0),
    "obscuration_range": (0.3, 0.6),
    "seeing_range": (1.8, 2.6),
    "background_range": (3.0, 10.0),
    "high_sky_range": (3.0, 5.0),
    "short_exposure_range": (0.04, 0.12),
}


def test_classes_are_drawn_at_their_rates():
    rates = {"tracking": 0.1, "focus": 0.2, "background": 0.3}
    rng = np.random.default_rng(1)
    drawn = Counter(draw_visit_quality(rng, rates, **RANGES).quality for _ in range(20000))
    assert set(drawn) == {"good", "tracking", "focus", "background"}
    for name, rate in rates.items():
        assert drawn[name] / 20000 == pytest.approx(rate, abs=0.015)
    assert drawn["good"] / 20000 == pytest.approx(0.4, abs=0.015)


def test_each_problem_has_its_effect():
    rng = np.random.default_rng(2)
    seen = {}
    rates = {c: 0.2 for c in QUALITY_CLASSES if c != "good"}
    while not set(rates) <= set(seen):
        q = draw_visit_quality(rng, rates, **RANGES)
        seen.setdefault(q.quality, q)
    tracking = quality_psf_family(seen["tracking"], 5.0)
    severe = quality_psf_family(seen["severe_tracking"], 5.0)
    assert tracking.family == severe.family == "elongated"
    assert severe.axis_ratio < tracking.axis_ratio < 1
    assert quality_psf_family(seen["focus"], 5.0).family == "defocused"
    assert quality_psf_family(seen["seeing"], 5.0) is None
    assert 1.8 <= seen["seeing"].seeing_factor <= 2.6
    assert seen["background"].problem in BACKGROUND_PROBLEMS
    good = VisitQuality()
    assert (good.seeing_factor, good.sky_factor, good.exposure_fraction) == (1.0, 1.0, 1.0)
    short = VisitQuality("background", "short_exposure", 0.04)
    assert short.sky_factor == pytest.approx(5.0)
    assert VisitQuality("background", "high_sky", 4.0).sky_factor == 4.0


def test_background_layers():
    rng = np.random.default_rng(3)
    gradient = background_layer(VisitQuality("background", "gradient", 5.0, angle=0.0), 64, 2.0, rng)
    assert gradient.shape == (64, 64)
    assert gradient[:, -1].mean() > 9 and gradient[:, 0].mean() < -9  # +-5 sky sigma of 2 across x
    glow = background_layer(VisitQuality("background", "scattered_light", 5.0, shape=0.3), 64, 2.0, rng)
    assert glow.min() >= 0 and 0 < glow.max() <= 10.0
    assert background_layer(VisitQuality("background", "high_sky", 4.0), 64, 2.0, rng) is None
    assert background_layer(VisitQuality(), 64, 2.0, rng) is None


def test_rates_are_checked():
    config = SimulationConfig()
    config.qualityRates = {"clouds": 0.1}
    with pytest.raises(FieldValidationError, match="unknown quality classes"):
        config.validate()
    config.qualityRates = {"tracking": 0.7, "focus": 0.5}
    with pytest.raises(FieldValidationError, match="sum to at most 1"):
        config.validate()


def test_quality_preset_plans_problems_and_records_them():
    config = SimulationConfig()
    PRESETS["quality"][0](config)
    config.validate()
    _, _, visits = plan_work(config, seed=3)
    classes = Counter(v.quality.quality for v in visits)
    assert set(classes) == set(QUALITY_CLASSES)
    assert classes["good"] / len(visits) == pytest.approx(0.45, abs=0.1)
    bad_seeing = [v for v in visits if v.quality.quality == "seeing"]
    assert min(v.seeing for v in bad_seeing) > max(config.seeingRange)
    table = visit_quality_table(bad_seeing[0])
    assert table["quality"][0] == "seeing" and table["visit"][0] == bad_seeing[0].visit


def test_no_rates_draw_nothing():
    config = SimulationConfig()
    PRESETS["tiny"][0](config)
    _, _, visits = plan_work(config, seed=1)
    assert {v.quality for v in visits} == {VisitQuality()}
