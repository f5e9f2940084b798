"""Labelled cutout triplets of one detector, the unit a training set is built from and streamed in."""

from __future__ import annotations

__all__ = ("TRIPLET_CHANNELS", "LabelledTriplets", "read_triplets", "triplets_digest", "write_triplets")

import hashlib
import json
import os
from dataclasses import dataclass

import astropy.table
import numpy as np

from .batch import CHANNELS

TRIPLET_CHANNELS = CHANNELS
"""Channels of stored triplets, in order (a model may use any subset, in any order)."""

_FORMAT = "meas_realbogus triplets 1"


@dataclass
class LabelledTriplets:
    """Raw (unnormalized) cutouts of every channel with their labels.

    Attributes
    ----------
    cutouts : `numpy.ndarray`
        ``(N, 3, S, S)`` float32, channels in `TRIPLET_CHANNELS` order, bad
        pixels already replaced by the fill value.
    table : `astropy.table.Table`
        One row per cutout: ``diaSourceId``, ``isReal``, ``kind``, ``snr``,
        ``flag_edge``, ``badPixelFraction``.
    """

    cutouts: np.ndarray
    table: astropy.table.Table

    def __post_init__(self) -> None:
        if self.cutouts.ndim != 4 or self.cutouts.shape[1] != len(TRIPLET_CHANNELS):
            raise ValueError(f"triplet cutouts must be (N, 3, S, S), got {self.cutouts.shape}")
        if len(self.table) != len(self.cutouts):
            raise ValueError(f"{len(self.table)} table rows for {len(self.cutouts)} cutouts")

    def __len__(self) -> int:
        return len(self.cutouts)

    @property
    def size(self) -> int:
        """Cutout width and height, pixels."""
        return self.cutouts.shape[-1]


def triplets_digest(triplets: LabelledTriplets) -> str:
    """A SHA-256 digest of what the triplets hold: every cutout pixel and every table column.

    Two sets have the same digest when their cutouts and columns are equal value for value
    (names, dtypes and shapes included), however they were stored: a training set rebuilt
    identically into another butler collection, or on another machine, has the digest of the
    first, while one pixel or one label changed gives another.
    """
    digest = hashlib.sha256()
    columns = [("cutouts", triplets.cutouts)]
    names = sorted(triplets.table.colnames)
    columns += [(f"column {name}", np.asarray(triplets.table[name])) for name in names]
    for name, values in columns:
        values = np.ascontiguousarray(values.astype(str) if values.dtype.kind == "O" else values)
        digest.update(f"{name} {values.dtype.str} {values.shape}\n".encode())
        digest.update(memoryview(values).cast("B"))
    return digest.hexdigest()


def write_triplets(triplets: LabelledTriplets, path: str | os.PathLike) -> None:
    """Write triplets as an uncompressed ``.npz`` archive (read back with `read_triplets`)."""
    columns = {f"column_{name}": np.asarray(triplets.table[name]) for name in triplets.table.colnames}
    header = json.dumps({"format": _FORMAT, "columns": triplets.table.colnames})
    with open(path, "wb") as stream:
        np.savez(stream, header=np.array(header), cutouts=triplets.cutouts, **columns)


def read_triplets(path: str | os.PathLike) -> LabelledTriplets:
    """Read triplets written by `write_triplets`.

    Raises
    ------
    ValueError
        If the file is not a triplet archive.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            header = json.loads(str(archive["header"]))
            if header.get("format") != _FORMAT:
                raise ValueError(f"unknown format {header.get('format')!r}")
            table = astropy.table.Table({name: archive[f"column_{name}"] for name in header["columns"]})
            cutouts = archive["cutouts"]
    except (OSError, KeyError, ValueError) as err:
        raise ValueError(f"{path} is not a meas_realbogus triplet archive: {err}") from None
    return LabelledTriplets(cutouts, table)
