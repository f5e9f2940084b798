"""Classification metrics (pure numpy)."""

from __future__ import annotations

__all__ = ("completeness_purity", "roc_auc")

import numpy as np
from scipy.stats import rankdata


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (the probability that a real scores above a bogus; ties count half).

    Returns NaN when one class is absent.
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def completeness_purity(scores: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[float, float]:
    """Completeness (recall of reals) and purity (precision) of ``score >= threshold``."""
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=bool)
    selected = scores >= threshold
    true_pos = int(np.sum(selected & labels))
    completeness = true_pos / max(int(labels.sum()), 1)
    purity = true_pos / max(int(selected.sum()), 1)
    return completeness, purity
