"""Cutting postage stamps around detections, in one pass over in-memory images.

Cutouts are centred on the pixel nearest each centroid: for a cutout of size
``s`` the first pixel is ``floor(x - (s - 1) / 2 + 0.5)``, so for odd sizes the
centroid's pixel is the central one, and for even sizes the centroid lies
within half a pixel of the cutout's centre.  Pixels outside the image take a
fill value; missing pixels (NaN, infinite, a sentinel of magnitude at least
`MISSING_ABOVE` such as ZTF's -3.4e38, or with a flagged mask bit) are
replaced by the same fill value and counted.  A pixel missing in one channel
is missing in all of them.  With a NaN fill (the tasks' default) the
normalization leaves missing pixels out of its statistics
(`lsst.meas.realbogus.stamps.batch.ModelInput.prepare`).
"""

from __future__ import annotations

__all__ = (
    "MISSING_ABOVE",
    "Cutouts",
    "bad_pixels",
    "cut_images",
    "cutout_origins",
    "extract_cutouts",
    "missing_pixels",
)

import ctypes
import importlib.util
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def _load_c_copy() -> Any:
    """The C copy loop (``_cutcopy.c``) if it was built and is not disabled, else `None`.

    ``make env`` builds it in place (``python setup.py build_ext --inplace``),
    as does ``pip install``; set ``MEAS_REALBOGUS_NO_C=1`` to use the Python
    loop instead.
    """
    if os.environ.get("MEAS_REALBOGUS_NO_C"):
        return None
    spec = importlib.util.find_spec("lsst.meas.realbogus.stamps._cutcopy")
    if spec is None or spec.origin is None:
        return None
    function = ctypes.CDLL(spec.origin).copy_cutouts
    long_p = ctypes.POINTER(ctypes.c_long)
    function.argtypes = [
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.c_long,
        ctypes.c_long,
        long_p,
        long_p,
        long_p,
        ctypes.c_long,
        ctypes.c_long,
        ctypes.c_void_p,
    ]
    function.restype = None
    return function


_C_COPY = _load_c_copy()
_LOG = logging.getLogger(__name__)
_logged_copy_loop = False

MISSING_ABOVE = 1e30
"""Pixels of at least this magnitude are missing: sentinels (ZTF writes -3.4e38), not measurements."""

_MAX_COORDINATE = 2.0**40
"""Centroids are clipped to +-this before the cast to int64, so that no
centroid (however large) can overflow ``x0 + size`` in the copy loop; such a
cutout is off the image either way."""


@dataclass
class Cutouts:
    """Cutouts of N detections in C images.

    Attributes
    ----------
    data : `numpy.ndarray`
        ``(N, C, size, size)`` float32 pixel values; pixels off the image,
        NaN or masked hold the fill value.
    off_image : `numpy.ndarray`
        ``(N,)`` bool: the cutout is not entirely inside the image (or the
        centroid is not finite).
    bad_fraction : `numpy.ndarray`
        ``(N,)`` float32: fraction of the cutout's pixels that are off the
        image or missing (NaN, infinite, sentinel or masked), in any channel
        (1 for a non-finite centroid).
    """

    data: np.ndarray
    off_image: np.ndarray
    bad_fraction: np.ndarray


