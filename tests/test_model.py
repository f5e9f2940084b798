"""Loading models (once per process, validated) and scoring batches with them."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from lsst.meas.realbogus.cnn import DiaCNN
from lsst.meas.realbogus.inference import (
    METADATA_FILE,
    Backend,
    ModelError,
    ModelMetadata,
    default_model_path,
    load_model,
    save_torchscript,
)
from lsst.meas.realbogus.inference import backends as backends_module

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
    save_torchscript(DiaCNN(3, 21).eval(), metadata(), path)
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
    # The scores are the sigmoid of the network's logits.
    with torch.no_grad():
        logits = model.module(torch.from_numpy(x)).numpy()
    assert np.allclose(scores, 1 / (1 + np.exp(-logits)), atol=1e-6)


def test_shipped_model_loads(shipped_model_version):
    model = load_model(default_model_path())
    assert model.metadata.version == shipped_model_version
    assert model.metadata.input.shape == (3, 51, 51)
    # It records the widest and narrowest PSFs it was trained on, so RealBogusTask resamples others.
    assert 1.0 < model.metadata.min_psf_fwhm < model.metadata.max_psf_fwhm < 20.0


def test_replaced_file_is_reloaded(model_file):
    first = load_model(model_file)
    save_torchscript(DiaCNN(3, 21).eval(), metadata(version="t0002"), model_file)
    os.utime(model_file, ns=(1, 2))  # a different modification time
    assert load_model(model_file).metadata.version == "t0002"
    assert first.metadata.version == "t0001"


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(ModelError, match="does not exist") as info:
        load_model(tmp_path / "nope.pt")
    assert "nope.pt" in str(info.value)


def test_model_without_metadata(tmp_path):
    path = tmp_path / "bare.pt"
    torch.jit.save(torch.jit.script(DiaCNN(3, 21).eval()), str(path))
    with pytest.raises(ModelError, match=f"no {METADATA_FILE}") as info:
        load_model(path)
    assert "bare.pt" in str(info.value)


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
def test_invalid_metadata_in_a_file(tmp_path, record, message):
    good = json.loads(metadata().to_json())
    good.update(record)
    path = tmp_path / "bad.pt"
    torch.jit.save(
        torch.jit.script(DiaCNN(3, 21).eval()), str(path), _extra_files={METADATA_FILE: json.dumps(good)}
    )
    with pytest.raises(ModelError, match=message) as info:
        load_model(path)
    assert "bad.pt" in str(info.value)


def test_wrong_input_shape(model_file):
    model = load_model(model_file)
    with pytest.raises(ModelError, match="expected cutouts of shape"):
        model.predict(np.zeros((2, 3, 25, 25), np.float32))
    with pytest.raises(ModelError, match="model takes 21x21"):
        model.check_compatible(cutout_size=51)
    with pytest.raises(ModelError, match="channels"):
        model.check_compatible(channels=("science", "template"))


def test_model_with_wrong_output_shape(tmp_path):
    class TwoOutputs(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=(2, 3))

    path = tmp_path / "two.pt"
    save_torchscript(TwoOutputs(), metadata(channels=("science", "difference")), path)
    with pytest.raises(ModelError, match=r"two.pt: model returned shape \(2, 2\) for a batch of 2"):
        load_model(path)  # found when the file is loaded, by one small batch


def test_network_that_disagrees_with_its_metadata(tmp_path):
    """Metadata of one channel for a network that takes three: an error at load (and task construction)."""
    from lsst.meas.realbogus import RealBogusConfig, RealBogusTask

    network = torch.nn.Sequential(torch.nn.Conv2d(3, 1, 21), torch.nn.Flatten(0))
    path = tmp_path / "wrong.pt"
    save_torchscript(network, metadata(channels=("difference",)), path)
    message = r"wrong.pt: the network does not take the input its metadata describes \(1x21x21 stamps\)"
    with pytest.raises(ModelError, match=message):
        load_model(path)
    config = RealBogusConfig()
    config.modelFile = str(path)
    with pytest.raises(ModelError, match=message):
        RealBogusTask(config=config)


def test_cuda_when_absent(model_file):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ModelError, match="CUDA is not available") as info:
        load_model(model_file, device="cuda")
    assert "model.pt" in str(info.value)


def test_another_backend_behind_the_same_interface(tmp_path, monkeypatch):
    """A second backend (a plain numpy network) is loaded and used as TorchScript models are."""

    class MeanBackend(Backend):
        """Scores a stamp by the mean of its difference channel; metadata in a JSON file."""

        name = "test_mean"

        def __init__(self, device: str) -> None:
            self.device = device

        @classmethod
        def load(cls, path, device):
            with open(path) as stream:
                return cls(device), stream.read()

        def outputs(self, batch):
            return batch[:, -1].mean(axis=(1, 2)).astype(np.float32)

    monkeypatch.setitem(backends_module._BACKENDS.items, "test_mean", MeanBackend)
    path = tmp_path / "mean.json"
    path.write_text(metadata(output="probability").to_json())
    model = load_model(path, backend="test_mean")
    x = np.zeros((3, 3, 21, 21), np.float32)
    x[:, 2] = [[[0.2]], [[0.5]], [[0.9]]]
    assert model.predict(x) == pytest.approx([0.2, 0.5, 0.9])
    with pytest.raises(ModelError, match="a test_mean model has no torch module"):
        _ = model.module
    with pytest.raises(ModelError, match=r"Unknown inference backend 'onnx2'; known: \[.*'torchscript'"):
        load_model(path, backend="onnx2")


def test_scores_from_outputs_calibrated_and_without_ties():
    from lsst.meas.realbogus.inference import scores_from_outputs

    logits = np.array([[20.0], [30.0], [-2.0]], np.float32)
    result = scores_from_outputs(logits, "logit", temperature=2.0, offset=1.0)
    np.testing.assert_allclose(result.logit, [11.0, 16.0, 0.0])
    assert result.score[2] == pytest.approx(0.5) and np.all(result.std == 0)
    # float32 scores of the two surest rows tie at 1; their logits do not.
    assert scores_from_outputs(logits, "logit").score[0] == scores_from_outputs(logits, "logit").score[1]
    probabilities = scores_from_outputs(np.array([[0.25], [0.5]], np.float32), "probability")
    np.testing.assert_allclose(probabilities.logit, [np.log(1 / 3), 0.0], atol=1e-6)
    np.testing.assert_allclose(probabilities.score, [0.25, 0.5], atol=1e-6)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("temperature", 0.0, "temperature must be"),
        ("members", 0, "members must be"),
        ("logit_offset", 1e4, "logit_offset"),
    ],
)
def test_calibration_fields_are_checked(field, value, message):
    with pytest.raises(ModelError, match=message):
        metadata(**{field: value})
