"""Saliency maps: the gradient of the model's output with respect to each input pixel."""

from __future__ import annotations

import numpy as np
import torch
from lsst.meas.realbogus.evaluation.saliency import saliency_maps
from lsst.meas.realbogus.inference import ModelMetadata, default_model_path, load_model, save_torchscript


class Weighted(torch.nn.Module):
    """A linear model: its saliency is the absolute value of its weights, whatever the input."""

    def __init__(self, weights: torch.Tensor) -> None:
        super().__init__()
        self.weights = torch.nn.Parameter(weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.weights).sum(dim=(1, 2, 3))


def test_linear_model_saliency_is_its_weights(tmp_path):
    weights = torch.from_numpy(np.random.default_rng(0).normal(size=(2, 9, 9)).astype(np.float32))
    path = tmp_path / "linear.pt"
    save_torchscript(Weighted(weights), ModelMetadata("lin", 9, ("science", "difference"), "none"), path)
    x = np.random.default_rng(1).normal(size=(4, 2, 9, 9)).astype(np.float32)
    maps = saliency_maps(load_model(path), x)
    assert maps.shape == x.shape and maps.dtype == np.float32
    for m in maps:
        np.testing.assert_allclose(m, np.abs(weights.numpy()), rtol=1e-6)


def test_shipped_model_saliency_peaks_at_the_source():
    """On a new point source, the shipped model's difference-stamp saliency is highest around it."""
    model = load_model(default_model_path())
    md = model.metadata
    rng = np.random.default_rng(2)
    stamps = rng.normal(size=(1, 3, md.cutout_size, md.cutout_size)).astype(np.float32)
    yy, xx = np.mgrid[: md.cutout_size, : md.cutout_size] - md.cutout_size // 2
    stamps[0, 1:] += 40 * np.exp(-(xx**2 + yy**2) / 8.0)  # a new source in science and difference
    maps = saliency_maps(model, md.input.prepare(stamps))
    difference = maps[0, md.channels.index("difference")]
    near = np.hypot(xx, yy) <= 6
    assert difference[near].mean() > 1.3 * difference[~near].mean()
