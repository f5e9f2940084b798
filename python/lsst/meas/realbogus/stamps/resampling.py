"""Resampling stamps to another pixel grid, so that a PSF looks as wide as the training ones.

A network trained on images whose PSF is between some widths in pixels has
never seen a wider or a narrower one; resampled by the ratio of the widths, a
stamp of such a PSF becomes one it has seen
(`lsst.meas.realbogus.stamps.batch.ModelInput.cut` with ``scale != 1``).
Shrinking (``scale > 1``: a wide PSF) averages the input pixels over each
output pixel's footprint (a box of ``scale`` input pixels a side), so it
conserves flux and makes no aliasing of the noise.  Enlarging (``scale < 1``:
an undersampled PSF) interpolates with a Lanczos-3 kernel (6 x 6 input
pixels), which keeps the noise nearly as it was; linear interpolation, tried
first, smooths the noise by an amount that beats with the sub-pixel phase
across the stamp, and cost the in-domain test (training.rst).  Missing (NaN)
input pixels are left out of either, and an output pixel less than half made
of valid ones is missing itself.  The width of a
PSF (`effective_psf_sigma`, `psf_fwhm`) is the one labelling uses too.
"""

from __future__ import annotations

__all__ = (
    "MAX_RESAMPLING",
    "bounded_psf_scale",
    "centre_psf_fwhm",
    "effective_psf_sigma",
    "psf_fwhm",
    "psf_scale",
    "resampled_size",
    "resample_stamps",
    "resampling_matrix",
)

import math
from typing import Any

import numpy as np

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))

_LANCZOS_LOBES = 3
"""Lobes of the Lanczos kernel that interpolates stamps up (``scale < 1``)."""

MAX_RESAMPLING = 4.0
"""Default bound on the resampling factor, either way (a PSF further out is resampled by this and flagged)."""


def effective_psf_sigma(psf: Any, x: float | None = None, y: float | None = None) -> float:
    """Gaussian sigma of a PSF, pixels.

    Parameters
    ----------
    psf : `lsst.images.psfs.PointSpreadFunction`
        The PSF (e.g. the ``psf`` component of a difference image).  A
        Gaussian PSF gives its ``sigma``; any other, the second-moment sigma
        of its kernel image at (``x``, ``y``).
    x, y : `float`, optional
        Where to evaluate a spatially varying PSF; default: the centre of its
        bounds' bounding box.

    Returns
    -------
    sigma : `float`
        ``sqrt((Ixx + Iyy) / 2)`` of the kernel image (exactly ``sigma`` for a
        circular Gaussian).
    """
    sigma = getattr(psf, "sigma", None)
    if sigma is not None:
        return float(sigma)
    if x is None or y is None:
        bbox = psf.bounds.bbox
        x = 0.5 * (bbox.x.min + bbox.x.max) if x is None else x
        y = 0.5 * (bbox.y.min + bbox.y.max) if y is None else y
    kernel = psf.compute_kernel_image(x=x, y=y)
    array = np.asarray(kernel.array, dtype=float)
    yy, xx = np.indices(array.shape, dtype=float)
    total = array.sum()
    cx, cy = (array * xx).sum() / total, (array * yy).sum() / total
    second = (array * ((xx - cx) ** 2 + (yy - cy) ** 2)).sum() / total
    return float(np.sqrt(second / 2.0))


def psf_fwhm(psf: Any, x: float | None = None, y: float | None = None) -> float:
    """FWHM of a PSF, pixels: that of the Gaussian of its `effective_psf_sigma`.

    Exact for a Gaussian PSF; for any other, from the second moments of its
    kernel image at (``x``, ``y``) (default: the centre of its bounds).
    """
    return _FWHM_PER_SIGMA * effective_psf_sigma(psf, x, y)


def centre_psf_fwhm(image: Any, psf: Any = None) -> float:
    """FWHM (pixels, `psf_fwhm`) of an image's PSF at the centre of its bounds (the image's).

    Parameters
    ----------
    image : `lsst.images.MaskedImage`
        The image (a `~lsst.images.VisitImage` or
        `~lsst.images.DifferenceImage` has a ``psf``).
    psf : `lsst.images.psfs.PointSpreadFunction`, optional
        Its PSF, if not ``image.psf``.

    Returns
    -------
    fwhm : `float`
        NaN if there is no PSF.
    """
    psf = getattr(image, "psf", None) if psf is None else psf
    return math.nan if psf is None else psf_fwhm(psf)


def psf_scale(
    psf_fwhm: float, max_psf_fwhm: float, min_psf_fwhm: float = 0.0, max_factor: float = math.inf
) -> float:
    """The factor a stamp's pixels must be widened by for its PSF to be within the limits.

    Parameters
    ----------
    psf_fwhm : `float`
        FWHM of the image's PSF, pixels (NaN: unknown).
    max_psf_fwhm : `float`
        The widest PSF FWHM wanted, pixels; 0 or less: no upper limit.
    min_psf_fwhm : `float`
        The narrowest wanted, pixels; 0 or less: no lower limit.
    max_factor : `float`
        The factor is kept within ``[1 / max_factor, max_factor]``.

    Returns
    -------
    scale : `float`
        ``psf_fwhm / max_psf_fwhm`` when the PSF is wider than the upper
        limit (above 1), ``psf_fwhm / min_psf_fwhm`` when it is narrower than
        the lower one (below 1), else 1 (also for an unknown width).

    Raises
    ------
    ValueError
        If both limits are set and the lower one is above the upper one, or
        ``max_factor`` is below 1.
    """
    if max_factor < 1.0:
        raise ValueError(f"max_factor must be at least 1, got {max_factor}")
    if 0 < max_psf_fwhm < min_psf_fwhm:
        raise ValueError(f"min_psf_fwhm {min_psf_fwhm} is above max_psf_fwhm {max_psf_fwhm}")
    if not math.isfinite(psf_fwhm) or psf_fwhm <= 0:
        return 1.0
    if max_psf_fwhm > 0 and psf_fwhm > max_psf_fwhm:
        return min(psf_fwhm / max_psf_fwhm, max_factor)
    if min_psf_fwhm > 0 and psf_fwhm < min_psf_fwhm:
        return max(psf_fwhm / min_psf_fwhm, 1.0 / max_factor)
    return 1.0


