"""realbogus_score_report.py: scores against the simulation's truth, as the evaluation computes them."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.daf.butler import Butler
from lsst.meas.realbogus.evaluation.labels import label_detections
from lsst.meas.realbogus.evaluation.metrics import completeness_purity, roc_auc
from lsst.meas.realbogus.scripts.score_report import main, score_report
from lsst.meas.realbogus.stamps.resampling import effective_psf_sigma


@pytest.mark.slow
def test_report_of_the_scored_repository(scored_tiny_repo, tmp_path, shipped_model_version):
    repo, collection = scored_tiny_repo
    png = tmp_path / "scores.png"
    report = score_report(str(repo), [collection], png=str(png), compare_rules=True)
    assert png.stat().st_size > 10_000
    assert report["detectors"] == 8 and report["model_version"] == shipped_model_version
    assert report["sources"] > 50 and report["real"] > 10 and report["bogus"] > 10
    # The shipped model separates real from bogus on data it was not trained on.
    assert report["auc"] > 0.9, report
    # The same figures, computed here directly from the butler's tables.
    scores, labels = [], []
    with Butler.from_config(str(repo), collections=[collection]) as butler:
        for ref in butler.query_datasets("dia_source_realbogus", limit=None):
            dia = butler.get("dia_source_unstandardized", ref.dataId)
            truth = butler.get("realbogus_sim_truth", ref.dataId)
            scores.append(np.asarray(butler.get(ref)["score"], dtype=float))
            sigma = effective_psf_sigma(butler.get("difference_image.psf", ref.dataId))
            labels.append(label_detections(dia, truth, 3.0, rule="footprint", psf_sigma=sigma).is_real)
    score, label = np.concatenate(scores), np.concatenate(labels)
    assert report["sources"] == len(score) and report["real"] == int(label.sum())
    assert report["auc"] == pytest.approx(roc_auc(score, label))
    assert (report["completeness"], report["purity"]) == pytest.approx(completeness_purity(score, label, 0.5))
    assert report["metrics"]["overall"]["count"] == len(score)
    # The footprint rule only adds real labels to the radius rule's.
    assert report["rule"] == "footprint" and not report["label_changes"]["real_to_bogus"]
    added = sum(report["label_changes"]["bogus_to_real"].values())
    assert report["radius_rule"]["real"] + added == report["real"]
    radius = score_report(str(repo), [collection], rule="radius")
    assert radius["real"] == report["radius_rule"]["real"] and radius["auc"] == report["radius_rule"]["auc"]


@pytest.mark.slow
def test_command_line(scored_tiny_repo, capsys):
    repo, collection = scored_tiny_repo
    assert main([str(repo), collection, "--threshold", "0.7"]) == 0
    out = capsys.readouterr().out
    assert "detectors processed: 8" in out and "at score >= 0.70" in out
    assert main([str(repo), collection, "--compare-rules", "--psf-fwhm", "5"]) == 0
    assert "bogus to real (radius kind -> footprint kind)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([str(repo), collection, "--flux-fraction", "0"])
    assert main([str(repo), collection, "--where", "instrument='RBSimCam' AND visit=1"]) == 2
    assert "no dia_source_realbogus datasets" in capsys.readouterr().err
