"""Rubin model packages: read, built, converted to model files that score as the package does."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from lsst.meas.realbogus.inference import ModelError, load_model
from lsst.meas.realbogus.inference.model_package import (
    build_network,
    convert_model_package,
    read_model_package,
)
from lsst.meas.realbogus.scripts.convert_model_package import main

ARCHITECTURE = """
import torch
import torch.nn as nn

__all__ = ["Tiny"]


class Helper:
    pass


class Tiny(nn.Module):
    def __init__(self, input_shape=(3, 11, 11)):
        super().__init__()
        self.conv = nn.Conv2d(input_shape[0], 4, kernel_size=3)
        self.fc = nn.Linear(4 * (input_shape[1] - 2) ** 2, 1)

    def forward(self, x):
        x = torch.relu(self.conv(x))
        return torch.sigmoid(self.fc(torch.flatten(x, 1))).squeeze(1)
"""

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RUBIN_PACKAGE = SHARED / "models/rubin_tac_cnn_v0.3/pretrainedModelPackage_tac_cnn_lsstcam_2026-02-26.zip"


def _tiny_network(size: int = 11) -> torch.nn.Module:
    namespace: dict = {}
    exec(ARCHITECTURE, namespace)
    torch.manual_seed(0)
    return namespace["Tiny"](input_shape=(3, size, size)).eval()


def make_package(where: Path, *, zipped=True, size=11, scale=(1.0, 1.0, 1.0), skip=(), **replace) -> Path:
    """A package of the tiny network, as Rubin writes them (checkpoint under model_state_dict)."""
    buffer = io.BytesIO()
    torch.save({"model_state_dict": _tiny_network(size).state_dict()}, buffer)
    members = {
        "architecture": ARCHITECTURE.encode(),
        "checkpoint": buffer.getvalue(),
        "metadata": yaml.safe_dump(
            {"version": 0.1, "description": "tiny", "input_shape": [size, size, 3],
             "input_scale_factor": list(scale)}
        ).encode(),
    } | replace  # fmt: skip
    if zipped:
        path = where.with_suffix(".zip")
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in members.items():
                if name not in skip:
                    archive.writestr(f"package/{name}", data)
        return path
    where.mkdir()
    for name, data in members.items():
        if name not in skip:
            (where / name).write_bytes(data)
    return where


@pytest.mark.parametrize("zipped", [True, False])
def test_converted_scores_equal_the_package(tmp_path, zipped):
    package = make_package(tmp_path / "tiny", zipped=zipped)
    md, difference = convert_model_package(package, tmp_path / "tiny.pt", "tiny01")
    assert (md.version, md.cutout_size, md.channels) == ("tiny01", 11, ("difference", "science", "template"))
    assert (md.normalization, md.output, md.architecture) == ("none", "probability", "model package: Tiny")
    assert "version 0.1: tiny" in md.provenance and difference <= 1e-6
    stamps = np.random.default_rng(3).normal(0, 50, (20, 3, 11, 11)).astype(np.float32)
    with torch.no_grad():
        eager = _tiny_network()(torch.from_numpy(stamps)).numpy()
    np.testing.assert_allclose(load_model(tmp_path / "tiny.pt").predict(stamps), eager, atol=1e-6, rtol=0)


def test_input_scale_factor_multiplies_the_input(tmp_path):
    package = make_package(tmp_path / "scaled", scale=(2.0, 1.0, 0.5))
    convert_model_package(package, tmp_path / "scaled.pt", "scaled")
    stamps = np.random.default_rng(4).normal(0, 5, (8, 3, 11, 11)).astype(np.float32)
    scaled = stamps * np.array([2.0, 1.0, 0.5], np.float32)[None, :, None, None]
    with torch.no_grad():
        eager = _tiny_network()(torch.from_numpy(scaled)).numpy()
    np.testing.assert_allclose(load_model(tmp_path / "scaled.pt").predict(stamps), eager, atol=1e-6, rtol=0)


def test_bad_packages_name_the_file_and_member(tmp_path):
    with pytest.raises(ModelError, match="model package .*none.zip does not exist"):
        read_model_package(tmp_path / "none.zip")
    with pytest.raises(ModelError, match="nockpt.zip: the model package has no 'checkpoint' member"):
        read_model_package(make_package(tmp_path / "nockpt", skip=("checkpoint",)))
    with pytest.raises(ModelError, match="nometa: the model package has no 'metadata' member"):
        read_model_package(make_package(tmp_path / "nometa", zipped=False, skip=("metadata",)))
    shapeless = make_package(tmp_path / "shapeless", metadata=b"version: 1\n")
    with pytest.raises(ModelError, match="shapeless.zip: member 'metadata' needs input_shape"):
        read_model_package(shapeless)
    broken = make_package(tmp_path / "broken", architecture=b"class Tiny(:\n")
    with pytest.raises(ModelError, match="broken.zip: member 'architecture' does not run: SyntaxError"):
        build_network(read_model_package(broken))
    two = make_package(tmp_path / "two", architecture=ARCHITECTURE.replace('__all__ = ["Tiny"]', "").encode())
    two_text = read_model_package(two)
    two_text.architecture += "\nclass Other(nn.Module):\n    pass\n"
    with pytest.raises(ModelError, match="must define one torch.nn.Module, found \\['Tiny', 'Other'\\]"):
        build_network(two_text)
    buffer = io.BytesIO()
    torch.save(_tiny_network(13).state_dict(), buffer)
    misfit = make_package(tmp_path / "misfit", checkpoint=buffer.getvalue())
    with pytest.raises(ModelError, match="misfit.zip: member 'checkpoint' does not fit Tiny"):
        build_network(read_model_package(misfit))
    junk = make_package(tmp_path / "junk", checkpoint=b"not a checkpoint")
    with pytest.raises(ModelError, match="junk.zip: member 'checkpoint' is not a readable torch state_dict"):
        build_network(read_model_package(junk))
    with pytest.raises(ModelError, match="takes 3 channels, 2 given"):
        convert_model_package(
            make_package(tmp_path / "ok"), tmp_path / "x.pt", "x", channels=("science", "template")
        )


def test_command(tmp_path, capsys):
    package = make_package(tmp_path / "tiny")
    assert (
        main(
            [
                str(package),
                str(tmp_path / "m.pt"),
                "--version",
                "tiny01",
                "--channels",
                "template,science,difference",
            ]
        )
        == 0
    )
    assert "wrote" in capsys.readouterr().out
    assert load_model(tmp_path / "m.pt").metadata.channels == ("template", "science", "difference")
    assert main([str(tmp_path / "none.zip"), str(tmp_path / "n.pt"), "--version", "n"]) == 1
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.skipif(not RUBIN_PACKAGE.exists(), reason=f"Rubin's model package is not at {RUBIN_PACKAGE}")
def test_rubin_production_package(tmp_path):
    """The converted TACCNN scores random and real stamps as the package's own network, within 1e-6."""
    md, _ = convert_model_package(RUBIN_PACKAGE, tmp_path / "tac.pt", "tac03")
    assert (md.cutout_size, md.architecture) == (51, "model package: TACCNN")
    eager = build_network(read_model_package(RUBIN_PACKAGE))
    converted = load_model(tmp_path / "tac.pt")
    rng = np.random.default_rng(5)
    stamps = [rng.normal(0, 300, (64, 3, 51, 51)).astype(np.float32)]
    # Real Rubin alerts (30x30 nJy, science, template, difference) zero-padded to 51, in the model's order.
    rubin = np.load(SHARED / "real/rubin_alert_triplets/lsstcam_20251231/triplets.npz", allow_pickle=False)
    padded = np.zeros((len(rubin["triplets"]), 3, 51, 51), np.float32)
    order = [list(rubin["channels"]).index(c) for c in md.channels]
    padded[:, :, 10:40, 10:40] = np.nan_to_num(rubin["triplets"][:, order])
    stamps.append(padded)
    # Real ZTF alerts (63x63, science, template, difference) centre-cropped to 51.
    ztf = np.load(SHARED / "real/ztf_alert_triplets/ztf_triplets.npz", allow_pickle=False)
    order = [list(ztf["channels"]).index(c) for c in md.channels]
    stamps.append(np.nan_to_num(ztf["triplets"][:200, order, 6:57, 6:57]).astype(np.float32))
    for batch in stamps:
        with torch.no_grad():
            expected = eager(torch.from_numpy(batch)).numpy()
        np.testing.assert_allclose(converted.predict(batch), expected, atol=1e-6, rtol=0)
    assert os.path.getsize(tmp_path / "tac.pt") > 100_000
