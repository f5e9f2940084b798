"""The Makefile's training and evaluation targets, as ``make -n`` expands them (nothing is run)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
TESTS = {
    "IN_DOMAIN_REPO": "variety",
    "SHIFTED_REPO": "shifted",
    "SHIFTED_S3_REPO": "shifted",
    "SHIFTED_S5_REPO": "shifted",
    "SHARP_REPO": "sharp",
    "COARSE_REPO": "coarse",
}

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def _expand(target: str, *variables: str) -> str:
    """What ``make -n TARGET`` would run, continuation lines joined."""
    result = subprocess.run(
        ["make", "-n", "-C", str(ROOT), target, *variables],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.replace("\\\n", " ")


def _pipetask_runs(text: str) -> list[str]:
    """The lines of expanded ``make -n`` output that run pipetask."""
    return [line for line in text.splitlines() if re.search(r"\bpipetask\b.*\brun\b", line)]


def _dry_run(target: str, *variables: str) -> list[str]:
    """The pipetask command lines ``make -n TARGET`` would run, one string each."""
    return _pipetask_runs(_expand(target, *variables))


def _jobs(command: str) -> int:
    match = re.search(r"\s-j\s+(\d+)", command)
    assert match, f"no -j in {command}"
    return int(match.group(1))


def test_evaluate_candidate_runs_each_test_once_with_one_process(tmp_path):
    repos = {name: tmp_path / name.lower() for name in TESTS}
    commands = _dry_run(
        "evaluate-candidate",
        "MODEL_VERSION=cand",
        f"MODEL_OUT={tmp_path / 'cand.pt'}",
        *(f"{name}={path}" for name, path in repos.items()),
    )
    assert len(commands) == len(TESTS)
    for name, path in repos.items():
        (command,) = [c for c in commands if f"-b {path} " in c]
        assert f"-o u/rb/cand/{TESTS[name]}4024" in command
        assert f"evaluateRealBogus:outputDir={path}/eval_cand" in command
        assert f"parameters:modelFile={tmp_path / 'cand.pt'}" in command
        # A fresh process per quantum under -j 2 costs more than the quantum (training.rst).
        assert _jobs(command) == 1


def test_evaluate_candidate_skips_a_repository_already_evaluated(tmp_path):
    variables = [f"{name}={tmp_path / name.lower()}" for name in TESTS]
    (command,) = [
        c
        for c in _dry_run("evaluate-candidate", "MODEL_VERSION=cand", *variables)
        if str(tmp_path / "sharp_repo") in c
    ]
    assert command.index(f"test -f {tmp_path / 'sharp_repo'}/eval_cand/metrics.json") < command.index(
        "pipetask"
    )


def test_training_pipelines_run_quanta_in_one_process(tmp_path):
    commands = _dry_run("default-model", f"TRAIN_REPO={tmp_path / 'train'}")
    assert len(commands) >= 5  # triplets, training, four evaluations
    for command in commands:
        if "TrainRealBogus.yaml" in command:
            assert "-n " in command  # one quantum given every core
        assert _jobs(command) == 1, command


def test_default_model_trains_on_its_own_preset_and_runs_every_test():
    # The default's training repository is MODEL_PRESET's (blurfield6, tract 3080 alone); its triplets
    # and training must be run on it, not on TRAIN_PRESET's variety repository that default-desom uses.
    text = _expand("default-model")
    model_repo = ROOT / "rbsim_blurfield6_repo"
    assert f"make_realbogus_sim_repo.py {model_repo} --preset blurfield6 --seed 1" in text
    assert "-c 'tracts=[3080]'" in text
    commands = _pipetask_runs(text)
    (triplets,) = [c for c in commands if "BuildTrainingSet.yaml" in c]
    (training,) = [c for c in commands if "TrainRealBogus.yaml" in c]
    assert f"-b {model_repo} " in triplets and f"-b {model_repo} " in training
    assert "-o u/rb/rbsim13 " in training
    evaluations = [c for c in commands if "EvaluateRealBogus.yaml" in c]
    assert len(evaluations) == len(TESTS)
    assert not any(f"-b {model_repo} " in c for c in evaluations)
    # default-desom keeps variety's repository.
    (desom,) = [c for c in _dry_run("default-desom") if "TrainDesom.yaml" in c]
    assert f"-b {ROOT / 'rbsim_variety_repo'} " in desom
