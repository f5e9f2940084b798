"""Training a real/bogus classifier on labelled cutouts (PyTorch)."""

from __future__ import annotations

__all__ = ("TrainingResult", "train_classifier")

import copy
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .architectures import make_architecture
from .metrics import roc_auc

_LOG = logging.getLogger(__name__)


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
    """

    module: nn.Module
    best_epoch: int
    val_auc: float
    history: list[dict] = field(default_factory=list)


def _augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random flips and 90-degree rotations (the symmetries of a real/bogus decision)."""
    k = int(torch.randint(0, 4, (1,), generator=generator))
    if k:
        batch = torch.rot90(batch, k, dims=(2, 3))
    if bool(torch.randint(0, 2, (1,), generator=generator)):
        batch = torch.flip(batch, dims=(3,))
    return batch


def train_classifier(
    cutouts: np.ndarray,
    is_real: np.ndarray,
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
) -> TrainingResult:
    """Train a binary classifier with class weighting, augmentation and early stopping.

    Parameters
    ----------
    cutouts : `numpy.ndarray`
        ``(N, C, H, W)`` normalized cutouts.
    is_real : `numpy.ndarray`
        ``(N,)`` labels.
    architecture : `str`
        Name in `lsst.meas.realbogus.architectures.ARCHITECTURES`.
    epochs : `int`
        Maximum number of epochs.
    batch_size : `int`
        Mini-batch size.
    learning_rate : `float`
        Adam learning rate.
    positive_weight : `float`, optional
        Weight of the real class in the loss; default: the bogus-to-real ratio.
    validation_fraction : `float`
        Fraction held out (stratified) to choose the best epoch.
    patience : `int`
        Stop after this many epochs without a better validation AUC.
    seed : `int`
        Seed of the split, the initialization, the batches and the augmentation.
    device : `str`
        Torch device.

    Raises
    ------
    ValueError
        If the set is empty, lacks one of the classes, or shapes disagree.
    """
    cutouts = np.asarray(cutouts, dtype=np.float32)
    is_real = np.asarray(is_real, dtype=bool)
    if cutouts.ndim != 4 or len(cutouts) != len(is_real):
        raise ValueError(
            f"expected cutouts (N, C, H, W) and N labels, got {cutouts.shape} and {is_real.shape}"
        )
    n_pos, n_neg = int(is_real.sum()), int((~is_real).sum())
    if n_pos < 2 or n_neg < 2:
        raise ValueError(f"need at least two real and two bogus examples, got {n_pos} real and {n_neg} bogus")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    val = np.zeros(len(is_real), dtype=bool)
    for cls in (True, False):
        members = np.flatnonzero(is_real == cls)
        val[rng.choice(members, max(1, int(round(validation_fraction * len(members)))), replace=False)] = True
    train_x = torch.from_numpy(cutouts[~val])
    train_y = torch.from_numpy(is_real[~val].astype(np.float32))
    val_x = torch.from_numpy(cutouts[val]).to(device)
    val_y = is_real[val]

    model = make_architecture(architecture, cutouts.shape[1], cutouts.shape[2]).to(device)
    weight = positive_weight if positive_weight is not None else n_neg / n_pos
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(weight, device=device))
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    best = (-1.0, 0, copy.deepcopy(model.state_dict()))
    history = []
    _LOG.info(
        "Training %s on %d cutouts (%d real, %d bogus; real weight %.2f), validating on %d.",
        architecture,
        len(train_y),
        int(train_y.sum()),
        int(len(train_y) - train_y.sum()),
        weight,
        int(val.sum()),
    )
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(train_y), generator=generator)
        total = 0.0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            batch = _augment(train_x[idx], generator).to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(batch), train_y[idx].to(device))
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        model.eval()
        with torch.inference_mode():
            scores = torch.cat([model(val_x[i : i + 1024]) for i in range(0, len(val_x), 1024)]).cpu().numpy()
        auc = roc_auc(scores, val_y)
        history.append(
            {
                "epoch": epoch,
                "loss": total / len(train_y),
                "val_auc": auc,
                "seconds": time.perf_counter() - start,
            }
        )
        _LOG.info(
            "epoch %2d: loss %.4f, validation AUC %.4f (%.1f s)",
            epoch,
            total / len(train_y),
            auc,
            history[-1]["seconds"],
        )
        if auc > best[0]:
            best = (auc, epoch, copy.deepcopy(model.state_dict()))
        elif epoch - best[1] >= patience:
            _LOG.info("No better validation AUC for %d epochs: stopping.", patience)
            break
    model.load_state_dict(best[2])
    model = model.to("cpu").eval()
    return TrainingResult(module=model, best_epoch=best[1], val_auc=best[0], history=history)
