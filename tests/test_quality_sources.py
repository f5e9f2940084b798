"""Sources on science images for exposure quality (quality/sources.py)."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus.quality.sources import (
    detect_sources,
    preview_image,
    select_sources,
    source_thumbnails,
)
from lsst.meas.realbogus.stamps.batch import ModelInput


def star_field(n=40, size=256, seed=0, sigma=1.5):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    x = rng.uniform(10, size - 10, n)
    y = rng.uniform(10, size - 10, n)
    image = rng.normal(0, 1.0, (size, size))
    for xi, yi in zip(x, y):
        image += 30.0 * np.exp(-((xx - xi) ** 2 + (yy - yi) ** 2) / (2 * sigma**2))
    return image.astype(np.float32), x, y


def test_finds_the_stars():
    image, x, y = star_field()
    sources = detect_sources(image, threshold=5.0)
    assert abs(len(sources) - len(x)) <= 3  # a few blends
    assert sources.noise == pytest.approx(1.0, rel=0.15)
    d = np.hypot(sources.x[:, None] - x[None], sources.y[:, None] - y[None]).min(axis=1)
    assert np.median(d) < 0.3


def test_masked_and_nan_pixels_are_ignored():
    image, _, _ = star_field()
    n = len(detect_sources(image, threshold=5.0))
    image[:, :128] = np.nan
    half = detect_sources(image, threshold=5.0)
    assert 0 < len(half) < n and half.x.min() >= 128
    bad = np.zeros(image.shape, bool)
    bad[:, 128:] = True
    assert len(detect_sources(image, bad, threshold=5.0)) == 0
    with pytest.raises(ValueError, match="bad mask of shape"):
        detect_sources(image, bad[:10])
    with pytest.raises(ValueError, match="2-d image"):
        detect_sources(image[0])


def test_a_gradient_changes_what_is_found_with_one_background_level():
    image, _, _ = star_field(seed=1)
    ramp = np.linspace(-6.0, 6.0, image.shape[1])[None, :].astype(np.float32)
    flat = detect_sources(image)
    sloped = detect_sources(image + ramp)
    local = detect_sources(image + ramp, background_box=32)
    # A local background removes the ramp; one level for the image sees it as noise three times higher,
    # and so finds only the brighter sources, with smaller footprints.
    assert local.noise == pytest.approx(flat.noise, rel=0.1)
    assert sloped.noise > 2.5 * flat.noise
    assert np.mean(sloped.npix) < 0.7 * np.mean(flat.npix)


def test_select_sources_keeps_inside_and_subsamples_reproducibly():
    image, _, _ = star_field(n=60, seed=2)
    sources = detect_sources(image, threshold=5.0)
    inside = select_sources(sources, image.shape, 32, 0, seed=1)
    assert len(inside) < len(sources)  # stars near the edge have no whole thumbnail
    sub = select_sources(sources, image.shape, 32, 10, seed=1)
    assert len(sub) == 10 and set(sub) <= set(inside)
    assert np.array_equal(sub, select_sources(sources, image.shape, 32, 10, seed=1))


def test_source_thumbnails_are_model_ready():
    image, _, _ = star_field(seed=3)
    sources, chosen, batch = source_thumbnails(
        image, None, ModelInput(("science",), 32, "mong_eq9"), max_sources=0, seed=1, threshold=5.0
    )
    assert batch.shape == (len(chosen), 1, 32, 32)
    assert np.isfinite(batch).all() and batch.min() >= 0 and batch.max() <= 1
    # The star sits at the centre of its thumbnail: the peak maps to 1.
    assert np.median(batch[:, 0, 15:17, 15:17].max(axis=(1, 2))) > 0.9


def test_preview():
    image = np.arange(100 * 80, dtype=np.float32).reshape(100, 80)
    image[:50] = np.nan
    preview = preview_image(image, 10)
    assert preview.shape == (10, 10)
    assert np.isnan(preview[:5]).all() and np.isfinite(preview[5:]).all()
    assert preview[9, 9] == pytest.approx(image[90:, 72:].mean())
