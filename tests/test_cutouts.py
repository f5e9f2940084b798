"""Cutout extraction: centring, edges, NaN and masked pixels, bad input."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from lsst.meas.realbogus.stamps import cutouts
from lsst.meas.realbogus.stamps.cutouts import bad_pixels, cut_images, cutout_origins, extract_cutouts


def _ramp(shape=(60, 80)):
    """Image whose value encodes its pixel: 1000 * row + column."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return (1000.0 * yy + xx).astype(np.float32)


@pytest.mark.parametrize("size", [5, 6, 51, 32])
def test_centring_to_the_pixel(size):
    image = _ramp((120, 140))
    x = np.array([60.0, 60.4, 60.6, 59.5])
    y = np.array([70.0, 70.49, 70.51, 69.5])
    cut = extract_cutouts([image], x, y, size)
    centre = (size - 1) / 2
    for i in range(len(x)):
        stamp = cut.data[i, 0]
        col0 = stamp[0, 0] % 1000
        row0 = stamp[0, 0] // 1000
        # The centroid lies within half a pixel of the cutout's centre.
        assert abs((x[i] - col0) - centre) <= 0.5 + 1e-9
        assert abs((y[i] - row0) - centre) <= 0.5 + 1e-9
        if size % 2:
            assert stamp[size // 2, size // 2] == 1000 * np.floor(y[i] + 0.5) + np.floor(x[i] + 0.5)
    assert not cut.off_image.any()
    assert np.all(cut.bad_fraction == 0)


def test_channels_keep_their_order():
    a, b = _ramp(), -_ramp()
    cut = extract_cutouts([a, b], np.array([40.0]), np.array([30.0]), 7)
    assert cut.data.shape == (1, 2, 7, 7)
    assert np.array_equal(cut.data[0, 0], -cut.data[0, 1])


def test_edges_are_filled_and_flagged():
    image = _ramp((50, 50))
    x = np.array([0.0, 49.0, 25.0, -30.0, 25.0])
    y = np.array([25.0, 49.0, 25.0, 25.0, 3.0])
    cut = extract_cutouts([image], x, y, 11, fill=-7.0)
    assert cut.off_image.tolist() == [True, True, False, True, True]
    # Source at x=0: 5 of 11 columns are off the image.
    assert cut.bad_fraction[0] == pytest.approx(5 / 11)
    assert np.all(cut.data[0, 0, :, :5] == -7.0)
    assert cut.data[0, 0, 5, 5] == 1000 * 25 + 0
    assert cut.bad_fraction[1] == pytest.approx(1 - 36 / 121)
    assert cut.bad_fraction[3] == 1.0 and np.all(cut.data[3] == -7.0)
    assert cut.bad_fraction[4] == pytest.approx(2 / 11)


def test_nan_and_masked_pixels_are_replaced_and_counted():
    image = _ramp()
    image[30, 40] = np.nan
    other = _ramp()
    bad = np.zeros(image.shape, dtype=bool)
    bad[31:33, 40] = True
    cut = extract_cutouts([image, other], np.array([40.0]), np.array([30.0]), 5, fill=0.0, bad=[None, bad])
    assert np.isfinite(cut.data).all()
    assert cut.data[0, 0, 2, 2] == 0.0
    # A pixel missing in any channel is missing in all: 3 of 25.
    assert cut.bad_fraction[0] == pytest.approx(3 / 25)
    assert cut.data[0, 1, 3, 2] == 0.0 and cut.data[0, 1, 1, 2] != 0.0


def test_non_finite_centroids():
    cut = extract_cutouts([_ramp()], np.array([np.nan, 10.0]), np.array([5.0, np.inf]), 5, fill=1.0)
    assert cut.off_image.all()
    assert np.all(cut.bad_fraction == 1.0)
    assert np.all(cut.data == 1.0)


def test_empty_catalog():
    cut = extract_cutouts([_ramp(), _ramp()], np.zeros(0), np.zeros(0), 51)
    assert cut.data.shape == (0, 2, 51, 51)
    assert cut.bad_fraction.shape == (0,)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        extract_cutouts([_ramp((60, 80)), _ramp((60, 81))], np.array([1.0]), np.array([1.0]), 5)
    with pytest.raises(ValueError, match="equal length"):
        extract_cutouts([_ramp()], np.array([1.0, 2.0]), np.array([1.0]), 5)
    with pytest.raises(ValueError, match="bad-pixel"):
        extract_cutouts([_ramp()], np.array([1.0]), np.array([1.0]), 5, bad=[np.zeros((3, 3), bool)])


def test_origins_round_half_up():
    x0, y0, finite = cutout_origins(np.array([10.5, 10.49]), np.array([0.0, 0.0]), 3)
    assert x0.tolist() == [10, 9]
    assert finite.all()


def test_huge_centroids_are_off_the_image():
    """No centroid, however large, can make a cutout look inside (the int64 cast is bounded)."""
    x = np.array([1e300, -1e300, 9.3e18, 2.0**63, 40.0])
    y = np.array([30.0, 30.0, 30.0, 30.0, 1e19])
    x0, y0, _ = cutout_origins(x, y, 51)
    # Bounded before the cast to int64, so x0 + size cannot wrap (on CPUs whose cast saturates).
    assert np.all(np.abs(x0) < 2**41) and np.all(np.abs(y0) < 2**41)
    cut = extract_cutouts([_ramp()], x, y, 5, fill=-1.0)
    assert cut.off_image.all() and np.all(cut.data == -1.0) and np.all(cut.bad_fraction == 1.0)


def test_c_and_python_loops_agree(monkeypatch):
    """The C copy loop (built by `make env`) gives exactly what the Python loop gives."""
    assert cutouts._C_COPY is not None, "the C cutout loop was not built (run make env)"
    rng = np.random.default_rng(3)
    images = [rng.standard_normal((300, 257)).astype(np.float32) for _ in range(3)]
    x = rng.uniform(-20, 277, 500)
    y = rng.uniform(-20, 320, 500)
    bad = np.zeros((300, 257), bool)
    bad[100:120, 50:60] = True
    with_c = extract_cutouts(images, x, y, 33, fill=-1.0, bad=[None, bad, None])
    monkeypatch.setattr(cutouts, "_C_COPY", None)
    with_python = extract_cutouts(images, x, y, 33, fill=-1.0, bad=[None, bad, None])
    assert np.array_equal(with_c.data, with_python.data)
    assert np.array_equal(with_c.bad_fraction, with_python.bad_fraction)
    assert np.array_equal(with_c.off_image, with_python.off_image)
    # Non-contiguous or non-float32 images take the Python loop.
    wide = [im.astype(np.float64) for im in images]
    assert np.allclose(
        extract_cutouts(wide, x, y, 33, fill=-1.0, bad=[None, bad, None]).data[~with_c.off_image],
        with_c.data[~with_c.off_image],
    )


def test_reused_buffer(monkeypatch):
    images = [_ramp(), _ramp()]
    out = np.full((10, 2, 5, 5), 7.0, np.float32)
    cut = extract_cutouts(images, np.array([10.0, 20.0]), np.array([10.0, 20.0]), 5, out=out)
    assert np.shares_memory(cut.data, out)
    assert np.array_equal(
        cut.data, extract_cutouts(images, np.array([10.0, 20.0]), np.array([10.0, 20.0]), 5).data
    )
    with pytest.raises(ValueError, match="holds 1 cutouts"):
        extract_cutouts(images, np.array([10.0, 20.0]), np.array([10.0, 20.0]), 5, out=out[:1])
    with pytest.raises(ValueError, match="C-contiguous float32"):
        extract_cutouts(images, np.array([10.0]), np.array([10.0]), 5, out=np.zeros((2, 2, 5, 5)))


def test_which_copy_loop_is_said_once(monkeypatch, caplog):
    monkeypatch.setattr(cutouts, "_C_COPY", None)
    monkeypatch.setattr(cutouts, "_logged_copy_loop", False)
    with caplog.at_level(logging.INFO, logger="lsst.meas.realbogus.stamps.cutouts"):
        extract_cutouts([_ramp()], np.array([10.0]), np.array([10.0]), 5)
        extract_cutouts([_ramp()], np.array([10.0]), np.array([10.0]), 5)
    said = [r.getMessage() for r in caplog.records if "copied by the numpy loop" in r.getMessage()]
    assert len(said) == 1 and "_cutcopy" in said[0]
    # With the C loop built, images it cannot take (not float32) are said to take the numpy loop.
    monkeypatch.undo()
    monkeypatch.setattr(cutouts, "_logged_copy_loop", False)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lsst.meas.realbogus.stamps.cutouts"):
        extract_cutouts([_ramp().astype(np.float64)], np.array([10.0]), np.array([10.0]), 5)
    assert any("not C-contiguous float32" in r.getMessage() for r in caplog.records)


def test_mask_planes_of_lsst_images(detector_inputs):
    images = {k: detector_inputs[k] for k in ("template", "science", "difference")}
    difference = images["difference"]
    bad = np.zeros(difference.image.array.shape, bool)
    bad[5:8, 10:12] = True
    difference = difference.copy()
    difference.mask.array[...] = 0
    difference.mask.set("BAD", bad)
    assert np.array_equal(bad_pixels(difference, ["BAD"]), bad)
    assert bad_pixels(difference, ["NOT_A_PLANE"]) is None  # one image may lack a plane
    cut = cut_images(
        {**images, "difference": difference}, ["difference"], [11.0], [6.0], 5, bad_mask_planes=["BAD"]
    )
    assert cut.bad_fraction[0] == pytest.approx(6 / 25)
    # A plane that no image has is a typo: an error naming it and the planes there are.
    with pytest.raises(ValueError, match=r"bad mask planes \['BADD'\] are in none .*'BAD'"):
        cut_images(images, ["science"], [11.0], [6.0], 5, bad_mask_planes=["BAD", "BADD"])
    with pytest.raises(ValueError, match="no image for channels"):
        cut_images(images, ["sky"], [11.0], [6.0], 5)


def test_sentinel_and_infinite_pixels_are_missing():
    from lsst.meas.realbogus.stamps import MISSING_ABOVE, missing_pixels

    image = np.arange(100, dtype=np.float32).reshape(10, 10)
    assert missing_pixels(image) is None
    image[2, 3], image[5, 5], image[7, 1] = -3.4e38, np.inf, np.nan
    missing = missing_pixels(image)
    assert missing.sum() == 3 and missing[2, 3] and missing[5, 5] and missing[7, 1]
    assert missing_pixels(np.full((2, 2), MISSING_ABOVE, np.float32)).all()
    cut = extract_cutouts([image, image.copy()], np.array([4.0]), np.array([4.0]), 7, fill=np.nan)
    assert cut.bad_fraction[0] == pytest.approx(3 / 49)
    assert np.isnan(cut.data[0, :, 1, 2]).all() and not cut.off_image[0]
