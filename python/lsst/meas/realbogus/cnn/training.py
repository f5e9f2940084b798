"""Training a real/bogus classifier (PyTorch), streaming labelled stamps block by block.

A training set is a `~lsst.meas.realbogus.cnn.blocks.BlockSource` (in a
butler, one block per detector and visit) read again every epoch, so memory
holds only the validation rows and a few blocks, whatever the size of the set.
Which rows validate is decided by a hash of each row's key (its diaSource id)
and the seed, so the split does not depend on the order or the grouping of the
blocks.
"""

from __future__ import annotations

__all__ = (
    "TrainingDivergedError",
    "TrainingResult",
    "random_symmetries",
    "random_zoom",
    "train_classifier",
    "validation_rows",
)

import copy
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from lsst.pipe.base import AlgorithmError
from lsst.utils.logging import PeriodicLogger

from ..evaluation.metrics import roc_auc
from ..inference.devices import check_device
from .architectures import get_architecture
from .blocks import Block, BlockSource, read_groups

_LOG = logging.getLogger(__name__)


class TrainingDivergedError(AlgorithmError):
    """The training loss became NaN or infinite (e.g. a learning rate too high for the data).

    Parameters
    ----------
    epoch : `int`
        Epoch (from 1) in which it happened.
    seen : `int`
        Stamps trained on in that epoch before it happened.
    """

    def __init__(self, epoch: int, seen: int) -> None:
        super().__init__(
            f"the training loss is not finite in epoch {epoch}, after {seen} stamps; "
            "lower learningRate or check the stamps for extreme values"
        )
        self.epoch = epoch
        self.seen = seen

    @property
    def metadata(self) -> dict:
        return {"epoch": self.epoch, "seen": self.seen}


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
    seconds : `float`
        Wall time of the whole training, the validation split included.
    val_logits : `numpy.ndarray`
        ``(N,)`` logits of the kept model on the validation rows.
    val_labels : `numpy.ndarray`
        ``(N,)`` bool labels of the validation rows.
    """

    module: nn.Module
    best_epoch: int
    val_auc: float
    history: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    positive_weight: float = 1.0
    input_shape: tuple[int, ...] = ()
    seconds: float = 0.0
    val_logits: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    val_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


def random_symmetries(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each stamp of ``batch`` (in place) under one of the 8 flips and 90-degree rotations, at random.

    These are symmetries of the problem: a transient or an artifact turned
    or mirrored is still one.
    """
    which = torch.randint(0, 8, (len(batch),), generator=generator)
    for t in range(1, 8):
        rows = torch.nonzero(which == t)[:, 0]
        if len(rows):
            x = batch[rows]
            if t & 4:
                x = torch.flip(x, dims=(3,))
            batch[rows] = torch.rot90(x, t & 3, dims=(2, 3))
    return batch


