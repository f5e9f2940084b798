"""The evaluation's figures: each is drawn from real metrics and saves as a PNG."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus.evaluation import plots
from lsst.meas.realbogus.evaluation.report import evaluate_scores
from matplotlib.figure import Figure


@pytest.fixture(scope="module")
def report():
    rng = np.random.default_rng(4)
    n = 500
    is_real = rng.random(n) < 0.4
    scores = np.clip(rng.normal(is_real * 0.7 + 0.15, 0.2), 0, 1)
    kind = np.where(is_real, "host", "cosmic_ray")
    metrics, curves = evaluate_scores(scores, is_real, kind, rng.uniform(3, 50, n), 0.5)
    return scores, is_real, metrics, curves


def _saved(figure: Figure, tmp_path, name: str) -> int:
    assert isinstance(figure, Figure) and figure.axes
    path = tmp_path / f"{name}.png"
    figure.savefig(path, dpi=50)
    return path.stat().st_size


def test_curve_plots(report, tmp_path):
    _, _, metrics, curves = report
    aucs = {name: metrics[name]["auc"] for name in curves}
    roc = plots.plot_roc(curves, aucs)
    assert "AUC" in roc.axes[0].get_legend().get_texts()[0].get_text()
    assert len(roc.axes[0].lines) == len(curves) + 1  # the curves and the FPR mark
    pr = plots.plot_precision_recall(curves, (0.9, 0.95), {"overall": (0.8, 0.9)})
    assert any("OSS-REQ-0353" in t.get_text() for t in pr.axes[0].get_legend().get_texts())
    for name, figure in (("roc", roc), ("pr", pr), ("det", plots.plot_det(curves, 0.01))):
        assert _saved(figure, tmp_path, name) > 1000


def test_table_plots(report, tmp_path):
    scores, is_real, metrics, _ = report
    calibration = plots.plot_calibration(metrics["calibration"])
    assert "ECE" in calibration.axes[0].get_title() and len(calibration.axes) == 2
    snr = plots.plot_by_snr(metrics["by_snr"], 0.5)
    assert len(snr.axes[0].get_xticklabels()) == len(metrics["by_snr"])
    kind = plots.plot_by_kind(metrics["by_kind"], 0.5)
    assert [t.get_text() for t in kind.axes[0].get_xticklabels()] == [
        "host",
        "cosmic_ray",
    ]  # real kinds first
    distributions = plots.plot_score_distributions(scores, is_real, 0.5, "title")
    labels = [t.get_text() for t in distributions.axes[0].get_legend().get_texts()]
    assert labels[:2] == [f"bogus ({(~is_real).sum()})", f"real ({is_real.sum()})"]
    for name, figure in (("cal", calibration), ("snr", snr), ("kind", kind), ("dist", distributions)):
        assert _saved(figure, tmp_path, name) > 1000


def test_saliency_plot(tmp_path):
    rng = np.random.default_rng(0)
    cutouts = rng.normal(size=(3, 2, 11, 11))
    figure = plots.plot_saliency(cutouts, np.abs(cutouts), ("science", "difference"), ["a", "b", "c"])
    assert len(figure.axes) == 3 * 2 * 2
    assert figure.axes[0].get_title() == "science"
    assert _saved(figure, tmp_path, "saliency") > 1000
