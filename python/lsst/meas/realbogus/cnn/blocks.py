"""Training sets read block by block: the sources the classifier's training loop streams.

A block is the normalized stamps of one unit of storage (in a butler, one
detector and visit) with their labels and keys.  `TripletBlocks` reads
labelled triplet datasets and prepares them as the model will see them (the
one path of `~lsst.meas.realbogus.stamps.batch.ModelInput`); `CachedBlocks`
keeps what another source gives on local disk after the first read;
`ArrayBlocks` is a set held in memory.  This module does not use torch (its
subpackage, ``cnn``, imports it).
"""

from __future__ import annotations

__all__ = ("ArrayBlocks", "Block", "BlockSource", "CachedBlocks", "TripletBlocks", "read_groups")

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..stamps.batch import CHANNELS, ModelInput
from ..stamps.triplets import LabelledTriplets

_LOG = logging.getLogger(__name__)


@dataclass
class Block:
    """Normalized cutouts of one block, with labels and keys.

    Attributes
    ----------
    cutouts : `numpy.ndarray`
        ``(N, C, S, S)`` float32, normalized as the model will see them.
    is_real : `numpy.ndarray`
        ``(N,)`` bool labels.
    keys : `numpy.ndarray`
        ``(N,)`` int64 unique row keys (diaSource ids), for the validation split.
    """

    cutouts: np.ndarray
    is_real: np.ndarray
    keys: np.ndarray


class BlockSource(Protocol):
    """A training set read block by block."""

    def __len__(self) -> int:
        """Number of blocks."""

    def load(self, index: int) -> Block:
        """Read block ``index``."""


class ArrayBlocks:
    """A training set held in memory, as one block (keys are row numbers).

    Parameters
    ----------
    cutouts : `numpy.ndarray`
        ``(N, C, S, S)`` normalized cutouts (or ``(N, F)`` vectors, for the
        DESOM of histograms).
    is_real : `numpy.ndarray`
        ``(N,)`` labels.
    """

    def __init__(self, cutouts: np.ndarray, is_real: np.ndarray) -> None:
        cutouts = np.asarray(cutouts, dtype=np.float32)
        is_real = np.asarray(is_real, dtype=bool)
        if cutouts.ndim not in (2, 4) or len(cutouts) != len(is_real):
            raise ValueError(
                f"expected cutouts (N, C, H, W) or vectors (N, F) and N labels, got {cutouts.shape} and "
                f"{is_real.shape}"
            )
        self.block = Block(cutouts, is_real, np.arange(len(is_real), dtype=np.int64))

    def __len__(self) -> int:
        return 1

    def load(self, index: int) -> Block:
        return self.block


class CachedBlocks:
    """Another block source whose blocks are kept in a local directory once read.

    The first `load` of a block reads it from ``source`` (e.g. the butler,
    then normalizes it) and writes it to ``directory`` as an uncompressed
    ``.npz``; later loads (every epoch after the first pass) read that file.
    Memory use is unchanged; the directory grows to the size of the
    normalized training set.  If a write fails (e.g. a full disk), caching
    stops with a warning and blocks are read from ``source`` again.

    Parameters
    ----------
    source : `BlockSource`
        The blocks.
    directory : `str`
        Where to keep them (must exist; the caller removes it).
    log : `logging.Logger`, optional
        Logger for the warning.
    """

    def __init__(self, source: BlockSource, directory: str, log: logging.Logger | None = None) -> None:
        self.source = source
        self.directory = directory
        self.log = log or _LOG
        self.enabled = True

    def __len__(self) -> int:
        return len(self.source)

    def _path(self, index: int) -> str:
        return os.path.join(self.directory, f"block_{index:06d}.npz")

    def load(self, index: int) -> Block:
        path = self._path(index)
        if os.path.exists(path):
            with np.load(path) as archive:
                return Block(archive["cutouts"], archive["is_real"], archive["keys"])
        block = self.source.load(index)
        if self.enabled:
            try:
                with open(path + ".tmp", "wb") as stream:
                    np.savez(stream, cutouts=block.cutouts, is_real=block.is_real, keys=block.keys)
                os.replace(path + ".tmp", path)
            except OSError as err:
                self.enabled = False
                if os.path.exists(path + ".tmp"):
                    os.remove(path + ".tmp")
                self.log.warning("Not caching training blocks in %s any more: %s", self.directory, err)
        return block


