"""admin/pipetask_once.sh: a pipetask run into a collection once, finished if it stopped part way."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from lsst.daf.butler import Butler

ROOT = Path(__file__).parents[1]
SCRIPT = ROOT / "admin" / "pipetask_once.sh"


def _once(repo: Path, output: str) -> subprocess.CompletedProcess:
    command = [str(SCRIPT), str(repo), output, "pipetask", "run", "-b", str(repo), "-j", "1"]
    command += ["-i", "RBSimCam/sim", "-p", str(ROOT / "pipelines" / "BuildTrainingSet.yaml")]
    command += ["--register-dataset-types", "-d", "skymap='DC2_sim' AND tract=3080"]
    result = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def _triplets(repo: Path, output: str) -> list:
    butler = Butler.from_config(str(repo))
    return sorted(butler.query_datasets("realbogus_triplets", collections=output, explain=False), key=str)


@pytest.mark.slow
def test_a_cut_that_stopped_part_way_is_finished_not_used(tiny_repo):
    repo, _ = tiny_repo
    output = "u/once/triplets"
    marker = repo / "u_once_triplets.complete"
    _once(repo, output)
    assert marker.exists()
    complete = _triplets(repo, output)
    assert len(complete) >= 2

    # As after a quantum that failed (a full disk): its triplets and its metadata (pipe_base's record
    # of a quantum that ran) are missing. With the marker, the run counts as finished and nothing runs.
    butler = Butler.from_config(str(repo), writeable=True)
    lost = [
        complete[0],
        butler.find_dataset("buildTrainingSet_metadata", complete[0].dataId, collections=output),
    ]
    butler.pruneDatasets(lost, disassociate=True, unstore=True, purge=True)
    untouched = _once(repo, output)
    assert untouched.stdout == "" and untouched.stderr == ""
    assert len(_triplets(repo, output)) == len(complete) - 1

    # Without the marker, the collection there: only the missing quantum runs, and the marker is written.
    marker.unlink()
    result = _once(repo, output)
    assert "running the quanta whose outputs are missing" in result.stderr
    again = _triplets(repo, output)
    assert [ref.dataId for ref in again] == [ref.dataId for ref in complete]
    assert marker.exists()

    # Without the marker and nothing missing (a repository cut before the marker existed): an empty
    # quantum graph, which means done.
    marker.unlink()
    assert "Every quantum of u/once/triplets had run already" in _once(repo, output).stderr
    assert marker.exists()
