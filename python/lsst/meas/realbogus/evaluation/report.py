"""The evaluation report: scores joined to labels over detectors, and every metric of them.

`collect_scores` joins per-detector score and label tables (row for row, by
diaSource id); `evaluate_scores` computes the report of
`~lsst.meas.realbogus.evaluateRealBogusTask.EvaluateRealBogusTask` (overall,
above S/N cuts, by S/N bin, by kind, calibration) from plain arrays; the
score report command uses both.
"""

from __future__ import annotations

__all__ = (
    "DESOM_COLUMNS",
    "ScoredDetections",
    "collect_scores",
    "desom_summary",
    "evaluate_scores",
    "exact_scores",
    "json_safe",
    "kind_summary",
    "prototype_summary",
    "snr_bin_summary",
    "uncertainty_summary",
)

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import astropy.table
import numpy as np

from .metrics import (
    Curves,
    calibration,
    completeness_purity,
    roc_auc,
    score_curves,
    summarize_scores,
    threshold_summary,
)

DESOM_COLUMNS = ("desomPv", "desomPvReal", "desomDistance", "flag_unusual", "scoreStacked", "desomVersion")
"""Columns of DESOM flagging (RealBogusTask with doDesom) collected when the score tables have them."""


@dataclass
class ScoredDetections:
    """Scored detections of many detectors with their labels (only rows with a finite score).

    Attributes
    ----------
    score, is_real, kind, snr : `numpy.ndarray`
        Per scored row: score, label, kind and detection S/N.
    detector : `numpy.ndarray`
        Per scored row, the position of its detector in the input.
    row : `numpy.ndarray`
        Per scored row, its row in its detector's tables.
    versions : `set` [`str`]
        Model versions of the scores.
    counts : `dict` [`str`, `int`]
        Over every row, scored or not: ``detectors``, ``sources``, ``real``,
        ``bogus``, ``unscored``, ``flag_edge``, ``flag_badPixels``.
    desom : `dict` [`str`, `numpy.ndarray`]
        Per scored row, the `DESOM_COLUMNS` if every score table has them
        (empty otherwise).
    score_std : `numpy.ndarray`
        Per scored row, the ensemble spread ``scoreStd`` if every score
        table has a finite one (empty otherwise).
    psf_scale : `numpy.ndarray`
        Per scored row, the factor its cutouts were resampled by
        (``psfScale``; 1 for tables without that column).
    """

    score: np.ndarray
    is_real: np.ndarray
    kind: np.ndarray
    snr: np.ndarray
    detector: np.ndarray
    row: np.ndarray
    versions: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    desom: dict[str, np.ndarray] = field(default_factory=dict)
    score_std: np.ndarray = field(default_factory=lambda: np.zeros(0))
    psf_scale: np.ndarray = field(default_factory=lambda: np.zeros(0))


def exact_scores(scores: astropy.table.Table) -> np.ndarray:
    """The scores of a score table in float64, from its ``logit`` column when it has one.

    A float32 score is exactly 1.0 for every logit above about 17, so the
    surest detections tie; the sigmoid of the logit in float64 keeps their
    order (up to a logit of about 36), which the rank metrics (AUC, MDR at a
    false-positive rate) need.  Tables of models without a logit column
    (older outputs) give their ``score``.
    """
    if "logit" in scores.colnames:
        logit = np.asarray(scores["logit"], dtype=np.float64)
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-logit))
    return np.asarray(scores["score"], dtype=np.float64)