def cutout_origins(x: np.ndarray, y: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First column and row of each cutout, and whether the centroid is finite.

    Parameters
    ----------
    x, y : `numpy.ndarray`
        Centroids in array coordinates (the centre of the first pixel is 0).
        Values beyond +-2**40 are clipped (their cutouts are off any image).
    size : `int`
        Cutout width and height.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    finite = np.isfinite(x) & np.isfinite(y)
    half = (size - 1) / 2.0
    x = np.clip(np.where(finite, x, 0.0), -_MAX_COORDINATE, _MAX_COORDINATE)
    y = np.clip(np.where(finite, y, 0.0), -_MAX_COORDINATE, _MAX_COORDINATE)
    x0 = np.floor(x - half + 0.5).astype(np.int64)
    y0 = np.floor(y - half + 0.5).astype(np.int64)
    return x0, y0, finite


def extract_cutouts(
    images: Sequence[np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    size: int,
    *,
    fill: float = 0.0,
    bad: Sequence[np.ndarray | None] | None = None,
    out: np.ndarray | None = None,
) -> Cutouts:
    """Cut ``size`` x ``size`` stamps of every image around every centroid.

    Each image is read once, in memory; a cutout is a slice copy, so the cost
    is that of copying the cutouts' bytes.

    Parameters
    ----------
    images : sequence of `numpy.ndarray`
        Two-dimensional images of one shape (the channels, in output order).
    x, y : `numpy.ndarray`
        Centroids in array coordinates.
    size : `int`
        Cutout width and height (odd or even).
    fill : `float`
        Value for pixels off the image or missing (NaN, infinite, of
        magnitude at least `MISSING_ABOVE`, or masked).
    bad : sequence of `numpy.ndarray` or `None`, optional
        Per image, a boolean array of pixels to treat as missing (e.g. from
        its mask), or `None`.
    out : `numpy.ndarray`, optional
        A float32 C-contiguous buffer of shape ``(M, C, size, size)`` with
        ``M >= N`` to write the cutouts into (``Cutouts.data`` is then its
        first N entries).  Reusing one buffer across calls spares the cost of
        allocating fresh memory, which is most of the cost of a copy.

    Returns
    -------
    cutouts : `Cutouts`

    Raises
    ------
    ValueError
        If the images (or bad-pixel arrays) do not all have the same 2-d
        shape, or ``x`` and ``y`` differ in length.
    """
    if not images:
        raise ValueError("no images to cut")
    shape = images[0].shape
    for i, image in enumerate(images):
        if image.ndim != 2 or image.shape != shape:
            raise ValueError(
                f"image {i} has shape {image.shape}; all images must be 2-d and of shape {shape}"
            )
    if bad is not None:
        if len(bad) != len(images):
            raise ValueError(f"{len(bad)} bad-pixel arrays for {len(images)} images")
        for i, b in enumerate(bad):
            if b is not None and b.shape != shape:
                raise ValueError(f"bad-pixel array {i} has shape {b.shape}; expected {shape}")
    x = np.asarray(x)
    y = np.asarray(y)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-d and of equal length, got shapes {x.shape} and {y.shape}")
    if size < 1:
        raise ValueError(f"cutout size must be positive, got {size}")
    n, n_chan = len(x), len(images)
    height, width = shape
    x0, y0, finite = cutout_origins(x, y, size)
    inside = finite & (x0 >= 0) & (y0 >= 0) & (x0 + size <= width) & (y0 + size <= height)
    if out is None:
        data = np.empty((n, n_chan, size, size), dtype=np.float32)
    else:
        if out.dtype != np.float32 or not out.flags.c_contiguous or out.shape[1:] != (n_chan, size, size):
            raise ValueError(
                f"out must be a C-contiguous float32 array of shape (M, {n_chan}, {size}, {size})"
            )
        if len(out) < n:
            raise ValueError(f"out holds {len(out)} cutouts; {n} are needed")
        data = out[:n]
    bad_count = np.zeros(n, dtype=np.int64)

    # Pixels to replace: flagged ones, and non-finite or sentinel values.
    missing_maps = [b for b in (bad or []) if b is not None]
    missing_maps += [m for m in map(missing_pixels, images) if m is not None]
    union = None
    if missing_maps:
        union = missing_maps[0].copy() if len(missing_maps) > 1 else missing_maps[0]
        for m in missing_maps[1:]:
            union |= m

    # Interior cutouts: plain copies of blocks of rows.
    interior = np.flatnonzero(inside)
    _copy_interior(data, images, interior, x0, y0, size)
    xs, ys = x0.tolist(), y0.tolist()
    if union is not None:
        for i in interior.tolist():
            hole = union[ys[i] : ys[i] + size, xs[i] : xs[i] + size]
            count = int(np.count_nonzero(hole))
            if count:
                data[i][:, hole] = fill
                bad_count[i] = count

    # Cutouts crossing the edge: copy the overlap; the rest is missing.
    for i in np.flatnonzero(~inside).tolist():
        data[i] = fill
        hole = np.ones((size, size), dtype=bool)
        if finite[i]:
            ys0, ys1 = max(ys[i], 0), min(ys[i] + size, height)
            xs0, xs1 = max(xs[i], 0), min(xs[i] + size, width)
            if ys1 > ys0 and xs1 > xs0:
                dy, dx = ys0 - ys[i], xs0 - xs[i]
                region = (slice(dy, dy + ys1 - ys0), slice(dx, dx + xs1 - xs0))
                hole[region] = False if union is None else union[ys0:ys1, xs0:xs1]
                for c, image in enumerate(images):
                    data[i, c][region] = image[ys0:ys1, xs0:xs1]
                data[i][:, hole] = fill
        bad_count[i] = int(np.count_nonzero(hole))

    bad_fraction = (bad_count / float(size * size)).astype(np.float32)
    return Cutouts(data=data, off_image=~inside, bad_fraction=bad_fraction)


def missing_pixels(image: np.ndarray, missing_above: float = MISSING_ABOVE) -> np.ndarray | None:
    """Pixels of ``image`` that are NaN, infinite or of magnitude at least ``missing_above``.

    Returns
    -------
    missing : `numpy.ndarray` or `None`
        Boolean array of the image's shape, or `None` when no pixel is
        missing (the common case: found with a minimum and a maximum, without
        a full-size temporary).
    """
    if image.size == 0:
        return None
    lo, hi = np.min(image), np.max(image)  # NaN propagates to both
    if lo > -missing_above and hi < missing_above:
        return None
    with np.errstate(invalid="ignore"):
        return ~(np.abs(image) < missing_above)


def _copy_interior(
    data: np.ndarray,
    images: Sequence[np.ndarray],
    index: np.ndarray,
    x0: np.ndarray,
    y0: np.ndarray,
    size: int,
) -> None:
    """Copy the cutouts ``index`` (entirely inside the images) into ``data``; the hot loop of cutting."""
    if not len(index):
        return
    contiguous = all(image.dtype == np.float32 and image.flags.c_contiguous for image in images)
    use_c = _C_COPY is not None and contiguous and data.flags.c_contiguous
    _log_copy_loop(use_c)
    if use_c:
        pointers = (ctypes.c_void_p * len(images))(*(image.ctypes.data for image in images))
        long_p = ctypes.POINTER(ctypes.c_long)
        x0, y0, index = (np.ascontiguousarray(a, dtype=np.int64) for a in (x0, y0, index))
        _C_COPY(
            pointers,
            len(images),
            images[0].shape[1],
            x0.ctypes.data_as(long_p),
            y0.ctypes.data_as(long_p),
            index.ctypes.data_as(long_p),
            len(index),
            size,
            data.ctypes.data,
        )
        return
    xs, ys = x0.tolist(), y0.tolist()
    for i in index.tolist():
        y, x = ys[i], xs[i]
        out = data[i]
        for k, image in enumerate(images):
            out[k] = image[y : y + size, x : x + size]


def _log_copy_loop(use_c: bool) -> None:
    """Say once per process which copy loop cuts the cutouts (the numpy one is slower)."""
    global _logged_copy_loop
    if _logged_copy_loop:
        return
    _logged_copy_loop = True
    if use_c:
        _LOG.debug("Cutouts are copied by the C loop (lsst.meas.realbogus.stamps._cutcopy).")
        return
    if os.environ.get("MEAS_REALBOGUS_NO_C"):
        why = "MEAS_REALBOGUS_NO_C is set"
    elif _C_COPY is None:
        why = "lsst.meas.realbogus.stamps._cutcopy is not built (python setup.py build_ext --inplace)"
    else:
        why = "the images are not C-contiguous float32"
    _LOG.info("Cutouts are copied by the numpy loop, about 35%% slower than the C loop: %s.", why)


def mask_plane_names(image: Any) -> tuple[str, ...]:
    """Names of the mask planes of an `lsst.images` image (none if it has no mask)."""
    mask = getattr(image, "mask", None)
    return tuple(mask.schema.names) if mask is not None else ()


def bad_pixels(image: Any, planes: Sequence[str]) -> np.ndarray | None:
    """Pixels of an `lsst.images` image whose mask has any of ``planes`` set.

    Planes the image's mask schema does not have are ignored.

    Returns
    -------
    bad : `numpy.ndarray` or `None`
        Boolean array of the image's shape, or `None` when the image has no
        mask or none of the planes.
    """
    mask = getattr(image, "mask", None)
    if mask is None:
        return None
    present = [p for p in planes if p in mask.schema.names]
    if not present:
        return None
    bits = np.atleast_1d(mask.schema.bitmask(*present))
    array = mask.array
    if array.ndim == 2:
        return (array & bits[0]) != 0
    used = np.flatnonzero(bits)
    bad = (array[..., used[0]] & bits[used[0]]) != 0
    for byte in used[1:]:
        bad |= (array[..., byte] & bits[byte]) != 0
    return bad


def cut_images(
    images: Mapping[str, Any],
    channels: Sequence[str],
    x: np.ndarray,
    y: np.ndarray,
    size: int,
    *,
    fill: float = 0.0,
    bad_mask_planes: Sequence[str] = (),
    out: np.ndarray | None = None,
) -> Cutouts:
    """Cut the ``channels`` of `lsst.images` images around positions in their pixel frame.

    This is how `lsst.meas.realbogus.RealBogusTask` and the training sets cut
    their cutouts, so a model sees the same pixels in training and in use.

    Parameters
    ----------
    images : `~collections.abc.Mapping` [`str`, `lsst.images.MaskedImage`]
        Images by channel name (e.g. ``template``, ``science``,
        ``difference``), all with the same bounding box.
    channels : sequence of `str`
        Channels to cut, in output order.
    x, y : `numpy.ndarray`
        Positions in the images' pixel frame (their bounding box's
        coordinates, not array indices).
    size : `int`
        Cutout size.
    fill : `float`
        Value of missing pixels.
    bad_mask_planes : sequence of `str`
        Mask planes whose pixels are missing.
    out : `numpy.ndarray`, optional
        Buffer to write into (see `extract_cutouts`).

    Raises
    ------
    ValueError
        If a channel has no image, the images' bounding boxes differ, or a
        plane of ``bad_mask_planes`` is in none of the images' masks (a
        misspelt plane would otherwise turn masking off without a word).
        A plane that only some images have is applied where it is.
    """
    missing = [c for c in channels if c not in images]
    if missing:
        raise ValueError(f"no image for channels {missing}")
    planes = {name: mask_plane_names(images[name]) for name in channels}
    if any(planes.values()):
        unknown = [p for p in bad_mask_planes if not any(p in names for names in planes.values())]
        if unknown:
            known = sorted(set().union(*planes.values()))
            raise ValueError(f"bad mask planes {unknown} are in none of the images' masks (planes: {known})")
    bbox = images[channels[0]].bbox
    for name in channels:
        if images[name].bbox != bbox:
            raise ValueError(
                f"{name} image bbox {images[name].bbox} differs from the {channels[0]} image bbox {bbox}"
            )
    x = np.asarray(x, dtype=np.float64) - bbox.x.start
    y = np.asarray(y, dtype=np.float64) - bbox.y.start
    return extract_cutouts(
        [images[c].image.array for c in channels],
        x,
        y,
        size,
        fill=fill,
        bad=[bad_pixels(images[c], bad_mask_planes) for c in channels],
        out=out,
    )
