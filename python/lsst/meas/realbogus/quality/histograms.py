"""An exposure's prototype histogram ("histo-vector", seed 002 section 3.5) and its scaling.

The histogram counts the exposure's sources on each cell of DESOM-1's map; when
only some of them were cut (`~lsst.meas.realbogus.quality.sources.select_sources`),
the counts are scaled so that they sum to the number detected (section 5.2).
DESOM-2 sees each cell divided by its largest value over the training
exposures, so that every cell lies between 0 and 1 there (section 3.6).
"""

from __future__ import annotations

__all__ = ("HISTOGRAM_NORMALIZATIONS", "cell_scale", "desom2_input", "histo_vector", "scale_histograms")

import numpy as np

HISTOGRAM_NORMALIZATIONS = {
    "counts": "the counts as they are, scaled to the number detected (seed 002)",
    "fractions": "each histogram divided by its sum: the share of the sources on each cell",
}
"""How a histogram is normalized before the per-cell scaling."""


def histo_vector(prototypes: np.ndarray, n_cells: int, n_detected: int | None = None) -> np.ndarray:
    """The histogram of an exposure's sources over a map.

    Parameters
    ----------
    prototypes : `numpy.ndarray`
        Cell (prototype index) of each source cut.
    n_cells : `int`
        Cells of the map.
    n_detected : `int`, optional
        Sources detected; the counts are scaled to sum to it (default: the
        number cut, no scaling).

    Returns
    -------
    histogram : `numpy.ndarray`
        ``(n_cells,)`` float32.

    Raises
    ------
    ValueError
        If a prototype index is outside the map.
    """
    pv = np.asarray(prototypes, dtype=np.int64)
    if pv.size and (pv.min() < 0 or pv.max() >= n_cells):
        raise ValueError(f"prototype indices must lie in [0, {n_cells}), got {pv.min()} to {pv.max()}")
    counts = np.bincount(pv, minlength=n_cells).astype(np.float64)
    if n_detected is not None and pv.size:
        counts *= n_detected / pv.size
    return counts.astype(np.float32)


def cell_scale(histograms: np.ndarray) -> np.ndarray:
    """Each cell's largest value over a set of histograms ``(N, K)`` (1 where it is never above 0)."""
    h = np.asarray(histograms, dtype=np.float64)
    if h.ndim != 2 or not len(h):
        raise ValueError(f"expected histograms (N, K) with N > 0, got shape {h.shape}")
    top = h.max(axis=0)
    return np.where(top > 0, top, 1.0).astype(np.float32)


def scale_histograms(histograms: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Histograms ``(N, K)`` divided by the cell scales (`cell_scale` of the training set).

    Values of new exposures may exceed 1 where they have more sources on a
    cell than any training exposure had; they are not clipped.

    Raises
    ------
    ValueError
        If the lengths disagree.
    """
    h = np.atleast_2d(np.asarray(histograms, dtype=np.float32))
    s = np.asarray(scale, dtype=np.float32)
    if h.shape[1] != s.size:
        raise ValueError(f"histograms of {h.shape[1]} cells, but {s.size} cell scales")
    return h / s


def desom2_input(histograms: np.ndarray, normalization: str, scale: np.ndarray | None = None) -> np.ndarray:
    """What DESOM-2 sees of histograms ``(N, K)``: normalized (`HISTOGRAM_NORMALIZATIONS`), then scaled.

    Parameters
    ----------
    histograms : `numpy.ndarray`
        ``(N, K)`` or ``(K,)`` histograms from `histo_vector`.
    normalization : `str`
        ``counts`` or ``fractions``.
    scale : `numpy.ndarray`, optional
        Cell scales (`cell_scale` of the normalized training histograms); None: not scaled.

    Raises
    ------
    ValueError
        If the normalization is unknown or the lengths disagree.
    """
    h = np.atleast_2d(np.asarray(histograms, dtype=np.float32))
    if normalization == "fractions":
        total = h.sum(axis=1, keepdims=True)
        h = np.where(total > 0, h / np.maximum(total, 1e-12), 0.0).astype(np.float32)
    elif normalization != "counts":
        raise ValueError(
            f"unknown histogram normalization {normalization!r}; use {sorted(HISTOGRAM_NORMALIZATIONS)}"
        )
    return h if scale is None else scale_histograms(h, scale)