def collect_scores(
    pairs: Iterable[tuple[Any, astropy.table.Table, astropy.table.Table]], id_column: str = "diaSourceId"
) -> ScoredDetections:
    """Join the score and label tables of each detector, row for row.

    Parameters
    ----------
    pairs : iterable of `tuple`
        ``(name, scores, labels)`` per detector: a name for messages (e.g.
        its data ID), its ``dia_source_realbogus`` table and its label table
        (`~lsst.meas.realbogus.evaluation.labels.label_table`).  Tables are
        used one detector at a time, so a generator that reads them keeps
        memory low.
    id_column : `str`
        diaSource identifier column of both tables.

    Returns
    -------
    scored : `ScoredDetections`

    Raises
    ------
    ValueError
        If a detector's scores and labels are not of the same diaSources in
        the same order.
    """
    parts: dict[str, list] = {
        k: [] for k in ("score", "is_real", "kind", "snr", "detector", "row", "psf_scale")
    }
    spread: list | None = []
    desom: dict[str, list] | None = {k: [] for k in DESOM_COLUMNS}
    versions: set[str] = set()
    counts = dict.fromkeys(
        ("detectors", "sources", "real", "bogus", "unscored", "flag_edge", "flag_badPixels"), 0
    )
    for number, (name, scores, labels) in enumerate(pairs):
        if not np.array_equal(np.asarray(scores[id_column]), np.asarray(labels[id_column])):
            raise ValueError(f"{name}: scores and labels are not of the same diaSources, row for row")
        versions.update(str(v) for v in np.unique(np.asarray(scores["modelVersion"])))
        s = exact_scores(scores)
        is_real = np.asarray(labels["isReal"], dtype=bool)
        ok = np.isfinite(s)
        counts["detectors"] += 1
        counts["sources"] += len(s)
        counts["real"] += int(is_real.sum())
        counts["bogus"] += int((~is_real).sum())
        counts["unscored"] += int((~ok).sum())
        for flag in ("flag_edge", "flag_badPixels"):
            if flag in scores.colnames:
                counts[flag] += int(np.sum(scores[flag]))
        parts["score"].append(s[ok])
        parts["is_real"].append(is_real[ok])
        parts["kind"].append(np.asarray(labels["kind"]).astype(str)[ok])
        parts["snr"].append(np.asarray(labels["snr"], dtype=float)[ok])
        parts["detector"].append(np.full(int(ok.sum()), number))
        parts["row"].append(np.flatnonzero(ok))
        scale = (
            np.asarray(scores["psfScale"], dtype=float) if "psfScale" in scores.colnames else np.ones(len(s))
        )
        parts["psf_scale"].append(scale[ok])
        std = np.asarray(scores["scoreStd"], dtype=float)[ok] if "scoreStd" in scores.colnames else None
        if spread is not None and std is not None and np.isfinite(std).all():
            spread.append(std)
        else:
            spread = None
        if desom is not None and all(c in scores.colnames for c in DESOM_COLUMNS):
            for c in DESOM_COLUMNS:
                desom[c].append(np.asarray(scores[c])[ok])
        else:
            desom = None
    empty = {
        "score": float,
        "is_real": bool,
        "kind": str,
        "snr": float,
        "detector": int,
        "row": int,
        "psf_scale": float,
    }
    arrays = {k: np.concatenate(v) if v else np.zeros(0, empty[k]) for k, v in parts.items()}
    columns = {k: np.concatenate(v) for k, v in desom.items()} if desom and parts["score"] else {}
    score_std = np.concatenate(spread) if spread else np.zeros(0)
    return ScoredDetections(**arrays, versions=versions, counts=counts, desom=columns, score_std=score_std)


def uncertainty_summary(
    scores: np.ndarray, is_real: np.ndarray, score_std: np.ndarray, threshold: float
) -> dict:
    """Whether wrong scores concentrate among the uncertain ones (an ensemble's ``scoreStd``).

    A score is wrong when it is on the wrong side of ``threshold``.

    Returns
    -------
    summary : `dict`
        ``wrong`` and ``right`` counts, ``auc_wrong_vs_right`` (the AUC of
        ``scoreStd`` as a detector of wrong scores: 0.5 is no better than
        chance), the median spread of each, and the fraction of the wrong
        scores among the 5% and 10% most uncertain rows against the overall
        error rate.
    """
    wrong = (scores >= threshold) != is_real
    order = np.argsort(-score_std, kind="stable")
    result = {
        "wrong": int(wrong.sum()),
        "right": int((~wrong).sum()),
        "error_rate": float(wrong.mean()) if len(wrong) else float("nan"),
        "auc_wrong_vs_right": roc_auc(score_std, wrong),
        "median_std_wrong": float(np.median(score_std[wrong])) if wrong.any() else float("nan"),
        "median_std_right": float(np.median(score_std[~wrong])) if (~wrong).any() else float("nan"),
    }
    for top in (5, 10):
        rows = order[: max(1, int(round(len(order) * top / 100)))] if len(order) else order
        result[f"error_rate_top{top}pct_std"] = float(wrong[rows].mean()) if len(rows) else float("nan")
        result[f"wrong_in_top{top}pct_std"] = float(wrong[rows].sum() / max(wrong.sum(), 1))
    return result


