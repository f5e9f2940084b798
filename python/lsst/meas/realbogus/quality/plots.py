"""Figures of exposure quality (matplotlib figures, no pyplot state): seed 002 figures 7, 8, 10 and 11."""

from __future__ import annotations

__all__ = ("plot_cell_members", "plot_density_beside_image", "plot_label_map")

from collections.abc import Sequence

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

CLASS_COLOURS = ("tab:blue", "tab:orange", "tab:red", "tab:purple", "tab:green", "goldenrod", "tab:gray")


def _stretch(preview: np.ndarray) -> tuple[np.ndarray, float, float]:
    """An asinh stretch of a preview between its 1st and 99.5th percentiles."""
    finite = np.isfinite(preview)
    if not finite.any():
        return np.zeros_like(preview), 0.0, 1.0
    lo, hi = np.percentile(preview[finite], [1.0, 99.5])
    scale = max(hi - lo, 1e-12)
    return np.arcsinh((preview - lo) / scale * 10.0), 0.0, float(np.arcsinh(10.0))


def plot_density_beside_image(
    preview: np.ndarray, histogram: np.ndarray, map_shape: tuple[int, int], title: str = ""
) -> Figure:
    """An exposure's image beside its density map over DESOM-1 (seed 002 figures 7 and 8).

    Parameters
    ----------
    preview : `numpy.ndarray`
        Small image of the exposure (`~lsst.meas.realbogus.quality.sources.preview_image`).
    histogram : `numpy.ndarray`
        Its prototype histogram over DESOM-1's ``map_shape`` map.
    map_shape : `tuple` [`int`, `int`]
        DESOM-1's map shape.
    title : `str`
        Figure title.
    """
    figure = Figure(figsize=(10.0, 3.6), layout="constrained")
    ax_image, ax_map, ax_vector = figure.subplots(1, 3, width_ratios=[1.0, 1.0, 1.6])
    image, vmin, vmax = _stretch(np.asarray(preview, dtype=float))
    ax_image.imshow(image, cmap="gray", origin="lower", vmin=vmin, vmax=vmax)
    ax_image.set_title("image (binned)", fontsize="small")
    ax_image.set_xticks([])
    ax_image.set_yticks([])
    density = ax_map.imshow(np.asarray(histogram, dtype=float).reshape(map_shape), cmap="viridis")
    figure.colorbar(density, ax=ax_map, shrink=0.8, label="sources")
    ax_map.set_title("density map on DESOM-1", fontsize="small")
    ax_map.set_xlabel("map column")
    ax_map.set_ylabel("map row")
    ax_vector.bar(np.arange(len(histogram)), histogram, width=1.0, color="tab:blue")
    ax_vector.set_xlabel("DESOM-1 cell")
    ax_vector.set_ylabel("sources")
    ax_vector.set_title("histo-vector", fontsize="small")
    if title:
        figure.suptitle(title, fontsize="small")
    return figure


def plot_label_map(
    counts: np.ndarray, labels: Sequence[str], classes: Sequence[str], shape: tuple[int, int], title: str = ""
) -> Figure:
    """The DESOM-2 map coloured by cell label, with each cell's number of exposures (seed 002 figure 10).

    Parameters
    ----------
    counts : `numpy.ndarray`
        ``(cells, classes)`` exposures of each class on each cell.
    labels : sequence of `str`
        Each cell's label (``""``: none).
    classes : sequence of `str`
        Class names (the legend's order).
    shape : `tuple` [`int`, `int`]
        Map shape.
    title : `str`
        Figure title.
    """
    rows, cols = shape
    index = {c: i for i, c in enumerate(classes)}
    codes = np.array([index.get(v, len(classes)) for v in labels], dtype=float).reshape(shape)
    colours = list(CLASS_COLOURS[: len(classes)]) + ["white"]
    figure = Figure(figsize=(0.42 * cols + 3.0, 0.42 * rows + 1.0), layout="constrained")
    ax = figure.add_subplot()
    ax.imshow(codes, cmap=ListedColormap(colours), vmin=-0.5, vmax=len(classes) + 0.5, origin="upper")
    totals = np.asarray(counts).sum(axis=1).reshape(shape)
    purity = np.asarray(counts).max(axis=1).reshape(shape) / np.maximum(totals, 1)
    for r in range(rows):
        for c in range(cols):
            if totals[r, c]:
                ax.text(
                    c,
                    r,
                    str(int(totals[r, c])),
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="black" if purity[r, c] > 0.75 else "white",
                )
    handles = [ax.scatter([], [], marker="s", color=colours[i], label=c) for i, c in enumerate(classes)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    ax.set_xlabel("map column")
    ax.set_ylabel("map row")
    ax.set_title(
        title or "DESOM-2 cells by label (number: exposures; white text: mixed cell)", fontsize="small"
    )
    return figure


def plot_cell_members(previews: Sequence[np.ndarray], captions: Sequence[str], title: str) -> Figure:
    """Up to nine members of one cell, as images (seed 002 figures 11 to 17)."""
    n = min(len(previews), 9)
    figure = Figure(figsize=(7.0, 7.4), layout="constrained")
    axes = figure.subplots(3, 3, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        image, vmin, vmax = _stretch(np.asarray(previews[i], dtype=float))
        ax.imshow(image, cmap="gray", origin="lower", vmin=vmin, vmax=vmax)
        ax.set_title(captions[i], fontsize="x-small")
    figure.suptitle(title, fontsize="small")
    return figure
