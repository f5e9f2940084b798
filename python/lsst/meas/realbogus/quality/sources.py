"""Sources on a science image, for the exposure's prototype histogram (seed 002 section 3.7).

Seed 002 only needs where the sources are: any detector will do.  Sources are
found with SEP (Source Extractor as a library) as the seed found them: at least
``min_area`` connected pixels ``threshold`` sigma above the background, on the
image smoothed by SEP's default 3x3 kernel.  The background is one level and
one noise for the whole image by default: a local background model would
subtract the gradients and scattered light that are among the problems to see.
"""

from __future__ import annotations

__all__ = ("ExposureSources", "detect_sources", "preview_image", "select_sources", "source_thumbnails")

import logging
from dataclasses import dataclass

import numpy as np
import sep

from ..stamps.batch import ModelInput
from ..stamps.cutouts import cutout_origins, extract_cutouts

_LOG = logging.getLogger(__name__)


@dataclass
class ExposureSources:
    """Sources detected on one image.

    Attributes
    ----------
    x, y : `numpy.ndarray`
        Centroids, array indices (column and row).
    flux : `numpy.ndarray`
        Background-subtracted flux within the footprint.
    npix : `numpy.ndarray`
        Footprint areas, pixels.
    background : `float`
        Background level.
    noise : `float`
        Background noise (sigma).
    """

    x: np.ndarray
    y: np.ndarray
    flux: np.ndarray
    npix: np.ndarray
    background: float
    noise: float

    def __len__(self) -> int:
        return len(self.x)


def detect_sources(
    image: np.ndarray,
    bad: np.ndarray | None = None,
    *,
    threshold: float = 2.0,
    min_area: int = 5,
    background_box: int = 0,
) -> ExposureSources:
    """Detect the sources of an image.

    Parameters
    ----------
    image : `numpy.ndarray`
        2-d pixel values; non-finite pixels are masked.
    bad : `numpy.ndarray`, optional
        Boolean mask of pixels to ignore.
    threshold : `float`
        Detection threshold, in units of the background noise.
    min_area : `int`
        Minimum number of connected pixels above the threshold.
    background_box : `int`
        Size of the background mesh, pixels; 0: one level for the image.

    Returns
    -------
    sources : `ExposureSources`
        The detections (none on an image without valid pixels).

    Raises
    ------
    ValueError
        If the image is not 2-d or ``bad`` has another shape.
    """
    data = np.asarray(image, dtype=np.float32)
    if data.ndim != 2:
        raise ValueError(f"expected a 2-d image, got shape {data.shape}")
    mask = ~np.isfinite(data)
    if bad is not None:
        if np.shape(bad) != data.shape:
            raise ValueError(f"bad mask of shape {np.shape(bad)} for an image of shape {data.shape}")
        mask |= np.asarray(bad, dtype=bool)
    empty = np.zeros(0)
    if mask.all():
        return ExposureSources(empty, empty, empty, empty.astype(np.int64), float("nan"), float("nan"))
    data = np.ascontiguousarray(np.where(mask, 0.0, data), dtype=np.float32)
    rows, cols = data.shape
    box_y, box_x = (rows, cols) if background_box <= 0 else (background_box, background_box)
    background = sep.Background(data, mask=mask, bw=box_x, bh=box_y)
    noise = float(background.globalrms)
    level = float(background.globalback)
    subtracted = data - background.back() if background_box > 0 else data - level
    sep.set_extract_pixstack(max(1_000_000, data.size))
    sep.set_sub_object_limit(4096)
    try:
        objects = sep.extract(subtracted, threshold, err=noise, mask=mask, minarea=min_area)
    except Exception as err:  # SEP's buffers overflow on an image that is one big footprint
        if "overflow" not in str(err) and "limit" not in str(err):
            raise
        _LOG.warning("SEP could not extract this image's sources (%s): no sources.", err)
        objects = np.zeros(0, dtype=[("x", float), ("y", float), ("flux", float), ("npix", int)])
    return ExposureSources(
        x=np.asarray(objects["x"], dtype=np.float64),
        y=np.asarray(objects["y"], dtype=np.float64),
        flux=np.asarray(objects["flux"], dtype=np.float64),
        npix=np.asarray(objects["npix"], dtype=np.int64),
        background=level,
        noise=noise,
    )


