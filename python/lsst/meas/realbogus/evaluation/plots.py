"""Evaluation plots of real/bogus scores (matplotlib figures, no pyplot state)."""

from __future__ import annotations

__all__ = (
    "plot_by_kind",
    "plot_by_snr",
    "plot_calibration",
    "plot_det",
    "plot_precision_recall",
    "plot_roc",
    "plot_saliency",
    "plot_score_distributions",
)

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from scipy.stats import norm

from .metrics import Curves


def _figure(width: float = 5.5, height: float = 4.5) -> tuple[Figure, object]:
    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def plot_roc(curves: Mapping[str, Curves], aucs: Mapping[str, float], title: str = "") -> Figure:
    """ROC curves (completeness against false-positive rate) of each subset, log FPR axis."""
    figure, ax = _figure()
    for name, c in curves.items():
        fpr = np.r_[0.0, c.fpr]
        ax.plot(np.maximum(fpr, 1e-5), np.r_[0.0, c.completeness], label=f"{name} (AUC {aucs[name]:.4f})")
    ax.axvline(0.01, color="grey", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("completeness (true-positive rate)")
    ax.set_title(title or "ROC")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(alpha=0.3)
    return figure


def plot_precision_recall(
    curves: Mapping[str, Curves],
    requirement: tuple[float, float] = (0.90, 0.95),
    operating: Mapping[str, tuple[float, float]] | None = None,
    title: str = "",
) -> Figure:
    """Purity against completeness of each subset, with the OSS-REQ-0353 point drawn as a red cross.

    ``operating`` maps subset names to the (completeness, purity) at the chosen threshold.
    """
    figure, ax = _figure()
    for name, c in curves.items():
        (line,) = ax.plot(c.completeness, c.purity, label=name)
        if operating and name in operating:
            ax.plot(*operating[name], "o", color=line.get_color(), ms=5)
    ax.plot(*requirement, "x", color="red", ms=12, mew=3, label=f"OSS-REQ-0353 {requirement}")
    ax.set_xlim(0.5, 1.005)
    ax.set_ylim(0.5, 1.005)
    ax.set_xlabel("completeness (recall)")
    ax.set_ylabel("purity (precision)")
    ax.set_title(title or "precision-recall (dots: chosen threshold)")
    ax.legend(loc="lower left", fontsize="small")
    ax.grid(alpha=0.3)
    return figure


def plot_det(curves: Mapping[str, Curves], fpr_mark: float = 0.01, title: str = "") -> Figure:
    """Detection-error trade-off: missed-detection against false-positive rate on normal-deviate axes."""
    figure, ax = _figure()
    clip = 1e-5
    ticks = np.array([1e-4, 1e-3, 0.01, 0.05, 0.2, 0.5, 0.8])
    for name, c in curves.items():
        ax.plot(
            norm.ppf(np.clip(c.fpr, clip, 1 - clip)), norm.ppf(np.clip(c.mdr, clip, 1 - clip)), label=name
        )
    ax.axvline(norm.ppf(fpr_mark), color="grey", ls=":", lw=1)
    ax.set_xticks(norm.ppf(ticks), [f"{t:g}" for t in ticks])
    ax.set_yticks(norm.ppf(ticks), [f"{t:g}" for t in ticks])
    ax.set_xlim(norm.ppf(clip), norm.ppf(0.9))
    ax.set_ylim(norm.ppf(clip), norm.ppf(0.9))
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("missed-detection rate")
    ax.set_title(title or f"DET (dotted: FPR {fpr_mark:g})")
    ax.legend(loc="upper right", fontsize="small")
    ax.grid(alpha=0.3)
    return figure


def plot_calibration(calibration: Mapping, title: str = "") -> Figure:
    """Reliability diagram: fraction real against mean score per bin, with counts and the ECE."""
    figure = Figure(figsize=(5.5, 5.5), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    edges = np.asarray(calibration["edges"])
    centres = 0.5 * (edges[1:] + edges[:-1])
    top.plot([0, 1], [0, 1], color="grey", ls=":")
    top.plot(calibration["mean_score"], calibration["fraction_real"], "o-")
    top.set_ylabel("fraction real")
    top.set_title(title or f"reliability (ECE {calibration['ece']:.4f})")
    top.grid(alpha=0.3)
    bottom.bar(centres, calibration["count"], width=np.diff(edges), edgecolor="k")
    bottom.set_yscale("log")
    bottom.set_xlabel("score")
    bottom.set_ylabel("count")
    return figure


def plot_by_snr(bins: Sequence[Mapping], threshold: float, title: str = "") -> Figure:
    """Completeness, purity and false-positive rate at the threshold in each S/N bin."""
    figure, ax = _figure(6.5, 4.5)
    labels = [b["bin"] for b in bins]
    x = np.arange(len(bins))
    for key, marker in (("completeness", "o-"), ("purity", "s-"), ("fpr", "^-")):
        ax.plot(x, [b[key] for b in bins], marker, label=key)
    ax.set_xticks(x, labels, rotation=30)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("absolute S/N bin")
    ax.set_title(title or f"by S/N at threshold {threshold:.3g}")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return figure


def plot_by_kind(kinds: Mapping[str, Mapping], threshold: float, title: str = "") -> Figure:
    """Fraction of each detection kind called real at the threshold (real kinds: completeness)."""
    names = sorted(kinds, key=lambda k: (not kinds[k]["real"], k))
    figure, ax = _figure(7.0, 4.5)
    colors = ["tab:green" if kinds[k]["real"] else "tab:red" for k in names]
    ax.bar(np.arange(len(names)), [kinds[k]["selected_fraction"] for k in names], color=colors)
    for i, k in enumerate(names):
        ax.text(i, 1.01, str(kinds[k]["count"]), ha="center", fontsize="x-small")
    ax.set_xticks(np.arange(len(names)), names, rotation=40, ha="right")
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("fraction scored real")
    ax.set_title(title or f"by kind at threshold {threshold:.3g} (green: real kinds; counts above)")
    ax.grid(alpha=0.3, axis="y")
    return figure


def plot_saliency(
    cutouts: np.ndarray, saliency: np.ndarray, channels: Sequence[str], captions: Sequence[str]
) -> Figure:
    """Each sampled detection's cutouts (top of a pair of rows) over their saliency maps (bottom)."""
    n, c = cutouts.shape[:2]
    figure = Figure(figsize=(1.6 * c + 0.5, 3.2 * max(n, 1)), layout="constrained")
    axes = figure.subplots(2 * n, c, squeeze=False)
    for i in range(n):
        peak = float(saliency[i].max()) or 1.0
        for j in range(c):
            image_ax, map_ax = axes[2 * i, j], axes[2 * i + 1, j]
            lo, hi = np.percentile(cutouts[i, j], [1, 99.5])
            image_ax.imshow(
                cutouts[i, j], origin="lower", cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1
            )
            map_ax.imshow(saliency[i, j], origin="lower", cmap="inferno", vmin=0, vmax=peak)
            for ax in (image_ax, map_ax):
                ax.set_xticks([])
                ax.set_yticks([])
            if i == 0:
                image_ax.set_title(channels[j], fontsize="small")
        axes[2 * i, 0].set_ylabel(captions[i], fontsize="x-small")
        axes[2 * i + 1, 0].set_ylabel("saliency", fontsize="x-small")
    return figure


def plot_score_distributions(
    scores: np.ndarray, is_real: np.ndarray, threshold: float = 0.5, title: str = ""
) -> Figure:
    """Histograms of the scores of bogus and real detections (log counts), with the threshold."""
    scores = np.asarray(scores, dtype=float)
    is_real = np.asarray(is_real, dtype=bool)
    figure, ax = _figure(6.4, 4.2)
    bins = np.linspace(0, 1, 41)
    for rows, color, name in ((~is_real, "tab:red", "bogus"), (is_real, "tab:blue", "real")):
        ax.hist(
            scores[rows],
            bins=bins,
            histtype="stepfilled",
            alpha=0.5,
            color=color,
            label=f"{name} ({rows.sum()})",
        )
    ax.axvline(threshold, color="k", ls="--", lw=1, label=f"threshold {threshold:.2f}")
    ax.set_yscale("log")
    ax.set_xlabel("real/bogus score")
    ax.set_ylabel("diaSources")
    ax.set_title(title or "score distributions", fontsize=9)
    ax.legend()
    return figure
