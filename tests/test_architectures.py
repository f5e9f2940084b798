"""Architectures, looked up by name: each learns a trivial task and scripts."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus.cnn import (
    DiaCNN,
    get_architecture,
    get_architecture_class,
    list_architectures,
    register_architecture,
    train_classifier,
)
from lsst.meas.realbogus.cnn.blocks import ArrayBlocks
from lsst.meas.realbogus.inference import ModelMetadata, load_model, save_torchscript


def test_registry():
    assert list_architectures() == ["dia_cnn", "resnet_small", "vgg6"]
    assert get_architecture_class("dia_cnn") is DiaCNN
    assert isinstance(get_architecture("dia_cnn", 2, 33), DiaCNN)
    with pytest.raises(ValueError, match=r"Unknown architecture 'vgg16'; known: \['dia_cnn'"):
        get_architecture("vgg16", 3, 51)
    with pytest.raises(ValueError, match="already registered by DiaCNN"):
        register_architecture("dia_cnn")(type("Other", (DiaCNN,), {}))


def test_too_small_stamps_are_refused():
    with pytest.raises(ValueError, match="too small for VGG6"):
        get_architecture("vgg6", 3, 6)


@pytest.mark.parametrize("architecture", ["dia_cnn", "vgg6", "resnet_small"])
def test_architectures_learn_and_script(architecture, tmp_path):
    """Each architecture learns a trivial task (a central blob in the difference channel) and scripts."""
    rng = np.random.default_rng(2)
    n = 400
    labels = rng.random(n) < 0.4
    x = rng.normal(size=(n, 2, 21, 21)).astype(np.float32)
    x[labels, 1, 8:13, 8:13] += 3.0
    result = train_classifier(ArrayBlocks(x, labels), architecture=architecture, epochs=4, seed=3)
    assert result.val_auc > 0.9, result.history
    md = ModelMetadata("t", 21, ("science", "difference"), "none", architecture=architecture)
    save_torchscript(result.module, md, tmp_path / "m.pt")
    assert load_model(tmp_path / "m.pt").predict(x[:8]).shape == (8,)