def select_sources(
    sources: ExposureSources, shape: tuple[int, int], size: int, max_sources: int, seed: int
) -> np.ndarray:
    """Indices of the sources to cut: those whose thumbnail is on the image, at most ``max_sources``.

    A random subsample (seeded, so the same image gives the same choice) when
    there are more (seed 002 section 5.2: the histogram is then scaled to the
    total count).

    Parameters
    ----------
    sources : `ExposureSources`
        The detections.
    shape : `tuple` [`int`, `int`]
        Image shape.
    size : `int`
        Thumbnail size.
    max_sources : `int`
        Most sources to keep (0: all).
    seed : `int`
        Seed of the subsample.
    """
    x0, y0, finite = cutout_origins(sources.x, sources.y, size)
    inside = finite & (x0 >= 0) & (y0 >= 0) & (x0 + size <= shape[1]) & (y0 + size <= shape[0])
    index = np.flatnonzero(inside)
    if max_sources and len(index) > max_sources:
        index = np.sort(np.random.default_rng(seed).choice(index, max_sources, replace=False))
    return index


def preview_image(image: np.ndarray, size: int = 64) -> np.ndarray:
    """A ``size`` x ``size`` block-mean preview of an image (non-finite pixels left out).

    Parameters
    ----------
    image : `numpy.ndarray`
        2-d pixel values.
    size : `int`
        Preview width and height.
    """
    data = np.asarray(image, dtype=np.float64)
    rows, cols = data.shape
    edges_y = np.linspace(0, rows, size + 1).astype(int)
    edges_x = np.linspace(0, cols, size + 1).astype(int)
    finite = np.isfinite(data)
    clean = np.where(finite, data, 0.0)
    sums = np.add.reduceat(np.add.reduceat(clean, edges_y[:-1], axis=0), edges_x[:-1], axis=1)
    counts = np.add.reduceat(
        np.add.reduceat(finite.astype(np.float64), edges_y[:-1], axis=0), edges_x[:-1], axis=1
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums / counts).astype(np.float32)


def source_thumbnails(
    image: np.ndarray,
    bad: np.ndarray | None,
    thumbnails: ModelInput,
    *,
    max_sources: int,
    seed: int,
    threshold: float = 2.0,
    min_area: int = 5,
    background_box: int = 0,
) -> tuple[ExposureSources, np.ndarray, np.ndarray]:
    """Detect an image's sources and cut model-ready thumbnails of those chosen.

    Parameters
    ----------
    image : `numpy.ndarray`
        2-d science pixels.
    bad : `numpy.ndarray`, optional
        Pixels to ignore (left out of detection; missing in the thumbnails).
    thumbnails : `~lsst.meas.realbogus.stamps.batch.ModelInput`
        The DESOM's input: one ``science`` channel, its size and normalization.
    max_sources, seed : `int`
        As `select_sources`.
    threshold, min_area, background_box
        As `detect_sources`.

    Returns
    -------
    sources : `ExposureSources`
        Every detection.
    chosen : `numpy.ndarray`
        Indices of the sources cut.
    batch : `numpy.ndarray`
        ``(len(chosen), 1, S, S)`` normalized thumbnails.
    """
    sources = detect_sources(
        image, bad, threshold=threshold, min_area=min_area, background_box=background_box
    )
    chosen = select_sources(sources, np.shape(image), thumbnails.size, max_sources, seed)
    data = np.asarray(image, dtype=np.float32)
    if bad is not None:
        data = np.where(bad, np.float32(np.nan), data)
    raw = extract_cutouts([data], sources.x[chosen], sources.y[chosen], thumbnails.size, fill=np.nan)
    batch = thumbnails.prepare(raw.data, ("science",)) if len(chosen) else raw.data
    return sources, chosen, batch
