"""Instrumental and environmental artifacts injected into science exposures.

Each ``make_*`` function draws the artifacts' parameters and returns a truth
catalog (dict of arrays: ``kind, x, y, flux, length, angle, masked``); each
``draw_*``/``apply_*`` function puts them into pixel arrays in place.  Bright
sources also saturate and bleed along columns (`apply_saturation`).
"""

from __future__ import annotations

__all__ = (
    "apply_saturation",
    "attribute_detections",
    "draw_amp_offsets",
    "draw_diffraction_spikes",
    "draw_edge_glows",
    "draw_ghosts",
    "draw_glints",
    "draw_residuals",
    "make_amp_offsets",
    "make_diffraction_spikes",
    "make_edge_glows",
    "make_ghosts",
    "make_glints",
    "make_residuals",
    "make_vignetting",
    "vignetting_factor",
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
    rng: np.random.Generator,
    size: int,
    sky_sigma: float,
    psf_sigma: float,
    width_range: tuple[float, float] = (1.0, 2.0),
    flux_range: tuple[float, float] = (2.0, 25.0),
) -> dict[str, np.ndarray]:
    """One satellite streak crossing the detector.

    ``x, y`` is the point of the streak closest to the detector centre,
    ``flux`` the peak surface brightness in nJy per pixel, ``length`` the chord
    length inside the detector, ``angle`` in degrees.  The Gaussian width is
    drawn in ``width_range`` (units of ``psf_sigma``), the peak surface
    brightness in ``flux_range`` (units of ``sky_sigma``).
    """
    angle = rng.uniform(0, 180)
    c = (size - 1) / 2
    offset = rng.uniform(-0.45, 0.45) * size
    theta = np.radians(angle)
    x, y = c - offset * np.sin(theta), c + offset * np.cos(theta)
    half = np.sqrt(max(2 * (size / 2) ** 2 - offset**2, 0.0))
    width = psf_sigma * rng.uniform(*width_range)
    return _truth(
        "streak",
        1,
        x=np.array([x]),
        y=np.array([y]),
        flux=np.array([sky_sigma * rng.uniform(*flux_range)]),
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


# ---------------------------------------------------------------- optional artifacts (variety)


def _stamp_grid(x: float, y: float, half: int, shape: tuple[int, int]):
    """Integer bounds and pixel offsets of a stamp of half-width ``half`` around ``(x, y)``, clipped."""
    x0, x1 = max(int(np.floor(x)) - half, 0), min(int(np.floor(x)) + half + 2, shape[1])
    y0, y1 = max(int(np.floor(y)) - half, 0), min(int(np.floor(y)) + half + 2, shape[0])
    if x0 >= x1 or y0 >= y1:
        return None
    yy, xx = np.mgrid[y0:y1, x0:x1]
    return (slice(y0, y1), slice(x0, x1)), xx - x, yy - y


def make_diffraction_spikes(
    rng: np.random.Generator,
    x: np.ndarray,
    y: np.ndarray,
    star_flux: np.ndarray,
    fraction_range: tuple[float, float],
) -> dict[str, np.ndarray]:
    """Diffraction spikes of bright stars: two perpendicular lines through each star.

    ``flux`` is the flux in the four arms (a fraction of the star's drawn in
    ``fraction_range``), ``length`` the full length of a line (two arms),
    ``angle`` the orientation of the first line, degrees (the template's;
    each visit rotates it).
    """
    n = len(x)
    return _truth(
        "diffract_spike",
        n,
        x=np.asarray(x, dtype=float),
        y=np.asarray(y, dtype=float),
        flux=np.asarray(star_flux) * rng.uniform(*fraction_range, n),
        length=2.0 * np.clip(15.0 * np.sqrt(np.asarray(star_flux) / 1e6), 20.0, 300.0),
        angle=rng.uniform(0.0, 90.0, n),
    )


def draw_diffraction_spikes(
    image: np.ndarray, spikes: dict[str, np.ndarray], width: float, rotation: float = 0.0
) -> None:
    """Add diffraction spikes in place: arms of Gaussian cross-section fading exponentially outwards.

    Parameters
    ----------
    image : `numpy.ndarray`
        Image to draw on.
    spikes : `dict` [`str`, `numpy.ndarray`]
        Output of `make_diffraction_spikes` (positions in ``image`` pixels).
    width : `float`
        Gaussian sigma of an arm's cross-section, pixels.
    rotation : `float`
        Rotation of the spikes relative to their ``angle``, degrees (the
        science exposure's camera rotation relative to the template's).
    """
    for x, y, flux, length, angle in zip(
        spikes["x"], spikes["y"], spikes["flux"], spikes["length"], spikes["angle"]
    ):
        arm = length / 2
        scale = arm / 3.0
        grid = _stamp_grid(x, y, int(np.ceil(arm + 4 * width)), image.shape)
        if grid is None:
            continue
        sl, dx, dy = grid
        # Flux per arm = peak * scale * (1 - e^-3) * sqrt(2 pi) * width.
        peak = flux / 4.0 / (scale * (1.0 - np.exp(-3.0)) * np.sqrt(2.0 * np.pi) * width)
        stamp = np.zeros(dx.shape)
        for theta in np.radians([angle + rotation, angle + rotation + 90.0]):
            along = np.abs(dx * np.cos(theta) + dy * np.sin(theta))
            across = -dx * np.sin(theta) + dy * np.cos(theta)
            stamp += np.where(along <= arm, np.exp(-along / scale - 0.5 * (across / width) ** 2), 0.0)
        image[sl] += peak * stamp


def make_ghosts(rng: np.random.Generator, n: int, size: int, sky_sigma: float) -> dict[str, np.ndarray]:
    """Ghosts: large, faint out-of-focus rings (reflections of bright stars in the optics).

    ``flux`` is the peak surface brightness of the ring, nJy per pixel;
    ``length`` its diameter.
    """
    radius = rng.uniform(20.0, 120.0, n) * min(size / 512.0, 1.0) + 8.0
    return _truth(
        "ghost",
        n,
        x=rng.uniform(0, size - 1, n),
        y=rng.uniform(0, size - 1, n),
        flux=sky_sigma * rng.uniform(0.4, 1.5, n),
        length=2.0 * radius,
        width=radius * rng.uniform(0.1, 0.3, n),
    )


def draw_ghosts(image: np.ndarray, ghosts: dict[str, np.ndarray]) -> None:
    """Add ghosts (rings of Gaussian radial cross-section) to ``image`` in place."""
    for x, y, flux, length, width in zip(
        ghosts["x"], ghosts["y"], ghosts["flux"], ghosts["length"], ghosts["width"]
    ):
        grid = _stamp_grid(x, y, int(np.ceil(length / 2 + 4 * width)), image.shape)
        if grid is None:
            continue
        sl, dx, dy = grid
        r = np.hypot(dx, dy)
        image[sl] += flux * np.exp(-0.5 * ((r - length / 2) / width) ** 2)


def make_glints(
    rng: np.random.Generator,
    n: int,
    size: int,
    sky_sigma: float,
    psf_sigma: float,
    length_range: tuple[float, float] = (8.0, 60.0),
    length_power: float = 1.0,
) -> dict[str, np.ndarray]:
    """Glints: short bright linear features (sunlight glinting off a tumbling satellite or debris).

    ``flux`` is the peak surface brightness, nJy per pixel; ``length`` and
    ``angle`` the segment's. Lengths are drawn within ``length_range``
    (pixels), uniformly in ``length ** length_power``: 1 is uniform lengths,
    0 uniform in their logarithm (as many glints between 8 and 16 pixels as
    between 30 and 60), 0.5 between the two. Whatever the power, one number
    is drawn per glint, in the same place of the sequence, so every other
    draw is the same.
    """
    # In the order of the draws: the positions and fluxes first, then the lengths.
    x = rng.uniform(2, size - 3, n)
    y = rng.uniform(2, size - 3, n)
    flux = sky_sigma * np.exp(rng.uniform(np.log(8.0), np.log(100.0), n))
    low, high = length_range
    if length_power == 0.0:
        length = np.exp(rng.uniform(np.log(low), np.log(high), n))
    else:
        # A power of 1 gives rng.uniform(low, high)'s numbers exactly: x ** 1.0 is x in IEEE arithmetic.
        length = rng.uniform(low**length_power, high**length_power, n) ** (1.0 / length_power)
    return _truth(
        "glint",
        n,
        x=x,
        y=y,
        flux=flux,
        length=length,
        angle=rng.uniform(0.0, 180.0, n),
        width=psf_sigma * rng.uniform(0.8, 1.5, n),
    )


def draw_glints(image: np.ndarray, glints: dict[str, np.ndarray]) -> None:
    """Add glints (segments of Gaussian cross-section with soft ends) to ``image`` in place."""
    for x, y, flux, length, angle, width in zip(
        glints["x"], glints["y"], glints["flux"], glints["length"], glints["angle"], glints["width"]
    ):
        grid = _stamp_grid(x, y, int(np.ceil(length / 2 + 4 * width)), image.shape)
        if grid is None:
            continue
        sl, dx, dy = grid
        theta = np.radians(angle)
        along = np.abs(dx * np.cos(theta) + dy * np.sin(theta))
        across = -dx * np.sin(theta) + dy * np.cos(theta)
        beyond = np.maximum(along - length / 2, 0.0)
        image[sl] += flux * np.exp(-0.5 * (across**2 + beyond**2) / width**2)


def make_residuals(
    rng: np.random.Generator,
    kind: str,
    x: np.ndarray,
    y: np.ndarray,
    n: int,
    sky_sigma: float,
    psf_sigma: float,
    snr_range: tuple[float, float],
    psf_image: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Subtraction residuals at the cores of bright galaxies or stars (local PSF-model mismatch).

    Each residual is ``flux * (P_a(centre + d) - P(centre))``: the PSF ``P``
    made wider or narrower by a factor ``a`` in [0.75, 1.3] and slightly off
    centre (``d``, 0.3 pixels rms), minus the right one, positive or negative,
    with its flux set so its matched-filter S/N on sky noise ``sky_sigma``
    (a Gaussian filter of sigma ``psf_sigma``, as detection uses) is drawn in
    ``snr_range``. ``P`` is a Gaussian of sigma ``psf_sigma``, or the visit's
    PSF image ``psf_image`` (see `draw_residuals`).

    Parameters
    ----------
    rng : `numpy.random.Generator`
        Random generator.
    kind : `str`
        Truth kind (``nuclear_residual`` or ``star_residual``).
    x, y : `numpy.ndarray`
        Candidate positions (galaxy or star centres, detector pixels).
    n : `int`
        Number of residuals (at most ``len(x)``; candidates chosen at random).
    sky_sigma, psf_sigma : `float`
        Per-pixel sky noise (nJy) and PSF sigma (pixels).
    snr_range : `tuple` [`float`, `float`]
        Range of the residuals' S/N.
    psf_image : `numpy.ndarray`, optional
        Unit-sum PSF stamp with the PSF's centre on its central pixel; `None`
        for a Gaussian of sigma ``psf_sigma``.
    """
    n = min(n, len(x))
    pick = rng.choice(len(x), n, replace=False) if n else np.zeros(0, int)
    ratio = rng.uniform(0.75, 1.3, n)
    shift = 0.3 * rng.standard_normal((n, 2))
    snr = rng.uniform(*snr_range, n) * rng.choice([-1.0, 1.0], n)
    s2 = psf_sigma**2
    if psf_image is None:
        # Matched-filter response of the unit residual: sum(r * g) / sqrt(sum(g**2)) for the unit
        # PSF g, with Gaussian overlaps sum(G(s1) * G(s2)) = 1 / (2 pi (s1**2 + s2**2)) (shift
        # neglected).
        response = (1.0 / (2.0 * np.pi * (s2 * ratio**2 + s2)) - 1.0 / (4.0 * np.pi * s2)) / np.sqrt(
            1.0 / (4.0 * np.pi * s2)
        )
    else:
        # The same sum, on the pixels of the stamp.
        half = psf_image.shape[0] // 2
        oy, ox = np.mgrid[-half : half + 1, -half : half + 1].astype(float)
        g = np.exp(-0.5 * (ox**2 + oy**2) / s2) / (2.0 * np.pi * s2)
        response = np.array(
            [np.sum((_scaled_psf(psf_image, a, oy, ox) - psf_image) * g) for a in ratio]
        ) / np.sqrt(np.sum(g**2))
    flux = snr * sky_sigma / np.maximum(np.abs(response), 1e-6)
    return _truth(
        kind,
        n,
        x=np.asarray(x, dtype=float)[pick],
        y=np.asarray(y, dtype=float)[pick],
        flux=flux,
        ratio=ratio,
        dx=shift[:, 1],
        dy=shift[:, 0],
    )


def _scaled_psf(psf_image: np.ndarray, ratio: float, oy: np.ndarray, ox: np.ndarray) -> np.ndarray:
    """The PSF stamp widened by ``ratio`` (flux kept), sampled at pixel offsets ``oy, ox`` from its centre."""
    half = psf_image.shape[0] // 2
    coords = np.array([oy / ratio + half, ox / ratio + half])
    sampled = ndimage.map_coordinates(psf_image, coords, order=3, mode="constant", cval=0.0)
    return sampled / ratio**2


def draw_residuals(
    image: np.ndarray,
    residuals: dict[str, np.ndarray],
    psf_sigma: float,
    psf_image: np.ndarray | None = None,
) -> None:
    """Add core residuals (from `make_residuals`) to ``image`` in place.

    ``psf_image`` (a unit-sum PSF stamp centred on its central pixel, as given
    to `make_residuals`) draws them in the PSF's own shape; `None` draws
    Gaussians of sigma ``psf_sigma``.
    """
    for x, y, flux, ratio, dx, dy in zip(
        residuals["x"],
        residuals["y"],
        residuals["flux"],
        residuals["ratio"],
        residuals["dx"],
        residuals["dy"],
    ):
        if psf_image is None:
            reach = int(np.ceil(6 * psf_sigma * max(ratio, 1.0))) + 1
        else:
            reach = int(np.ceil((psf_image.shape[0] // 2) * max(ratio, 1.0))) + 1
        grid = _stamp_grid(x, y, reach, image.shape)
        if grid is None:
            continue
        sl, ox, oy = grid
        if psf_image is None:
            wide = psf_sigma * ratio
            a = np.exp(-0.5 * ((ox - dx) ** 2 + (oy - dy) ** 2) / wide**2) / (2 * np.pi * wide**2)
            b = np.exp(-0.5 * (ox**2 + oy**2) / psf_sigma**2) / (2 * np.pi * psf_sigma**2)
        else:
            a = _scaled_psf(psf_image, ratio, oy - dy, ox - dx)
            b = _scaled_psf(psf_image, 1.0, oy, ox)
        image[sl] += flux * (a - b)


def make_amp_offsets(
    rng: np.random.Generator, n: int, size: int, sky_sigma: float, psf_sigma: float, n_amps: int = 8
) -> dict[str, np.ndarray]:
    """Background offsets of whole amplifiers (a bias or gain step left by the ISR).

    The detector is read by ``n_amps`` amplifiers, each a full-height strip
    of columns; ``x, y`` is the centre of the strip, ``length`` its height,
    ``flux`` the offset per pixel, nJy, set so its matched-filter S/N is 0.2
    to 1 (below the threshold by itself; it lifts noise peaks above it).
    """
    amp = rng.choice(n_amps, min(n, n_amps), replace=False)
    n = len(amp)
    width = size / n_amps
    point_noise = sky_sigma / np.sqrt(4.0 * np.pi * psf_sigma**2)
    return _truth(
        "amp_offset",
        n,
        x=(amp + 0.5) * width - 0.5,
        y=np.full(n, (size - 1) / 2),
        flux=point_noise * rng.uniform(0.2, 1.0, n) * rng.choice([-1.0, 1.0], n),
        length=np.full(n, float(size)),
        angle=np.full(n, 90.0),
        amp_width=np.full(n, width),
    )


def draw_amp_offsets(image: np.ndarray, offsets: dict[str, np.ndarray]) -> None:
    """Add amplifier offsets to ``image`` in place."""
    for x, flux, width in zip(offsets["x"], offsets["flux"], offsets["amp_width"]):
        x0 = int(round(x + 0.5 - width / 2))
        image[:, x0 : x0 + int(round(width))] += flux


def _edge_distance(shape: tuple[int, int], edge: int) -> np.ndarray:
    """Distance of every pixel from detector edge ``edge`` (0 left, 1 right, 2 bottom, 3 top)."""
    yy, xx = np.indices(shape, dtype=float)
    return (xx, shape[1] - 1 - xx, yy, shape[0] - 1 - yy)[edge]


def _edge_truth(kind: str, rng: np.random.Generator, n: int, size: int, **columns) -> dict[str, np.ndarray]:
    edge = rng.integers(0, 4, n)
    c = (size - 1) / 2
    x = np.choose(edge, [0.0, size - 1.0, c, c])
    y = np.choose(edge, [c, c, 0.0, size - 1.0])
    return _truth(
        kind,
        n,
        x=x,
        y=y,
        length=np.full(n, float(size)),
        angle=np.where(edge < 2, 90.0, 0.0),
        edge=edge,
        **columns,
    )


def make_edge_glows(rng: np.random.Generator, n: int, size: int, sky_sigma: float) -> dict[str, np.ndarray]:
    """Glow along a detector edge (amplifier glow, light leaks): exponential in distance from it.

    ``x, y`` is the middle of the edge; ``flux`` the glow at the edge, nJy
    per pixel; ``scale`` its e-folding distance, pixels.
    """
    return _edge_truth(
        "edge_glow",
        rng,
        n,
        size,
        flux=sky_sigma * rng.uniform(3.0, 30.0, n),
        scale=rng.uniform(3.0, 20.0, n),
    )


def draw_edge_glows(image: np.ndarray, glows: dict[str, np.ndarray]) -> None:
    """Add edge glows to ``image`` in place."""
    for edge, flux, scale in zip(glows["edge"], glows["flux"], glows["scale"]):
        image += flux * np.exp(-_edge_distance(image.shape, int(edge)) / scale)


def make_vignetting(rng: np.random.Generator, n: int, size: int) -> dict[str, np.ndarray]:
    """Uncorrected vignetting along a detector edge (a flat-field error).

    ``flux`` is the fractional loss of light at the edge (0.03 to 0.15);
    ``scale`` its e-folding distance, pixels.
    """
    return _edge_truth(
        "vignetting",
        rng,
        n,
        size,
        flux=rng.uniform(0.03, 0.15, n),
        scale=rng.uniform(20.0, 100.0, n) * min(size / 1024.0, 1.0),
    )


def vignetting_factor(shape: tuple[int, int], vignetting: dict[str, np.ndarray]) -> np.ndarray | None:
    """Throughput (at most one) of vignetted pixels, or `None` when there is no vignetting."""
    if len(vignetting["x"]) == 0:
        return None
    factor = np.ones(shape)
    for edge, depth, scale in zip(vignetting["edge"], vignetting["flux"], vignetting["scale"]):
        factor *= 1.0 - depth * np.exp(-_edge_distance(shape, int(edge)) / scale)
    return factor


def attribute_detections(
    x: np.ndarray,
    y: np.ndarray,
    layers: dict[str, np.ndarray],
    noise: np.ndarray,
    psf_sigma: float,
    min_snr: float,
) -> dict[str, np.ndarray]:
    """Name the extended artifact that caused each detection.

    Extended artifacts (rings, spikes, amplifier steps, edges) are detected
    anywhere along them, so a single truth position cannot be matched by
    position; this returns one truth entry at each detection where an
    artifact's own noiseless signal has a matched-filter S/N of at least
    ``min_snr`` (the artifact with the largest S/N names it).

    Parameters
    ----------
    x, y : `numpy.ndarray`
        Detection centroids, pixels.
    layers : `dict` [`str`, `numpy.ndarray`]
        Noiseless signal of each artifact kind in the difference image.
    noise : `numpy.ndarray`
        Noise of the PSF-correlated difference image (`detection.psf_noise`).
    psf_sigma : `float`
        PSF sigma, pixels.
    min_snr : `float`
        Minimum S/N of the artifact at the detection.

    Returns
    -------
    truth : `dict` [`str`, `numpy.ndarray`]
        ``kind, x, y, flux`` (NaN), ``snr`` and the other truth columns.
    """
    from .psf import extract_stamps

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if not layers or len(x) == 0:
        return {**_truth("", 0, x=np.zeros(0), y=np.zeros(0), flux=np.zeros(0)), "snr": np.zeros(0)}
    size_y, size_x = noise.shape
    xi = np.clip(np.floor(x + 0.5).astype(int), 0, size_x - 1)
    yi = np.clip(np.floor(y + 0.5).astype(int), 0, size_y - 1)
    half = int(np.ceil(3 * psf_sigma))
    offsets = np.arange(-half, half + 1)
    g = np.exp(-0.5 * (offsets[:, None] ** 2 + offsets[None, :] ** 2) / psf_sigma**2)
    g /= 2.0 * np.pi * psf_sigma**2
    kinds = list(layers)
    snr = np.empty((len(kinds), len(x)))
    with np.errstate(invalid="ignore", divide="ignore"):
        for k, kind in enumerate(kinds):
            stamps, _ = extract_stamps(layers[kind], xi, yi, half)
            snr[k] = np.sum(stamps * g, axis=(1, 2)) / noise[yi, xi]
    snr = np.nan_to_num(snr)
    best = np.argmax(np.abs(snr), axis=0)
    best_snr = np.abs(snr[best, np.arange(len(x))])
    keep = best_snr >= min_snr
    n = int(keep.sum())
    out = _truth("", n, x=x[keep], y=y[keep], flux=np.full(n, np.nan))
    out["kind"] = np.array([kinds[b] for b in best[keep]], dtype="U16")
    out["snr"] = best_snr[keep]
    return out
