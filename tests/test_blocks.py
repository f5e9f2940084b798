"""Training sets read block by block: triplet datasets prepared as the model sees them, and the cache."""

from __future__ import annotations

import astropy.table
import numpy as np
import torch
from lsst.meas.realbogus.cnn.blocks import Block, CachedBlocks, TripletBlocks
from lsst.meas.realbogus.cnn.training import train_classifier
from lsst.meas.realbogus.stamps import LabelledTriplets, normalize


def _triplets(seed: int, n: int = 30, size: int = 21) -> LabelledTriplets:
    rng = np.random.default_rng(seed)
    table = astropy.table.Table(
        {
            "diaSourceId": np.arange(n) + 1000 * seed,
            "isReal": rng.random(n) < 0.5,
            "snr": rng.uniform(3, 20, n).astype(np.float32),
            "flag_edge": rng.random(n) < 0.2,
        }
    )
    return LabelledTriplets(rng.normal(size=(n, 3, size, size)).astype(np.float32), table)


class Handle:
    """A deferred-handle stand-in: what the butler hands a task, read on get()."""

    def __init__(self, triplets):
        self.triplets = triplets
        self.reads = 0

    def get(self):
        self.reads += 1
        return self.triplets


def test_triplet_blocks_select_crop_cut_and_normalize():
    triplets = _triplets(1)
    blocks = TripletBlocks(
        [Handle(triplets), triplets], ["difference", "template"], "robust", size=15, min_snr=6, drop_edge=True
    )
    assert len(blocks) == 2
    block = blocks.load(0)
    table = triplets.table
    keep = (np.abs(table["snr"]) > 6) & ~table["flag_edge"]
    expected = normalize(np.ascontiguousarray(triplets.cutouts[keep][:, [2, 0], 3:18, 3:18]), "robust")
    np.testing.assert_array_equal(block.cutouts, expected)
    assert block.is_real.tolist() == table["isReal"][keep].tolist()
    assert block.keys.tolist() == table["diaSourceId"][keep].tolist()
    # Size 0 is the triplets' own size.
    assert TripletBlocks([triplets], ["science"], "none").load(0).cutouts.shape == (30, 1, 21, 21)


def test_cached_blocks_read_each_block_once_and_train_the_same(tmp_path, caplog):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 2, 15, 15)).astype(np.float32)
    labels = rng.random(300) < 0.4
    x[labels, 1, 6:9, 6:9] += 2.0

    class Counted:
        """Five blocks of 60 rows; counts the reads."""

        def __init__(self):
            self.reads = 0

        def __len__(self):
            return 5

        def load(self, i):
            self.reads += 1
            rows = slice(60 * i, 60 * (i + 1))
            return Block(x[rows].copy(), labels[rows], np.arange(300)[rows])

    plain, cached = Counted(), Counted()
    settings = dict(epochs=3, seed=4, blocks_per_shuffle=2, batch_size=32)
    a = train_classifier(plain, **settings)
    b = train_classifier(CachedBlocks(cached, str(tmp_path)), **settings)
    assert plain.reads == 5 * 4 and cached.reads == 5  # the split pass + 3 epochs, against once
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    weights = zip(a.module.state_dict().values(), b.module.state_dict().values())
    assert all(torch.equal(p, q) for p, q in weights)
    # A directory that cannot be written: a warning, and blocks come from the source.
    broken = CachedBlocks(Counted(), str(tmp_path / "missing"))
    assert np.array_equal(broken.load(1).cutouts, x[60:120]) and not broken.enabled
    assert np.array_equal(broken.load(1).keys, np.arange(60, 120)) and broken.source.reads == 2
    assert "Not caching training blocks" in caplog.text
