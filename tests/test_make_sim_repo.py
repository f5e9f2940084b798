"""The make_realbogus_sim_repo.py command line, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
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
