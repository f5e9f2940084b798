"""The TorchScript backend: archives written by save_torchscript, read back with their metadata."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lsst.meas.realbogus.cnn import VGG6, Ensemble
from lsst.meas.realbogus.inference import (
    ModelError,
    ModelMetadata,
    TorchScriptBackend,
    ensemble_member,
    load_model,
    save_torchscript,
)
from lsst.meas.realbogus.scripts.extract_member import main as extract_member_main


def test_save_and_load(tmp_path):
    torch.manual_seed(1)
    module = VGG6(2, 16).eval()
    md = ModelMetadata("vgg", 16, ("science", "difference"), "none", architecture="vgg6")
    save_torchscript(module, md, tmp_path / "m.pt")
    backend, record = TorchScriptBackend.load(str(tmp_path / "m.pt"), "cpu")
    assert ModelMetadata.from_json(record) == md
    x = np.random.default_rng(0).normal(size=(5, 2, 16, 16)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    assert np.allclose(backend.outputs(x), expected, atol=1e-6)


def test_corrupt_file_names_the_path(tmp_path):
    path = tmp_path / "corrupt.pt"
    path.write_bytes(b"this is not a zip archive" * 10)
    with pytest.raises(ModelError, match="not a readable TorchScript model") as info:
        TorchScriptBackend.load(str(path), "cpu")
    assert "corrupt.pt" in str(info.value)


def test_ensemble_member_scores_as_that_network(tmp_path):
    torch.manual_seed(2)
    members = [VGG6(3, 21).eval() for _ in range(2)]
    md = ModelMetadata(
        "ens1",
        21,
        ("template", "science", "difference"),
        "none",
        members=2,
        temperature=1.5,
        max_psf_fwhm=6.0,
    )
    save_torchscript(Ensemble(members).eval(), md, tmp_path / "e.pt")
    assert extract_member_main([str(tmp_path / "e.pt"), "1", str(tmp_path / "m.pt")]) == 0
    member = load_model(tmp_path / "m.pt")
    assert member.metadata.members == 1 and member.metadata.version == "ens1m2"
    assert member.metadata.temperature == 1.5 and member.metadata.max_psf_fwhm == 6.0
    assert member.metadata.provenance.startswith("member 2 of 2 of ens1")
    x = np.random.default_rng(3).normal(size=(6, 3, 21, 21)).astype(np.float32)
    with torch.no_grad():
        expected = members[1](torch.from_numpy(x)).reshape(6).double().numpy() / 1.5
    np.testing.assert_allclose(member.score(x).logit, expected, atol=1e-5)
    # Scripted or not, the same member.
    _, again = ensemble_member(Ensemble(members), md, 1)
    assert again == member.metadata


def test_ensemble_member_errors(tmp_path, capsys):
    torch.manual_seed(2)
    single = ModelMetadata("one", 21, ("template", "science", "difference"), "none")
    with pytest.raises(ModelError, match="not an ensemble"):
        ensemble_member(VGG6(3, 21), single, 0)
    md = ModelMetadata("rbsim09", 21, ("template", "science", "difference"), "none", members=2)
    ensemble = Ensemble([VGG6(3, 21), VGG6(3, 21)])
    with pytest.raises(ModelError, match="members 0 to 1, not 2"):
        ensemble_member(ensemble, md, 2)
    with pytest.raises(ModelError, match="'rbsim09m1' is longer"):
        ensemble_member(ensemble, md, 0)
    assert ensemble_member(ensemble, md, 0, version="rb09m1")[1].version == "rb09m1"
    # The command names the file it cannot read.
    assert extract_member_main([str(tmp_path / "missing.pt"), "0", str(tmp_path / "m.pt")]) == 1
    assert "missing.pt" in capsys.readouterr().err