class TripletBlocks:
    """Labelled triplet datasets as training blocks, read and prepared when asked for.

    Parameters
    ----------
    items : sequence
        `~lsst.meas.realbogus.stamps.triplets.LabelledTriplets` or deferred
        butler handles to them.
    channels : sequence of `str`
        The model's channels, in its order.
    normalization : `str`
        The model's normalization.
    size : `int`
        The model's stamp size (triplets are centre-cropped to it); 0: the
        triplets' own size.
    min_snr : `float`
        Keep only rows with absolute ``snr`` above this (0: all).
    drop_edge : `bool`
        Leave out rows whose cutout ran off the image (``flag_edge``).
    exclude_kinds : sequence of `str`
        Leave out rows of these kinds (the ``kind`` column), e.g. to withhold
        an artifact kind from training.

    Attributes
    ----------
    max_psf_fwhm : `float`
        The widest ``psfFwhm`` (pixels) of the rows kept in the blocks loaded
        so far (0 while none with that column has been): after an epoch, the
        training set's widest PSF, which the model records.
    min_psf_fwhm : `float`
        The narrowest, likewise (0 while none has been loaded).
    """

    def __init__(
        self,
        items: Sequence[Any],
        channels: Sequence[str],
        normalization: str,
        *,
        size: int = 0,
        min_snr: float = 0.0,
        drop_edge: bool = False,
        exclude_kinds: Sequence[str] = (),
    ) -> None:
        self.items = list(items)
        self.channels = tuple(channels)
        self.normalization = normalization
        self.size = size
        self.min_snr = min_snr
        self.drop_edge = drop_edge
        self.exclude_kinds = tuple(exclude_kinds)
        self.max_psf_fwhm = 0.0
        self.min_psf_fwhm = 0.0

    def __len__(self) -> int:
        return len(self.items)

    def triplets(self, index: int) -> LabelledTriplets:
        """The triplets of block ``index`` (read from the butler if a handle)."""
        item = self.items[index]
        return item if isinstance(item, LabelledTriplets) else item.get()

    def rows(self, triplets: LabelledTriplets) -> np.ndarray:
        """Which rows of ``triplets`` the cuts keep."""
        table = triplets.table
        keep = np.ones(len(table), dtype=bool)
        if self.min_snr > 0:
            keep &= np.abs(np.asarray(table["snr"], dtype=float)) > self.min_snr
        if self.drop_edge:
            keep &= ~np.asarray(table["flag_edge"], dtype=bool)
        if self.exclude_kinds:
            keep &= ~np.isin(np.asarray(table["kind"]).astype(str), self.exclude_kinds)
        return keep

    def load(self, index: int) -> Block:
        triplets = self.triplets(index)
        table = triplets.table
        keep = self.rows(triplets)
        model_input = ModelInput(self.channels, self.size or triplets.size, self.normalization)
        stamps = triplets.cutouts if keep.all() else triplets.cutouts[keep]
        if "psfFwhm" in table.colnames and keep.any():
            widths = np.asarray(table["psfFwhm"], dtype=float)[keep]
            if np.isfinite(widths).any():
                self.max_psf_fwhm = max(self.max_psf_fwhm, float(np.nanmax(widths)))
                narrowest = float(np.nanmin(widths))
                self.min_psf_fwhm = min(self.min_psf_fwhm or narrowest, narrowest)
        return Block(
            model_input.prepare(stamps, CHANNELS),
            np.asarray(table["isReal"], dtype=bool)[keep],
            np.asarray(table[table.colnames[0]], dtype=np.int64)[keep],
        )


def read_groups(
    source: BlockSource,
    order: np.ndarray,
    group: int,
    rows: Callable[[Block], np.ndarray] | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The stamps and labels of ``group`` blocks at a time, in ``order``; the next group is read meanwhile.

    Parameters
    ----------
    source : `BlockSource`
        The blocks.
    order : `numpy.ndarray`
        Block indices, in the order to read them.
    group : `int`
        Blocks per group (memory holds two groups).
    rows : callable, optional
        ``rows(block)`` gives the boolean mask of the rows to keep (e.g. the
        training rows); default: every row.

    Yields
    ------
    cutouts, is_real : `numpy.ndarray`
        The kept rows of a group's blocks, concatenated.
    """

    def read(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = [], []
        for i in indices:
            block = source.load(int(i))
            keep = rows(block) if rows is not None else slice(None)
            xs.append(block.cutouts[keep])
            ys.append(block.is_real[keep])
        return np.concatenate(xs), np.concatenate(ys)

    chunks = [order[i : i + group] for i in range(0, len(order), group)]
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(read, chunks[0])
        for k in range(len(chunks)):
            current = pending.result()
            if k + 1 < len(chunks):
                pending = pool.submit(read, chunks[k + 1])
            yield current
