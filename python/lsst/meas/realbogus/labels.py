"""Labels of detections from a truth catalog (DMTN-216: real iff matched to a true transient)."""

from __future__ import annotations

__all__ = ("LINE_KINDS", "label_detections")

import astropy.table
import numpy as np

from .matching import match_nearest

LINE_KINDS = ("streak", "bad_column")
"""Truth kinds that are lines (centre, ``length`` and ``angle``) rather than points."""


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
    the nearest point-like artifact entry within ``radius``, else that of a
    line artifact (``streak``, ``bad_column``: an entry with a ``length``
    along ``angle``) passing within ``radius`` of it, else ``"unknown"``
    (e.g. a noise peak).

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
    line = np.zeros(len(kinds), dtype=bool)
    if "length" in truth.colnames and "angle" in truth.colnames:
        line = np.isin(kinds, LINE_KINDS)
    point = ~real & ~line
    bogus_index, _ = match_nearest(x, y, tx[point], ty[point], radius)
    matched = ~is_real & (bogus_index >= 0)
    kind[matched] = kinds[point][bogus_index[matched]]
    for row in np.flatnonzero(line):
        theta = np.radians(float(truth["angle"][row]))
        dx, dy = x - tx[row], y - ty[row]
        along = np.abs(dx * np.cos(theta) + dy * np.sin(theta))
        across = np.abs(-dx * np.sin(theta) + dy * np.cos(theta))
        near = (kind == "unknown") & ~is_real & (across <= radius)
        near &= along <= float(truth["length"][row]) / 2 + radius
        kind[near] = kinds[row]
    return is_real, kind
