"""The training pipelines submitted with BPS on parsl (bps/training.yaml), as scaleout.rst shows."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from lsst.daf.butler import Butler

BPS = Path(__file__).parents[1] / "bps"


@pytest.mark.slow
def test_build_training_set_with_bps(tiny_repo, tmp_path):
    """BuildTrainingSet over tract 3080, clustered per worker: labels and triplets for every detector."""
    repo, _ = tiny_repo
    output = "u/bps/triplets/3080"
    result = subprocess.run(
        ["realbogus_bps.py", "submit", str(BPS / "training.yaml"), "-b", str(repo), "-o", output],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (submit_dir,) = (tmp_path / "submit" / output).iterdir()
    assert len(list((submit_dir / "logs" / "perWorker").glob("*.stderr"))) == 2  # one job per worker
    with Butler.from_config(str(repo), collections=[output]) as butler:
        where = "skymap='DC2_sim' AND tract=3080"
        expected = {
            (ref.dataId["visit"], ref.dataId["detector"])
            for ref in butler.query_datasets("dia_source_unstandardized", where=where, limit=None)
        }
        assert expected
        for name in ("dia_source_realbogus_label", "realbogus_triplets"):
            refs = butler.query_datasets(name, limit=None)
            assert {(ref.dataId["visit"], ref.dataId["detector"]) for ref in refs} == expected, name
            assert len(refs) == len(expected), name
