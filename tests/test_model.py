"""TorchScript models with embedded metadata: saving, loading, validation, prediction."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from lsst.meas.realbogus.architectures import DiaCNN
from lsst.meas.realbogus.model import METADATA_FILE, ModelError, ModelMetadata, load_model, save_model

CHANNELS = ("template", "science", "difference")


def metadata(**overrides) -> ModelMetadata:
    values = dict(
        version="t0001",
        cutout_size=21,
        channels=CHANNELS,
        normalization="robust",
        architecture="dia_cnn",
        provenance="unit test",
    )
    values.update(overrides)
    return ModelMetadata(**values)


@pytest.fixture
def model_file(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "model.pt"
    save_model(DiaCNN(3, 21).eval(), metadata(), path)
    return path


def test_round_trip_and_cache(model_file):
    model = load_model(model_file)
    assert model.metadata == metadata()
    assert load_model(model_file) is model
    x = np.random.default_rng(1).standard_normal((7, 3, 21, 21)).astype(np.float32)
    scores = model.predict(x, batch_size=3)
    assert scores.shape == (7,) and scores.dtype == np.float32
    assert np.all((scores >= 0) & (scores <= 1))
    assert np.array_equal(scores, model.predict(x, batch_size=3))  # deterministic
    assert np.allclose(scores, model.predict(x, batch_size=7), atol=1e-6)


def test_replaced_file_is_reloaded(model_file):
    first = load_model(model_file)
    save_model(DiaCNN(3, 21).eval(), metadata(version="t0002"), model_file)
    os.utime(model_file, ns=(1, 2))  # a different modification time
    assert load_model(model_file).metadata.version == "t0002"
    assert first.metadata.version == "t0001"


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(ModelError, match="does not exist") as info:
        load_model(tmp_path / "nope.pt")
    assert "nope.pt" in str(info.value)


def test_corrupt_file_names_the_path(tmp_path):
    path = tmp_path / "corrupt.pt"
    path.write_bytes(b"this is not a zip archive" * 10)
    with pytest.raises(ModelError, match="not a readable TorchScript model") as info:
        load_model(path)
    assert "corrupt.pt" in str(info.value)


def test_model_without_metadata(tmp_path):
    path = tmp_path / "bare.pt"
    torch.jit.save(torch.jit.script(DiaCNN(3, 21).eval()), str(path))
    with pytest.raises(ModelError, match=f"no {METADATA_FILE}"):
        load_model(path)


@pytest.mark.parametrize(
    "record, message",
    [
        ({"version": "toolongversion"}, "version"),
        ({"normalization": "zscale"}, "normalization"),
        ({"channels": ["science", "science"]}, "must not repeat"),
        ({"channels": ["sky"]}, "channels"),
        ({"cutout_size": 2}, "cutout_size"),
        ({"output": "softmax"}, "output"),
        ({"threshold": 2.0}, "threshold"),
        ({"colour": "red"}, "unknown fields"),
    ],
)
def test_invalid_metadata(tmp_path, record, message):
    good = json.loads(metadata().to_json())
    good.update(record)
    path = tmp_path / "bad.pt"
    torch.jit.save(
        torch.jit.script(DiaCNN(3, 21).eval()), str(path), _extra_files={METADATA_FILE: json.dumps(good)}
    )
    with pytest.raises(ModelError, match=message) as info:
        load_model(path)
    assert "bad.pt" in str(info.value)


def test_metadata_missing_fields():
    with pytest.raises(ModelError, match="lacks"):
        ModelMetadata.from_json(json.dumps({"version": "x"}))
    with pytest.raises(ModelError, match="not valid JSON"):
        ModelMetadata.from_json("{")


def test_wrong_input_shape(model_file):
    model = load_model(model_file)
    with pytest.raises(ModelError, match="expected cutouts of shape"):
        model.predict(np.zeros((2, 3, 25, 25), np.float32))
    with pytest.raises(ModelError, match="model takes 21x21"):
        model.check_compatible(cutout_size=51)
    with pytest.raises(ModelError, match="channels"):
        model.check_compatible(channels=("science", "template"))


def test_cuda_when_absent(model_file):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ModelError, match="CUDA is not available"):
        load_model(model_file, device="cuda")
