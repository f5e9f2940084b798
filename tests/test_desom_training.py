"""Training a DESOM, separate-trained and combine-trained, on synthetic thumbnails."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lsst.meas.realbogus.cnn.blocks import ArrayBlocks, Block
from lsst.meas.realbogus.desom.training import DISTANCE_PERCENTILES, train_desom


def _purity(result, x, kind):
    with torch.no_grad():
        bmu, _ = result.som.best_matching_units(result.autoencoder.encode(torch.from_numpy(x)))
    bmu = bmu.numpy()
    counts = [np.bincount(kind[bmu == k], minlength=3) for k in np.unique(bmu)]
    return sum(c.max() for c in counts) / len(kind)


def test_separate_training_groups_the_kinds(thumbnails):
    x, kind = thumbnails
    result = train_desom(
        ArrayBlocks(x, kind == 0),
        latent_size=16,
        map_shape=(5, 5),
        autoencoder_epochs=6,
        som_epochs=15,
        seed=2,
    )
    assert result.count == len(x) and set(result.history) == {"autoencoder", "som"}
    losses = [h["loss"] for h in result.history["autoencoder"]]
    assert losses[-1] < losses[0]
    assert _purity(result, x, kind) > 0.9  # each prototype holds one kind
    assert set(result.distance_percentiles) == {f"{p:g}" for p in DISTANCE_PERCENTILES}
    assert 0 < result.quantization_error < result.distance_percentiles["99"]
    assert 0 <= result.topographic_error <= 1


def test_combined_training_runs_and_is_seeded(thumbnails):
    x, kind = thumbnails
    settings = dict(latent_size=8, map_shape=(3, 3), mode="combined", autoencoder_epochs=1, combined_epochs=2)
    a = train_desom(ArrayBlocks(x[:300], kind[:300] == 0), **settings)
    b = train_desom(ArrayBlocks(x[:300], kind[:300] == 0), **settings)
    assert [h["epoch"] for h in a.history["combined"]] == [1, 2]
    assert a.history["combined"][-1]["temperature"] == pytest.approx(0.01)
    assert torch.equal(a.som.prototypes, b.som.prototypes)


def test_bad_training_sets():
    empty = type(
        "Empty",
        (),
        {
            "__len__": lambda self: 1,
            "load": lambda self, i: Block(
                np.zeros((0, 1, 32, 32), np.float32), np.zeros(0, bool), np.zeros(0, np.int64)
            ),
        },
    )()
    with pytest.raises(ValueError, match="empty"):
        train_desom(empty)
    x = np.zeros((10, 1, 32, 32), np.float32)
    with pytest.raises(ValueError, match="mode"):
        train_desom(ArrayBlocks(x, np.zeros(10, bool)), mode="joint")
    with pytest.raises(ValueError, match="at least one autoencoder epoch"):
        train_desom(ArrayBlocks(x, np.zeros(10, bool)), autoencoder_epochs=0)