def bounded_psf_scale(
    psf_fwhm: float, max_psf_fwhm: float, min_psf_fwhm: float, max_factor: float
) -> tuple[float, bool]:
    """`psf_scale` kept within ``[1 / max_factor, max_factor]``, and whether that bound applied."""
    wanted = psf_scale(psf_fwhm, max_psf_fwhm, min_psf_fwhm)
    scale = psf_scale(psf_fwhm, max_psf_fwhm, min_psf_fwhm, max_factor)
    return scale, scale != wanted


def resampled_size(size: int, scale: float) -> int:
    """Width of the stamps to cut so that `resample_stamps` can make ``size``-pixel ones at ``scale``.

    It has the parity of ``size``, so both are centred on the same pixel;
    below a scale of 1 it is ``size`` (the output needs fewer input pixels).
    """
    if scale <= 1.0:
        return size
    # The outermost output pixel's footprint reaches (size / 2) * scale input pixels from the centre.
    need = math.ceil(size * scale - 1e-9)
    return need + ((need - size) % 2)


def resampling_matrix(size: int, scale: float, input_size: int) -> np.ndarray:
    """Weights that resample ``input_size`` pixels into ``size`` pixels ``scale`` times wider, centred.

    At ``scale >= 1`` row ``i`` holds the fraction of output pixel ``i``'s
    footprint that each input pixel covers; below 1, the Lanczos-3
    interpolation weights of the six input pixels nearest its centre
    (normalized, also where the kernel runs off the input).  Each row sums
    to 1 where the output pixel is inside the input.

    Returns
    -------
    weights : `numpy.ndarray`
        ``(size, input_size)`` float32.
    """
    centre_out = (size - 1) / 2.0
    centre_in = (input_size - 1) / 2.0
    if scale < 1.0:
        # Lanczos-3 weights of the input pixels around each output pixel's centre, normalized.
        centres = (np.arange(size) - centre_out) * scale + centre_in
        offsets = centres[:, None] - np.arange(input_size)[None, :]
        lobes = _LANCZOS_LOBES
        weights = np.where(np.abs(offsets) < lobes, np.sinc(offsets) * np.sinc(offsets / lobes), 0.0)
        return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)
    # Footprint edges of the output pixels and pixel edges of the input, in input pixels.
    lo = (np.arange(size) - centre_out - 0.5) * scale + centre_in
    hi = lo + scale
    edges = np.arange(input_size) - 0.5
    overlap = np.minimum(hi[:, None], edges[None, :] + 1.0) - np.maximum(lo[:, None], edges[None, :])
    return (np.clip(overlap, 0.0, None) / scale).astype(np.float32)


def resample_stamps(stamps: np.ndarray, size: int, scale: float) -> np.ndarray:
    """Resample stamps onto a grid ``scale`` times coarser (finer below 1), ``size`` pixels wide, same centre.

    Parameters
    ----------
    stamps : `numpy.ndarray`
        ``(N, C, S, S)`` pixel values, NaN where missing, with ``S`` at least
        `resampled_size` ``(size, scale)``.
    size : `int`
        Width of the output stamps.
    scale : `float`
        Output pixel width in input pixels: above 1 the stamps are averaged
        down, below 1 interpolated up (`resampling_matrix`).

    Returns
    -------
    resampled : `numpy.ndarray`
        ``(N, C, size, size)`` float32; NaN where less than half an output
        pixel's weight falls on valid input pixels.

    Raises
    ------
    ValueError
        If the stamps are too small, or ``scale`` is not positive.
    """
    stamps = np.asarray(stamps, dtype=np.float32)
    if not scale > 0.0:
        raise ValueError(f"resampling scale must be positive, got {scale}")
    have = stamps.shape[-1]
    if stamps.ndim != 4 or stamps.shape[-2] != have or have < resampled_size(size, scale):
        raise ValueError(
            f"stamps must be (N, C, S, S) with S >= {resampled_size(size, scale)} to resample to {size} "
            f"pixels at scale {scale:.3f}, got {stamps.shape}"
        )
    weights = resampling_matrix(size, scale, have)

    def average(values: np.ndarray) -> np.ndarray:
        # Columns, then rows: two matrix products (BLAS), not one four-index sum (weights are separable).
        return weights @ (values @ weights.T)

    valid = np.isfinite(stamps)
    if valid.all():
        return average(stamps)
    # Missing pixels count as 0 in the weighted sum; only the stamps that have some need the weights
    # of the valid ones (a stamp's result does not depend on the others in the batch).
    total = average(np.where(valid, stamps, np.float32(0.0)))
    partial = ~valid.all(axis=(-2, -1))
    cover = average(valid[partial].astype(np.float32))
    with np.errstate(invalid="ignore", divide="ignore"):
        total[partial] = np.where(cover >= 0.5, total[partial] / cover, np.float32(np.nan))
    return total
