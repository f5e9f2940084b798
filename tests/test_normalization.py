"""Cutout normalizations."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus.stamps.normalization import (
    NORMALIZATIONS,
    l2,
    mong_eq9,
    normalize,
    robust,
    robust_asinh,
)


@pytest.fixture
def cutouts():
    rng = np.random.default_rng(4)
    data = rng.normal(100.0, 5.0, size=(6, 3, 21, 21)).astype(np.float32)
    data[:, :, 10, 10] += 500.0
    return data


def test_robust_gives_unit_noise(cutouts):
    out = robust(cutouts)
    assert out.dtype == np.float32 and out.shape == cutouts.shape
    flat = out.reshape(6, 3, -1)
    assert np.allclose(np.median(flat, axis=-1), 0.0, atol=1e-5)
    assert np.allclose(np.median(np.abs(flat), axis=-1) * 1.4826, 1.0, atol=1e-4)
    # Invariant to offset and scale of the input.
    assert np.allclose(robust(3.0 * cutouts + 7.0), out, atol=1e-4)


def test_robust_asinh_keeps_the_noise_and_compresses_bright_pixels(cutouts):
    linear, out = robust(cutouts), robust_asinh(cutouts, threads=2)
    assert out.dtype == np.float32 and np.allclose(out, np.arcsinh(linear), atol=1e-6)
    small = np.abs(linear) < 0.3
    assert np.allclose(out[small], linear[small], atol=0.005)
    # The 100-sigma peak becomes about 5.3, and the order of pixels is kept.
    assert np.allclose(out[:, :, 10, 10], np.arcsinh(linear[:, :, 10, 10])) and out.max() < 6
    assert np.all(np.diff(out.ravel()[np.argsort(linear, axis=None)]) >= 0)


def test_l2_unit_norm(cutouts):
    out = l2(cutouts)
    assert np.allclose(np.sqrt((out.astype(float) ** 2).sum(axis=(-2, -1))), 1.0, atol=1e-5)
    assert np.all(l2(np.zeros((1, 1, 3, 3), np.float32)) == 0)


def test_mong_eq9_maps_median_peak_and_low_percentile(cutouts):
    out = mong_eq9(cutouts)
    assert out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    for n in range(out.shape[0]):
        for c in range(out.shape[1]):
            x, o = cutouts[n, c].ravel(), out[n, c].ravel()
            assert o[np.argmax(x)] == pytest.approx(1.0)
            med = np.median(x)
            below = x[x < med]
            p05 = np.percentile(below, 5)
            # Pixels at or under the 5th percentile of the sub-median pixels map to 0.
            assert np.all(o[x <= p05] <= 1e-6)
            assert np.all(o[x > med] > 0.5)


def test_flat_cutouts_do_not_blow_up():
    flat = np.full((2, 3, 5, 5), 4.0, np.float32)
    for name in NORMALIZATIONS:
        out = normalize(flat, name)
        assert np.isfinite(out).all(), name


def test_unknown_normalization():
    with pytest.raises(ValueError, match="Unknown normalization"):
        normalize(np.zeros((1, 1, 2, 2), np.float32), "zscale")


def test_mong_eq9_matches_its_definition():
    """The one-sort implementation gives what the definition computes with numpy's median and percentile."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 2, 9, 9)).astype(np.float32)
    x[0, 0] = 1.0  # flat
    x[1, 1, :2] = 7.0  # a source
    out = mong_eq9(x)
    flat = x.reshape(40, 2, -1)
    for i in range(40):
        for c in range(2):
            p = flat[i, c]
            m, peak = np.median(p), p.max()
            below = p[p < m]
            p05 = np.percentile(below, 5) if len(below) else m
            with np.errstate(divide="ignore", invalid="ignore"):
                up = (1 + (p - m) / max(peak - m, 1e-12)) / 2
                down = (1 + np.maximum(-(m - p) / max(m - p05, 1e-12), -1)) / 2
            np.testing.assert_allclose(out[i, c].ravel(), np.where(p > m, up, down), atol=2e-7)


@pytest.mark.parametrize("size", [51, 50, 7])
def test_robust_matches_its_definition(size):
    """The partition-based medians give exactly numpy's medians, NaN and flat channels included."""
    rng = np.random.default_rng(size)
    x = rng.normal(3, 10, (40, 3, size, size)).astype(np.float32)
    x[0, 0, 1, 1] = np.nan  # a NaN makes its channel zero, as a flat channel
    x[1, 2] = 5.0
    x[2, 1, :2] = np.inf
    flat = x.reshape(40, 3, -1)
    med = np.median(flat, axis=-1, keepdims=True)
    mad = np.median(np.abs(flat - med), axis=-1, keepdims=True) * np.float32(1.4826)
    with np.errstate(invalid="ignore"):
        expected = np.where(mad > 1e-12, (flat - med) / np.maximum(mad, np.float32(1e-12)), np.float32(0))
    got = robust(x)
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_array_equal(got.reshape(40, 3, -1), expected)
    assert not got[0, 0].any() and not got[1, 2].any()


@pytest.mark.parametrize("name", sorted(NORMALIZATIONS))
def test_all_valid_is_the_plain_normalization(cutouts, name):
    assert np.array_equal(
        normalize(cutouts, name, valid=np.ones(cutouts.shape, bool)), normalize(cutouts, name)
    )


@pytest.mark.parametrize("name", sorted(NORMALIZATIONS))
def test_statistics_come_from_the_valid_pixels(cutouts, name):
    """A stamp padded with zeros normalizes as the stamp alone; the padding takes the median's value."""
    small = cutouts[:, :, 5:16, 5:16]
    padded = np.zeros_like(cutouts)
    padded[:, :, 5:16, 5:16] = small
    valid = np.zeros(cutouts.shape, bool)
    valid[:, :, 5:16, 5:16] = True
    out = normalize(padded, name, valid=valid)
    alone = normalize(small, name)
    assert np.allclose(out[:, :, 5:16, 5:16], alone, atol=1e-5)
    median_value = {"robust": 0.0, "robust_asinh": 0.0, "mong_eq9": 0.5, "l2": 0.0}
    edge = out[:, :, 0, 0]
    if name == "none":
        assert np.allclose(edge, np.median(small.reshape(6, 3, -1), axis=-1))
    else:
        assert np.allclose(edge, median_value[name])
    # Without the mask, the padding decides: the robust statistics of a mostly-zero stamp are 0.
    if name == "robust":
        assert np.all(normalize(padded, name) == 0)


def test_rows_with_and_without_missing_pixels_together(cutouts):
    valid = np.ones(cutouts.shape, bool)
    valid[2, :, :3] = False
    out = normalize(cutouts, "robust", valid=valid)
    assert np.array_equal(np.delete(out, 2, axis=0), robust(np.delete(cutouts, 2, axis=0)))
    assert np.all(out[2, :, :3] == 0)
    assert np.allclose(out[2, :, 3:], normalize(cutouts[2:3, :, 3:], "robust")[0], atol=1e-5)


@pytest.mark.parametrize("name", sorted(NORMALIZATIONS))
def test_a_channel_without_valid_pixels_is_zero(cutouts, name):
    valid = np.ones(cutouts.shape, bool)
    valid[0, 1] = False
    out = normalize(cutouts, name, valid=valid)
    assert np.all(out[0, 1] == 0) and np.isfinite(out).all()
