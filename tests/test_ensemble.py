"""A deep ensemble saved as one model: the mean logit scores it, the members' spread is scoreStd."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lsst.meas.realbogus.cnn import VGG6, Ensemble
from lsst.meas.realbogus.inference import ModelError, ModelMetadata, load_model, save_onnx, save_torchscript


@pytest.fixture
def members():
    torch.manual_seed(4)
    return [VGG6(3, 21).eval() for _ in range(3)]


def test_ensemble_model_scores_and_spread(members, tmp_path):
    md = ModelMetadata("ens", 21, ("template", "science", "difference"), "none", members=3, temperature=2.0)
    save_torchscript(Ensemble(members).eval(), md, tmp_path / "e.pt")
    model = load_model(tmp_path / "e.pt")
    x = np.random.default_rng(1).normal(size=(7, 3, 21, 21)).astype(np.float32)
    with torch.no_grad():
        z = torch.stack([m(torch.from_numpy(x)).reshape(7) for m in members], 1).double().numpy() / 2.0
    result = model.score(x, batch_size=4)
    np.testing.assert_allclose(result.logit, z.mean(1), atol=1e-5)
    np.testing.assert_allclose(result.score, 1 / (1 + np.exp(-z.mean(1))), atol=1e-6)
    np.testing.assert_allclose(result.std, (1 / (1 + np.exp(-z))).std(1), atol=1e-6)
    assert np.all(result.std > 0)
    # The same network in ONNX gives the same scores.
    save_onnx(Ensemble(members).eval(), md, tmp_path / "e.onnx")
    onnx = load_model(tmp_path / "e.onnx", backend="onnx").score(x)
    np.testing.assert_allclose(onnx.logit, result.logit, atol=1e-4)


def test_members_must_match_the_metadata(members, tmp_path):
    md = ModelMetadata("ens", 21, ("template", "science", "difference"), "none", members=2)
    save_torchscript(Ensemble(members).eval(), md, tmp_path / "e.pt")
    with pytest.raises(ModelError, match=r"e.pt.*returned shape \(2, 3\).*2 values \(one per member\)"):
        load_model(tmp_path / "e.pt")


def test_empty_ensemble_is_an_error():
    with pytest.raises(ValueError, match="at least one member"):
        Ensemble([])