def kind_summary(scores: np.ndarray, is_real: np.ndarray, kind: np.ndarray, threshold: float) -> dict:
    """Per detection kind: count, whether it is a real kind, and the fraction selected at ``threshold``.

    For a real kind the fraction selected is its completeness; for a bogus
    kind, its false-positive rate.  ``above_0.99`` is the fraction scored
    above 0.99 (for a bogus kind: confidently wrong).
    """
    out = {}
    for name in np.unique(kind):
        rows = kind == name
        selected = scores[rows] >= threshold
        real = bool(is_real[rows].mean() >= 0.5)
        out[str(name)] = {
            "count": int(rows.sum()),
            "real": real,
            "selected_fraction": float(selected.mean()),
            "mean_score": float(scores[rows].mean()),
            "above_0.99": float(np.mean(scores[rows] > 0.99)),
            ("completeness" if real else "fpr"): float(selected.mean()),
        }
    return out


def snr_bin_summary(
    scores: np.ndarray, is_real: np.ndarray, snr: np.ndarray, edges: Sequence[float], threshold: float
) -> list[dict]:
    """`~lsst.meas.realbogus.evaluation.metrics.threshold_summary` in each absolute S/N bin.

    ``edges`` are increasing lower edges; the last bin is open.
    """
    out = []
    uppers = list(edges[1:]) + [math.inf]
    for lo, hi in zip(edges, uppers):
        rows = (np.abs(snr) >= lo) & (np.abs(snr) < hi)
        name = f"{lo:g}-{hi:g}" if math.isfinite(hi) else f">{lo:g}"
        bounds = {"bin": name, "low": float(lo), "high": float(hi)}
        out.append(bounds | threshold_summary(scores[rows], is_real[rows], threshold))
    return out


def evaluate_scores(
    scores: np.ndarray,
    is_real: np.ndarray,
    kind: np.ndarray,
    snr: np.ndarray,
    threshold: float,
    *,
    snr_cuts: Sequence[float] = (5.0, 6.0),
    snr_bins: Sequence[float] = (0.0, 5.0, 6.0, 8.0, 10.0, 20.0, 50.0),
    target_fpr: float = 0.01,
    target_mdr: float = 0.01,
    required_completeness: float = 0.90,
    required_purity: float = 0.95,
    calibration_bins: int = 10,
) -> tuple[dict, dict[str, Curves]]:
    """Every metric of a set of scored detections.

    Parameters
    ----------
    scores, is_real, kind, snr : `numpy.ndarray`
        One entry per scored detection (finite scores).
    threshold : `float`
        Score threshold.
    snr_cuts : sequence of `float`
        Also report every metric above each of these absolute S/N.
    snr_bins : sequence of `float`
        Increasing edges of the absolute S/N bins (the last bin is open).
    target_fpr : `float`
        False-positive rate of the missed-detection rate given.
    target_mdr : `float`
        Missed-detection rate of the false-positive rate given.
    required_completeness, required_purity : `float`
        The requirement point (OSS-REQ-0353: 0.90 and 0.95).
    calibration_bins : `int`
        Score bins of the calibration table.

    Returns
    -------
    metrics : `dict`
        ``overall`` and ``snr>X`` summaries
        (`~lsst.meas.realbogus.evaluation.metrics.summarize_scores`),
        ``by_snr`` bins, ``by_kind``, ``calibration``.
    curves : `dict` [`str`, `~lsst.meas.realbogus.evaluation.metrics.Curves`]
        Curves of the overall set and of each S/N cut with both classes, for
        the plots.
    """
    subsets = {"overall": np.ones(len(scores), dtype=bool)}
    for cut in snr_cuts:
        subsets[f"snr>{cut:g}"] = np.abs(snr) > cut
    targets = dict(fpr=target_fpr, mdr=target_mdr, completeness=required_completeness, purity=required_purity)
    metrics: dict[str, Any] = {}
    curves = {}
    for name, rows in subsets.items():
        if rows.sum() == 0:
            metrics[name] = {"count": 0}
            continue
        metrics[name] = summarize_scores(scores[rows], is_real[rows], threshold, **targets)
        if is_real[rows].any() and not is_real[rows].all():
            curves[name] = score_curves(scores[rows], is_real[rows])
    metrics["by_snr"] = snr_bin_summary(scores, is_real, snr, list(snr_bins), threshold)
    metrics["by_kind"] = kind_summary(scores, is_real, kind, threshold)
    metrics["calibration"] = calibration(scores, is_real, calibration_bins)
    return metrics, curves


