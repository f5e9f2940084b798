"""The simulated sky: static stars and galaxies, variable stars and transients.

Catalogs are plain dicts of numpy arrays (column name to array) in the pixel
coordinates of a detector's padded canvas or of the detector itself; fluxes are
in nJy.  Everything is drawn from a `numpy.random.Generator` passed in, so a
scene is a deterministic function of its seed.
"""

from __future__ import annotations

__all__ = (
    "AB_ZERO_POINT_NJY",
    "ARTIFACT_KINDS",
    "REAL_KINDS",
    "VARIETY_ARTIFACT_KINDS",
    "flux_to_mag",
    "make_static_sky",
    "make_transients",
    "draw_galaxies",
    "mag_to_flux",
    "sample_power_law_mags",
)

import galsim
import numpy as np

AB_ZERO_POINT_NJY = 3631.0e9
"""Flux of an AB magnitude zero source, in nJy."""

REAL_KINDS = ("host", "offset", "hostless", "variable")
"""Truth kinds of astrophysical (real) transients."""

ARTIFACT_KINDS = (
    "cosmic_ray",
    "hot_pixel",
    "bad_column",
    "streak",
    "saturated_star",
    "dipole",
    "psf_mismatch",
)
"""Truth kinds of bogus detections' causes."""

VARIETY_ARTIFACT_KINDS = (
    "diffract_spike",
    "ghost",
    "glint",
    "nuclear_residual",
    "star_residual",
    "amp_offset",
    "edge_glow",
    "vignetting",
    "bleed_trail",
)
"""Truth kinds of the optional artifacts (off by default, on in the ``variety`` preset)."""


def mag_to_flux(mag: np.ndarray) -> np.ndarray:
    """AB magnitude to flux in nJy."""
    return AB_ZERO_POINT_NJY * 10.0 ** (-0.4 * np.asarray(mag))


def flux_to_mag(flux: np.ndarray) -> np.ndarray:
    """Flux in nJy to AB magnitude (NaN for non-positive fluxes)."""
    flux = np.asarray(flux, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flux > 0, -2.5 * np.log10(flux / AB_ZERO_POINT_NJY), np.nan)


def sample_power_law_mags(rng: np.random.Generator, n: int, lo: float, hi: float, slope: float) -> np.ndarray:
    """Draw magnitudes with ``dN/dm`` proportional to ``10**(slope * m)`` in ``[lo, hi]``."""
    k = slope * np.log(10.0)
    u = rng.uniform(size=n)
    return lo + np.log1p(u * np.expm1(k * (hi - lo))) / k


