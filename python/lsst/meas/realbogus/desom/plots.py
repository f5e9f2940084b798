"""Figures of a DESOM (matplotlib figures, no pyplot state): seed 000 figures 9-12 and more."""

from __future__ import annotations

__all__ = (
    "plot_decoded_map",
    "plot_per_prototype",
    "plot_ratio_map",
    "plot_reconstructions",
    "plot_score_histograms",
    "score_histogram_image",
    "plot_switch_off_roc",
    "plot_u_matrix",
)

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..evaluation.metrics import Curves
from .labelling import SwitchOffCurve


def plot_decoded_map(
    decoded: np.ndarray, shape: tuple[int, int], real: np.ndarray | None = None, title: str = ""
) -> Figure:
    """Every prototype decoded to a thumbnail, on the map (seed 000 figure 9); real PVs framed in red.

    Parameters
    ----------
    decoded : `numpy.ndarray`
        ``(rows * cols, C, S, S)`` decoded prototypes (the first channel is drawn).
    shape : `tuple` [`int`, `int`]
        Map shape.
    real : `numpy.ndarray`, optional
        ``(rows * cols,)`` bool labelling.
    title : `str`
        Figure title (default: says what the frames mean).
    """
    rows, cols = shape
    size = decoded.shape[-1]
    mosaic = np.full((rows * (size + 1) + 1, cols * (size + 1) + 1), np.nan)
    for k in range(rows * cols):
        r, c = divmod(k, cols)
        mosaic[1 + r * (size + 1) : (r + 1) * (size + 1), 1 + c * (size + 1) : (c + 1) * (size + 1)] = (
            decoded[k, 0]
        )
    figure = Figure(figsize=(0.32 * cols + 1, 0.32 * rows + 1), layout="constrained")
    ax = figure.add_subplot()
    ax.imshow(mosaic, cmap="gray", origin="upper", interpolation="nearest", vmin=0, vmax=1)
    if real is not None:
        for k in np.flatnonzero(real):
            r, c = divmod(int(k), cols)
            ax.add_patch(
                Rectangle(
                    (c * (size + 1) + 0.5, r * (size + 1) + 0.5), size, size, fill=False, ec="red", lw=1
                )
            )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"decoded prototypes ({rows}x{cols}; red: labelled real)")
    return figure


def plot_reconstructions(
    thumbnails: np.ndarray, decoded_pv: np.ndarray, captions: list[str], title: str = ""
) -> Figure:
    """Input thumbnails (top) above their decoded PVs (bottom), seed 000 figure 10."""
    n = len(thumbnails)
    figure = Figure(figsize=(1.3 * n + 0.5, 3.0), layout="constrained")
    axes = figure.subplots(2, n, squeeze=False)
    for i in range(n):
        axes[0, i].imshow(thumbnails[i, 0], cmap="gray", vmin=0, vmax=1, origin="lower")
        axes[1, i].imshow(decoded_pv[i, 0], cmap="gray", vmin=0, vmax=1, origin="lower")
        axes[0, i].set_title(captions[i], fontsize="x-small")
        for ax in axes[:, i]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("input", fontsize="small")
    axes[1, 0].set_ylabel("its PV", fontsize="small")
    figure.suptitle(title or "thumbnails and their decoded prototypes", fontsize="small")
    return figure


def _map_image(ax, values: np.ndarray, shape: tuple[int, int], cmap: str, label: str, **kwargs) -> None:
    image = ax.imshow(np.asarray(values, dtype=float).reshape(shape), cmap=cmap, origin="upper", **kwargs)
    ax.figure.colorbar(image, ax=ax, label=label, shrink=0.85)
    ax.set_xlabel("map column")
    ax.set_ylabel("map row")


