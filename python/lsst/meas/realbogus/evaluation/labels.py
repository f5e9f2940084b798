"""Labels of detections from a truth catalog.

Two rules (``LABEL_RULES``):

- ``radius`` (DMTN-216): a detection is real if and only if a real truth entry
  lies within the match radius.
- ``footprint``: a detection is also real when the real truth flux within its
  PSF aperture explains at least a fraction of its detected flux, so that the
  blend of two real transients, or a real transient beside an artifact, whose
  centroid falls outside the radius is still real (`footprint_real_flux`).
"""

from __future__ import annotations

__all__ = (
    "FWHM_PER_SIGMA",
    "LABEL_RULES",
    "LINE_KINDS",
    "DetectionLabels",
    "FootprintFlux",
    "footprint_psf_sigma",
    "footprint_real_flux",
    "label_changes",
    "label_detections",
    "label_table",
)

from collections import Counter
from typing import Any, NamedTuple

import astropy.table
import numpy as np
from scipy.spatial import cKDTree

from ..stamps.resampling import effective_psf_sigma
from .matching import match_nearest

LINE_KINDS = ("streak", "bad_column")
"""Truth kinds that are lines (centre, ``length`` and ``angle``) rather than points."""

LABEL_RULES = ("footprint", "radius")
"""The labelling rules `label_detections` implements."""

FOOTPRINT_REACH = 6.0
"""Real truth entries farther than this many PSF sigmas from a detection are
ignored by `footprint_real_flux` (their weight, exp(-9), is below 1.3e-4)."""


class DetectionLabels(NamedTuple):
    """Labels of detections, one entry per detection."""

    is_real: np.ndarray
    """`bool`: real by the rule (matched within the radius, or its flux explained)."""
    kind: np.ndarray
    """`str`: kind of the matched real entry, or of the artifact that caused a bogus detection,
    or ``"unknown"``."""
    truth_index: np.ndarray
    """`int`: row of the matched real truth entry, -1 for bogus detections."""
    distance: np.ndarray
    """`float`: distance to the matched real truth entry, pixels (NaN for bogus detections)."""
    flux_fraction: np.ndarray
    """`float`: real truth flux in the PSF aperture over the detected flux (`footprint_real_flux`);
    NaN under the ``radius`` rule or where the detected flux is zero or not finite."""


class FootprintFlux(NamedTuple):
    """Real truth flux within the PSF apertures of detections (`footprint_real_flux`)."""

    flux: np.ndarray
    """`float`: PSF-weighted sum of the truth fluxes, per detection."""
    top_index: np.ndarray
    """`int`: index (into the truth arrays) of the entry contributing the most flux of the sign of
    ``sign``, -1 where none contributes."""


def footprint_real_flux(
    x: np.ndarray,
    y: np.ndarray,
    truth_x: np.ndarray,
    truth_y: np.ndarray,
    truth_flux: np.ndarray,
    psf_sigma: float,
    sign: np.ndarray | None = None,
) -> FootprintFlux:
    """Truth flux that PSF-weighted photometry at each detection picks up.

    For a Gaussian PSF of width ``sigma``, PSF-weighted photometry centred at
    a distance ``d`` from a point source of flux ``f`` measures
    ``f * exp(-d**2 / (4 sigma**2))``; the flux within a detection's aperture
    is the sum of that over the truth entries (those within
    ``FOOTPRINT_REACH`` sigmas).

    Parameters
    ----------
    x, y : `numpy.ndarray`
        Detection centroids, pixels.
    truth_x, truth_y : `numpy.ndarray`
        Truth positions, pixels.
    truth_flux : `numpy.ndarray`
        Truth difference-image fluxes (science minus template; for a
        variable star, its flux change).  Non-finite fluxes count as zero.
    psf_sigma : `float`
        Gaussian sigma of the difference image's PSF, pixels.
    sign : `numpy.ndarray`, optional
        Per detection, +1 or -1: the sign of flux whose largest contributor
        is reported (that of the detected flux).  Default: +1.

    Returns
    -------
    flux : `FootprintFlux`
        The summed flux and the largest contributor of each detection.

    Raises
    ------
    ValueError
        If ``psf_sigma`` is not positive and finite.
    """
    if not (np.isfinite(psf_sigma) and psf_sigma > 0):
        raise ValueError(f"psf_sigma must be positive and finite; got {psf_sigma}")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(x)
    total = np.zeros(n)
    top = np.full(n, -1, dtype=np.int64)
    tflux = np.nan_to_num(np.asarray(truth_flux, dtype=float), nan=0.0, posinf=0.0, neginf=0.0)
    if n == 0 or len(tflux) == 0:
        return FootprintFlux(total, top)
    sign = np.ones(n) if sign is None else np.where(np.asarray(sign) < 0, -1.0, 1.0)
    tree = cKDTree(np.column_stack([np.asarray(truth_x, dtype=float), np.asarray(truth_y, dtype=float)]))
    neighbours = tree.query_ball_point(np.column_stack([x, y]), FOOTPRINT_REACH * psf_sigma)
    for i, rows in enumerate(neighbours):
        if not rows:
            continue
        rows = np.asarray(rows, dtype=np.int64)
        d2 = (np.asarray(truth_x, dtype=float)[rows] - x[i]) ** 2
        d2 += (np.asarray(truth_y, dtype=float)[rows] - y[i]) ** 2
        contribution = tflux[rows] * np.exp(-d2 / (4.0 * psf_sigma**2))
        total[i] = contribution.sum()
        signed = sign[i] * contribution
        if signed.max() > 0:
            top[i] = rows[np.argmax(signed)]
    return FootprintFlux(total, top)


FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
"""FWHM of a Gaussian over its sigma."""


def footprint_psf_sigma(psf: Any, x: np.ndarray, y: np.ndarray, psf_fwhm: float | None = None) -> float:
    """The PSF sigma the footprint rule uses for one detector's detections, pixels.

    ``psf_fwhm / FWHM_PER_SIGMA`` if ``psf_fwhm`` is given or there is no
    ``psf``; otherwise `effective_psf_sigma` of ``psf`` at the median of the
    detections' centroids ``x``, ``y`` (the centre of its bounds if there
    are none).
    """
    if psf_fwhm is not None or psf is None:
        if psf_fwhm is None:
            raise ValueError("footprint_psf_sigma needs a psf or a psf_fwhm")
        return psf_fwhm / FWHM_PER_SIGMA
    centre = (float(np.median(x)), float(np.median(y))) if len(x) else (None, None)
    return effective_psf_sigma(psf, *centre)


def label_detections(
    detections: astropy.table.Table,
    truth: astropy.table.Table,
    radius: float,
    *,
    rule: str = "radius",
    psf_sigma: float | None = None,
    flux_fraction: float = 0.5,
    x_column: str = "x",
    y_column: str = "y",
    flux_column: str = "psfFlux",
    truth_x_column: str = "x",
    truth_y_column: str = "y",
    truth_flux_column: str = "flux",
    is_real_column: str | None = "isReal",
    kind_column: str | None = "kind",
    default_kind: str = "injected",
) -> DetectionLabels:
    """Label detections real or bogus and name what caused each.

    Under the ``radius`` rule (DMTN-216) a detection is real if and only if a
    real truth entry lies within ``radius`` pixels.  Under the ``footprint``
    rule it is also real when the real truth flux within its PSF aperture,
    ``F = sum_j f_j exp(-d_j**2 / (4 psf_sigma**2))`` over the real entries
    (`footprint_real_flux`), explains at least ``flux_fraction`` of its
    detected flux ``D``: ``F / D >= flux_fraction`` (so a negative detection
    needs negative real flux).  A detection real within the radius keeps its
    nearest real entry; one real by its flux alone gets the real entry that
    contributes the most flux of the detected flux's sign.

    A bogus detection's kind is that of the nearest point-like artifact entry
    within ``radius``, else that of a line artifact (``streak``,
    ``bad_column``: an entry with a ``length`` along ``angle``) passing
    within ``radius`` of it, else ``"unknown"`` (e.g. a noise peak).

    Parameters
    ----------
    detections : `astropy.table.Table`
        Detections with centroid columns (and, for the ``footprint`` rule, a
        flux column).
    truth : `astropy.table.Table`
        Truth catalog: the simulator's (every simulated transient and
        artifact) or an injected-source catalog (every row a transient).
    radius : `float`
        Match radius, pixels.
    rule : `str`
        ``"radius"`` or ``"footprint"`` (`LABEL_RULES`).
    psf_sigma : `float`, optional
        Gaussian sigma of the difference image's PSF, pixels; required by
        the ``footprint`` rule.
    flux_fraction : `float`
        Fraction of the detected flux the real flux must explain, in (0, 1]
        (``footprint`` rule).
    x_column, y_column : `str`
        Centroid columns of ``detections``.
    flux_column : `str`
        Detected (PSF) flux column of ``detections`` (``footprint`` rule).
    truth_x_column, truth_y_column : `str`
        Position columns of ``truth``, pixels.
    truth_flux_column : `str`
        Difference-image flux column of ``truth``, in the units of
        ``flux_column`` (``footprint`` rule).
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
        If a named column is missing, the rule is unknown, or the
        ``footprint`` rule lacks a valid ``psf_sigma`` or ``flux_fraction``.
    """
    if rule not in LABEL_RULES:
        raise ValueError(f"unknown label rule {rule!r}; expected one of {LABEL_RULES}")
    footprint = rule == "footprint"
    if footprint:
        if psf_sigma is None or not (np.isfinite(psf_sigma) and psf_sigma > 0):
            raise ValueError(f"the footprint rule needs a positive psf_sigma; got {psf_sigma}")
        if not 0 < flux_fraction <= 1:
            raise ValueError(f"flux_fraction must be in (0, 1]; got {flux_fraction}")
    for table, name, columns in (
        (detections, "detection", (x_column, y_column, flux_column if footprint else None)),
        (
            truth,
            "truth",
            (
                truth_x_column,
                truth_y_column,
                is_real_column,
                kind_column,
                truth_flux_column if footprint else None,
            ),
        ),
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
    real_rows = np.flatnonzero(real)
    index, distance = match_nearest(x, y, tx[real], ty[real], radius)
    is_real = index >= 0
    truth_index = np.full(len(x), -1, dtype=np.int64)
    truth_index[is_real] = real_rows[index[is_real]]
    fraction = np.full(len(x), np.nan)
    if footprint:
        detected = np.asarray(detections[flux_column], dtype=float)
        aperture = footprint_real_flux(
            x,
            y,
            tx[real],
            ty[real],
            np.asarray(truth[truth_flux_column], dtype=float)[real],
            psf_sigma,
            sign=np.sign(detected),
        )
        usable = np.isfinite(detected) & (detected != 0)
        fraction[usable] = aperture.flux[usable] / detected[usable]
        explained = usable & (fraction >= flux_fraction) & (aperture.top_index >= 0) & ~is_real
        truth_index[explained] = real_rows[aperture.top_index[explained]]
        distance = np.where(explained, np.hypot(x - tx[truth_index], y - ty[truth_index]), distance)
        is_real = is_real | explained
    kind = np.full(len(x), "unknown", dtype="U16")
    kind[is_real] = kinds[truth_index[is_real]]
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
    return DetectionLabels(is_real, kind, truth_index, np.where(is_real, distance, np.nan), fraction)


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
        The keyword arguments of `label_detections` (rule, PSF sigma, flux
        fraction, column names, kinds).

    Returns
    -------
    labels : `astropy.table.Table`
        Columns ``id_column``, ``isReal``, ``kind``, ``snr``, ``truthIndex``,
        ``matchDistance`` and ``realFluxFraction``; ``meta["LABEL_RULE"]`` is
        the rule, ``meta["MATCH_RADIUS"]`` is ``radius``, and under the
        ``footprint`` rule ``meta["FLUX_FRACTION"]`` and ``meta["PSF_SIGMA"]``
        are its parameters.

    Raises
    ------
    ValueError
        If a named column is missing (the message names it), or as
        `label_detections`.
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
            "realFluxFraction": labels.flux_fraction.astype(np.float32),
        }
    )
    rule = options.get("rule", "radius")
    table.meta["LABEL_RULE"] = rule
    table.meta["MATCH_RADIUS"] = radius
    if rule == "footprint":
        table.meta["FLUX_FRACTION"] = float(options.get("flux_fraction", 0.5))
        table.meta["PSF_SIGMA"] = float(options["psf_sigma"])
    return table


