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


def test_score_histograms(tmp_path):
    # PV 0: every score in the last bin; PV 1: two in the first bin, one in the middle; PV 2-3: empty.
    pv = np.array([0, 0, 1, 1, 1, -1])
    scores = np.array([0.99, 1.0, 0.0, 0.05, 0.55, 0.5])
    image = plots.score_histogram_image(pv, scores, (2, 2), bins=4)
    assert image.shape == (8, 8)
    pv0, pv1 = image[:4, :4], image[:4, 4:]
    assert pv0[:, 3].tolist() == [1, 1, 1, 1] and not pv0[:, :3].any()  # full column at score 1
    # log(1 + 1) / log(1 + 2) = 0.63 of the fullest bin: the lower 3 of 4 levels (0.125, 0.375, 0.625).
    assert pv1[:, 0].tolist() == [1, 1, 1, 1] and pv1[:, 2].tolist() == [0, 1, 1, 1]
    assert np.isnan(image[4:]).all()  # empty PVs
    figure = plots.plot_score_histograms(pv, scores, (2, 2), "scores per PV", bins=4)
    assert _saved(figure, tmp_path, "hist") > 500
