"""The self-organizing map: kernel, loss, batch training, errors, U-matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lsst.meas.realbogus.desom.som import (
    SelfOrganizingMap,
    quantization_error,
    temperature,
    topographic_error,
    train_som,
    u_matrix,
)


def _clusters(n=3000, k=12, dim=8, seed=0, centers=False):
    rng = np.random.default_rng(seed)
    middle = rng.normal(size=(k, dim)) * 5
    z = torch.from_numpy((middle[rng.integers(0, k, n)] + rng.normal(size=(n, dim))).astype(np.float32))
    return (z, torch.from_numpy(middle.astype(np.float32))) if centers else z


def test_temperature_schedule():
    assert temperature(0, 10, 10.0, 0.01) == pytest.approx(10.0)
    assert temperature(9, 10, 10.0, 0.01) == pytest.approx(0.01)
    assert temperature(5, 11, 4.0, 1.0) == pytest.approx(2.0)  # geometric midpoint


def test_kernel_and_best_matching_units():
    som = SelfOrganizingMap(3, 4, 2)
    with torch.no_grad():
        som.prototypes.copy_(torch.arange(24, dtype=torch.float32).reshape(12, 2))
    with torch.no_grad():
        bmu, distance = som.best_matching_units(torch.tensor([[0.1, 1.0], [22.0, 23.0]]))
    assert bmu.tolist() == [0, 11] and distance[0] == pytest.approx(0.1, abs=1e-5)
    weights = som.kernel(bmu, t=1.0)
    assert torch.allclose(weights.sum(1), torch.ones(2))
    # Manhattan grid distance: unit 0 (0, 0) to unit 5 (1, 1) is 2.
    assert weights[0, 5] / weights[0, 0] == pytest.approx(np.exp(-4.0), rel=1e-5)
    assert som.grid_distance[0, 11] == 5


def test_batch_som_fits_the_data_and_beats_its_start():
    z, centers = _clusters(centers=True)
    som = SelfOrganizingMap(6, 6, 8)
    som.initialize(z, torch.Generator().manual_seed(1))
    start = quantization_error(som, z)
    result = train_som(som, z, epochs=15, t_max=3.0, t_min=0.1)
    assert len(result.history) == 15 and result.seconds > 0
    end = quantization_error(som, z)
    # Better than its start, and than a map holding the true cluster centres (36 units for 12 clusters).
    truth = SelfOrganizingMap(6, 6, 8)
    with torch.no_grad():
        truth.prototypes.copy_(centers[torch.arange(36) % 12])
    assert end < 0.8 * start and end < quantization_error(truth, z)
    assert result.history[-1]["quantization_error"] <= result.history[0]["quantization_error"]
    # Ordered map: most vectors' two nearest prototypes are neighbours.
    assert topographic_error(som, z) < 0.3
    assert u_matrix(som).shape == (6, 6)


def test_loss_is_differentiable_and_matches_definition():
    z = _clusters(n=50, dim=4)
    som = SelfOrganizingMap(2, 3, 4)
    som.initialize(z)
    loss = som.loss(z, t=1.0)
    loss.backward()
    assert som.prototypes.grad is not None and torch.isfinite(loss)
    d = som.squared_distances(z).detach()
    w = som.kernel(d.argmin(1), 1.0)
    assert loss.item() == pytest.approx(float((w * d).sum(1).mean()), rel=1e-5)


def test_bad_settings():
    with pytest.raises(ValueError, match="positive"):
        SelfOrganizingMap(0, 3, 2)
    som = SelfOrganizingMap(2, 2, 2)
    with pytest.raises(ValueError, match="t_min <= t_max"):
        train_som(som, torch.zeros(4, 2), t_max=0.1, t_min=1.0)
    with pytest.raises(ValueError, match="no latent vectors"):
        som.initialize(torch.zeros(0, 2))


def test_u_matrix_is_the_mean_distance_to_grid_neighbours():
    som = SelfOrganizingMap(2, 3, 1)
    with torch.no_grad():
        som.prototypes.copy_(torch.tensor([[0.0], [1.0], [3.0], [0.0], [1.0], [3.0]]))
    # Corners have 2 neighbours, the middle of a side 3; rows are equal, so vertical distances are 0.
    np.testing.assert_allclose(u_matrix(som), [[0.5, 1.0, 1.0], [0.5, 1.0, 1.0]])
    assert u_matrix(SelfOrganizingMap(1, 1, 2)).tolist() == [[0.0]]
