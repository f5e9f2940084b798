"""A stacked score: the CNN's score combined with what the DESOM says of a detection.

Seed 000 (section 5.3) proposes, and leaves open, stacking a classifier with
the DESOM.  Here a logistic regression combines three features of each
detection: the CNN's logit, the fraction of real detections among its PV's
members in the labelling data (``P(real | PV)``; the overall fraction for an
empty PV) and the log of its distance to the PV.  It is fitted (scikit-learn)
on labelled detections the CNN did not train on, and stored as a few numbers
in the prototype labelling, so applying it needs only numpy.
"""

from __future__ import annotations

__all__ = ("FEATURES", "fit_stacker", "stacked_scores", "stacking_features")

import numpy as np

FEATURES = ("cnn_logit", "pv_real_fraction", "log_distance")
"""The stacked score's features, in order."""


def stacking_features(
    cnn_scores: np.ndarray, pv_real_fraction: np.ndarray, distance: np.ndarray, prior: float
) -> np.ndarray:
    """``(N, 3)`` features of `FEATURES` (NaN rows where an input is not finite).

    Parameters
    ----------
    cnn_scores : `numpy.ndarray`
        CNN scores in [0, 1].
    pv_real_fraction : `numpy.ndarray`
        ``P(real | PV)`` of each detection's PV (NaN for an empty PV).
    distance : `numpy.ndarray`
        Distance of each detection to its PV.
    prior : `float`
        Fraction of real detections overall (for empty PVs).
    """
    p = np.clip(np.asarray(cnn_scores, dtype=float), 1e-6, 1 - 1e-6)
    fraction = np.asarray(pv_real_fraction, dtype=float)
    fraction = np.where(np.isnan(fraction), prior, fraction)
    return np.column_stack([np.log(p / (1 - p)), fraction, np.log1p(np.asarray(distance, dtype=float))])


def fit_stacker(features: np.ndarray, is_real: np.ndarray, regularization: float = 1.0) -> dict:
    """Fit the stacked score's logistic regression on standardized features.

    Returns
    -------
    stacker : `dict`
        ``features``, ``mean``, ``scale``, ``coefficients``, ``intercept``,
        ``count``: plain numbers (for YAML).

    Raises
    ------
    ValueError
        If there are no finite rows or only one class.
    """
    from sklearn.linear_model import LogisticRegression

    features = np.asarray(features, dtype=float)
    is_real = np.asarray(is_real, dtype=bool)
    ok = np.all(np.isfinite(features), axis=1)
    features, is_real = features[ok], is_real[ok]
    if not len(features) or is_real.all() or not is_real.any():
        raise ValueError(
            f"cannot fit the stacked score on {len(features)} detections ({int(is_real.sum())} real)"
        )
    mean, scale = features.mean(0), features.std(0)
    scale = np.where(scale > 0, scale, 1.0)
    model = LogisticRegression(C=regularization).fit((features - mean) / scale, is_real)
    return {
        "features": list(FEATURES),
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coefficients": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
        "count": int(len(features)),
    }


def stacked_scores(stacker: dict, features: np.ndarray) -> np.ndarray:
    """The stacked score (float32 in [0, 1]; NaN where a feature is not finite)."""
    if list(stacker.get("features", [])) != list(FEATURES):
        raise ValueError(f"a stacked score of features {stacker.get('features')} is not {list(FEATURES)}")
    x = (np.asarray(features, dtype=float) - np.asarray(stacker["mean"])) / np.asarray(stacker["scale"])
    logit = x @ np.asarray(stacker["coefficients"]) + stacker["intercept"]
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp(-logit))).astype(np.float32)
