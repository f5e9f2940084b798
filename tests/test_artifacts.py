"""Artifact injection: saturation and bleed, cosmic rays, streaks."""

from __future__ import annotations

import numpy as np
from lsst.meas.realbogus.simulation import artifacts


def test_saturation_conserves_charge_and_bleeds_along_columns():
    image = np.zeros((100, 20))
    image[50, 10] = 1000.0
    image[51, 10] = 300.0
    image[50, 11] = 150.0
    total = image.sum()
    saturated = artifacts.apply_saturation(image, 100.0)
    assert np.all(image <= 100.0)
    assert saturated[:, 10].sum() >= 13  # 1300 of charge at a level of 100
    assert saturated[:, 11].sum() >= 2
    assert not saturated[:, :10].any() and not saturated[:, 12:].any()
    # Charge is conserved to within half the level per saturated run.
    assert abs(image.sum() - total) <= 2 * 50.0


def test_no_saturation_below_level():
    image = np.full((10, 10), 5.0)
    assert not artifacts.apply_saturation(image, 100.0).any()
    assert np.all(image == 5.0)


def test_cosmic_rays_deposit_and_mask():
    rng = np.random.default_rng(1)
    crs = artifacts.make_cosmic_rays(rng, 20, 200, sky_sigma=10.0, masked_fraction=0.5)
    image = np.zeros((200, 200))
    mask = np.zeros((200, 200), dtype=bool)
    artifacts.draw_cosmic_rays(image, mask, crs)
    for x, y in zip(crs["x"], crs["y"]):
        assert image[int(round(y)) - 1 : int(round(y)) + 2, int(round(x)) - 1 : int(round(x)) + 2].max() > 100
    assert mask.any() and crs["masked"].any() and not crs["masked"].all()
    assert (image[mask] > 0).all()


def test_streak_crosses_detector():
    rng = np.random.default_rng(2)
    streak = artifacts.make_streak(rng, 300, sky_sigma=10.0, psf_sigma=2.0)
    image = np.zeros((300, 300))
    artifacts.draw_streak(image, streak)
    assert streak["length"][0] > 100
    assert (image > 0.5 * streak["flux"][0]).sum() > streak["length"][0]


def test_bad_columns_offset_a_column_segment():
    rng = np.random.default_rng(3)
    cols = artifacts.make_bad_columns(rng, 3, 128, sky_sigma=10.0, masked_fraction=1.0)
    image = np.zeros((128, 128))
    mask = np.zeros((128, 128), dtype=bool)
    artifacts.draw_bad_columns(image, mask, cols)
    for x, flux in zip(cols["x"], cols["flux"]):
        assert np.any(image[:, int(x)] == flux) or np.any(np.isclose(image[:, int(x)], flux))
    assert mask.sum() > 0
