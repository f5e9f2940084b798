"""The TorchScript backend: archives written by save_torchscript, read back with their metadata."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lsst.meas.realbogus.cnn import VGG6
from lsst.meas.realbogus.inference import ModelError, ModelMetadata, TorchScriptBackend, save_torchscript


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
