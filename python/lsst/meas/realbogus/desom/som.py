"""A self-organizing map on a latent space, in torch: the SOM half of a DESOM.

The map is a rectangular grid of ``rows x cols`` prototype vectors (PVs).  A
latent vector's best-matching unit (BMU) is its nearest prototype (Euclidean).
Its SOM loss is the neighbourhood-weighted squared distance to every
prototype (Forest et al. 2019, seed 002 eq. 3),

    L_som(z) = sum_k K_T(d(bmu(z), k)) ||z - m_k||^2 / sum_k K_T(d(bmu(z), k)),

with the Gaussian kernel ``K_T(d) = exp(-d^2 / T^2)`` of the Manhattan grid
distance ``d`` between units (as the reference DESOM), and a temperature
``T`` that decays exponentially from ``Tmax`` to ``Tmin`` over training.  The
kernel weights are normalized to sum to one per vector, so the loss is a
mean squared distance whatever ``T``.

Two ways of minimizing the same loss are provided: `train_som`, the batch
SOM (every epoch, each prototype becomes the kernel-weighted mean of the
vectors; the exact minimizer for fixed BMUs, vectorized over the whole set),
for the separate-trained DESOM; and `SelfOrganizingMap.loss`, differentiable,
for the combine-trained DESOM, where the encoder and the prototypes are
trained together by gradient descent.
"""

from __future__ import annotations

__all__ = (
    "SelfOrganizingMap",
    "SomTrainingResult",
    "quantization_error",
    "temperature",
    "topographic_error",
    "train_som",
    "u_matrix",
)

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from lsst.utils.logging import PeriodicLogger

_LOG = logging.getLogger(__name__)


def temperature(step: int, steps: int, t_max: float, t_min: float) -> float:
    """Temperature at ``step`` of ``steps`` (0-based): ``t_max (t_min / t_max) ** (step / (steps - 1))``."""
    if steps <= 1:
        return t_min
    return t_max * (t_min / t_max) ** (step / (steps - 1))


class SelfOrganizingMap(nn.Module):
    """A rectangular map of prototype vectors.

    Parameters
    ----------
    rows, cols : `int`
        Map shape.
    latent_size : `int`
        Length of the prototype (and latent) vectors.
    """

    def __init__(self, rows: int, cols: int, latent_size: int) -> None:
        super().__init__()
        if rows < 1 or cols < 1 or latent_size < 1:
            raise ValueError(f"map shape and latent size must be positive, got {rows}x{cols}, {latent_size}")
        self.rows = rows
        self.cols = cols
        self.prototypes = nn.Parameter(torch.zeros(rows * cols, latent_size))
        r, c = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
        coords = torch.stack([r.flatten(), c.flatten()], dim=1).float()
        # Manhattan distances between units on the grid, (K, K).
        self.register_buffer("grid_distance", torch.cdist(coords, coords, p=1.0), persistent=False)

    @property
    def size(self) -> int:
        """Number of prototypes."""
        return self.rows * self.cols

    def initialize(self, latents: torch.Tensor, generator: torch.Generator | None = None) -> None:
        """Set the prototypes to distinct vectors drawn at random from ``latents``."""
        if len(latents) == 0:
            raise ValueError("no latent vectors to initialize the map with")
        index = torch.randperm(len(latents), generator=generator)[: self.size]
        if len(index) < self.size:  # fewer vectors than units: repeat them
            index = index[torch.arange(self.size) % len(index)]
        with torch.no_grad():
            self.prototypes.copy_(latents[index].to(self.prototypes))

    def squared_distances(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, K)`` squared Euclidean distances from each vector to each prototype."""
        m = self.prototypes
        d = (z * z).sum(1, keepdim=True) - 2.0 * z @ m.T + (m * m).sum(1)[None, :]
        return d.clamp_min(0.0)

    def best_matching_units(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Index of each vector's nearest prototype, and the distance to it (the quantization error).

        One matrix product: the nearest prototype minimizes ``|m|^2 - 2 z.m``.
        """
        m = self.prototypes
        partial = torch.addmm((m * m).sum(1)[None, :], z, m.T, alpha=-2.0)
        best, bmu = partial.min(dim=1)
        return bmu, (best + (z * z).sum(1)).clamp_min(0.0).sqrt()

    def kernel(self, bmu: torch.Tensor, t: float) -> torch.Tensor:
        """``(N, K)`` neighbourhood weights of each unit around each BMU, normalized to sum to one."""
        weights = torch.exp(-((self.grid_distance[bmu] / t) ** 2))
        return weights / weights.sum(1, keepdim=True)

    def loss(self, z: torch.Tensor, t: float) -> torch.Tensor:
        """Mean SOM loss of a batch at temperature ``t`` (differentiable in ``z`` and the prototypes)."""
        d = self.squared_distances(z)
        with torch.no_grad():
            weights = self.kernel(d.argmin(dim=1), t)
        return (weights * d).sum(1).mean()

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.best_matching_units(z)


@dataclass
class SomTrainingResult:
    """How a SOM was trained.

    Attributes
    ----------
    history : `list` [`dict`]
        Per epoch: ``epoch``, ``temperature``, ``loss`` (the SOM loss at
        that temperature, before the update), ``quantization_error``.
    seconds : `float`
        Wall time.
    """

    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def _chunks(n: int, size: int):
    return ((i, min(i + size, n)) for i in range(0, n, size))


