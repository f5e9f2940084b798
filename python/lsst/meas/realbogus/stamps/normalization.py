"""Normalization of cutouts before they enter a model.

Each function takes cutouts of shape ``(N, C, H, W)`` (float32) and returns a
normalized array of the same shape; each cutout channel is normalized on its
own.  Non-finite pixels must have been replaced before (see
`lsst.meas.realbogus.stamps.cutouts`).  Which normalization a model needs is recorded
in the model's metadata; `normalize` dispatches on that name.

`normalize` can also be told which pixels are valid (on the stamp, finite, not
masked): the statistics of each channel (median, MAD, peak, percentile, norm)
then come from its valid pixels only, and each missing pixel takes the value
that the channel's median maps to (0 for ``robust`` and ``robust_asinh``, 0.5 for ``mong_eq9``, the
median itself for ``none``; 0 for ``l2``).  So a stamp that is mostly padding or
mask keeps the contrast of the pixels it has.
"""

from __future__ import annotations

__all__ = ("NORMALIZATIONS", "l2", "mong_eq9", "none", "normalize", "robust", "robust_asinh")

import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_EPS = np.float32(1e-12)


def none(cutouts: np.ndarray) -> np.ndarray:
    """No normalization (pixel values as they are, e.g. nJy)."""
    return np.asarray(cutouts, dtype=np.float32)


def _middle(flat: np.ndarray, in_place: bool) -> tuple[np.ndarray, np.ndarray]:
    """The median over the last axis (keepdims) and the partitioned array it came from."""
    m = flat.shape[-1]
    half = m // 2
    kth = half if m % 2 else (half - 1, half)
    if in_place:
        flat.partition(kth, axis=-1)
        part = flat
    else:
        part = np.partition(flat, kth, axis=-1)
    if m % 2:
        return part[..., half : half + 1].copy(), part
    return (part[..., half - 1 : half] + part[..., half : half + 1]) / np.asarray(2, dtype=flat.dtype), part


