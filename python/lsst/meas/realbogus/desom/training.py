"""Training a DESOM (autoencoder + SOM) on thumbnails streamed block by block.

Two modes (seed 000 section 2.3):

``separate`` (the default, the seed's best)
    The autoencoder is trained alone on the reconstruction loss; then every
    thumbnail is encoded once by the frozen encoder and the map is trained on
    those latent vectors with the batch SOM
    (`~lsst.meas.realbogus.desom.som.train_som`).
``combined`` (Forest et al. 2019; seed 002)
    After optional autoencoder-only epochs, the encoder, decoder and
    prototypes are trained together by gradient descent on
    ``L_rec + gamma * L_som``, the temperature decaying over the iterations.

Thumbnails come from a `~lsst.meas.realbogus.cnn.blocks.BlockSource` (in a
butler: `~lsst.meas.realbogus.cnn.blocks.TripletBlocks` of the DESOM's
`~lsst.meas.realbogus.stamps.batch.ModelInput`), read again every epoch, so
memory holds a few blocks and the latent vectors (``N x L`` floats), not the
thumbnails.
"""

from __future__ import annotations

__all__ = ("DesomTrainingResult", "encode_blocks", "train_desom")

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from lsst.utils.logging import PeriodicLogger

from ..cnn.blocks import BlockSource, read_groups
from ..cnn.training import random_symmetries
from ..inference.devices import check_device
from ..stamps.batch import dihedral_views
from .autoencoder import get_autoencoder
from .som import SelfOrganizingMap, quantization_error, temperature, topographic_error, train_som

_LOG = logging.getLogger(__name__)

DISTANCE_PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
"""Percentiles of the training distances recorded with a DESOM (what "unusual" is measured against)."""


@dataclass
class DesomTrainingResult:
    """A trained DESOM and how it got there.

    Attributes
    ----------
    autoencoder : `torch.nn.Module`
        The autoencoder, in evaluation mode, on the CPU.
    som : `~lsst.meas.realbogus.desom.som.SelfOrganizingMap`
        The map, on the CPU.
    history : `dict` [`str`, `list`]
        ``autoencoder`` (per epoch: ``epoch``, ``loss``, ``seconds``),
        ``som`` (per SOM epoch) or ``combined`` (per epoch: ``loss``,
        ``reconstruction``, ``som``, ``temperature``).
    quantization_error : `float`
        Mean distance of the training thumbnails' latent vectors to their
        prototypes.
    topographic_error : `float`
        Fraction of them whose two nearest prototypes are not neighbours.
    distance_percentiles : `dict` [`str`, `float`]
        Percentiles of those distances (`DISTANCE_PERCENTILES`).
    count : `int`
        Latent vectors the map was trained on (8 per thumbnail with augmentation).
    seconds : `float`
        Wall time.
    """

    autoencoder: nn.Module
    som: SelfOrganizingMap
    history: dict[str, list] = field(default_factory=dict)
    quantization_error: float = float("nan")
    topographic_error: float = float("nan")
    distance_percentiles: dict[str, float] = field(default_factory=dict)
    count: int = 0
    seconds: float = 0.0

    def summary(self) -> dict:
        """The record of the training, for a history dataset: counts, errors, times and losses."""
        return {
            "count": self.count,
            "quantization_error": self.quantization_error,
            "topographic_error": self.topographic_error,
            "distance_percentiles": self.distance_percentiles,
            "seconds": self.seconds,
            "training": self.history,
        }


@torch.no_grad()
def encode_blocks(
    encoder: nn.Module, source: BlockSource, device: str, batch_size: int = 1024, views: bool = False
) -> torch.Tensor:
    """Latent vectors ``(N, L)`` of every row of every block, in block order.

    With ``views``, of each row's 8 flips and rotations too (``8 N`` vectors).
    """
    encoder.eval()
    out = []
    for i in range(len(source)):
        x = source.load(i).cutouts
        for view in dihedral_views(x) if views else [x]:
            for start in range(0, len(view), batch_size):
                batch = np.ascontiguousarray(view[start : start + batch_size])
                out.append(encoder(torch.from_numpy(batch).to(device)))
    if not out:
        raise ValueError("the training set is empty")
    return torch.cat(out)


