"""Training a real/bogus classifier (PyTorch), streaming labelled cutouts block by block.

A training set is a sequence of blocks (in a butler, one per detector and
visit) that are read again every epoch, so memory holds only the validation
rows and a few blocks, whatever the size of the set.  Which rows validate is
decided by a hash of each row's key (its diaSource id) and the seed, so the
split does not depend on the order or the grouping of the blocks.
"""

from __future__ import annotations

__all__ = (
    "ArrayBlocks",
    "Block",
    "BlockSource",
    "CachedBlocks",
    "TrainingResult",
    "train_classifier",
    "validation_rows",
)

import copy
import logging
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch
from torch import nn

from lsst.utils.logging import PeriodicLogger

from .architectures import make_architecture
from .metrics import roc_auc

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
        ``(N, C, S, S)`` normalized cutouts.
    is_real : `numpy.ndarray`
        ``(N,)`` labels.
    """

    def __init__(self, cutouts: np.ndarray, is_real: np.ndarray) -> None:
        cutouts = np.asarray(cutouts, dtype=np.float32)
        is_real = np.asarray(is_real, dtype=bool)
        if cutouts.ndim != 4 or len(cutouts) != len(is_real):
            raise ValueError(
                f"expected cutouts (N, C, H, W) and N labels, got {cutouts.shape} and {is_real.shape}"
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


def validation_rows(keys: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Whether each row validates: a seeded hash (splitmix64) of its key below ``fraction``."""
    z = np.asarray(keys).astype(np.uint64) + np.uint64((0x9E3779B97F4A7C15 * (seed + 1)) % 2**64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / 2.0**53 < fraction


@dataclass
class TrainingResult:
    """A trained model and how it got there.

    Attributes
    ----------
    module : `torch.nn.Module`
        The model at its best validation AUC, in evaluation mode, on the CPU.
    best_epoch : `int`
        Epoch (from 1) of the best validation AUC.
    val_auc : `float`
        Best validation AUC.
    history : `list` [`dict`]
        Per epoch: ``epoch``, ``loss``, ``val_auc``, ``seconds``.
    counts : `dict` [`str`, `int`]
        ``train_real``, ``train_bogus``, ``val_real``, ``val_bogus``.
    positive_weight : `float`
        Weight of the real class in the loss.
    input_shape : `tuple` [`int`, ...]
        ``(C, S, S)`` of the cutouts it takes.
    """

    module: nn.Module
    best_epoch: int
    val_auc: float
    history: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    positive_weight: float = 1.0
    input_shape: tuple[int, ...] = ()


def _augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each cutout under one of the 8 flips and 90-degree rotations (symmetries of the problem)."""
    which = torch.randint(0, 8, (len(batch),), generator=generator)
    for t in range(1, 8):
        rows = torch.nonzero(which == t)[:, 0]
        if len(rows):
            x = batch[rows]
            if t & 4:
                x = torch.flip(x, dims=(3,))
            batch[rows] = torch.rot90(x, t & 3, dims=(2, 3))
    return batch


def _split(
    source: BlockSource, fraction: float, seed: int, log: logging.Logger
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Read every block once: keep the validation rows, count the classes of both parts."""
    val_x, val_y = [], []
    counts = {"train_real": 0, "train_bogus": 0, "val_real": 0, "val_bogus": 0}
    shape = None
    periodic = PeriodicLogger(log, interval=30.0)
    for i in range(len(source)):
        block = source.load(i)
        if len(block.is_real) == 0:
            continue
        if shape is None:
            shape = block.cutouts.shape[1:]
        elif block.cutouts.shape[1:] != shape:
            raise ValueError(f"block {i} has cutouts of shape {block.cutouts.shape[1:]}, others {shape}")
        val = validation_rows(block.keys, fraction, seed)
        val_x.append(block.cutouts[val])
        val_y.append(block.is_real[val])
        counts["train_real"] += int(np.sum(block.is_real & ~val))
        counts["train_bogus"] += int(np.sum(~block.is_real & ~val))
        counts["val_real"] += int(np.sum(block.is_real & val))
        counts["val_bogus"] += int(np.sum(~block.is_real & val))
        periodic.log("Read %d of %d blocks for the validation split.", i + 1, len(source))
    if shape is None:
        raise ValueError("the training set is empty")
    problems = []
    for part in ("train", "val"):
        for cls in ("real", "bogus"):
            if counts[f"{part}_{cls}"] == 0:
                problems.append(
                    f"no {cls} examples in the {'training' if part == 'train' else 'validation'} part"
                )
    if problems:
        raise ValueError(
            "cannot train: " + "; ".join(problems) + f" (counts: {counts}); the data holds "
            f"{counts['train_real'] + counts['val_real']} real and "
            f"{counts['train_bogus'] + counts['val_bogus']} bogus examples"
        )
    return np.concatenate(val_x), np.concatenate(val_y), counts


def _groups(
    source: BlockSource, order: np.ndarray, group: int, fraction: float, seed: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Training rows of ``group`` blocks at a time, the next group read while this one is used."""

    def read(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = [], []
        for i in indices:
            block = source.load(int(i))
            train = ~validation_rows(block.keys, fraction, seed)
            xs.append(block.cutouts[train])
            ys.append(block.is_real[train])
        return np.concatenate(xs), np.concatenate(ys)

    chunks = [order[i : i + group] for i in range(0, len(order), group)]
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(read, chunks[0])
        for k in range(len(chunks)):
            current = pending.result()
            if k + 1 < len(chunks):
                pending = pool.submit(read, chunks[k + 1])
            yield current


def _scores(model: nn.Module, x: np.ndarray, device: str, batch_size: int = 1024) -> np.ndarray:
    model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(x), batch_size):
            out.append(model(torch.from_numpy(x[i : i + batch_size]).to(device)).float().cpu())
    return torch.cat(out).numpy()


def train_classifier(
    source: BlockSource,
    *,
    architecture: str = "dia_cnn",
    epochs: int = 40,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    positive_weight: float | None = None,
    validation_fraction: float = 0.15,
    patience: int = 8,
    seed: int = 1,
    device: str = "cpu",
    blocks_per_shuffle: int = 16,
    log: logging.Logger | None = None,
) -> TrainingResult:
    """Train a binary classifier with class weighting, augmentation and early stopping.

    Each epoch visits the blocks in a new random order, ``blocks_per_shuffle``
    at a time; the training rows of those blocks are shuffled together and
    cut into mini-batches, each cutout under a random flip and rotation.  The
    model with the best validation AUC is kept.

    Parameters
    ----------
    source : `BlockSource`
        The training set (e.g. `ArrayBlocks`).
    architecture : `str`
        Name in `lsst.meas.realbogus.architectures.ARCHITECTURES`.
    epochs : `int`
        Maximum number of epochs.
    batch_size : `int`
        Mini-batch size.
    learning_rate : `float`
        Adam learning rate.
    positive_weight : `float`, optional
        Weight of the real class in the loss (DMTN-272 uses 20); default: the
        bogus-to-real ratio of the training rows.
    validation_fraction : `float`
        Fraction of rows held out to choose the best epoch.
    patience : `int`
        Stop after this many epochs without a better validation AUC.
    seed : `int`
        Seed of the split, the initialization, the order and the augmentation.
    device : `str`
        Torch device (``cpu``, ``cuda``, ``cuda:N``).
    blocks_per_shuffle : `int`
        Blocks whose rows are shuffled together (memory holds two such groups).
    log : `logging.Logger`, optional
        Logger for progress (a task passes its own); default: this module's.

    Raises
    ------
    ValueError
        Before any training, if the set is empty, a class is missing from the
        training or the validation rows, or shapes disagree.
    """
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested, but CUDA is not available")
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    log = log or _LOG
    val_x, val_y, counts = _split(source, validation_fraction, seed, log)
    n_pos, n_neg = counts["train_real"], counts["train_bogus"]
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = make_architecture(architecture, val_x.shape[1], val_x.shape[2]).to(device)
    weight = positive_weight if positive_weight is not None else n_neg / n_pos
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(weight, device=device))
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    best = (-1.0, 0, copy.deepcopy(model.state_dict()))
    history = []
    log.info(
        "Training %s on %d cutouts of %s (%d real, %d bogus; real weight %.2f), validating on %d, on %s.",
        architecture,
        n_pos + n_neg,
        "x".join(map(str, val_x.shape[1:])),
        n_pos,
        n_neg,
        weight,
        len(val_y),
        device,
    )
    periodic = PeriodicLogger(log, interval=60.0)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        total, seen = 0.0, 0
        order = rng.permutation(len(source))
        for x, y in _groups(source, order, blocks_per_shuffle, validation_fraction, seed):
            perm = torch.randperm(len(y), generator=generator)
            x_t, y_t = torch.from_numpy(x), torch.from_numpy(y.astype(np.float32))
            for i in range(0, len(perm), batch_size):
                idx = perm[i : i + batch_size]
                batch = _augment(x_t[idx], generator).to(device)
                optimizer.zero_grad()
                loss = loss_fn(model(batch), y_t[idx].to(device))
                loss.backward()
                optimizer.step()
                total += loss.item() * len(idx)
                seen += len(idx)
                periodic.log(
                    "epoch %d: %d of %d cutouts, loss %.4f", epoch, seen, n_pos + n_neg, total / seen
                )
        auc = roc_auc(_scores(model, val_x, device), val_y)
        history.append(
            {"epoch": epoch, "loss": total / seen, "val_auc": auc, "seconds": time.perf_counter() - start}
        )
        log.info(
            "epoch %2d: loss %.4f, validation AUC %.4f (%.1f s)",
            epoch,
            total / seen,
            auc,
            history[-1]["seconds"],
        )
        if auc > best[0]:
            best = (auc, epoch, copy.deepcopy(model.state_dict()))
        elif epoch - best[1] >= patience:
            log.info("No better validation AUC for %d epochs: stopping.", patience)
            break
    model.load_state_dict(best[2])
    model = model.to("cpu").eval()
    return TrainingResult(
        module=model,
        best_epoch=best[1],
        val_auc=best[0],
        history=history,
        counts=counts,
        positive_weight=float(weight),
        input_shape=tuple(val_x.shape[1:]),
    )