def _robust_into(x: np.ndarray, out: np.ndarray) -> None:
    """`robust` of ``x`` ``(n, C, H, W)`` written into ``out``, with two partitions and no other copy."""
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    result = out.reshape(flat.shape)
    med, part = _middle(flat, in_place=False)
    has_nan = np.isnan(part[..., flat.shape[-1] // 2 :]).any(axis=-1, keepdims=True)  # NaNs sort above
    np.subtract(flat, med, out=result)
    np.abs(result, out=part)  # the partition's copy is reused for the deviations
    mad, _ = _middle(part, in_place=True)
    mad *= np.float32(1.4826)
    valid = (mad > _EPS) & ~has_nan  # False for a flat channel, and for one with a NaN
    np.divide(result, np.where(valid, mad, np.float32(1.0)), out=result)
    if not valid.all():
        np.copyto(result, np.float32(0.0), where=~valid)


_CHUNK = 128
"""Stamps normalized at a time: a chunk's copies stay in cache (1.4x faster than whole batches)."""


def robust(cutouts: np.ndarray, threads: int = 1) -> np.ndarray:
    """Subtract the median and divide by the scaled median absolute deviation of each channel.

    ``(p - median) / (1.4826 * MAD)``: unit noise for Gaussian backgrounds,
    insensitive to the source itself.  A flat channel (MAD of zero), or one
    holding a NaN, becomes zero.

    The batch is processed in chunks of 128 stamps, on ``threads`` threads
    (numpy's partition releases the GIL): on the 2-core reference machine,
    1000 3x51x51 stamps take 0.015 s on two threads against 0.063 s for a
    whole-batch version on one (``bench/bench_backends.py``).
    """
    return _robust_chunks(cutouts, threads, asinh=False)


def _robust_chunks(cutouts: np.ndarray, threads: int, asinh: bool) -> np.ndarray:
    """`robust` (then ``arcsinh`` with ``asinh``) chunk by chunk, on ``threads`` threads."""
    x = np.ascontiguousarray(cutouts, dtype=np.float32)
    out = np.empty_like(x)
    bounds = list(range(0, len(x), _CHUNK)) + [len(x)]
    spans = list(zip(bounds[:-1], bounds[1:]))

    def work(span: tuple[int, int]) -> None:
        chunk = out[span[0] : span[1]]
        _robust_into(x[span[0] : span[1]], chunk)
        if asinh:
            np.arcsinh(chunk, out=chunk)

    if threads > 1 and len(spans) > 1:
        with ThreadPoolExecutor(min(threads, len(spans))) as pool:
            list(pool.map(work, spans))
    else:
        for span in spans:
            work(span)
    return out


def robust_asinh(cutouts: np.ndarray, threads: int = 1) -> np.ndarray:
    """`robust`, then ``arcsinh``: linear within the noise, logarithmic for bright pixels.

    A robust-normalized saturated star or bleed trail reaches 1e4-1e5 in noise
    units, which a network with ReLUs sees as nothing else; ``arcsinh`` keeps
    the noise (about linear up to 1 sigma) and brings 1e5 down to 12.
    """
    return _robust_chunks(cutouts, threads, asinh=True)


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
    "robust_asinh": robust_asinh,
    "l2": l2,
    "mong_eq9": mong_eq9,
}
"""Normalizations by the name a model's metadata uses."""


def _nan_median(flat: np.ndarray) -> np.ndarray:
    """Median over the last axis ignoring NaN (NaN where all are NaN, without numpy's warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(flat, axis=-1, keepdims=True).astype(flat.dtype, copy=False)


def _normalize_valid(x: np.ndarray, valid: np.ndarray, name: str) -> np.ndarray:
    """Normalize stamps ``(N, C, H, W)`` from their valid pixels only (see the module docstring).

    A channel with no valid pixel becomes all zeros.
    """
    n, c = x.shape[:2]
    flat = x.reshape(n, c, -1)
    ok = valid.reshape(n, c, -1)
    have = ok.any(axis=-1, keepdims=True)
    masked = np.where(ok, flat, np.float32(np.nan))
    med = _nan_median(masked)
    if name in ("robust", "robust_asinh"):
        mad = _nan_median(np.abs(masked - med)) * np.float32(1.4826)
        scale_ok = have & (mad > _EPS)
        out = (flat - med) / np.where(scale_ok, mad, np.float32(1.0))
        out = np.where(ok & scale_ok, out, np.float32(0.0))
        if name == "robust_asinh":
            out = np.arcsinh(out)
    elif name == "none":
        out = np.where(ok, flat, np.where(have, med, np.float32(0.0)))
    elif name == "l2":
        norm = np.sqrt(np.sum(np.where(ok, flat, 0.0).astype(np.float64) ** 2, axis=-1, keepdims=True))
        norm = norm.astype(np.float32)
        out = np.where(ok & (norm > _EPS), flat / np.maximum(norm, _EPS), np.float32(0.0))
    elif name == "mong_eq9":
        out = np.full_like(flat, 0.5)
        for i, j in zip(*np.nonzero(have[..., 0])):
            pixels = flat[i, j][ok[i, j]]
            out[i, j][ok[i, j]] = mong_eq9(pixels.reshape(1, 1, 1, -1)).ravel()
        out[~have[..., 0]] = 0.0
    else:  # a normalization added to NORMALIZATIONS without a valid-pixel form
        raise ValueError(f"normalization {name!r} cannot be computed from valid pixels only")
    return out.reshape(x.shape).astype(np.float32, copy=False)


def normalize(
    cutouts: np.ndarray, name: str, valid: np.ndarray | None = None, threads: int = 1
) -> np.ndarray:
    """Apply the normalization called ``name`` (a key of `NORMALIZATIONS`).

    Parameters
    ----------
    cutouts : `numpy.ndarray`
        ``(N, C, H, W)`` pixel values.
    name : `str`
        The normalization.
    valid : `numpy.ndarray`, optional
        Boolean, of the shape of ``cutouts`` (or ``(N, 1, H, W)``, the same
        for every channel): the pixels to compute the statistics from; the
        others take the value of the channel's median (see the module
        docstring).  `None`: every pixel is valid (and must be finite).
    threads : `int`
        CPU threads the normalization may use (``robust`` and ``robust_asinh`` use them).
    """
    try:
        function = NORMALIZATIONS[name]
    except KeyError:
        raise ValueError(f"Unknown normalization {name!r}; known: {sorted(NORMALIZATIONS)}.") from None
    if len(cutouts) == 0:
        return np.asarray(cutouts, dtype=np.float32)
    if valid is None:
        return function(cutouts, threads) if function in (robust, robust_asinh) else function(cutouts)
    x = np.asarray(cutouts, dtype=np.float32)
    valid = np.broadcast_to(np.asarray(valid, dtype=bool), x.shape)
    partial = ~valid.reshape(len(x), -1).all(axis=1)
    if not partial.any():
        return function(x)
    if partial.all():
        return _normalize_valid(x, valid, name)
    out = function(np.where(valid, x, np.float32(0.0)))  # rows without missing pixels, as usual
    out[partial] = _normalize_valid(x[partial], valid[partial], name)
    return out
