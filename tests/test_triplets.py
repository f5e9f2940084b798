"""Labelled triplets: the container and its .npz archive."""

from __future__ import annotations

import astropy.table
import numpy as np
import pytest
from lsst.meas.realbogus.stamps import LabelledTriplets, read_triplets, triplets_digest, write_triplets


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


def test_digest_names_the_content(tmp_path):
    """Equal pixels and columns give one digest, however stored; any change gives another."""
    cutouts = np.random.default_rng(2).normal(size=(4, 3, 9, 9)).astype(np.float32)
    table = astropy.table.Table(
        {"diaSourceId": np.arange(4), "isReal": [True, False] * 2, "kind": ["host", "cosmic_ray"] * 2}
    )
    triplets = LabelledTriplets(cutouts, table)
    digest = triplets_digest(triplets)
    assert len(digest) == 64
    write_triplets(triplets, tmp_path / "t.npz")
    assert triplets_digest(read_triplets(tmp_path / "t.npz")) == digest
    assert triplets_digest(LabelledTriplets(cutouts.copy(), table.copy())) == digest
    # Object columns (as a table built row by row may hold) are read as their strings.
    as_objects = table.copy()
    as_objects["kind"] = np.array(["host", "cosmic_ray"] * 2, dtype=object)
    assert triplets_digest(LabelledTriplets(cutouts, as_objects)) == triplets_digest(
        LabelledTriplets(cutouts, astropy.table.Table(table, copy=True))
    )

    def changed(edit):
        copy = LabelledTriplets(cutouts.copy(), table.copy())
        edit(copy)
        return triplets_digest(copy)

    def one_pixel(t):
        t.cutouts[3, 2, 8, 8] = np.nextafter(t.cutouts[3, 2, 8, 8], np.float32(np.inf))

    def one_label(t):
        t.table["isReal"][0] = False

    def renamed(t):
        t.table.rename_column("kind", "kinds")

    def new_dtype(t):
        t.table["diaSourceId"] = t.table["diaSourceId"].astype(np.int32)

    digests = {changed(edit) for edit in (one_pixel, one_label, renamed, new_dtype)}
    assert len(digests) == 4 and digest not in digests
