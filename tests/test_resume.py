"""Resuming after a failure: runs killed midway and rerun the documented way (scaleout.rst).

Each test kills a real run once its first output is written, reruns it, and checks that every
quantum has exactly one output, with the scores of an uninterrupted run.
"""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from lsst.daf.butler import Butler

ROOT = Path(__file__).parents[1]

pytestmark = pytest.mark.slow


def _outputs_written(repo, output: str, dataset: str = "dia_source_realbogus") -> int:
    return len(glob.glob(f"{repo}/{output}/*/{dataset}/**/*.*", recursive=True))


def _quanta_done(repo, output: str) -> int:
    """Quanta that finished: their task metadata, written last, exists."""
    return _outputs_written(repo, output, "realBogus_metadata")


def _live_children(pid: int, marker: str) -> list[psutil.Process]:
    """Live processes started by ``pid`` whose command line has ``marker``.

    Parsl's workers are detached from their parent, so they are found by session, which they keep.
    """
    sessions = {_session(p) for p in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]}
    found = []
    for child in psutil.process_iter():
        if child.pid == pid or _session(child) not in sessions:
            continue
        try:
            if marker in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.Error:
            pass
    return found


def _start_and_kill(command, repo, output, kill, cwd=None, timeout=300.0) -> int:
    """Start ``command``; once its first output exists call ``kill(process)``; return its exit status."""
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + timeout
    killed = False
    while process.poll() is None and time.monotonic() < deadline:
        if not killed and _outputs_written(repo, output) >= 1:
            killed = kill(process)
        time.sleep(0.05)
    assert killed, "the run ended before it could be killed midway"
    return process.wait(timeout=timeout)


def _assert_one_output_each(repo, output, reference):
    with Butler.from_config(str(repo), collections=[output]) as butler:
        refs = butler.query_datasets("dia_source_realbogus", limit=None, find_first=False)
        n_quanta = len(butler.query_datasets("dia_source_unstandardized", limit=None))
        assert len(refs) == n_quanta
        assert len({ref.dataId for ref in refs}) == n_quanta
        for ref in refs:
            scores = butler.get(ref)
            expected = reference.get("dia_source_realbogus", ref.dataId)
            assert np.array_equal(scores["score"], expected["score"])


# The documented rerun of a killed pipetask run (scaleout.rst, "Resuming").
RESUME = ("--extend-run", "--skip-existing", "--clobber-outputs")


def _kill_a_new_worker():
    """SIGKILL the first worker started after the run's first output (still importing, so never done).

    Killing a worker already running could land after its quantum wrote its metadata, and the
    run would then have nothing left to resume.
    """
    running: set[int] = set()

    def kill(process) -> bool:
        workers = _live_children(process.pid, "spawn_main")
        if not running:
            running.update(w.pid for w in workers)
            running.add(-1)  # the first call only notes the workers running
            return False
        new = [w for w in workers if w.pid not in running]
        if new:
            new[0].send_signal(signal.SIGKILL)
        return bool(new)

    return kill


def _terminate():
    def terminate(process) -> bool:
        process.send_signal(signal.SIGTERM)
        return True

    return terminate


@pytest.mark.parametrize(
    "name, make_kill, status",
    [("worker_sigkill", _kill_a_new_worker, 1), ("sigterm", _terminate, -signal.SIGTERM)],
    ids=["worker_sigkill", "sigterm"],
)
def test_pipetask_resumes(scored_tiny_repo, pipetask, name, make_kill, status):
    """A pipetask -j 2 run with a worker killed, or stopped with SIGTERM, then rerun with RESUME."""
    repo, reference_collection = scored_tiny_repo
    output = f"u/resume/{name}"
    kill = make_kill()
    command = pipetask.command(repo, "RealBogus.yaml", "RBSimCam/sim", output, "-j", "2")
    assert _start_and_kill(command, repo, output, kill) == status
    assert _quanta_done(repo, output) < 8
    subprocess.run(command + list(RESUME), check=True, capture_output=True)
    with Butler.from_config(str(repo), collections=[reference_collection]) as reference:
        _assert_one_output_each(repo, output, reference)


def _bps(repo, output, *command):
    return ["realbogus_bps.py", *command, str(ROOT / "bps" / "realbogus.yaml"), "-b", str(repo), "-o", output]


def test_bps_retries_a_killed_job_and_restarts_after_sigterm(scored_tiny_repo, tmp_path):
    """BPS on parsl: a job killed with SIGKILL is retried; a SIGTERM'd submission is restarted."""
    repo, reference_collection = scored_tiny_repo

    # One job's pipetask killed: parsl retries the job, which skips the quanta already done.
    output = "u/resume/bps_sigkill"

    def kill_job(process):
        jobs = _live_children(process.pid, "run-qbb")
        if jobs:
            jobs[0].send_signal(signal.SIGKILL)
        return bool(jobs)

    assert _start_and_kill(_bps(repo, output, "submit"), repo, output, kill_job, cwd=tmp_path) == 0
    with Butler.from_config(str(repo), collections=[reference_collection]) as reference:
        _assert_one_output_each(repo, output, reference)

    # The whole submission stopped by SIGTERM: nothing of it keeps running; restart finishes it.
    output = "u/resume/bps_sigterm"
    started: dict[psutil.Process, str] = {}

    def terminate(process):
        started.update({p: _name(p) for p in _live_children(process.pid, "")})
        process.send_signal(signal.SIGTERM)
        return True

    status = _start_and_kill(_bps(repo, output, "submit"), repo, output, terminate, cwd=tmp_path)
    assert status == 128 + signal.SIGTERM
    assert any("interchange" in name for name in started.values())
    time.sleep(1.0)
    assert [p for p in started if _alive(p)] == []
    (submit_dir,) = glob.glob(f"{tmp_path}/submit/{output}/*")
    restart = subprocess.run(["realbogus_bps.py", "restart", submit_dir], cwd=tmp_path, capture_output=True)
    assert restart.returncode == 0, restart.stderr[-3000:]
    with Butler.from_config(str(repo), collections=[reference_collection]) as reference:
        _assert_one_output_each(repo, output, reference)


def _session(process: psutil.Process) -> int | None:
    try:
        return os.getsid(process.pid)
    except (ProcessLookupError, PermissionError):
        return None


def _name(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
