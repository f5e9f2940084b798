"""How well cell labels match known quality labels: confusion matrix, accuracy, "good" precision and recall.

As seed 002 (eq. 5) counts them: "good" is the positive class, every problem
class is "bad"; TP are good exposures labelled good, TN bad ones labelled any
problem.  An exposure that could not be placed (too few sources) counts as
labelled bad, since nobody would use it unseen.
"""

from __future__ import annotations

__all__ = ("UNPLACED", "confusion_matrix", "quality_metrics")

from collections.abc import Sequence

import numpy as np

UNPLACED = "unplaced"
"""Column of the confusion matrix for exposures with no cell."""


def confusion_matrix(truth: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """``(C, C + 1)`` counts: rows the true class, columns the label (the last: no label).

    Raises
    ------
    ValueError
        If a true class is unknown, or a label is neither a class nor empty.
    """
    index = {c: i for i, c in enumerate(classes)}
    truth = [str(t) for t in truth]
    predicted = [str(p) for p in predicted]
    bad = sorted(set(truth) - set(index)) + sorted(set(predicted) - set(index) - {""})
    if bad:
        raise ValueError(f"labels {bad} are not among the classes {list(classes)}")
    matrix = np.zeros((len(classes), len(classes) + 1), dtype=np.int64)
    for t, p in zip(truth, predicted, strict=True):
        matrix[index[t], index[p] if p else len(classes)] += 1
    return matrix


def quality_metrics(
    truth: Sequence[str], predicted: Sequence[str], classes: Sequence[str], good: str = "good"
) -> dict:
    """Multi-class and good-versus-bad figures of a labelling.

    Returns
    -------
    metrics : `dict`
        ``n``, ``accuracy`` (good versus bad), ``precision`` and ``recall``
        of ``good``, ``class_accuracy`` (exact class), ``recall_by_class``,
        ``confusion`` (``classes``, ``columns``, ``matrix``) and
        ``unplaced``.
    """
    matrix = confusion_matrix(truth, predicted, classes)
    g = list(classes).index(good)
    n = int(matrix.sum())
    tp = int(matrix[g, g])
    fn = int(matrix[g].sum() - tp)
    fp = int(matrix[:, g].sum() - tp)
    tn = n - tp - fn - fp
    rows = matrix.sum(axis=1)

    def ratio(a: float, b: float) -> float:
        return float(a / b) if b else float("nan")

    return {
        "n": n,
        "accuracy": ratio(tp + tn, n),
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "class_accuracy": ratio(np.trace(matrix[:, : len(classes)]), n),
        "recall_by_class": {c: ratio(matrix[i, i], rows[i]) for i, c in enumerate(classes)},
        "unplaced": int(matrix[:, -1].sum()),
        "confusion": {
            "classes": list(classes),
            "columns": [*classes, UNPLACED],
            "matrix": matrix.tolist(),
        },
    }
