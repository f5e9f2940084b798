"""End to end: `pipetask run -p pipelines/RealBogus.yaml` on the tiny simulated repository."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from lsst.daf.butler import Butler
from lsst.meas.realbogus.scripts.score_report import score_report

PIPELINE = Path(__file__).parents[1] / "pipelines" / "RealBogus.yaml"


def pipetask(repo: Path, output: str, *extra: str) -> subprocess.CompletedProcess:
    cmd = [
        "pipetask",
        "run",
        "-b",
        str(repo),
        "-i",
        "RBSimCam/sim",
        "-o",
        output,
        "-p",
        str(PIPELINE),
        "--register-dataset-types",
        "-j",
        "1",
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), timeout=900)


@pytest.mark.slow
def test_pipetask_scores_every_dia_source(tiny_repo):
    repo, _ = tiny_repo
    result = pipetask(repo, "u/test/realbogus")
    assert result.returncode == 0, result.stderr[-3000:]
    with Butler.from_config(str(repo), collections=["u/test/realbogus"]) as butler:
        refs = butler.query_datasets("dia_source_unstandardized", limit=None)
        assert len(refs) == 8
        for ref in refs:
            dia = butler.get(ref)
            scores = butler.get("dia_source_realbogus", ref.dataId)
            assert np.array_equal(scores["diaSourceId"], dia["diaSourceId"])
            finite = np.isfinite(scores["score"])
            assert finite.all()
            assert np.all((scores["score"] >= 0) & (scores["score"] <= 1))
            assert set(scores["modelVersion"]) == {"rbsim01"}
    report = score_report(str(repo), ["u/test/realbogus"])
    assert report["sources"] > 50 and report["real"] > 10 and report["bogus"] > 10
    # The shipped model separates real from bogus on data it was not trained on.
    assert report["auc"] > 0.9, report


@pytest.mark.slow
def test_missing_input_for_one_detector(tiny_repo, tmp_path):
    """A detector whose template is missing gets no quantum; the others still run."""
    source, _ = tiny_repo
    repo = tmp_path / "repo"
    shutil.copytree(source, repo)
    data_id = {"instrument": "RBSimCam", "visit": 10000, "detector": 1}
    with Butler.from_config(str(repo), writeable=True) as butler:
        ref = butler.find_dataset("template_detector", data_id, collections="RBSimCam/sim")
        butler.pruneDatasets([ref], purge=True, unstore=True, disassociate=True)
    result = pipetask(repo, "u/test/missing")
    assert result.returncode == 0, result.stderr[-3000:]
    with Butler.from_config(str(repo), collections=["u/test/missing"]) as butler:
        done = {
            (r.dataId["visit"], r.dataId["detector"]) for r in butler.query_datasets("dia_source_realbogus")
        }
    assert (10000, 1) not in done
    assert len(done) == 7
