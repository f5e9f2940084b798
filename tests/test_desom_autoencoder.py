"""DESOM autoencoders, registered by name."""

from __future__ import annotations

import pytest
import torch
from lsst.meas.realbogus.desom.autoencoder import ConvAutoencoder, get_autoencoder, list_autoencoders


def test_table1_shapes_and_registry():
    assert list_autoencoders() == ["dense", "table1"]
    ae = get_autoencoder("table1", 1, 32, 120)
    assert isinstance(ae, ConvAutoencoder)
    with torch.no_grad():
        z, decoded = ae(torch.zeros(3, 1, 32, 32))
    assert z.shape == (3, 120) and decoded.shape == (3, 1, 32, 32)
    assert 0 <= float(decoded.min()) and float(decoded.max()) <= 1  # sigmoid output
    # Table 1: three convolutions of 32, 64 and 128 filters, a dense layer of 512.
    convs = [m for m in ae.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128]
    assert [m.out_features for m in ae.encoder if isinstance(m, torch.nn.Linear)] == [512, 120]
    assert get_autoencoder("table1", 3, 48, 16)(torch.zeros(1, 3, 48, 48))[1].shape == (1, 3, 48, 48)


def test_bad_sizes():
    with pytest.raises(ValueError, match="multiple of 8"):
        ConvAutoencoder(size=30)
    with pytest.raises(ValueError, match="Unknown autoencoder 'vae'"):
        get_autoencoder("vae", 1, 32, 8)
