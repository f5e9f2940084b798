"""Fitting stamps cut elsewhere (alert packets, FITS or numpy files) to a model's input size.

Stamps from outside a butler come in any size, may hold NaN, infinities or
sentinel values for missing pixels (ZTF writes -3.4e38), and sometimes lack a
channel.  `fit_stamps` puts each one on the model's ``size`` x ``size`` grid
without resampling: smaller stamps are padded around their centre (and
flagged), larger ones centre-cropped (and flagged), and every pixel that is
padding, non-finite or beyond ``missing_above`` in absolute value is marked
missing, so that the normalization can be computed on the real pixels
(`~lsst.meas.realbogus.stamps.normalization.normalize` with ``valid``).  A
stamp that cannot be used (a missing channel, channels of different shapes, no
valid pixel in a channel) is kept, with the reason, and is not scored.

A ``size``-pixel window is taken from an ``s``-pixel axis starting at
``(s - size + 1) // 2`` (the crop of
`~lsst.meas.realbogus.stamps.batch.ModelInput.prepare`), and a smaller axis is
placed at ``(size - s) // 2``, so the stamp's central pixel lands on the model's.

With per-stamp ``scales`` (a PSF wider or narrower than the model's training
ones: `~lsst.meas.realbogus.stamps.resampling.psf_scale`) a stamp is first
fitted to the window that resampling by its scale needs and then resampled
onto the model's grid, as `~lsst.meas.realbogus.stamps.batch.ModelInput.cut`
does for images.
"""

from __future__ import annotations

__all__ = ("FittedStamps", "fit_stamps")

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .cutouts import MISSING_ABOVE
from .resampling import resample_stamps, resampled_size


@dataclass
class FittedStamps:
    """Stamps on a model's grid, with what fitting did to them.

    Attributes
    ----------
    data : `numpy.ndarray`
        ``(N, C, size, size)`` float32; missing pixels hold 0.
    valid : `numpy.ndarray`
        ``(N, C, size, size)`` bool: the pixel is on the stamp, finite and
        not a sentinel.
    padded, cropped : `numpy.ndarray`
        ``(N,)`` bool: the stamp was smaller (larger) than ``size`` along
        some axis.
    missing_fraction : `numpy.ndarray`
        ``(N,)`` float32: fraction of the ``size`` x ``size`` pixels missing
        in any channel (padding included).
    sentinel_count : `numpy.ndarray`
        ``(N,)`` int: pixels of the stamp (all channels) that were
        non-finite or sentinels.
    problem : `numpy.ndarray`
        ``(N,)`` str: why the stamp cannot be scored; empty when it can.
    """

    data: np.ndarray
    valid: np.ndarray
    padded: np.ndarray
    cropped: np.ndarray
    missing_fraction: np.ndarray
    sentinel_count: np.ndarray
    problem: np.ndarray

    @property
    def usable(self) -> np.ndarray:
        """``(N,)`` bool: stamps that can be scored."""
        return self.problem == ""


def _window(have: int, size: int) -> tuple[slice, slice]:
    """Source and destination slices of one axis of ``have`` pixels on a ``size``-pixel grid."""
    if have >= size:
        lo = (have - size + 1) // 2
        return slice(lo, lo + size), slice(0, size)
    lo = (size - have) // 2
    return slice(0, have), slice(lo, lo + have)


def fit_stamps(
    stamps: Sequence[Sequence[np.ndarray | None]],
    channels: Sequence[str],
    size: int,
    *,
    missing_above: float = MISSING_ABOVE,
    scales: Sequence[float] | np.ndarray | None = None,
) -> FittedStamps:
    """Put stamps on a ``size`` x ``size`` grid, marking what is missing.

    Parameters
    ----------
    stamps : sequence of sequences of `numpy.ndarray` or `None`
        Per stamp, one 2-d array per channel of ``channels`` (`None` for a
        channel the source did not have); or an ``(N, C, H, W)`` array.
    channels : sequence of `str`
        Channel names, in the order of each stamp's arrays (used in the
        problem messages).
    size : `int`
        Width and height of the grid.
    missing_above : `float`
        Pixels whose absolute value is at least this are missing.
    scales : sequence of `float`, optional
        Per stamp, the width of the grid's pixels in the stamp's pixels
        (`~lsst.meas.realbogus.stamps.resampling.resample_stamps`); default:
        1 for all (no resampling).  ``padded`` and ``cropped`` then compare
        the stamp with the window the resampling needs.

    Returns
    -------
    fitted : `FittedStamps`

    Raises
    ------
    ValueError
        If ``scales`` is not of one positive value per stamp.
    """
    n, n_chan = len(stamps), len(channels)
    scales = np.ones(n) if scales is None else np.asarray(scales, dtype=float)
    if scales.shape != (n,) or not (scales > 0).all():
        raise ValueError(f"scales must be {n} positive values, one per stamp, got {scales!r}")
    data = np.zeros((n, n_chan, size, size), dtype=np.float32)
    valid = np.zeros((n, n_chan, size, size), dtype=bool)
    padded = np.zeros(n, dtype=bool)
    cropped = np.zeros(n, dtype=bool)
    sentinels = np.zeros(n, dtype=np.int64)
    problem = np.full(n, "", dtype=object)
    for i, stamp in enumerate(stamps):
        if len(stamp) != n_chan:
            problem[i] = f"{len(stamp)} channels, expected {n_chan} ({', '.join(channels)})"
            continue
        absent = [c for c, array in zip(channels, stamp) if array is None]
        if absent:
            problem[i] = f"no {' or '.join(absent)} stamp"
            continue
        arrays = [np.asarray(a) for a in stamp]
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1 or arrays[0].ndim != 2 or 0 in arrays[0].shape:
            described = ", ".join(f"{c} {a.shape}" for c, a in zip(channels, arrays))
            problem[i] = f"channels must be 2-d stamps of one shape, got {described}"
            continue
        width = resampled_size(size, scales[i])
        height, have = arrays[0].shape
        (sy, dy), (sx, dx) = _window(height, width), _window(have, width)
        padded[i] = height < width or have < width
        cropped[i] = height > width or have > width
        pixels = np.full((1, n_chan, width, width), np.nan, dtype=np.float32)
        for c, array in enumerate(arrays):
            window = np.asarray(array[sy, sx], dtype=np.float32)
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(window) & (np.abs(window) < missing_above)
            sentinels[i] += int(ok.size - np.count_nonzero(ok))
            pixels[0, c, dy, dx] = np.where(ok, window, np.float32(np.nan))
        if scales[i] != 1.0:
            pixels = resample_stamps(pixels, size, scales[i])
        ok = np.isfinite(pixels[0])
        data[i] = np.where(ok, pixels[0], np.float32(0.0))
        valid[i] = ok
        empty = [c for c, good in zip(channels, valid[i]) if not good.any()]
        if empty:
            problem[i] = f"no valid pixel in {' and '.join(empty)}"
    missing = (~valid).any(axis=1).reshape(n, -1).mean(axis=1) if n else np.zeros(0)
    return FittedStamps(
        data=data,
        valid=valid,
        padded=padded,
        cropped=cropped,
        missing_fraction=missing.astype(np.float32),
        sentinel_count=sentinels,
        problem=problem.astype(str) if n else np.zeros(0, dtype=str),
    )