@torch.no_grad()
def train_som(
    som: SelfOrganizingMap,
    latents: torch.Tensor,
    *,
    epochs: int = 30,
    t_max: float = 10.0,
    t_min: float = 0.01,
    seed: int = 1,
    chunk: int = 4096,
    log: logging.Logger | None = None,
) -> SomTrainingResult:
    """Train a map on fixed latent vectors with the batch SOM algorithm.

    Each epoch finds every vector's BMU, then sets each prototype to the
    kernel-weighted mean of the vectors at the epoch's temperature (which
    minimizes the SOM loss for those BMUs); the temperature decays from
    ``t_max`` to ``t_min`` over the epochs.  Everything is vectorized (one
    matrix product per chunk of vectors), on the device of ``som``.

    Parameters
    ----------
    som : `SelfOrganizingMap`
        The map; initialized here from the vectors.
    latents : `torch.Tensor`
        ``(N, L)`` vectors.
    epochs : `int`
        Passes over the vectors.
    t_max, t_min : `float`
        First and last temperature.
    seed : `int`
        Seed of the initialization.
    chunk : `int`
        Vectors per distance computation (bounds the memory to
        ``chunk x K`` floats; 4096 keeps it in cache, the fastest measured).
    log : `logging.Logger`, optional
        Logger for progress.

    Returns
    -------
    result : `SomTrainingResult`
    """
    if epochs < 1:
        raise ValueError(f"epochs must be positive, got {epochs}")
    if not 0 < t_min <= t_max:
        raise ValueError(f"temperatures must satisfy 0 < t_min <= t_max, got {t_min} and {t_max}")
    log = log or _LOG
    start = time.perf_counter()
    device = som.prototypes.device
    latents = latents.to(device=device, dtype=torch.float32)
    som.initialize(latents, torch.Generator().manual_seed(seed))
    n, k = len(latents), som.size
    result = SomTrainingResult()
    periodic = PeriodicLogger(log, interval=30.0)
    for epoch in range(epochs):
        t = temperature(epoch, epochs, t_max, t_min)
        counts = torch.zeros(k, device=device)
        sums = torch.zeros_like(som.prototypes)
        qe_sum = 0.0
        for lo, hi in _chunks(n, chunk):
            z = latents[lo:hi]
            bmu, dist = som.best_matching_units(z)
            counts.index_add_(0, bmu, torch.ones(hi - lo, device=device))
            sums.index_add_(0, bmu, z)
            qe_sum += float(dist.sum())
        # Kernel-weighted means: prototype j = sum_i K(bmu_i, j) z_i / sum_i K(bmu_i, j), summed by BMU.
        weights = torch.exp(-((som.grid_distance / t) ** 2))
        weights = weights / weights.sum(1, keepdim=True)  # the per-vector normalization of the loss
        numerator = weights.T @ sums
        denominator = weights.T @ counts
        filled = denominator > 1e-12
        som.prototypes[filled] = numerator[filled] / denominator[filled, None]
        result.history.append({"epoch": epoch + 1, "temperature": t, "quantization_error": qe_sum / n})
        periodic.log(
            "SOM epoch %d of %d: temperature %.3g, quantization error %.4g", epoch + 1, epochs, t, qe_sum / n
        )
    result.seconds = time.perf_counter() - start
    return result


@torch.no_grad()
def quantization_error(som: SelfOrganizingMap, latents: torch.Tensor, chunk: int = 4096) -> float:
    """Mean distance from each vector to its BMU."""
    latents = latents.to(som.prototypes)
    total = 0.0
    for lo, hi in _chunks(len(latents), chunk):
        total += float(som.best_matching_units(latents[lo:hi])[1].sum())
    return total / max(len(latents), 1)


@torch.no_grad()
def topographic_error(som: SelfOrganizingMap, latents: torch.Tensor, chunk: int = 4096) -> float:
    """Fraction of vectors whose two nearest prototypes are not neighbours on the grid.

    Neighbours are the 8 units around a unit (grid distance at most sqrt(2)),
    as MiniSom counts them for a rectangular map.
    """
    latents = latents.to(som.prototypes)
    errors = 0
    for lo, hi in _chunks(len(latents), chunk):
        two = som.squared_distances(latents[lo:hi]).topk(2, dim=1, largest=False).indices
        r, c = two // som.cols, two % som.cols
        apart = ((r[:, 0] - r[:, 1]).abs() > 1) | ((c[:, 0] - c[:, 1]).abs() > 1)
        errors += int(apart.sum())
    return errors / max(len(latents), 1)


@torch.no_grad()
def u_matrix(som: SelfOrganizingMap) -> np.ndarray:
    """``(rows, cols)`` mean distance from each prototype to its 4 grid neighbours (the U-matrix)."""
    m = som.prototypes.reshape(som.rows, som.cols, -1)
    total = torch.zeros(som.rows, som.cols, device=m.device)
    count = torch.zeros(som.rows, som.cols, device=m.device)
    dr = (m[1:] - m[:-1]).norm(dim=-1)
    dc = (m[:, 1:] - m[:, :-1]).norm(dim=-1)
    total[1:] += dr
    total[:-1] += dr
    count[1:] += 1
    count[:-1] += 1
    total[:, 1:] += dc
    total[:, :-1] += dc
    count[:, 1:] += 1
    count[:, :-1] += 1
    return (total / count.clamp_min(1)).cpu().numpy()