def make_static_sky(
    rng: np.random.Generator,
    shape: tuple[int, int],
    area_deg2: float,
    *,
    star_density: float,
    star_mags: tuple[float, float],
    galaxy_density: float,
    galaxy_mags: tuple[float, float],
    pixel_scale: float,
    n_variable: int,
    variable_mags: tuple[float, float],
    n_bright: int,
    bright_mags: tuple[float, float],
    margin: int,
    id_offset: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Draw the stars and galaxies of one detector's canvas.

    Parameters
    ----------
    rng : `numpy.random.Generator`
        Random generator.
    shape : `tuple` [`int`, `int`]
        Canvas shape ``(ny, nx)``.
    area_deg2 : `float`
        Canvas area in square degrees.
    star_density, galaxy_density : `float`
        Surface densities (per square degree) over the magnitude ranges.
    star_mags, galaxy_mags : `tuple` [`float`, `float`]
        Magnitude ranges.
    pixel_scale : `float`
        Arcseconds per pixel.
    n_variable : `int`
        Number of variable stars, placed inside the detector (at least
        ``margin`` pixels inside the canvas edge plus a border).
    variable_mags : `tuple` [`float`, `float`]
        Range of the variable stars' mean magnitudes.
    n_bright : `int`
        Number of bright stars placed inside the detector.
    bright_mags : `tuple` [`float`, `float`]
        Range of the bright stars' magnitudes.
    margin : `int`
        Width of the canvas padding around the detector.
    id_offset : `int`
        First object identifier.

    Returns
    -------
    stars, galaxies : `dict` [`str`, `numpy.ndarray`]
        Stars: ``id, x, y, flux, variable``.  Galaxies: ``id, x, y, flux,
        hlr`` (half-light radius, pixels), ``bulge`` (bulge flux fraction),
        ``e1, e2``.
    """
    ny, nx = shape
    n_star = rng.poisson(star_density * area_deg2)
    n_gal = rng.poisson(galaxy_density * area_deg2)
    star_mag = sample_power_law_mags(rng, n_star, *star_mags, slope=0.15)
    border = margin + 8
    var_mag = rng.uniform(*variable_mags, size=n_variable)
    bright_mag = rng.uniform(*bright_mags, size=n_bright)
    n_inside = n_variable + n_bright
    stars = {
        "x": np.concatenate([rng.uniform(0, nx - 1, n_star), rng.uniform(border, nx - 1 - border, n_inside)]),
        "y": np.concatenate([rng.uniform(0, ny - 1, n_star), rng.uniform(border, ny - 1 - border, n_inside)]),
        "flux": mag_to_flux(np.concatenate([star_mag, var_mag, bright_mag])),
        "variable": np.concatenate(
            [np.zeros(n_star, bool), np.ones(n_variable, bool), np.zeros(n_bright, bool)]
        ),
    }
    stars["id"] = id_offset + np.arange(len(stars["x"]), dtype=np.int64)
    gal_mag = sample_power_law_mags(rng, n_gal, *galaxy_mags, slope=0.3)
    # Sizes shrink with magnitude (about 1.2 arcsec at 20 mag, 0.35 arcsec at 25 mag), with scatter.
    hlr_arcsec = np.exp(np.log(1.2) - 0.25 * (gal_mag - 20.0) + 0.3 * rng.standard_normal(n_gal))
    ell = np.minimum(np.abs(0.25 * rng.standard_normal(n_gal)), 0.7)
    angle = rng.uniform(0, np.pi, n_gal)
    galaxies = {
        "id": id_offset + len(stars["x"]) + np.arange(n_gal, dtype=np.int64),
        "x": rng.uniform(0, nx - 1, n_gal),
        "y": rng.uniform(0, ny - 1, n_gal),
        "flux": mag_to_flux(gal_mag),
        "hlr": np.clip(hlr_arcsec, 0.15, 4.0) / pixel_scale,
        "bulge": rng.beta(1.2, 3.0, n_gal),
        "e1": ell * np.cos(2 * angle),
        "e2": ell * np.sin(2 * angle),
    }
    return stars, galaxies


def make_transients(
    rng: np.random.Generator,
    detector_size: int,
    margin: int,
    stars: dict[str, np.ndarray],
    galaxies: dict[str, np.ndarray],
    *,
    n_host: int,
    n_offset: int,
    n_hostless: int,
    mags: tuple[float, float],
    variable_dmag: tuple[float, float],
    edge_buffer: int,
) -> dict[str, np.ndarray]:
    """Draw one visit's transients in detector pixel coordinates.

    Host transients sit within about a half-light radius of a galaxy, offset
    ones 1.5 to 4 half-light radii away, hostless ones far from any galaxy
    brighter than 24th magnitude.  Every variable star of the static sky
    changes brightness by a random amount.

    Returns
    -------
    transients : `dict` [`str`, `numpy.ndarray`]
        ``kind, x, y, flux`` (science minus template flux, nJy), ``mag``
        (science magnitude), ``host_id`` (-1 if none), ``host_sep`` (pixels).
    """
    size = detector_size
    lo, hi = edge_buffer, size - 1 - edge_buffer
    gx = galaxies["x"] - margin
    gy = galaxies["y"] - margin
    inside = (gx > lo) & (gx < hi) & (gy > lo) & (gy < hi) & (galaxies["flux"] > mag_to_flux(23.5))
    candidates = np.flatnonzero(inside)
    rows: list[tuple[str, float, float, float, float, int, float]] = []
    bright = galaxies["flux"] > mag_to_flux(24.0)

    def add(kind: str, x: float, y: float, host: int, sep: float) -> None:
        mag = rng.uniform(*mags)
        rows.append((kind, x, y, float(mag_to_flux(mag)), mag, host, sep))

    def place_hostless(n: int) -> None:
        for _ in range(n):
            for _attempt in range(200):
                x, y = rng.uniform(lo, hi, 2)
                d2 = (gx[bright] - x) ** 2 + (gy[bright] - y) ** 2
                if np.all(d2 > (4 * galaxies["hlr"][bright]) ** 2):
                    break
            add("hostless", x, y, -1, np.nan)

    def place_near_host(kind: str, n: int, radius) -> None:
        for _ in range(n):
            for _attempt in range(50 if len(candidates) else 0):
                g = rng.choice(candidates)
                r = galaxies["hlr"][g] * radius()
                phi = rng.uniform(0, 2 * np.pi)
                x, y = gx[g] + r * np.cos(phi), gy[g] + r * np.sin(phi)
                if lo <= x <= hi and lo <= y <= hi:
                    add(kind, x, y, int(galaxies["id"][g]), r)
                    break
            else:
                # No usable host on this detector: the transient is hostless.
                place_hostless(1)

    place_near_host("host", n_host, lambda: abs(0.7 * rng.standard_normal()))
    place_near_host("offset", n_offset, lambda: rng.uniform(1.5, 4.0))
    place_hostless(n_hostless)
    for i in np.flatnonzero(stars["variable"]):
        dmag = rng.uniform(*variable_dmag) * rng.choice([-1.0, 1.0])
        mean = stars["flux"][i]
        flux = mean * 10 ** (-0.4 * dmag)
        rows.append(
            (
                "variable",
                stars["x"][i] - margin,
                stars["y"][i] - margin,
                flux - mean,
                float(flux_to_mag(flux)),
                int(stars["id"][i]),
                0.0,
            )
        )
    kinds, xs, ys, fluxes, mag_col, hosts, seps = zip(*rows) if rows else ((),) * 7
    return {
        "kind": np.array(kinds, dtype="U16"),
        "x": np.array(xs, dtype=float),
        "y": np.array(ys, dtype=float),
        "flux": np.array(fluxes, dtype=float),
        "mag": np.array(mag_col, dtype=float),
        "host_id": np.array(hosts, dtype=np.int64),
        "host_sep": np.array(seps, dtype=float),
    }


def draw_galaxies(
    canvas: np.ndarray,
    galaxies: dict[str, np.ndarray],
    psf: galsim.GSObject,
    real_catalog: galsim.RealGalaxyCatalog | None = None,
    pixel_scale: float = 0.2,
) -> None:
    """Draw PSF-convolved galaxies into ``canvas`` (in place).

    Parameters
    ----------
    canvas : `numpy.ndarray`
        Image to add to, in nJy per pixel.
    galaxies : `dict` [`str`, `numpy.ndarray`]
        Catalog from `make_static_sky`, optionally with a ``real`` column:
        the index in ``real_catalog`` of the HST galaxy to draw, or -1 for a
        parametric bulge+disk galaxy.
    psf : `galsim.GSObject`
        PSF in pixel units.
    real_catalog : `galsim.RealGalaxyCatalog`, optional
        Real galaxy stamps, required if any ``real`` index is set.
    pixel_scale : `float`
        Arcseconds per pixel (real galaxies are defined in arcseconds).
    """
    params = galsim.GSParams(maximum_fft_size=8192)
    ny, nx = canvas.shape
    real = galaxies.get("real", np.full(len(galaxies["x"]), -1))
    for x, y, flux, hlr, bulge, e1, e2, index in zip(
        galaxies["x"],
        galaxies["y"],
        galaxies["flux"],
        galaxies["hlr"],
        galaxies["bulge"],
        galaxies["e1"],
        galaxies["e2"],
        real,
    ):
        if index >= 0:
            gal = galsim.RealGalaxy(real_catalog, index=int(index), flux=flux, gsparams=params)
            gal = gal.dilate(1.0 / pixel_scale).rotate(np.arctan2(e2, e1) * galsim.radians)
        else:
            disk = galsim.Exponential(half_light_radius=hlr, flux=1.0 - bulge, gsparams=params)
            bulge_obj = galsim.DeVaucouleurs(half_light_radius=0.5 * hlr, flux=bulge, gsparams=params)
            gal = galsim.Sum([disk, bulge_obj]).shear(e1=e1, e2=e2).withFlux(flux)
        obj = galsim.Convolve([gal, psf], gsparams=params)
        half = int(min(max(6 * hlr + 8, 12), 128))
        xi, yi = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
        stamp = obj.drawImage(nx=2 * half + 1, ny=2 * half + 1, scale=1.0, offset=(x - xi, y - yi)).array
        y0, x0 = yi - half, xi - half
        sy0, sx0 = max(0, -y0), max(0, -x0)
        sy1, sx1 = min(2 * half + 1, ny - y0), min(2 * half + 1, nx - x0)
        if sy1 <= sy0 or sx1 <= sx0:
            continue
        canvas[y0 + sy0 : y0 + sy1, x0 + sx0 : x0 + sx1] += stamp[sy0:sy1, sx0:sx1]
