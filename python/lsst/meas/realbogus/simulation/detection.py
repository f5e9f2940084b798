"""Detection and measurement of difference-image sources, as alert production does it.

The difference image is cross-correlated with the PSF and divided by the
matching noise to give a significance (S/N) image, thresholded at both
polarities; nearby positive and negative detections merge into dipoles; PSF
fluxes are then fit at each centroid with the local PSF.
"""

from __future__ import annotations

__all__ = ("detect", "merge_dipoles", "psf_noise", "psf_photometry", "significance_image")

from collections.abc import Callable

import numpy as np
import sep
from scipy import ndimage
from scipy.spatial import cKDTree

from .psf import extract_stamps, gaussian_stamps


def psf_noise(variance: np.ndarray, psf_sigma: float) -> np.ndarray:
    """Noise of the PSF-correlated image, ``sqrt(P**2 * V)``, for a Gaussian PSF of ``psf_sigma`` pixels."""
    den = ndimage.gaussian_filter(variance, psf_sigma / np.sqrt(2.0), mode="constant", truncate=4.0)
    return np.sqrt(np.maximum(den, 0.0) / (4.0 * np.pi * psf_sigma**2))


def significance_image(image: np.ndarray, noise: np.ndarray, psf_sigma: float) -> np.ndarray:
    """Matched-filter S/N image for point sources with a Gaussian PSF of ``psf_sigma`` pixels.

    ``S/N = (P * D) / sqrt(P**2 * V)`` for the PSF ``P``, image ``D`` and
    variance ``V`` (``*`` denotes correlation); ``noise`` is the
    denominator, from `psf_noise`.
    """
    num = ndimage.gaussian_filter(image, psf_sigma, mode="constant", truncate=4.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(noise > 0, num / noise, 0.0)


def detect(
    snr: np.ndarray, threshold: float, exclude: np.ndarray | None = None, min_area: int = 3
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Find positive and negative peaks of a significance image.

    Parameters
    ----------
    snr : `numpy.ndarray`
        Significance image.
    threshold : `float`
        Detection threshold, in sigma.
    exclude : `numpy.ndarray` of `bool`, optional
        Pixels not to be detected on (no data).
    min_area : `int`
        Minimum footprint area, in pixels.

    Returns
    -------
    detections : `dict` [`str`, `numpy.ndarray`]
        ``x, y`` (barycentre on the S/N image), ``peak_snr`` (signed),
        ``npix``.
    positive, negative : `numpy.ndarray` of `bool`
        Footprints of positive and negative detections.
    """
    sep.set_extract_pixstack(10_000_000)
    sep.set_sub_object_limit(4096)
    data = np.ascontiguousarray(snr, dtype=np.float64)
    mask = None if exclude is None else np.ascontiguousarray(exclude, dtype=bool)
    out = {"x": [], "y": [], "peak_snr": [], "npix": []}
    footprints = []
    for sign in (1.0, -1.0):
        objs, seg = sep.extract(
            sign * data,
            threshold,
            mask=mask,
            minarea=min_area,
            filter_kernel=None,
            deblend_cont=0.005,
            clean=False,
            segmentation_map=True,
        )
        footprints.append(seg > 0)
        out["x"].append(objs["x"])
        out["y"].append(objs["y"])
        out["peak_snr"].append(sign * objs["peak"])
        out["npix"].append(objs["npix"])
    return {k: np.concatenate(v) for k, v in out.items()}, footprints[0], footprints[1]


def merge_dipoles(det: dict[str, np.ndarray], radius: float) -> dict[str, np.ndarray]:
    """Merge each positive detection with the closest negative one within ``radius`` pixels.

    The merged source sits at the S/N-weighted mean position of the pair,
    keeps the larger absolute peak S/N and gets ``is_dipole = True``.
    """
    n = len(det["x"])
    pos = np.flatnonzero(det["peak_snr"] > 0)
    neg = np.flatnonzero(det["peak_snr"] < 0)
    keep = np.ones(n, dtype=bool)
    dipole = np.zeros(n, dtype=bool)
    x, y, peak = det["x"].copy(), det["y"].copy(), det["peak_snr"].copy()
    if len(pos) and len(neg):
        tree = cKDTree(np.column_stack([x[neg], y[neg]]))
        dist, nearest = tree.query(np.column_stack([x[pos], y[pos]]), distance_upper_bound=radius)
        used = set()
        for p, d, k in sorted(zip(pos, dist, nearest), key=lambda t: t[1]):
            if not np.isfinite(d) or k in used:
                continue
            q = neg[k]
            used.add(k)
            w1, w2 = abs(peak[p]), abs(peak[q])
            x[p] = (w1 * x[p] + w2 * x[q]) / (w1 + w2)
            y[p] = (w1 * y[p] + w2 * y[q]) / (w1 + w2)
            peak[p] = peak[p] if w1 >= w2 else peak[q]
            dipole[p] = True
            keep[q] = False
    return {
        "x": x[keep],
        "y": y[keep],
        "peak_snr": peak[keep],
        "npix": det["npix"][keep],
        "is_dipole": dipole[keep],
    }


def psf_photometry(
    image: np.ndarray,
    variance: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    psf_components: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    half: int,
    bad: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit the flux of a point source at fixed positions (forced PSF photometry).

    Parameters
    ----------
    image, variance : `numpy.ndarray`
        Image and its variance.
    x, y : `numpy.ndarray`
        Positions, in pixels.
    psf_components : callable
        ``(x, y) -> (amplitudes, sigmas)``: the Gaussian-mixture PSF at each
        position.
    half : `int`
        Half-width of the fitting stamps.
    bad : `numpy.ndarray` of `bool`, optional
        Pixels to leave out of the fit.

    Returns
    -------
    flux, flux_err : `numpy.ndarray`
        Maximum-likelihood flux and its standard error (NaN where no pixel
        can be used).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) == 0:
        return np.zeros(0), np.zeros(0)
    amps, sigmas = psf_components(x, y)
    psf, xi, yi = gaussian_stamps(x, y, amps, sigmas, half)
    data, inside = extract_stamps(image, xi, yi, half)
    var, _ = extract_stamps(variance, xi, yi, half, fill=np.inf)
    weight = np.where(inside & (var > 0) & np.isfinite(var), 1.0 / np.where(var > 0, var, 1.0), 0.0)
    if bad is not None:
        bad_stamps, _ = extract_stamps(bad, xi, yi, half, fill=True)
        weight[bad_stamps] = 0.0
    weight[~np.isfinite(data)] = 0.0
    data = np.where(weight > 0, data, 0.0)
    denom = np.sum(psf * psf * weight, axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        flux = np.sum(psf * data * weight, axis=(1, 2)) / denom
        err = 1.0 / np.sqrt(denom)
    flux[denom <= 0] = np.nan
    err[denom <= 0] = np.nan
    return flux, err