def _minibatches(
    source: BlockSource,
    rng: np.random.Generator,
    generator: torch.Generator,
    group: int,
    size: int,
    augment: bool,
):
    """Shuffled minibatches over one pass of the blocks (each thumbnail turned at random if ``augment``)."""
    order = rng.permutation(len(source))
    for x, _ in read_groups(source, order, group):
        x_t = torch.from_numpy(x)
        perm = torch.randperm(len(x_t), generator=generator)
        for i in range(0, len(perm), size):
            batch = x_t[perm[i : i + size]]
            yield random_symmetries(batch, generator) if augment else batch


def train_desom(
    source: BlockSource,
    *,
    architecture: str = "table1",
    latent_size: int = 120,
    map_shape: tuple[int, int] = (30, 30),
    mode: str = "separate",
    autoencoder_epochs: int = 20,
    som_epochs: int = 30,
    combined_epochs: int = 10,
    gamma: float = 0.0075,
    t_max: float = 10.0,
    t_min: float = 0.01,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    seed: int = 1,
    device: str = "cpu",
    blocks_per_shuffle: int = 16,
    augment: bool = False,
    log: logging.Logger | None = None,
) -> DesomTrainingResult:
    """Train a DESOM.

    Parameters
    ----------
    source : `~lsst.meas.realbogus.cnn.blocks.BlockSource`
        Model-ready thumbnails ``(N, C, S, S)``, or vectors ``(N, F)`` for
        the ``dense`` autoencoder (labels are not used).
    architecture : `str`
        Name of the autoencoder
        (`~lsst.meas.realbogus.desom.autoencoder.list_autoencoders`).
    latent_size : `int`
        Length of the latent vectors.
    map_shape : `tuple` [`int`, `int`]
        Rows and columns of the map.
    mode : `str`
        ``separate`` or ``combined``.
    autoencoder_epochs : `int`
        Epochs of the autoencoder alone (in ``combined`` mode, before the
        joint epochs; may be 0 there).
    som_epochs : `int`
        Epochs of the batch SOM (``separate`` mode).
    combined_epochs : `int`
        Joint epochs (``combined`` mode).
    gamma : `float`
        Weight of the SOM loss in ``combined`` mode.
    t_max, t_min : `float`
        First and last temperature of the neighbourhood kernel.
    batch_size : `int`
        Minibatch size of the gradient steps.
    learning_rate : `float`
        Adam learning rate.
    seed : `int`
        Seed of the initialization, order and map initialization.
    device : `str`
        Torch device.
    blocks_per_shuffle : `int`
        Blocks whose rows are shuffled together.
    augment : `bool`
        Train on the thumbnails' flips and 90-degree rotations too: each
        gradient step sees each thumbnail turned at random, and the map is
        trained on the latent vectors of all 8 views of every thumbnail.
    log : `logging.Logger`, optional
        Logger for progress (a task passes its own).

    Raises
    ------
    ValueError
        If the set is empty, the mode unknown, the device absent, or the
        settings out of range.
    """
    start = time.perf_counter()
    check_device(device)
    if mode not in ("separate", "combined"):
        raise ValueError(f"mode must be 'separate' or 'combined', got {mode!r}")
    if mode == "separate" and autoencoder_epochs < 1:
        raise ValueError("the separate mode needs at least one autoencoder epoch")
    log = log or _LOG
    shapes = (source.load(i).cutouts.shape for i in range(len(source)))
    shape = next((s for s in shapes if s[0]), None)
    if shape is None:
        raise ValueError("the training set is empty")
    # Vectors (N, F) are F channels of one pixel (the dense autoencoder of histograms).
    channels, size = shape[1], (shape[-1] if len(shape) == 4 else 1)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    autoencoder = get_autoencoder(architecture, channels, size, latent_size).to(device)
    som = SelfOrganizingMap(map_shape[0], map_shape[1], latent_size).to(device)
    history: dict[str, list] = {"autoencoder": []}
    periodic = PeriodicLogger(log, interval=60.0)
    optimizer = torch.optim.Adam(autoencoder.parameters(), lr=learning_rate)

    def to_device(x: torch.Tensor) -> torch.Tensor:
        return x.to(device, non_blocking=True)

    for epoch in range(1, autoencoder_epochs + 1):
        t0 = time.perf_counter()
        autoencoder.train()
        total, seen = 0.0, 0
        for x in _minibatches(source, rng, generator, blocks_per_shuffle, batch_size, augment):
            x = to_device(x)
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(autoencoder(x)[1], x)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(x)
            seen += len(x)
            periodic.log("autoencoder epoch %d: %d thumbnails, loss %.5f", epoch, seen, total / seen)
        history["autoencoder"].append(
            {"epoch": epoch, "loss": total / seen, "seconds": time.perf_counter() - t0}
        )
        log.info("Autoencoder epoch %d: reconstruction loss %.5f.", epoch, total / seen)

    if mode == "separate":
        latents = encode_blocks(autoencoder.encoder, source, device, views=augment)
        log.info("Training a %dx%d map on %d latent vectors.", map_shape[0], map_shape[1], len(latents))
        som_result = train_som(som, latents, epochs=som_epochs, t_max=t_max, t_min=t_min, seed=seed, log=log)
        history["som"] = som_result.history
    else:
        with torch.no_grad():
            som.initialize(encode_blocks(autoencoder.encoder, source, device, views=augment), generator)
        optimizer = torch.optim.Adam(
            list(autoencoder.parameters()) + list(som.parameters()), lr=learning_rate
        )
        per_epoch = sum(-(-len(source.load(i).cutouts) // batch_size) for i in range(len(source)))
        steps, step = combined_epochs * per_epoch, 0
        history["combined"] = []
        for epoch in range(1, combined_epochs + 1):
            autoencoder.train()
            sums = np.zeros(3)
            seen = 0
            for x in _minibatches(source, rng, generator, blocks_per_shuffle, batch_size, augment):
                x = to_device(x)
                t = temperature(step, steps, t_max, t_min)
                z, reconstruction = autoencoder(x)
                l_rec = nn.functional.mse_loss(reconstruction, x)
                l_som = som.loss(z, t)
                loss = l_rec + gamma * l_som
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                sums += np.array([loss.item(), l_rec.item(), l_som.item()]) * len(x)
                seen += len(x)
                step += 1
            record = dict(zip(("loss", "reconstruction", "som"), (sums / max(seen, 1)).tolist()))
            history["combined"].append({"epoch": epoch, "temperature": t} | record)
            log.info(
                "Joint epoch %d: loss %.5f (reconstruction %.5f, SOM %.4f) at temperature %.3g.",
                epoch,
                record["loss"],
                record["reconstruction"],
                record["som"],
                t,
            )
        latents = encode_blocks(autoencoder.encoder, source, device, views=augment)

    autoencoder = autoencoder.to("cpu").eval()
    som = som.to("cpu")
    latents = latents.detach().cpu()
    with torch.no_grad():
        chunks = [som.best_matching_units(latents[i : i + 65536])[1] for i in range(0, len(latents), 65536)]
    percentiles = np.percentile(torch.cat(chunks).numpy(), DISTANCE_PERCENTILES)
    result = DesomTrainingResult(
        autoencoder=autoencoder,
        som=som,
        history=history,
        quantization_error=quantization_error(som, latents),
        topographic_error=topographic_error(som, latents),
        distance_percentiles={f"{p:g}": float(v) for p, v in zip(DISTANCE_PERCENTILES, percentiles)},
        count=len(latents),
        seconds=time.perf_counter() - start,
    )
    log.info(
        "DESOM trained on %d latent vectors (thumbnails and their views) in %.0f s: quantization error "
        "%.4g, topographic error %.4f.",
        result.count,
        result.seconds,
        result.quantization_error,
        result.topographic_error,
    )
    return result
