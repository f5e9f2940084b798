"""Classification metrics of real/bogus scores (pure numpy).

Conventions: a detection is selected (called real) when ``score >= threshold``.
Completeness is the fraction of real detections selected (recall, true
positive rate), purity the fraction of selected detections that are real
(precision), the false-positive rate (FPR) the fraction of bogus detections
selected, and the missed-detection rate (MDR, false-negative rate) the
fraction of real detections not selected, so MDR = 1 - completeness.
"""

from __future__ import annotations

__all__ = (
    "Curves",
    "calibration",
    "completeness_purity",
    "fpr_at_mdr",
    "mdr_at_fpr",
    "requirement_threshold",
    "roc_auc",
    "score_curves",
    "summarize_scores",
    "threshold_summary",
)

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata


def _as_arrays(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=bool)
    if scores.shape != labels.shape or scores.ndim != 1:
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} must be 1-d and of one length")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite (drop unscored rows first)")
    return scores, labels


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (the probability that a real scores above a bogus; ties count half).

    Returns NaN when one class is absent.
    """
    scores, labels = _as_arrays(scores, labels)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def completeness_purity(scores: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[float, float]:
    """Completeness (recall of reals) and purity (precision) of ``score >= threshold``.

    Completeness is NaN without reals; purity is NaN when nothing is selected.
    """
    scores, labels = _as_arrays(scores, labels)
    selected = scores >= threshold
    true_pos = int(np.sum(selected & labels))
    n_real, n_selected = int(labels.sum()), int(selected.sum())
    completeness = true_pos / n_real if n_real else float("nan")
    purity = true_pos / n_selected if n_selected else float("nan")
    return completeness, purity


@dataclass(frozen=True)
class Curves:
    """Operating points at every distinct score, thresholds decreasing.

    Attributes
    ----------
    threshold : `numpy.ndarray`
        Distinct scores, decreasing; point ``i`` selects ``score >= threshold[i]``.
    true_positives, false_positives : `numpy.ndarray`
        Real and bogus detections selected at each threshold.
    n_real, n_bogus : `int`
        Totals.
    """

    threshold: np.ndarray
    true_positives: np.ndarray
    false_positives: np.ndarray
    n_real: int
    n_bogus: int

    @property
    def completeness(self) -> np.ndarray:
        """True-positive rate at each threshold."""
        return self.true_positives / max(self.n_real, 1)

    @property
    def fpr(self) -> np.ndarray:
        """False-positive rate at each threshold."""
        return self.false_positives / max(self.n_bogus, 1)

    @property
    def mdr(self) -> np.ndarray:
        """Missed-detection (false-negative) rate at each threshold."""
        return 1.0 - self.completeness

    @property
    def purity(self) -> np.ndarray:
        """Precision at each threshold."""
        return self.true_positives / np.maximum(self.true_positives + self.false_positives, 1)


def score_curves(scores: np.ndarray, labels: np.ndarray) -> Curves:
    """ROC, precision-recall and DET curves: counts at every distinct score."""
    scores, labels = _as_arrays(scores, labels)
    order = np.argsort(-scores, kind="stable")
    s, lab = scores[order], labels[order]
    tp = np.cumsum(lab)
    fp = np.cumsum(~lab)
    # The last index of each run of equal scores is where that threshold's counts are complete.
    last = np.flatnonzero(np.r_[s[1:] != s[:-1], True]) if len(s) else np.array([], dtype=int)
    return Curves(s[last], tp[last], fp[last], int(labels.sum()), int((~labels).sum()))


def mdr_at_fpr(scores: np.ndarray, labels: np.ndarray, fpr: float = 0.01) -> tuple[float, float]:
    """Missed-detection rate at the lowest threshold whose false-positive rate is at most ``fpr``.

    This is the figure of merit of Mong et al. (GOTO) and of the DESOM paper.

    Returns
    -------
    mdr : `float`
        Missed-detection rate (NaN if a class is absent).
    threshold : `float`
        The threshold (``score >= threshold`` is selected).
    """
    curves = score_curves(scores, labels)
    if not curves.n_real or not curves.n_bogus:
        return float("nan"), float("nan")
    ok = np.flatnonzero(curves.fpr <= fpr)
    if not len(ok):
        return 1.0, float(np.nextafter(curves.threshold[0], np.inf))
    i = ok[-1]
    return float(curves.mdr[i]), float(curves.threshold[i])


def fpr_at_mdr(scores: np.ndarray, labels: np.ndarray, mdr: float = 0.01) -> tuple[float, float]:
    """False-positive rate at the highest threshold whose missed-detection rate is at most ``mdr``.

    Returns
    -------
    fpr : `float`
        False-positive rate (NaN if a class is absent).
    threshold : `float`
        The threshold.
    """
    curves = score_curves(scores, labels)
    if not curves.n_real or not curves.n_bogus:
        return float("nan"), float("nan")
    i = np.flatnonzero(curves.mdr <= mdr)[0]
    return float(curves.fpr[i]), float(curves.threshold[i])


def requirement_threshold(
    scores: np.ndarray, labels: np.ndarray, completeness: float = 0.90, purity: float = 0.95
) -> dict:
    """The threshold that best meets a completeness and purity requirement (OSS-REQ-0353).

    Among thresholds with purity at least ``purity``, the lowest (the most
    complete) is chosen; the requirement is met if its completeness is at
    least ``completeness``.

    Returns
    -------
    result : `dict`
        ``threshold`` (NaN if no threshold reaches the purity),
        ``completeness``, ``purity`` at it, and ``met`` (`bool`).
    """
    curves = score_curves(scores, labels)
    ok = np.flatnonzero(curves.purity >= purity) if curves.n_real else np.array([], dtype=int)
    if not len(ok):
        return {"threshold": float("nan"), "completeness": 0.0, "purity": float("nan"), "met": False}
    i = ok[-1]
    return {
        "threshold": float(curves.threshold[i]),
        "completeness": float(curves.completeness[i]),
        "purity": float(curves.purity[i]),
        "met": bool(curves.completeness[i] >= completeness),
    }


def calibration(scores: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict:
    """Reliability of scores read as probabilities, with the expected calibration error.

    Scores are binned on ``bins`` equal intervals of [0, 1]; the expected
    calibration error (ECE) is the count-weighted mean of
    ``|fraction real - mean score|`` over the bins.

    Returns
    -------
    result : `dict`
        ``edges`` (bins + 1), per bin ``count``, ``mean_score`` and
        ``fraction_real`` (NaN in empty bins), and ``ece``.
    """
    scores, labels = _as_arrays(scores, labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_score = np.bincount(which, scores, minlength=bins) / count
        fraction_real = np.bincount(which, labels.astype(float), minlength=bins) / count
    filled = count > 0
    ece = float(
        np.sum(count[filled] * np.abs(fraction_real[filled] - mean_score[filled])) / max(len(scores), 1)
    )
    return {
        "edges": edges.tolist(),
        "count": count.tolist(),
        "mean_score": mean_score.tolist(),
        "fraction_real": fraction_real.tolist(),
        "ece": ece,
    }


def threshold_summary(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict:
    """Counts, AUC, and completeness, purity and false-positive rate at ``threshold``.

    Returns
    -------
    summary : `dict`
        ``count``, ``real``, ``bogus``, ``auc``, ``completeness``,
        ``purity`` and ``fpr`` (NaN where undefined).
    """
    scores, labels = _as_arrays(scores, labels)
    comp, pur = completeness_purity(scores, labels, threshold)
    n_bogus = int((~labels).sum())
    false_positives = int(np.sum((scores >= threshold) & ~labels))
    return {
        "count": int(len(scores)),
        "real": int(labels.sum()),
        "bogus": n_bogus,
        "auc": roc_auc(scores, labels),
        "completeness": comp,
        "purity": pur,
        "fpr": false_positives / n_bogus if n_bogus else float("nan"),
    }


def summarize_scores(
    scores: np.ndarray,
    labels: np.ndarray,
    threshold: float,
    *,
    fpr: float = 0.01,
    mdr: float = 0.01,
    completeness: float = 0.90,
    purity: float = 0.95,
) -> dict:
    """Every scalar metric of a set of scores, as a plain `dict` (for JSON/YAML).

    Returns
    -------
    summary : `dict`
        ``count``, ``real``, ``bogus``, ``auc``, ``threshold``,
        ``completeness``, ``purity``, ``fpr`` and ``accuracy`` at the
        threshold, ``mdr_at_fpr`` and its threshold, ``fpr_at_mdr`` and its
        threshold, and ``requirement`` (see `requirement_threshold`).
    """
    scores, labels = _as_arrays(scores, labels)
    mdr_value, mdr_threshold = mdr_at_fpr(scores, labels, fpr)
    fpr_value, fpr_threshold = fpr_at_mdr(scores, labels, mdr)
    return threshold_summary(scores, labels, threshold) | {
        "threshold": float(threshold),
        "accuracy": float(np.mean((scores >= threshold) == labels)) if len(scores) else float("nan"),
        f"mdr_at_fpr_{fpr:g}": mdr_value,
        f"mdr_at_fpr_{fpr:g}_threshold": mdr_threshold,
        f"fpr_at_mdr_{mdr:g}": fpr_value,
        f"fpr_at_mdr_{mdr:g}_threshold": fpr_threshold,
        "requirement": {"target_completeness": completeness, "target_purity": purity}
        | requirement_threshold(scores, labels, completeness, purity),
    }
