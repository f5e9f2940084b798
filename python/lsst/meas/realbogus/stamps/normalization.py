"""Normalization of cutouts before they enter a model.

Each function takes cutouts of shape ``(N, C, H, W)`` (float32) and returns a
normalized array of the same shape; each cutout channel is normalized on its
own.  Non-finite pixels must have been replaced before (see
`lsst.meas.realbogus.stamps.cutouts`).  Which normalization a model needs is recorded
in the model's metadata; `normalize` dispatches on that name.
"""

from __future__ import annotations

__all__ = ("NORMALIZATIONS", "l2", "mong_eq9", "none", "normalize", "robust")

from collections.abc import Callable

import numpy as np

_EPS = np.float32(1e-12)


def none(cutouts: np.ndarray) -> np.ndarray:
    """No normalization (pixel values as they are, e.g. nJy)."""
    return np.asarray(cutouts, dtype=np.float32)


def _median(flat: np.ndarray) -> np.ndarray:
    """``numpy.median(flat, axis=-1, keepdims=True)``, about 5x faster.

    One partition around the middle element(s) instead of numpy's, which
    also partitions to find NaNs; a row holding a NaN still gives NaN.
    """
    m = flat.shape[-1]
    half = m // 2
    part = np.partition(flat, half if m % 2 else (half - 1, half), axis=-1)
    if m % 2:
        med = part[..., half : half + 1]
    else:
        med = (part[..., half - 1 : half] + part[..., half : half + 1]) / np.asarray(2, dtype=flat.dtype)
    nan = np.isnan(part[..., half:]).any(axis=-1, keepdims=True)  # NaNs sort above the middle
    return np.where(nan, np.asarray(np.nan, dtype=flat.dtype), med)


def robust(cutouts: np.ndarray) -> np.ndarray:
    """Subtract the median and divide by the scaled median absolute deviation of each channel.

    ``(p - median) / (1.4826 * MAD)``: unit noise for Gaussian backgrounds,
    insensitive to the source itself.  A flat channel (MAD of zero) becomes
    zero.
    """
    x = np.asarray(cutouts, dtype=np.float32)
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    out = flat - _median(flat)
    mad = _median(np.abs(out)) * np.float32(1.4826)
    valid = mad > _EPS  # False for a flat channel, and for one with a NaN
    np.divide(out, np.where(valid, mad, np.float32(1.0)), out=out)
    np.copyto(out, np.float32(0.0), where=~valid)
    return out.reshape(x.shape)


def l2(cutouts: np.ndarray) -> np.ndarray:
    """Divide each channel by its L2 norm (an all-zero channel stays zero)."""
    x = np.asarray(cutouts, dtype=np.float32)
    norm = np.sqrt(np.sum(x.astype(np.float64) ** 2, axis=(-2, -1), keepdims=True)).astype(np.float32)
    return np.where(norm > _EPS, x / np.maximum(norm, _EPS), np.float32(0.0)).astype(np.float32, copy=False)


def mong_eq9(cutouts: np.ndarray) -> np.ndarray:
    """The normalization of Mong et al. (GOTO DESOM paper, eq. 9).

    The median ``m`` of each channel maps to 0.5 and its peak to 1, linearly
    above the median; below it, the 5th percentile ``p05`` of the pixels under
    the median maps to 0, linearly, and anything lower is clipped at 0::

        f(p) = (1 + (p - m) / (peak - m)) / 2              for p > m
        f(p) = (1 + max(-(m - p) / (m - p05), -1)) / 2     for p <= m

    One sort of each channel gives the median, the peak and the percentile
    (numpy's linear interpolation, as `numpy.percentile` computes it).
    """
    x = np.asarray(cutouts, dtype=np.float32)
    n, c = x.shape[:2]
    flat = x.reshape(n, c, -1)
    m = flat.shape[-1]
    s = np.sort(flat, axis=-1)
    half = m // 2
    if m % 2:
        med = s[..., half : half + 1]
    else:
        med = (s[..., half - 1 : half] + s[..., half : half + 1]) / np.float32(2)
    peak = s[..., -1:]
    # The 5th percentile of the pixels below the median: the first k of the sorted pixels.
    k = np.sum(s < med, axis=-1, keepdims=True)
    position = 0.05 * np.maximum(k - 1, 0)
    lo = np.floor(position).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(k - 1, 0))
    a = np.take_along_axis(s, lo, -1).astype(np.float64)
    b = np.take_along_axis(s, hi, -1).astype(np.float64)
    p05 = np.where(k > 0, (a + (position - lo) * (b - a)).astype(np.float32), med)
    up = (flat - med) / np.maximum(peak - med, _EPS)
    down = np.maximum(-(med - flat) / np.maximum(med - p05, _EPS), -1.0)
    out = np.where(flat > med, 1.0 + up, 1.0 + down) / 2.0
    return out.reshape(x.shape).astype(np.float32, copy=False)


NORMALIZATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": none,
    "robust": robust,
    "l2": l2,
    "mong_eq9": mong_eq9,
}
"""Normalizations by the name a model's metadata uses."""


def normalize(cutouts: np.ndarray, name: str) -> np.ndarray:
    """Apply the normalization called ``name`` (a key of `NORMALIZATIONS`)."""
    try:
        function = NORMALIZATIONS[name]
    except KeyError:
        raise ValueError(f"Unknown normalization {name!r}; known: {sorted(NORMALIZATIONS)}.") from None
    if len(cutouts) == 0:
        return np.asarray(cutouts, dtype=np.float32)
    return function(cutouts)