def plot_ratio_map(n_real: np.ndarray, n_bogus: np.ndarray, shape: tuple[int, int]) -> Figure:
    """log10 of ``P(real | PV) / P(bogus | PV)`` on the map (seed 000 figure 11), with member counts."""
    figure = Figure(figsize=(11, 4.8), layout="constrained")
    left, right = figure.subplots(1, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log10((n_real + 0.5) / (n_bogus + 0.5))
    ratio[(n_real + n_bogus) == 0] = np.nan
    _map_image(left, ratio, shape, "coolwarm", "log10 real/bogus ratio (+0.5 each)", vmin=-2, vmax=2)
    left.set_title("real to bogus ratio per PV")
    _map_image(right, np.log10(n_real + n_bogus + 1), shape, "viridis", "log10(members + 1)")
    right.set_title("members per PV")
    return figure


def plot_switch_off_roc(
    curves: Mapping[str, SwitchOffCurve], classifier: Curves | None = None, target_fpr: float = 0.01
) -> Figure:
    """ROC curves of switching PVs off in score order (seed 000 figure 12), beside the classifier's ROC.

    ``curves`` maps a name (e.g. the score percentile) to its switch-off curve.
    """
    figure = Figure(figsize=(6, 4.6), layout="constrained")
    ax = figure.add_subplot()
    for name, c in curves.items():
        ax.plot(np.maximum(c.fpr, 1e-5), c.mdr, label=f"PVs off by {name}")
    if classifier is not None:
        ax.plot(np.maximum(classifier.fpr, 1e-5), classifier.mdr, "k--", label="classifier")
    ax.axvline(target_fpr, color="grey", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1)
    ax.set_ylim(0, 0.5)
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("missed-detection rate")
    ax.set_title("switching PVs off one by one")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return figure


def plot_u_matrix(u: np.ndarray) -> Figure:
    """The U-matrix: mean distance of each prototype to its grid neighbours (high: cluster borders)."""
    figure = Figure(figsize=(5.6, 4.8), layout="constrained")
    ax = figure.add_subplot()
    _map_image(ax, u, u.shape, "magma", "mean distance to neighbours")
    ax.set_title("U-matrix")
    return figure


def plot_per_prototype(
    values: np.ndarray,
    counts: np.ndarray,
    shape: tuple[int, int],
    label: str,
    title: str,
    cmap: str = "viridis",
) -> Figure:
    """A per-PV quantity on the map (e.g. a median score or an error rate), beside the counts."""
    figure = Figure(figsize=(11, 4.8), layout="constrained")
    left, right = figure.subplots(1, 2)
    values = np.where(np.asarray(counts) > 0, values, np.nan)
    _map_image(left, values, shape, cmap, label)
    left.set_title(title)
    _map_image(right, np.log10(np.asarray(counts) + 1), shape, "Greys", "log10(detections + 1)")
    right.set_title("detections per PV")
    return figure


def score_histogram_image(
    pv: np.ndarray, scores: np.ndarray, shape: tuple[int, int], bins: int = 10
) -> np.ndarray:
    """One small histogram of the members' scores per PV, tiled as the map.

    Returns
    -------
    image : `numpy.ndarray`
        ``(rows * bins, cols * bins)``: in each PV's ``bins x bins`` cell,
        column ``j`` is filled from the bottom to the height of bin ``j`` of
        [0, 1]: ``log(1 + n_j) / log(1 + max n)`` of the PV's members, so
        that a few members beside many still show; NaN for an empty PV.
    """
    rows, cols = shape
    pv = np.asarray(pv)
    scores = np.asarray(scores, dtype=float)
    ok = (pv >= 0) & np.isfinite(scores)
    which = np.clip((scores[ok] * bins).astype(int), 0, bins - 1)
    counts = np.zeros((rows * cols, bins))
    np.add.at(counts, (pv[ok], which), 1)
    peak = np.log1p(counts.max(axis=1, keepdims=True))
    height = np.divide(np.log1p(counts), peak, out=np.full_like(counts, np.nan), where=peak > 0)
    level = (np.arange(bins)[::-1] + 0.5) / bins  # the height each pixel row of a cell stands for
    cells = (height[:, None, :] >= level[None, :, None]).astype(float)  # (K, bins, bins)
    cells[np.isnan(height[:, 0])] = np.nan
    return cells.reshape(rows, cols, bins, bins).transpose(0, 2, 1, 3).reshape(rows * bins, cols * bins)


def plot_score_histograms(
    pv: np.ndarray, scores: np.ndarray, shape: tuple[int, int], title: str, bins: int = 10
) -> Figure:
    """The classifier's score distribution on every PV: a histogram per map cell, 0 to 1 left to right.

    Bar heights are logarithmic in the counts (`score_histogram_image`).
    """
    rows, cols = shape
    figure = Figure(figsize=(9, 9 * rows / cols + 0.6), layout="constrained")
    ax = figure.subplots()
    ax.imshow(
        score_histogram_image(pv, scores, shape, bins),
        cmap="Greys",
        vmin=-0.3,
        vmax=1.3,
        extent=(-0.5, cols - 0.5, rows - 0.5, -0.5),
        interpolation="nearest",
    )
    ax.set_xticks(np.arange(cols + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(rows + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("map column")
    ax.set_ylabel("map row")
    ax.set_title(title)
    return figure
