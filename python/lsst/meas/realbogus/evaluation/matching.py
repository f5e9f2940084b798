"""Positional matching of detections to a truth catalog."""

from __future__ import annotations

__all__ = ("match_nearest",)

import numpy as np
from scipy.spatial import cKDTree


def match_nearest(
    x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """Match each position of the first set to the nearest of the second within ``radius``.

    Parameters
    ----------
    x1, y1 : `numpy.ndarray`
        Positions to match (e.g. detections).
    x2, y2 : `numpy.ndarray`
        Positions to match to (e.g. truth).
    radius : `float`
        Maximum separation, in the units of the positions.

    Returns
    -------
    index : `numpy.ndarray` of `int`
        Index into the second set of each position's match, -1 where none.
    distance : `numpy.ndarray` of `float`
        Separation of the match (``inf`` where none).
    """
    x1 = np.asarray(x1, dtype=float)
    if len(x1) == 0 or len(x2) == 0:
        return np.full(len(x1), -1, dtype=int), np.full(len(x1), np.inf)
    tree = cKDTree(np.column_stack([np.asarray(x2, dtype=float), np.asarray(y2, dtype=float)]))
    distance, index = tree.query(
        np.column_stack([x1, np.asarray(y1, dtype=float)]), distance_upper_bound=radius
    )
    index = np.where(np.isfinite(distance), index, -1)
    return index, distance
