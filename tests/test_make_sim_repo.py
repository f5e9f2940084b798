"""The make_realbogus_sim_repo.py command line, run as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from lsst.meas.realbogus.scripts.make_sim_repo import main

SCRIPT = Path(__file__).parents[1] / "bin.src" / "make_realbogus_sim_repo.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=600,
    )


def test_help():
    result = run("--help")
    assert result.returncode == 0
    for word in ("--preset", "--seed", "--overwrite", "tiny", "demo", "training", "tract=3080"):
        assert word in result.stdout


def test_build_refuse_and_overwrite(tmp_path):
    repo = tmp_path / "repo"
    args = ("--preset", "tiny", "--seed", "5", "-c", "tracts=[4024]", "-j", "1")
    result = run(str(repo), *args)
    assert result.returncode == 0, result.stderr
    summary = yaml.safe_load(result.stdout)
    assert summary["tracts"] == [4024]
    assert summary["detector_visits"] == 4
    assert "detector-visits" in result.stderr  # the progress bar
    assert (repo / "butler.yaml").exists()

    again = run(str(repo), *args)
    assert again.returncode == 2
    assert "already exists" in again.stderr and "--overwrite" in again.stderr

    replaced = run(str(repo), *args, "--overwrite", "--no-progress")
    assert replaced.returncode == 0, replaced.stderr
    assert yaml.safe_load(replaced.stdout)["dia_sources"] == summary["dia_sources"]


def test_sigterm_stops_the_workers_and_leaves_nothing(tmp_path):
    """A SIGTERM mid-build, as a batch system sends one, cleans up as Ctrl-C does."""
    repo = tmp_path / "repo"
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(repo), "--preset", "demo", "-j", "2", "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
        start_new_session=True,
    )
    try:
        # Wait for the workers to write their first images into the half-built repository.
        deadline = time.monotonic() + 300
        while not any(tmp_path.glob("_building_repo_*/**/*.fits")):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no image written in 300 s"
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 143, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []
    # No worker outlives the command (they share its process group).
    deadline = time.monotonic() + 30
    while True:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "simulation workers still running after the command exited"
        time.sleep(0.2)


def test_bad_options_are_reported(tmp_path, capsys):
    """Bad options exit with status 2 and a message naming the problem, before anything is written."""
    repo = str(tmp_path / "x")
    cases = [
        (("-c", "noSuchField=3"), "unknown config field"),
        (("-c", "nDetectors=0"), "nDetectors"),
        (("-c", "seeingRange=[0.3,0.5]"), "broader than the template"),
        (("-c", "nDetectors"), "FIELD=VALUE"),
        (("--seed", "-3"), "non-negative"),
        (("--preset", "huge"), "invalid choice"),
        (("-C", "/no/such/file.py"), "does not exist"),
        (("-j", "0"), "at least 1"),
    ]
    for args, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            main([repo, *args])
        assert exit_info.value.code == 2, args
        assert message in capsys.readouterr().err, args
    assert not Path(repo).exists()


def test_show_config():
    result = run("unused", "--preset", "training", "--show-config")
    assert result.returncode == 0
    assert "config.detectorSize=2048" in result.stdout
