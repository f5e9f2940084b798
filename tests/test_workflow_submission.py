"""BPS submissions: the checks made before anything is submitted, and stopping a whole workflow."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
import yaml
from lsst.meas.realbogus.scripts.bps import main
from lsst.meas.realbogus.workflow.submission import (
    SubmissionError,
    check_submission,
    load_submit_config,
)

BPS = Path(__file__).parents[1] / "bps"


def _check(config_file, **overrides):
    return check_submission(load_submit_config(str(config_file), **overrides), str(config_file))


def _submit_file(tmp_path, **settings) -> Path:
    """A submit file including bps/realbogus.yaml, with ``settings`` on top."""
    path = tmp_path / f"submit_{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump({"includeConfigs": [str(BPS / "realbogus.yaml")], **settings}))
    return path


def test_shipped_configuration_checks(tiny_repo):
    repo, _ = tiny_repo
    summary = _check(BPS / "realbogus.yaml", butler_config=str(repo))
    assert summary["computeSite"] == "local"
    assert summary["pipelineYaml"].endswith("pipelines/RealBogus.yaml")
    assert _check(BPS / "realbogus.yaml", butler_config=str(repo), compute_site="slurm")["computeSite"] == (
        "slurm"
    )


def test_missing_site(tiny_repo):
    repo, _ = tiny_repo
    with pytest.raises(SubmissionError, match=r"compute site 'nersc' is not defined in .*realbogus.yaml"):
        _check(BPS / "realbogus.yaml", butler_config=str(repo), compute_site="nersc")


def test_site_class_that_does_not_import(tiny_repo, tmp_path):
    repo, _ = tiny_repo
    config = _submit_file(tmp_path, site={"mine": {"class": "lsst.ctrl.bps.parsl.sites.NoSuch"}})
    with pytest.raises(SubmissionError, match="compute site 'mine': cannot import"):
        _check(config, butler_config=str(repo), compute_site="mine")


def test_site_missing_a_setting(tiny_repo, tmp_path):
    repo, _ = tiny_repo
    config = _submit_file(
        tmp_path, site={"cluster": {"class": "lsst.ctrl.bps.parsl.sites.Slurm", "nodes": 2}}
    )
    with pytest.raises(SubmissionError, match="compute site 'cluster' of .* is not usable: .*walltime"):
        _check(config, butler_config=str(repo), compute_site="cluster")


def test_missing_or_broken_pipeline(tiny_repo, tmp_path):
    repo, _ = tiny_repo
    with pytest.raises(SubmissionError, match=r"pipeline /no/such/RealBogus.yaml .* does not exist"):
        _check(BPS / "realbogus.yaml", butler_config=str(repo), pipeline="/no/such/RealBogus.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("tasks:\n  rb:\n    class: lsst.meas.realbogus.noSuchTask.NoSuchTask\n")
    with pytest.raises(SubmissionError, match=f"pipeline {broken} does not load"):
        _check(BPS / "realbogus.yaml", butler_config=str(repo), pipeline=str(broken))


def test_missing_config_repository_or_collection(tiny_repo, tmp_path):
    repo, _ = tiny_repo
    with pytest.raises(SubmissionError, match="nosuch.yaml does not exist"):
        _check(tmp_path / "nosuch.yaml")
    with pytest.raises(SubmissionError, match=f"cannot open butler repository {tmp_path}/none"):
        _check(BPS / "realbogus.yaml", butler_config=str(tmp_path / "none"))
    with pytest.raises(SubmissionError, match="input collection 'u/nobody' is not in repository"):
        _check(BPS / "realbogus.yaml", butler_config=str(repo), input="u/nobody")


def test_postgresql_server_down_is_named(tiny_repo, tmp_path):
    """A repository whose PostgreSQL registry is unreachable: refused, naming the connection."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "butler.yaml").write_text(
        yaml.safe_dump({"registry": {"db": f"postgresql://rb@127.0.0.1:{port}/butler", "namespace": "r"}})
    )
    with pytest.raises(SubmissionError, match=f"cannot open butler repository .*127.0.0.1.*{port}"):
        _check(BPS / "realbogus.yaml", butler_config=str(tmp_path / "repo"))


def test_command_line_reports_errors(tiny_repo, capsys):
    repo, _ = tiny_repo
    assert main(["check", str(BPS / "realbogus.yaml"), "-b", str(repo)]) == 0
    assert "checked: site local" in capsys.readouterr().err
    assert main(["submit", str(BPS / "realbogus.yaml"), "-b", str(repo), "--compute-site", "x"]) == 2
    assert "compute site 'x' is not defined" in capsys.readouterr().err
    assert main(["restart", "/no/such/submit/dir"]) == 2


def _sleeps(seconds: str) -> list[psutil.Process]:
    """Live ``sleep SECONDS`` processes."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if process.info["cmdline"] == ["sleep", seconds] and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.Error:
            pass
    return found


def test_sigterm_stops_the_whole_session():
    """SIGTERM to run_in_session stops the command and everything it started, as bps' parsl workers."""
    marker = f"{uuid.uuid4().int % 10**6 + 1000}"
    script = (
        "import sys; from lsst.meas.realbogus.workflow.submission import run_in_session; "
        f"sys.exit(run_in_session(['bash', '-c', '(sleep {marker} &); sleep {marker}; true']))"
    )
    wrapper = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while len(_sleeps(marker)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_sleeps(marker)) == 2
    wrapper.send_signal(signal.SIGTERM)
    assert wrapper.wait(timeout=30) == 128 + signal.SIGTERM
    time.sleep(0.5)
    assert _sleeps(marker) == []
