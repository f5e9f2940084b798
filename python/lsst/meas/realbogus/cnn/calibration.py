"""Calibrating a classifier's logits on held-out rows: a temperature and an offset.

A network trained with class weights (real weighted by the bogus-to-real
ratio) and to a low loss is over-confident and biased towards "real": its
sigmoid is not a probability.  Scaling its logit ``z`` to ``z / T + b``, with
``T`` and ``b`` fitted by maximum likelihood on the validation rows (Platt
scaling; with ``b = 0`` it is the temperature scaling of Guo et al. 2017),
makes it one for data like those rows, without changing the order of the
scores.
"""

from __future__ import annotations

__all__ = ("Calibration", "fit_calibration")

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """``calibrated logit = logit / temperature + offset``."""

    temperature: float
    offset: float

    def apply(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated logits (float64)."""
        return np.asarray(logits, dtype=np.float64) / self.temperature + self.offset


def _loss(z: np.ndarray, y: np.ndarray, a: float, b: float) -> float:
    t = a * z + b
    # Mean binary cross-entropy of sigmoid(t), stable for large |t|.
    return float(np.mean(np.logaddexp(0.0, t) - y * t))


def fit_calibration(
    logits: np.ndarray,
    labels: np.ndarray,
    *,
    with_offset: bool = True,
    iterations: int = 50,
    min_temperature: float = 0.05,
) -> Calibration:
    """The temperature (and offset) that minimize the cross-entropy of ``sigmoid(z / T + b)``.

    Newton's method on ``(1 / T, b)`` (a logistic regression on one
    feature, whose loss is convex), with step halving.  For rows the logits
    separate perfectly the likelihood has no maximum; the temperature is then
    kept at or above ``min_temperature``.

    Parameters
    ----------
    logits : `numpy.ndarray`
        ``(N,)`` logits of held-out rows.
    labels : `numpy.ndarray`
        ``(N,)`` bool, real.
    with_offset : `bool`
        Fit the offset too; `False`: temperature only (``b = 0``).
    iterations : `int`
        Maximum Newton steps.
    min_temperature : `float`
        Smallest temperature returned.

    Raises
    ------
    ValueError
        If the rows are not finite, or lack a class, or the fitted
        temperature is not positive (logits that order the rows backwards).
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=bool).astype(np.float64)
    if z.shape != y.shape or z.ndim != 1:
        raise ValueError(f"logits and labels must be 1-d of one length, got {z.shape} and {y.shape}")
    if not np.isfinite(z).all():
        raise ValueError("cannot calibrate on non-finite logits")
    if y.all() or not y.any():
        raise ValueError("cannot calibrate on rows of one class")
    a, b = 1.0, 0.0
    loss = _loss(z, y, a, b)
    for _ in range(iterations):
        with np.errstate(over="ignore"):
            p = 1.0 / (1.0 + np.exp(-(a * z + b)))
        r = p - y
        w = p * (1.0 - p) + 1e-12
        if with_offset:
            gradient = np.array([np.mean(r * z), np.mean(r)])
            hessian = np.array([[np.mean(w * z * z), np.mean(w * z)], [np.mean(w * z), np.mean(w)]])
            step = np.linalg.solve(hessian + 1e-9 * np.eye(2), gradient)
        else:
            step = np.array([np.mean(r * z) / np.mean(w * z * z), 0.0])
        scale = 1.0
        while scale > 1e-6:
            new = _loss(z, y, a - scale * step[0], b - scale * step[1])
            if new <= loss:
                break
            scale /= 2
        else:
            break
        a, b = min(a - scale * step[0], 1.0 / min_temperature), b - scale * step[1]
        new = _loss(z, y, a, b)
        done = loss - new < 1e-12
        loss = new
        if done:
            break
    if not a > 0:
        raise ValueError(f"the fitted inverse temperature is {a:.3g}: the logits order the rows backwards")
    return Calibration(temperature=float(1.0 / a), offset=float(b))
