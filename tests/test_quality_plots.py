"""Figures of exposure quality (quality/plots.py)."""

from __future__ import annotations

import numpy as np
from lsst.meas.realbogus.quality.plots import plot_cell_members, plot_density_beside_image, plot_label_map
from matplotlib.figure import Figure


def test_figures_are_drawn():
    rng = np.random.default_rng(0)
    preview = rng.normal(size=(64, 64)).astype(np.float32)
    preview[:4] = np.nan
    figure = plot_density_beside_image(preview, rng.poisson(3, 25).astype(float), (5, 5), "one exposure")
    assert isinstance(figure, Figure) and len(figure.axes) == 4  # image, map, colour bar, vector
    counts = rng.integers(0, 3, (6, 3))
    labels = ["good", "", "focus", "tracking", "good", "good"]
    assert isinstance(plot_label_map(counts, labels, ["good", "tracking", "focus"], (2, 3)), Figure)
    members = plot_cell_members([preview] * 4, ["a", "b", "c", "d"], "cell 3")
    assert sum(ax.has_data() for ax in members.axes) == 4
