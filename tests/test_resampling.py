"""Resampling stamps to a coarser grid for a PSF wider than a model's training images, and to a finer
one for a narrower one."""

from __future__ import annotations

import math

import numpy as np
import pytest
from lsst.images import Box
from lsst.images.psfs import GaussianPointSpreadFunction
from lsst.meas.realbogus.stamps.resampling import (
    psf_fwhm,
    psf_scale,
    resample_stamps,
    resampled_size,
    resampling_matrix,
)


def gaussian_stamp(size: int, sigma: float) -> np.ndarray:
    offsets = np.arange(size) - (size - 1) / 2.0
    profile = np.exp(-(offsets**2) / (2 * sigma**2))
    return np.outer(profile, profile)[None, None].astype(np.float32)


def second_moment_sigma(stamp: np.ndarray) -> float:
    rows, cols = np.indices(stamp.shape) - (stamp.shape[0] - 1) / 2.0
    return math.sqrt((stamp * (rows**2 + cols**2)).sum() / stamp.sum() / 2.0)


@pytest.mark.parametrize("psf, limit, expected", [(10.0, 8.0, 1.25), (6.0, 8.0, 1.0), (10.0, 0.0, 1.0)])
def test_psf_scale(psf, limit, expected):
    assert psf_scale(psf, limit) == pytest.approx(expected)
    assert psf_scale(math.nan, limit) == 1.0


@pytest.mark.parametrize(
    "psf, expected", [(2.0, 2.0 / 3.0), (3.0, 1.0), (5.0, 1.0), (9.0, 9.0 / 8.0), (0.5, 0.25), (40.0, 4.0)]
)
def test_psf_scale_between_limits(psf, expected):
    # Narrower than the lower limit: a scale below 1; capped at max_factor either way.
    assert psf_scale(psf, 8.0, 3.0, max_factor=4.0) == pytest.approx(expected)
    assert psf_scale(psf, 0.0, 0.0) == 1.0


def test_psf_scale_bad_limits():
    with pytest.raises(ValueError, match="above max_psf_fwhm"):
        psf_scale(4.0, 3.0, 5.0)
    with pytest.raises(ValueError, match="max_factor"):
        psf_scale(4.0, 3.0, 1.0, max_factor=0.5)


@pytest.mark.parametrize("size, scale", [(51, 1.0), (51, 1.013), (51, 1.5), (30, 1.37), (51, 3.0)])
def test_resampled_size_covers_the_footprints(size, scale):
    wide = resampled_size(size, scale)
    assert (wide - size) % 2 == 0
    weights = resampling_matrix(size, scale, wide)
    # Every output pixel's footprint lies inside the wider stamp: its weights sum to 1.
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)


def test_integer_scale_is_block_averaging():
    stamps = np.random.default_rng(1).normal(size=(2, 3, 9, 9)).astype(np.float32)
    out = resample_stamps(stamps, 3, 3.0)
    expected = stamps.reshape(2, 3, 3, 3, 3, 3).mean(axis=(3, 5))
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_a_wide_psf_becomes_as_narrow_as_the_scale_says():
    scale = 1.25
    stamp = gaussian_stamp(resampled_size(51, scale), 5.0)
    out = resample_stamps(stamp, 51, scale)
    assert out.shape == (1, 1, 51, 51)
    # Flux is conserved (in units of the coarser pixels), the centre stays central, and the width
    # shrinks by the scale (plus the box of one output pixel: 1/12 in variance).
    assert out.sum() * scale**2 == pytest.approx(stamp.sum(), rel=1e-4)
    assert np.unravel_index(out[0, 0].argmax(), (51, 51)) == (25, 25)
    assert second_moment_sigma(out[0, 0]) == pytest.approx(math.sqrt((5.0 / scale) ** 2 + 1 / 12), rel=0.01)