def random_zoom(
    batch: torch.Tensor, generator: torch.Generator, max_zoom: float, fraction: float = 0.5
) -> torch.Tensor:
    """Magnify a random ``fraction`` of the stamps of ``batch`` about their centres.

    Each chosen stamp is magnified by a factor drawn log-uniformly in
    ``[1, max_zoom]`` (bilinear interpolation of its central ``S / zoom``
    pixels), as if its PSF were that much wider in pixels: a coarser
    sampling or worse seeing than the training images have.  The centre
    pixel stays the centre pixel.

    Parameters
    ----------
    batch : `torch.Tensor`
        ``(N, C, S, S)`` stamps; not modified.
    generator : `torch.Generator`
        Random generator (CPU).
    max_zoom : `float`
        Largest magnification (1: no change).
    fraction : `float`
        Fraction of the stamps magnified, on average.

    Returns
    -------
    zoomed : `torch.Tensor`
        A new tensor of the shape of ``batch`` (``batch`` itself if
        ``max_zoom`` is 1).
    """
    if max_zoom < 1:
        raise ValueError(f"max_zoom must be >= 1, got {max_zoom}")
    if max_zoom == 1 or fraction <= 0 or len(batch) == 0:
        return batch
    n = len(batch)
    chosen = torch.rand(n, generator=generator) < fraction
    zoom = torch.exp(torch.rand(n, generator=generator) * math.log(max_zoom))
    zoom = torch.where(chosen, zoom, torch.ones(n))
    # An affine grid of scale 1/zoom samples the central S/zoom pixels over the whole output.
    theta = torch.zeros(n, 2, 3, dtype=batch.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = (1.0 / zoom).to(batch.dtype)
    grid = nn.functional.affine_grid(theta, list(batch.shape), align_corners=False)
    zoomed = nn.functional.grid_sample(batch, grid, mode="bilinear", align_corners=False)
    return torch.where(chosen[:, None, None, None], zoomed, batch)


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


def _cpu(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A copy of a state dict on the CPU."""
    return {name: tensor.detach().to("cpu", copy=True) for name, tensor in state.items()}


def _scores(
    model: nn.Module,
    x: np.ndarray,
    device: str,
    batch_size: int = 1024,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> np.ndarray:
    model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(x), batch_size):
            batch = torch.from_numpy(x[i : i + batch_size]).to(device, memory_format=memory_format)
            out.append(model(batch).float().cpu())
    return torch.cat(out).numpy()


def train_classifier(
    source: BlockSource,
    *,
    architecture: str = "dia_cnn",
    epochs: int = 40,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    schedule: str = "constant",
    max_zoom: float = 1.0,
    positive_weight: float | None = None,
    validation_fraction: float = 0.15,
    patience: int = 8,
    seed: int = 1,
    split_seed: int | None = None,
    device: str = "cpu",
    blocks_per_shuffle: int = 16,
    channels_last: bool = True,
    log: logging.Logger | None = None,
    resume: Mapping[str, Any] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> TrainingResult:
    """Train a binary classifier with class weighting, augmentation and early stopping.

    Each epoch visits the blocks in a new random order, ``blocks_per_shuffle``
    at a time; the training rows of those blocks are shuffled together and
    cut into mini-batches, each cutout under a random flip and rotation (and,
    with ``max_zoom``, magnified at random).  The
    model with the best validation AUC is kept.

    Parameters
    ----------
    source : `~lsst.meas.realbogus.cnn.blocks.BlockSource`
        The training set (e.g. `~lsst.meas.realbogus.cnn.blocks.ArrayBlocks`).
    architecture : `str`
        A name of `~lsst.meas.realbogus.cnn.architectures.list_architectures`.
    epochs : `int`
        Maximum number of epochs.
    batch_size : `int`
        Mini-batch size.
    learning_rate : `float`
        Adam learning rate (the first, with a schedule).
    schedule : `str`
        ``constant``, or ``cosine``: the learning rate falls from
        ``learning_rate`` to 0 along half a cosine over ``epochs``
        (`torch.optim.lr_scheduler.CosineAnnealingLR`, stepped each epoch).
    max_zoom : `float`
        Half of the training cutouts are also magnified by up to this factor
        (`random_zoom`); 1: none.
    positive_weight : `float`, optional
        Weight of the real class in the loss (DMTN-272 uses 20); default: the
        bogus-to-real ratio of the training rows.
    validation_fraction : `float`
        Fraction of rows held out to choose the best epoch.
    patience : `int`
        Stop after this many epochs without a better validation AUC.
    seed : `int`
        Seed of the initialization, the order and the augmentation (and of
        the split, unless ``split_seed`` is given).
    split_seed : `int`, optional
        Seed of the validation split (the members of an ensemble share one).
    device : `str`
        Torch device (``cpu``, ``cuda``, ``cuda:N``).
    blocks_per_shuffle : `int`
        Blocks whose rows are shuffled together (memory holds two such groups).
    channels_last : `bool`
        Train in the channels-last memory format (`torch.channels_last`): the
        same layers over another order of the pixels in memory, which
        PyTorch's CPU convolutions run faster (``bench/bench_training_step.py``).
        The weights differ from an ordinary-format training as another
        seed's would (other rounding, and dropout draws its masks in memory
        order); the returned module is in the ordinary format either way.
    log : `logging.Logger`, optional
        Logger for progress (a task passes its own); default: this module's.
    resume : `~collections.abc.Mapping`, optional
        A state passed to ``on_epoch`` by an earlier call with the same source
        and arguments: the training goes on from the epoch after it, and ends
        as that call would have (same weights and history, on the same
        machine and threads).
    on_epoch : callable, optional
        Called after every epoch with the training's state (a `dict` of
        tensors and plain values, for `torch.save`), e.g. to save it so that
        an interrupted training can be resumed.

    Raises
    ------
    ValueError
        Before any training, if the set is empty, a class is missing from the
        training or the validation rows, shapes disagree, or the device is
        not available.
    TrainingDivergedError
        If the loss becomes NaN or infinite.
    """
    start_time = time.perf_counter()
    check_device(device)
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    if max_zoom < 1:
        raise ValueError(f"max_zoom must be >= 1, got {max_zoom}")
    if schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule must be 'constant' or 'cosine', got {schedule!r}")
    log = log or _LOG
    split_seed = seed if split_seed is None else split_seed
    val_x, val_y, counts = _split(source, validation_fraction, split_seed, log)

    def training_rows(block: Block) -> np.ndarray:
        return ~validation_rows(block.keys, validation_fraction, split_seed)

    n_pos, n_neg = counts["train_real"], counts["train_bogus"]
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = get_architecture(architecture, val_x.shape[1], val_x.shape[2])
    model = model.to(device, memory_format=memory_format)
    weight = positive_weight if positive_weight is not None else n_neg / n_pos
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(weight, device=device))
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs) if schedule == "cosine" else None
    )
    best = (-1.0, 0, copy.deepcopy(model.state_dict()))
    history = []
    first_epoch, stopped, earlier_seconds = 1, False, 0.0
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(resume["scheduler"])
        best = (resume["best_auc"], resume["best_epoch"], resume["best_model"])
        history = list(resume["history"])
        torch.set_rng_state(resume["torch_rng"])
        generator.set_state(resume["generator_rng"])
        rng.bit_generator.state = resume["numpy_rng"]
        if device.startswith("cuda") and resume.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(resume["cuda_rng"], device)
        first_epoch, stopped, earlier_seconds = resume["epoch"] + 1, resume["stopped"], resume["seconds"]
        log.info("Resuming after epoch %d (best so far: epoch %d).", resume["epoch"], best[1])
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
    for epoch in range(first_epoch, 1 if stopped else epochs + 1):
        start = time.perf_counter()
        model.train()
        total, seen = 0.0, 0
        order = rng.permutation(len(source))
        groups = read_groups(source, order, blocks_per_shuffle, rows=training_rows)
        for x, y in groups:
            perm = torch.randperm(len(y), generator=generator)
            x_t, y_t = torch.from_numpy(x), torch.from_numpy(y.astype(np.float32))
            for i in range(0, len(perm), batch_size):
                idx = perm[i : i + batch_size]
                batch = random_zoom(random_symmetries(x_t[idx], generator), generator, max_zoom)
                batch = batch.to(device, memory_format=memory_format)
                optimizer.zero_grad()
                loss = loss_fn(model(batch), y_t[idx].to(device))
                loss.backward()
                optimizer.step()
                value = loss.item()
                if not math.isfinite(value):
                    raise TrainingDivergedError(epoch, seen)
                total += value * len(idx)
                seen += len(idx)
                periodic.log(
                    "epoch %d: %d of %d cutouts, loss %.4f", epoch, seen, n_pos + n_neg, total / seen
                )
        auc = roc_auc(_scores(model, val_x, device, memory_format=memory_format), val_y)
        history.append(
            {
                "epoch": epoch,
                "loss": total / seen,
                "val_auc": auc,
                "learning_rate": optimizer.param_groups[0]["lr"],
                "seconds": time.perf_counter() - start,
            }
        )
        if scheduler is not None:
            scheduler.step()
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
            stopped = True
        if on_epoch is not None:
            on_epoch(
                {
                    "epoch": epoch,
                    "stopped": stopped,
                    "model": _cpu(model.state_dict()),
                    "optimizer": copy.deepcopy(optimizer.state_dict()),
                    "scheduler": scheduler.state_dict() if scheduler is not None else None,
                    "best_auc": best[0],
                    "best_epoch": best[1],
                    "best_model": _cpu(best[2]),
                    "history": list(history),
                    "torch_rng": torch.get_rng_state(),
                    "generator_rng": generator.get_state(),
                    "numpy_rng": rng.bit_generator.state,
                    "cuda_rng": torch.cuda.get_rng_state(device) if device.startswith("cuda") else None,
                    "seconds": earlier_seconds + time.perf_counter() - start_time,
                }
            )
        if stopped:
            break
    model.load_state_dict(best[2])
    val_logits = _scores(model, val_x, device, memory_format=memory_format)
    model = model.to("cpu", memory_format=torch.contiguous_format).eval()
    return TrainingResult(
        module=model,
        best_epoch=best[1],
        val_auc=best[0],
        history=history,
        counts=counts,
        positive_weight=float(weight),
        input_shape=tuple(val_x.shape[1:]),
        seconds=earlier_seconds + time.perf_counter() - start_time,
        val_logits=val_logits.reshape(len(val_y)),
        val_labels=val_y,
    )
