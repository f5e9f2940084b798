"""Sub-pixel resampling of an exposure, which leaves correlated noise.

Pipelines that warp one exposure onto another's pixel grid (ZTF's and many
DECam pipelines resample the science exposure onto the reference grid; LSST
warps the template) interpolate every output pixel from a few input pixels, so
the noise of neighbouring output pixels is correlated and the difference
image's noise is no longer white.  The interpolation kernels here are
separable: ``bilinear`` (2 taps per axis) and ``lanczos3`` (6 taps).
"""

from __future__ import annotations

__all__ = ("RESAMPLE_KERNELS", "interpolation_weights", "resample")

import numpy as np

RESAMPLE_KERNELS = ("none", "bilinear", "lanczos3")
"""Names of the interpolation kernels (``none``: no resampling)."""


def interpolation_weights(kernel: str, offset: float) -> tuple[np.ndarray, int]:
    """1-d weights that interpolate an image at ``offset`` pixels past each pixel.

    Parameters
    ----------
    kernel : `str`
        ``bilinear`` or ``lanczos3``.
    offset : `float`
        Sub-pixel offset, in ``[0, 1)``.

    Returns
    -------
    weights : `numpy.ndarray`
        Weights of the input pixels ``i + first, i + first + 1, ...``; they sum to one.
    first : `int`
        Offset of the first tap.
    """
    if kernel == "bilinear":
        return np.array([1.0 - offset, offset]), 0
    if kernel == "lanczos3":
        taps = np.arange(-2, 4)
        x = taps - offset
        w = np.sinc(x) * np.sinc(x / 3.0)
        return w / w.sum(), -2
    raise ValueError(f"Unknown interpolation kernel {kernel!r}; expected one of {RESAMPLE_KERNELS[1:]}.")


def _apply(image: np.ndarray, weights: np.ndarray, first: int, axis: int) -> np.ndarray:
    """``out[i] = sum_k weights[k] * image[i + first + k]`` along ``axis``, edges extended."""
    n = image.shape[axis]
    index = np.arange(n)
    out = np.zeros(image.shape, dtype=float)
    for k, w in enumerate(weights):
        out += w * np.take(image, np.clip(index + first + k, 0, n - 1), axis=axis)
    return out


def resample(
    image: np.ndarray, variance: np.ndarray, kernel: str, offset: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Interpolate an image and its variance at a sub-pixel offset.

    The image content moves by ``-offset``; callers draw it ``+offset`` away
    beforehand so the output is registered.  The variance is propagated as a
    warper does, ``sum(w**2 * V)`` per pixel (exact for independent input
    pixels; the covariance it creates between output pixels is not recorded).

    Parameters
    ----------
    image, variance : `numpy.ndarray`
        Image and its per-pixel variance.
    kernel : `str`
        ``none``, ``bilinear`` or ``lanczos3``.
    offset : `tuple` [`float`, `float`]
        Offset ``(dy, dx)`` in ``[0, 1)`` pixels.

    Returns
    -------
    image, variance : `numpy.ndarray`
        Resampled image and variance (the inputs themselves for ``none``).
    """
    if kernel == "none":
        return image, variance
    out, var = image, variance
    for axis, frac in ((0, offset[0]), (1, offset[1])):
        weights, first = interpolation_weights(kernel, frac)
        out = _apply(out, weights, first, axis)
        var = _apply(var, weights**2, first, axis)
    return out, var
