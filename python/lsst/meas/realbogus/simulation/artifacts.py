"""Instrumental and environmental artifacts injected into science exposures.

Each ``make_*`` function draws the artifacts' parameters and returns a truth
catalog (dict of arrays: ``kind, x, y, flux, length, angle, masked``); each
``draw_*``/``apply_*`` function puts them into pixel arrays in place.  Bright
sources also saturate and bleed along columns (`apply_saturation`).
"""

from __future__ import annotations

__all__ = (
    "apply_saturation",
    "draw_bad_columns",
    "draw_cosmic_rays",
    "draw_hot_pixels",
    "draw_streak",
    "make_bad_columns",
    "make_cosmic_rays",
    "make_hot_pixels",
    "make_streak",
)

import numpy as np
from scipy import ndimage


def _truth(kind: str, n: int, **columns: np.ndarray) -> dict[str, np.ndarray]:
    out = {
        "kind": np.full(n, kind, dtype="U16"),
        "length": np.zeros(n),
        "angle": np.zeros(n),
        "masked": np.zeros(n, dtype=bool),
    }
    out.update({k: np.asarray(v) for k, v in columns.items()})
    return out


def make_cosmic_rays(
    rng: np.random.Generator, n: int, size: int, sky_sigma: float, masked_fraction: float
) -> dict[str, np.ndarray]:
    """Cosmic-ray tracks: straight, sharp (no PSF), 0 to 12 pixels long, bright.

    ``flux`` is the charge deposited per pixel of track, in nJy.
    """
    return _truth(
        "cosmic_ray",
        n,
        x=rng.uniform(2, size - 3, n),
        y=rng.uniform(2, size - 3, n),
        flux=sky_sigma * np.exp(rng.uniform(np.log(15.0), np.log(400.0), n)),
        length=rng.exponential(3.0, n).clip(0, 12),
        angle=rng.uniform(0, 180, n),
        masked=rng.uniform(size=n) < masked_fraction,
    )


def _track_pixels(x: float, y: float, length: float, angle: float, shape: tuple[int, int]):
    """Pixels crossed by a straight track centred on ``(x, y)``, with the path length in each."""
    n = max(int(np.ceil(length * 4)), 1)
    t = (np.arange(n) + 0.5) / n - 0.5
    px = np.floor(x + t * length * np.cos(np.radians(angle)) + 0.5).astype(int)
    py = np.floor(y + t * length * np.sin(np.radians(angle)) + 0.5).astype(int)
    ok = (px >= 0) & (px < shape[1]) & (py >= 0) & (py < shape[0])
    flat = py[ok] * shape[1] + px[ok]
    pixels, counts = np.unique(flat, return_counts=True)
    weight = counts * max(length, 1.0) / n
    return pixels // shape[1], pixels % shape[1], np.maximum(weight, 1.0)


def draw_cosmic_rays(image: np.ndarray, mask: np.ndarray, crs: dict[str, np.ndarray]) -> None:
    """Deposit cosmic rays into ``image``; set ``mask`` (bool) where they are flagged as masked."""
    for x, y, flux, length, angle, masked in zip(
        crs["x"], crs["y"], crs["flux"], crs["length"], crs["angle"], crs["masked"]
    ):
        rows, cols, weight = _track_pixels(x, y, length, angle, image.shape)
        image[rows, cols] += flux * weight
        if masked:
            mask[rows, cols] = True


def make_hot_pixels(
    rng: np.random.Generator, n: int, size: int, sky_sigma: float, masked_fraction: float
) -> dict[str, np.ndarray]:
    """Hot pixels of one detector (the same pixels in every visit)."""
    return _truth(
        "hot_pixel",
        n,
        x=rng.integers(1, size - 1, n).astype(float),
        y=rng.integers(1, size - 1, n).astype(float),
        flux=sky_sigma * np.exp(rng.uniform(np.log(10.0), np.log(300.0), n)),
        masked=rng.uniform(size=n) < masked_fraction,
    )


def draw_hot_pixels(image: np.ndarray, mask: np.ndarray, hot: dict[str, np.ndarray]) -> None:
    """Add hot pixels to ``image``; set ``mask`` (bool) for the known (masked) ones."""
    rows = hot["y"].astype(int)
    cols = hot["x"].astype(int)
    image[rows, cols] += hot["flux"]
    mask[rows[hot["masked"]], cols[hot["masked"]]] = True


