"""Labels of detections from a truth catalog (DMTN-216: real iff matched to a true transient)."""

from __future__ import annotations

__all__ = ("label_detections",)

import astropy.table
import numpy as np

from .matching import match_nearest


def label_detections(
    detections: astropy.table.Table,
    truth: astropy.table.Table,
    radius: float,
    *,
    x_column: str = "x",
    y_column: str = "y",
) -> tuple[np.ndarray, np.ndarray]:
    """Label detections real or bogus and name what caused each.

    A detection is real if and only if a real truth entry (``isReal``) lies
    within ``radius`` pixels; otherwise it is bogus, and its kind is that of
    the nearest artifact entry within ``radius`` (``"unknown"`` if none, e.g.
    a noise peak).

    Parameters
    ----------
    detections : `astropy.table.Table`
        Detections with centroid columns.
    truth : `astropy.table.Table`
        Truth catalog with ``x``, ``y``, ``isReal`` and ``kind`` columns.
    radius : `float`
        Match radius, pixels.

    Returns
    -------
    is_real : `numpy.ndarray` of `bool`
    kind : `numpy.ndarray` of `str`
    """
    x = np.asarray(detections[x_column], dtype=float)
    y = np.asarray(detections[y_column], dtype=float)
    real = np.asarray(truth["isReal"], dtype=bool)
    kinds = np.asarray(truth["kind"]).astype(str)
    tx = np.asarray(truth["x"], dtype=float)
    ty = np.asarray(truth["y"], dtype=float)
    index, _ = match_nearest(x, y, tx[real], ty[real], radius)
    is_real = index >= 0
    kind = np.full(len(x), "unknown", dtype="U16")
    kind[is_real] = kinds[real][index[is_real]]
    bogus_index, _ = match_nearest(x, y, tx[~real], ty[~real], radius)
    matched = ~is_real & (bogus_index >= 0)
    kind[matched] = kinds[~real][bogus_index[matched]]
    return is_real, kind
