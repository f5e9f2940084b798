"""register_realbogus_model.py: a model file into the butler, and RealBogusTask reading it there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from lsst.daf.butler import Butler
from lsst.meas.realbogus.inference import default_model_path
from lsst.meas.realbogus.scripts.register_model import main, register_model


@pytest.mark.slow
def test_model_from_the_butler(tiny_repo, tmp_path, pipetask, shipped_model_version):
    """The shipped model stored as a butler dataset gives the same scores as the file."""
    source, _ = tiny_repo
    repo = tmp_path / "repo"
    shutil.copytree(source, repo)
    assert register_model(str(repo), default_model_path(), "models/realbogus") == shipped_model_version
    where = ("-d", "instrument='RBSimCam' AND visit=10000")
    # The same TorchScript file from disk and from the butler: identical scores.
    pipetask(
        repo, "RealBogus.yaml", "RBSimCam/sim", "u/test/file", "-c", "realBogus:backend=torchscript", *where
    )
    pipetask(
        repo,
        "RealBogus.yaml",
        "RBSimCam/sim,models/realbogus",
        "u/test/butler",
        "-c",
        "realBogus:modelSource=butler",
        *where,
    )
    with Butler.from_config(str(repo)) as butler:
        refs = butler.query_datasets("dia_source_realbogus", collections="u/test/butler", limit=None)
        assert len(refs) == 2
        for ref in refs:
            a = butler.get(ref)
            b = butler.get("dia_source_realbogus", ref.dataId, collections="u/test/file")
            assert np.array_equal(a["score"], b["score"])


def test_bad_model_file_is_refused(tiny_repo, tmp_path, capsys):
    source, _ = tiny_repo
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    assert main([str(source), str(bad), "models/bad"]) == 2
    assert "bad.pt is not a readable TorchScript model" in capsys.readouterr().err


def test_model_without_storage_class_config(tmp_path, monkeypatch, tiny_repo):
    """Registering a model explains what is missing when the butler does not know the storage class."""
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
    assert "DAF_BUTLER_CONFIG_PATH" in result.stderr and "butler/configs" in result.stderr