def make_bad_columns(
    rng: np.random.Generator, n: int, size: int, sky_sigma: float, masked_fraction: float
) -> dict[str, np.ndarray]:
    """Bad column segments of one detector: a per-pixel offset along part of a column.

    ``x, y`` is the segment centre, ``length`` its length in pixels, ``flux``
    the offset per pixel (positive or negative), in nJy.
    """
    length = rng.uniform(0.1, 1.0, n) * size
    y = rng.uniform(length / 2, size - length / 2)
    sign = rng.choice([-1.0, 1.0], n)
    return _truth(
        "bad_column",
        n,
        x=rng.integers(2, size - 2, n).astype(float),
        y=y,
        flux=sign * sky_sigma * rng.uniform(2.0, 8.0, n),
        length=length,
        angle=np.full(n, 90.0),
        masked=rng.uniform(size=n) < masked_fraction,
    )


def draw_bad_columns(image: np.ndarray, mask: np.ndarray, cols: dict[str, np.ndarray]) -> None:
    """Add bad-column offsets to ``image``; set ``mask`` (bool) for the masked ones."""
    for x, y, flux, length, masked in zip(cols["x"], cols["y"], cols["flux"], cols["length"], cols["masked"]):
        y0, y1 = int(max(y - length / 2, 0)), int(min(y + length / 2, image.shape[0]))
        image[y0:y1, int(x)] += flux
        if masked:
            mask[y0:y1, int(x)] = True


def make_streak(
    rng: np.random.Generator, size: int, sky_sigma: float, psf_sigma: float
) -> dict[str, np.ndarray]:
    """One satellite streak crossing the detector.

    ``x, y`` is the point of the streak closest to the detector centre,
    ``flux`` the peak surface brightness in nJy per pixel, ``length`` the chord
    length inside the detector, ``angle`` in degrees.
    """
    angle = rng.uniform(0, 180)
    c = (size - 1) / 2
    offset = rng.uniform(-0.45, 0.45) * size
    theta = np.radians(angle)
    x, y = c - offset * np.sin(theta), c + offset * np.cos(theta)
    half = np.sqrt(max(2 * (size / 2) ** 2 - offset**2, 0.0))
    width = psf_sigma * rng.uniform(1.0, 2.0)
    return _truth(
        "streak",
        1,
        x=np.array([x]),
        y=np.array([y]),
        flux=np.array([sky_sigma * rng.uniform(2.0, 25.0)]),
        length=np.array([min(2 * half, np.sqrt(2) * size)]),
        angle=np.array([angle]),
        width=np.array([width]),
    )


def draw_streak(image: np.ndarray, streak: dict[str, np.ndarray]) -> None:
    """Add a streak (Gaussian cross-section) to ``image`` in place."""
    for x, y, flux, angle, width in zip(
        streak["x"], streak["y"], streak["flux"], streak["angle"], streak["width"]
    ):
        theta = np.radians(angle)
        yy, xx = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
        dist = -(xx - x) * np.sin(theta) + (yy - y) * np.cos(theta)
        near = np.abs(dist) < 6 * width
        image[near] += flux * np.exp(-0.5 * (dist[near] / width) ** 2)


def apply_saturation(image: np.ndarray, level: float) -> np.ndarray:
    """Saturate ``image`` at ``level`` and bleed the excess charge along columns, in place.

    The charge above the saturation level in each saturated run of a column
    spills equally up and down the column, and the run is clipped at the
    level, so the charge is conserved to within half the level per run.

    Returns
    -------
    saturated : `numpy.ndarray` of `bool`
        The saturated (and bled) pixels.
    """
    over = image >= level
    if not over.any():
        return over
    saturated = over.copy()
    labels, n = ndimage.label(over, structure=[[0, 1, 0], [0, 1, 0], [0, 1, 0]])
    for index, sl in enumerate(ndimage.find_objects(labels), start=1):
        rows = np.arange(sl[0].start, sl[0].stop)
        col = sl[1].start
        run = labels[rows, col] == index
        rows = rows[run]
        # The run grows until it holds the run's charge at the saturation level.
        spill = max(int(round(float(np.sum(image[rows, col])) / level)) - len(rows), 0)
        y0 = max(rows.min() - spill // 2, 0)
        y1 = min(rows.max() + (spill - spill // 2) + 1, image.shape[0])
        saturated[y0:y1, col] = True
    image[saturated] = level
    return saturated