def desom_summary(
    scores: np.ndarray,
    is_real: np.ndarray,
    kind: np.ndarray,
    desom: dict[str, np.ndarray],
    threshold: float,
    target_fpr: float = 0.01,
    target_mdr: float = 0.01,
) -> dict:
    """How the DESOM's prototype labelling and the stacked score classify, beside the scores.

    Parameters
    ----------
    scores, is_real, kind : `numpy.ndarray`
        The classifier's scores, the labels and the kinds of the scored rows.
    desom : `dict` [`str`, `numpy.ndarray`]
        The `DESOM_COLUMNS` of the same rows.
    threshold : `float`
        The classifier's threshold.
    target_fpr, target_mdr : `float`
        Targets of the stacked score's summary.

    Returns
    -------
    summary : `dict`
        ``prototypes``: the PV labelling as a classifier (a detection is
        called real when its PV is labelled real): ``count``, ``fpr``,
        ``mdr``, ``completeness``, ``purity``; ``stacked``: the stacked
        score's `~lsst.meas.realbogus.evaluation.metrics.summarize_scores`
        (if it was computed); ``unusual``: the fraction flagged unusual,
        overall and by kind.
    """
    placed = np.asarray(desom["desomPv"]) >= 0
    selected = np.asarray(desom["desomPvReal"], dtype=bool)
    real = is_real[placed]
    chosen = selected[placed]
    completeness, purity = (
        completeness_purity(chosen.astype(float), real, 0.5) if placed.any() else (np.nan,) * 2
    )
    out: dict[str, Any] = {
        "prototypes": {
            "count": int(placed.sum()),
            "fpr": float(chosen[~real].mean()) if (~real).any() else float("nan"),
            "mdr": float((~chosen[real]).mean()) if real.any() else float("nan"),
            "completeness": completeness,
            "purity": purity,
        }
    }
    stacked = np.asarray(desom["scoreStacked"], dtype=float)
    ok = np.isfinite(stacked)
    if ok.any():
        out["stacked"] = summarize_scores(stacked[ok], is_real[ok], threshold, fpr=target_fpr, mdr=target_mdr)
    unusual = np.asarray(desom["flag_unusual"], dtype=bool)
    out["unusual"] = {"fraction": float(unusual.mean()) if len(unusual) else float("nan")} | {
        str(name): float(unusual[kind == name].mean()) for name in np.unique(kind)
    }
    return out


def prototype_summary(
    scores: np.ndarray, is_real: np.ndarray, pv: np.ndarray, n_prototypes: int, threshold: float
) -> dict:
    """How a classifier does on each PV (seed 000 section 5.2): counts and its errors there.

    Returns
    -------
    summary : `dict`
        Lists of length ``n_prototypes``: ``count``, ``real``,
        ``mean_score``, ``false_positives`` (bogus members scored at or
        above ``threshold``), ``false_negatives`` (real members below it)
        and ``error_rate`` (both over the members; NaN for empty PVs).
    """
    pv = np.asarray(pv)
    placed = pv >= 0
    pv, scores, is_real = (
        pv[placed],
        np.asarray(scores, dtype=float)[placed],
        np.asarray(is_real, bool)[placed],
    )
    selected = scores >= threshold
    count = np.bincount(pv, minlength=n_prototypes)[:n_prototypes]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(pv, scores, minlength=n_prototypes)[:n_prototypes] / count
        fp = np.bincount(pv[~is_real & selected], minlength=n_prototypes)[:n_prototypes]
        fn = np.bincount(pv[is_real & ~selected], minlength=n_prototypes)[:n_prototypes]
        error = (fp + fn) / count
    return {
        "count": count.tolist(),
        "real": np.bincount(pv[is_real], minlength=n_prototypes)[:n_prototypes].tolist(),
        "mean_score": mean.tolist(),
        "false_positives": fp.tolist(),
        "false_negatives": fn.tolist(),
        "error_rate": error.tolist(),
    }


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by `None` (JSON's null).

    Python's `json` writes such floats as ``NaN`` and ``Infinity``, which
    strict JSON readers reject.  Dictionaries, lists and tuples are copied.
    """
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
