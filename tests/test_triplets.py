"""Labelled triplets: the container and its .npz archive."""

from __future__ import annotations

import astropy.table
import numpy as np
import pytest
from lsst.meas.realbogus.stamps import LabelledTriplets, read_triplets, write_triplets


def test_round_trip(tmp_path):
    cutouts = np.random.default_rng(1).normal(size=(5, 3, 9, 9)).astype(np.float32)
    table = astropy.table.Table(
        {"diaSourceId": np.arange(5), "isReal": [True, False] * 2 + [True], "kind": ["host"] * 5}
    )
    write_triplets(LabelledTriplets(cutouts, table), tmp_path / "t.npz")
    back = read_triplets(tmp_path / "t.npz")
    assert np.array_equal(back.cutouts, cutouts) and back.table["kind"].tolist() == ["host"] * 5
    assert back.table["isReal"].tolist() == table["isReal"].tolist()
    assert len(back) == 5 and back.size == 9


def test_bad_archives_and_shapes(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not an archive")
    with pytest.raises(ValueError, match="bad.npz is not a meas_realbogus triplet archive"):
        read_triplets(tmp_path / "bad.npz")
    np.savez(tmp_path / "other.npz", cutouts=np.zeros(3))
    with pytest.raises(ValueError, match="other.npz"):
        read_triplets(tmp_path / "other.npz")
    table = astropy.table.Table({"diaSourceId": np.arange(2)})
    with pytest.raises(ValueError, match=r"must be \(N, 3, S, S\)"):
        LabelledTriplets(np.zeros((2, 2, 9, 9), np.float32), table)
    with pytest.raises(ValueError, match="2 table rows for 3 cutouts"):
        LabelledTriplets(np.zeros((3, 3, 9, 9), np.float32), table)
