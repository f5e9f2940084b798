"""Labels of detections from a truth catalog (DMTN-216: real iff matched to a true transient)."""

from __future__ import annotations

__all__ = ("LINE_KINDS", "DetectionLabels", "label_detections", "label_table")

from typing import Any, NamedTuple

import astropy.table
import numpy as np

from .matching import match_nearest

LINE_KINDS = ("streak", "bad_column")
"""Truth kinds that are lines (centre, ``length`` and ``angle``) rather than points."""


class DetectionLabels(NamedTuple):
    """Labels of detections, one entry per detection."""

    is_real: np.ndarray
    """`bool`: matched to a real truth entry within the radius."""
    kind: np.ndarray
    """`str`: kind of the matched real entry, or of the artifact that caused a bogus detection,
    or ``"unknown"``."""
    truth_index: np.ndarray
    """`int`: row of the matched real truth entry, -1 for bogus detections."""
    distance: np.ndarray
    """`float`: distance to the matched real truth entry, pixels (NaN for bogus detections)."""


def label_detections(
    detections: astropy.table.Table,
    truth: astropy.table.Table,
    radius: float,
    *,
    x_column: str = "x",
    y_column: str = "y",
    truth_x_column: str = "x",
    truth_y_column: str = "y",
    is_real_column: str | None = "isReal",
    kind_column: str | None = "kind",
    default_kind: str = "injected",
) -> DetectionLabels:
    """Label detections real or bogus and name what caused each.

    A detection is real if and only if a real truth entry lies within
    ``radius`` pixels; otherwise it is bogus, and its kind is that of the
    nearest point-like artifact entry within ``radius``, else that of a line
    artifact (``streak``, ``bad_column``: an entry with a ``length`` along
    ``angle``) passing within ``radius`` of it, else ``"unknown"`` (e.g. a
    noise peak).

    Parameters
    ----------
    detections : `astropy.table.Table`
        Detections with centroid columns.
    truth : `astropy.table.Table`
        Truth catalog: the simulator's (every simulated transient and
        artifact) or an injected-source catalog (every row a transient).
    radius : `float`
        Match radius, pixels.
    x_column, y_column : `str`
        Centroid columns of ``detections``.
    truth_x_column, truth_y_column : `str`
        Position columns of ``truth``, pixels.
    is_real_column : `str` or `None`
        Boolean column of ``truth`` marking real transients; `None`: every
        truth row is a real transient (an injected-source catalog).
    kind_column : `str` or `None`
        Kind column of ``truth``; `None`: every truth row is ``default_kind``.
    default_kind : `str`
        Kind of truth rows when ``kind_column`` is `None`.

    Returns
    -------
    labels : `DetectionLabels`
        Labels, kinds and matches.

    Raises
    ------
    ValueError
        If a named column is missing.
    """
    for table, name, columns in (
        (detections, "detection", (x_column, y_column)),
        (truth, "truth", (truth_x_column, truth_y_column, is_real_column, kind_column)),
    ):
        for column in columns:
            if column is not None and column not in table.colnames:
                raise ValueError(f"{name} table has no column {column!r} (columns: {table.colnames})")
    x = np.asarray(detections[x_column], dtype=float)
    y = np.asarray(detections[y_column], dtype=float)
    n_truth = len(truth)
    real = np.asarray(truth[is_real_column], dtype=bool) if is_real_column else np.ones(n_truth, bool)
    kinds = np.asarray(truth[kind_column]).astype(str) if kind_column else np.full(n_truth, default_kind)
    tx = np.asarray(truth[truth_x_column], dtype=float)
    ty = np.asarray(truth[truth_y_column], dtype=float)
    index, distance = match_nearest(x, y, tx[real], ty[real], radius)
    is_real = index >= 0
    kind = np.full(len(x), "unknown", dtype="U16")
    kind[is_real] = kinds[real][index[is_real]]
    truth_index = np.full(len(x), -1, dtype=np.int64)
    truth_index[is_real] = np.flatnonzero(real)[index[is_real]]
    line = np.zeros(n_truth, dtype=bool)
    if "length" in truth.colnames and "angle" in truth.colnames:
        line = np.isin(kinds, LINE_KINDS)
    point = ~real & ~line
    bogus_index, _ = match_nearest(x, y, tx[point], ty[point], radius)
    matched = ~is_real & (bogus_index >= 0)
    kind[matched] = kinds[point][bogus_index[matched]]
    for row in np.flatnonzero(line & ~real):
        theta = np.radians(float(truth["angle"][row]))
        dx, dy = x - tx[row], y - ty[row]
        along = np.abs(dx * np.cos(theta) + dy * np.sin(theta))
        across = np.abs(-dx * np.sin(theta) + dy * np.cos(theta))
        near = (kind == "unknown") & ~is_real & (across <= radius)
        near &= along <= float(truth["length"][row]) / 2 + radius
        kind[near] = kinds[row]
    return DetectionLabels(is_real, kind, truth_index, np.where(is_real, distance, np.nan))


def label_table(
    detections: astropy.table.Table,
    truth: astropy.table.Table,
    radius: float,
    *,
    id_column: str = "diaSourceId",
    snr_column: str | None = "snr",
    **options: Any,
) -> astropy.table.Table:
    """The label table of detections: one row per detection, in order.

    This is what `~lsst.meas.realbogus.labelDetectionsTask.LabelDetectionsTask`
    writes (``dia_source_realbogus_label``) and what the score report labels
    with; the labels are those of `label_detections`.

    Parameters
    ----------
    detections, truth, radius
        As `label_detections`.
    id_column : `str`
        Identifier column of ``detections``, copied over.
    snr_column : `str` or `None`
        Detection S/N column of ``detections``, copied over; `None`: the
        ``snr`` column is NaN.
    **options
        The keyword arguments of `label_detections` (column names, kinds).

    Returns
    -------
    labels : `astropy.table.Table`
        Columns ``id_column``, ``isReal``, ``kind``, ``snr``, ``truthIndex``
        and ``matchDistance``; ``meta["MATCH_RADIUS"]`` is ``radius``.

    Raises
    ------
    ValueError
        If a named column is missing (the message names it).
    """
    for column in (id_column, snr_column):
        if column is not None and column not in detections.colnames:
            raise ValueError(f"diaSource table has no column {column!r} (columns: {detections.colnames})")
    labels = label_detections(detections, truth, radius, **options)
    table = astropy.table.Table(
        {
            id_column: np.asarray(detections[id_column]),
            "isReal": labels.is_real,
            "kind": labels.kind,
            "snr": (
                np.asarray(detections[snr_column], dtype=np.float32)
                if snr_column is not None
                else np.full(len(detections), np.nan, dtype=np.float32)
            ),
            "truthIndex": labels.truth_index,
            "matchDistance": labels.distance.astype(np.float32),
        }
    )
    table.meta["MATCH_RADIUS"] = radius
    return table