def label_changes(
    before: DetectionLabels | astropy.table.Table, after: DetectionLabels | astropy.table.Table
) -> dict[str, Counter]:
    """Count the labels of the same detections that two labellings disagree on, by kind.

    Parameters
    ----------
    before, after : `DetectionLabels` or `astropy.table.Table`
        Labels of the same detections, in the same order (e.g. under the
        ``radius`` and ``footprint`` rules); tables need ``isReal`` and
        ``kind`` columns (`label_table`).

    Returns
    -------
    changes : `dict` [`str`, `collections.Counter`]
        ``bogus_to_real``: by the kind ``after`` gives (the real entry) and
        by the kind ``before`` gave (the artifact or ``unknown``), keyed
        ``"<before kind> -> <after kind>"``; ``real_to_bogus`` likewise.

    Raises
    ------
    ValueError
        If the two labellings differ in length.
    """

    def arrays(labels):
        if isinstance(labels, DetectionLabels):
            return np.asarray(labels.is_real, bool), np.asarray(labels.kind).astype(str)
        return np.asarray(labels["isReal"], bool), np.asarray(labels["kind"]).astype(str)

    real0, kind0 = arrays(before)
    real1, kind1 = arrays(after)
    if len(real0) != len(real1):
        raise ValueError(f"the labellings differ in length: {len(real0)} and {len(real1)}")
    changes = {}
    for name, rows in (("bogus_to_real", ~real0 & real1), ("real_to_bogus", real0 & ~real1)):
        changes[name] = Counter(f"{a} -> {b}" for a, b in zip(kind0[rows], kind1[rows]))
    return changes
