"""DESOM figures: each is drawn from real inputs and saves as a PNG."""

from __future__ import annotations

import numpy as np
from lsst.meas.realbogus.desom import plots
from lsst.meas.realbogus.desom.labelling import switch_off_curve
from lsst.meas.realbogus.evaluation.metrics import score_curves
from matplotlib.figure import Figure


def _saved(figure: Figure, tmp_path, name: str) -> int:
    assert isinstance(figure, Figure) and figure.axes
    figure.savefig(tmp_path / f"{name}.png", dpi=40)
    return (tmp_path / f"{name}.png").stat().st_size


def test_map_figures(tmp_path):
    rng = np.random.default_rng(0)
    shape = (4, 5)
    decoded = rng.random((20, 1, 16, 16))
    real = np.zeros(20, bool)
    real[[1, 7]] = True
    figure = plots.plot_decoded_map(decoded, shape, real)
    assert len(figure.axes[0].patches) == 2  # the two real PVs are framed
    n_real, n_bogus = rng.integers(0, 30, 20), rng.integers(0, 30, 20)
    figures = {
        "map": figure,
        "rec": plots.plot_reconstructions(decoded[:3], decoded[3:6], ["a", "b", "c"]),
        "ratio": plots.plot_ratio_map(n_real, n_bogus, shape),
        "u": plots.plot_u_matrix(rng.random(shape)),
        "pv": plots.plot_per_prototype(rng.random(20), n_real + n_bogus, shape, "x", "y"),
    }
    assert len(figures["rec"].axes) == 6
    for name, f in figures.items():
        assert _saved(f, tmp_path, name) > 500


def test_switch_off_roc(tmp_path):
    rng = np.random.default_rng(1)
    pv = rng.integers(0, 10, 500)
    is_real = pv < 3
    scores = np.clip(is_real * 0.7 + rng.random(500) * 0.3, 0, 1)
    curves = {f"p{p}": switch_off_curve(pv, scores, is_real, 10, p) for p in (50, 99)}
    figure = plots.plot_switch_off_roc(curves, score_curves(scores, is_real))
    assert len(figure.axes[0].lines) == 4  # two curves, the classifier, the FPR mark
    assert _saved(figure, tmp_path, "roc") > 500
