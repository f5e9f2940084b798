"""Fitting stamps of any size to a model's grid (stamps.fitting)."""

from __future__ import annotations

import numpy as np
from lsst.meas.realbogus.stamps import fit_stamps

CHANNELS = ("template", "science", "difference")


def _stamp(size, value=1.0):
    return [np.full((size, size), value, np.float32) for _ in CHANNELS]


def test_small_stamps_are_padded_around_their_centre():
    stamp = _stamp(30)
    stamp[2][15, 15] = 9.0  # the central pixel of an even stamp, as the crop takes it
    fitted = fit_stamps([stamp], CHANNELS, 51)
    assert fitted.padded[0] and not fitted.cropped[0]
    assert fitted.data[0, 2, 25, 25] == 9.0
    assert fitted.valid[0, :, 10:40, 10:40].all() and fitted.valid[0].sum() == 3 * 30 * 30
    assert fitted.missing_fraction[0] == np.float32(1 - 900 / 51**2)
    assert fitted.usable[0]


def test_large_stamps_are_centre_cropped():
    stamp = _stamp(63)
    stamp[1][31, 31] = 5.0
    fitted = fit_stamps([stamp], CHANNELS, 51)
    assert fitted.cropped[0] and not fitted.padded[0]
    assert fitted.data[0, 1, 25, 25] == 5.0 and fitted.valid.all()


def test_sentinels_nan_and_infinities_are_missing_and_counted():
    stamp = _stamp(51)
    stamp[0][0, 0] = -3.4e38  # ZTF's missing pixel
    stamp[1][1, 1] = np.nan
    stamp[2][2, 2] = np.inf
    fitted = fit_stamps([stamp], CHANNELS, 51)
    assert fitted.sentinel_count[0] == 3
    assert not fitted.valid[0, 0, 0, 0] and fitted.data[0, 0, 0, 0] == 0
    assert np.isfinite(fitted.data).all() and fitted.usable[0]


def test_unusable_stamps_keep_their_row_with_a_reason():
    ok = _stamp(51)
    missing_channel = [ok[0], None, ok[2]]
    shapes = [ok[0], ok[1], np.ones((40, 51), np.float32)]
    all_nan = [ok[0], np.full((51, 51), np.nan, np.float32), ok[2]]
    fitted = fit_stamps([ok, missing_channel, shapes, all_nan, ok[:2]], CHANNELS, 51)
    assert list(fitted.usable) == [True, False, False, False, False]
    assert fitted.problem[1] == "no science stamp"
    assert "one shape" in fitted.problem[2]
    assert fitted.problem[3] == "no valid pixel in science"
    assert "2 channels" in fitted.problem[4]


def test_rectangular_stamps_are_fitted_axis_by_axis():
    fitted = fit_stamps([[np.ones((60, 40), np.float32)] * 3], CHANNELS, 51)
    assert fitted.padded[0] and fitted.cropped[0]
    assert fitted.valid[0, 0, :, 5:45].all() and not fitted.valid[0, 0, :, :5].any()


def test_an_array_of_stamps():
    fitted = fit_stamps(np.ones((4, 3, 21, 21), np.float32), CHANNELS, 21)
    assert fitted.usable.all() and not fitted.padded.any() and fitted.valid.all()


def test_stamps_resampled_by_their_scales():
    """Per-stamp scales: each stamp is fitted to the window its resampling needs, then resampled."""
    from lsst.meas.realbogus.stamps.resampling import resample_stamps, resampled_size

    rng = np.random.default_rng(3)
    stamps = [[rng.normal(size=(63, 63)).astype(np.float32) for _ in CHANNELS] for _ in range(3)]
    fitted = fit_stamps(stamps, CHANNELS, 51, scales=[1.0, 1.2, 0.7])
    plain = fit_stamps(stamps[:1], CHANNELS, 51)
    np.testing.assert_array_equal(fitted.data[0], plain.data[0])
    for i, scale in ((1, 1.2), (2, 0.7)):
        width = resampled_size(51, scale)
        lo = (63 - width + 1) // 2
        window = np.stack(stamps[i])[None, :, lo : lo + width, lo : lo + width]
        np.testing.assert_allclose(fitted.data[i], resample_stamps(window, 51, scale)[0], atol=1e-6)
    # The 63-pixel stamps are cropped to 51 pixels, and to 51 again for 0.7; 1.2 needs all 63.
    assert fitted.valid.all() and list(fitted.cropped) == [True, False, True]
    # A stamp too small for its scale's window is padded, and what the padding covers is missing.
    small = fit_stamps([_stamp(51)], CHANNELS, 51, scales=[1.5])
    assert small.padded[0] and not small.valid[0].all() and small.valid[0, :, 25, 25].all()


def test_bad_scales_are_an_error():
    import pytest

    with pytest.raises(ValueError, match="one per stamp"):
        fit_stamps([_stamp(51)], CHANNELS, 51, scales=[1.0, 2.0])
    with pytest.raises(ValueError, match="positive"):
        fit_stamps([_stamp(51)], CHANNELS, 51, scales=[0.0])