def test_missing_pixels_are_left_out_and_propagate():
    scale = 1.5
    stamp = gaussian_stamp(resampled_size(21, scale), 3.0)
    holed = stamp.copy()
    holed[..., 10:14, 10:14] = np.nan
    full, out = resample_stamps(stamp, 21, scale), resample_stamps(holed, 21, scale)
    missing = np.isnan(out)
    # Output pixels mostly over the hole are missing; the others are averages of valid pixels.
    assert 0 < missing.sum() < 16
    assert np.isfinite(out[~missing]).all()
    far = np.ones_like(missing)
    far[..., 4:12, 4:12] = False
    np.testing.assert_allclose(out[far], full[far], atol=1e-6)


@pytest.mark.parametrize("scale", [0.75, 1.5])
def test_a_stamp_does_not_depend_on_the_others_missing_pixels(scale):
    rng = np.random.default_rng(3)
    stamps = rng.standard_normal((4, 3, resampled_size(21, scale), resampled_size(21, scale)))
    stamps = stamps.astype(np.float32)
    holed = stamps.copy()
    holed[1, 2, 5:9, 5:9] = np.nan
    alone, batch = resample_stamps(stamps, 21, scale), resample_stamps(holed, 21, scale)
    # Only the holed stamp's holed channel changes, and the others are bit for bit what they were.
    np.testing.assert_array_equal(
        np.delete(batch.reshape(12, 21, 21), 5, axis=0), np.delete(alone.reshape(12, 21, 21), 5, axis=0)
    )
    assert np.isnan(batch[1, 2]).any()


@pytest.mark.parametrize("size, scale", [(51, 0.5), (51, 0.77), (30, 0.9)])
def test_interpolation_weights(size, scale):
    weights = resampling_matrix(size, scale, size)
    # Six input pixels at most per output pixel (Lanczos-3), summing to 1; centred on centred input.
    assert ((weights != 0).sum(axis=1) <= 6).all()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    centre = np.arange(size) @ weights[size // 2] if size % 2 else None
    if centre is not None:
        assert centre == pytest.approx((size - 1) / 2)


def test_a_narrow_psf_becomes_as_wide_as_the_scale_says():
    scale = 0.7
    stamp = gaussian_stamp(51, 1.2)
    out = resample_stamps(stamp, 51, scale)
    assert out.shape == (1, 1, 51, 51)
    assert np.unravel_index(out[0, 0].argmax(), (51, 51)) == (25, 25)
    # Flux conserved in the finer pixels (to the accuracy of a Riemann sum of the interpolant), and
    # the width grows by 1 / scale (Lanczos-3 adds next to no smoothing).
    assert out.sum() * scale**2 == pytest.approx(stamp.sum(), rel=0.02)
    assert second_moment_sigma(out[0, 0]) == pytest.approx(1.2 / scale, rel=0.03)


def test_interpolation_leaves_out_missing_pixels():
    stamp = gaussian_stamp(21, 1.5)
    holed = stamp.copy()
    holed[..., 10, 10] = np.nan
    out = resample_stamps(holed, 21, 0.6)
    missing = np.isnan(out)
    # Only the output pixels next to the hole are missing; those beyond the kernel's reach (3 input
    # pixels, 5 output ones) match the whole stamp's.
    assert 0 < missing.sum() <= 9
    full = resample_stamps(stamp, 21, 0.6)
    far = np.ones_like(missing)
    far[..., 5:16, 5:16] = False
    np.testing.assert_allclose(out[far], full[far], atol=1e-6)


def test_bad_input_is_an_error():
    with pytest.raises(ValueError, match="positive"):
        resample_stamps(np.zeros((1, 1, 51, 51)), 51, 0.0)
    with pytest.raises(ValueError, match="S >= "):
        resample_stamps(np.zeros((1, 1, 51, 51)), 51, 1.2)


def test_psf_fwhm_of_a_gaussian():
    sigma = 4.25
    psf = GaussianPointSpreadFunction(sigma, Box.factory[0:200, 0:300], 2 * math.ceil(5 * sigma) + 1)
    assert psf_fwhm(psf, 150.0, 100.0) == pytest.approx(2.3548 * sigma, rel=0.01)
