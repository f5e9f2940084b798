"""End to end: `pipetask run -p pipelines/RealBogus.yaml` on the tiny simulated repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from lsst.daf.butler import Butler
from lsst.meas.realbogus.scripts.score_report import score_report

PIPELINE = Path(__file__).parents[1] / "pipelines" / "RealBogus.yaml"


def pipetask(
    repo: Path, output: str, *extra: str, inputs: str = "RBSimCam/sim"
) -> subprocess.CompletedProcess:
    """Run the pipeline with pipetask, as a user does."""
    cmd = ["pipetask", "run", "-b", str(repo), "-i", inputs, "-o", output, "-p", str(PIPELINE)]
    cmd += ["--register-dataset-types", "-j", "1", *extra]
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
            assert set(scores["modelVersion"]) == {"rbsim03"}
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


@pytest.mark.slow
def test_model_from_the_butler(tiny_repo, tmp_path):
    """The shipped model stored as a butler dataset gives the same scores as the file."""
    from lsst.meas.realbogus.realBogusTask import default_model_path
    from lsst.meas.realbogus.scripts.register_model import register_model

    source, _ = tiny_repo
    repo = tmp_path / "repo"
    shutil.copytree(source, repo)
    assert register_model(str(repo), default_model_path(), "models/realbogus") == "rbsim03"
    where = ("-d", "instrument='RBSimCam' AND visit=10000")
    by_file = pipetask(repo, "u/test/file", *where)
    assert by_file.returncode == 0, by_file.stderr[-3000:]
    by_butler = pipetask(
        repo,
        "u/test/butler",
        "-c",
        "realBogus:modelSource=butler",
        *where,
        inputs="RBSimCam/sim,models/realbogus",
    )
    assert by_butler.returncode == 0, by_butler.stderr[-3000:]
    with Butler.from_config(str(repo)) as butler:
        refs = butler.query_datasets("dia_source_realbogus", collections="u/test/butler", limit=None)
        assert len(refs) == 2
        for ref in refs:
            a = butler.get(ref)
            b = butler.get("dia_source_realbogus", ref.dataId, collections="u/test/file")
            assert np.array_equal(a["score"], b["score"])


def test_model_without_storage_class_config(tmp_path, monkeypatch, tiny_repo):
    """Registering a model explains what is missing when the butler does not know the storage class."""
    from lsst.meas.realbogus.realBogusTask import default_model_path

    source, _ = tiny_repo
    monkeypatch.setenv("DAF_BUTLER_CONFIG_PATH", "")
    repo = tmp_path / "repo"
    shutil.copytree(source, repo)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lsst.meas.realbogus.scripts.register_model",
            str(repo),
            default_model_path(),
            "models/x",
        ],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "DAF_BUTLER_CONFIG_PATH" in result.stderr
