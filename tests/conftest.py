"""Shared fixtures: a tiny simulated butler repository and an in-memory simulation for statistics."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus.simulation.config import PRESETS, SimulationConfig
from lsst.meas.realbogus.simulation.repo import build_repo, plan_work
from lsst.meas.realbogus.simulation.simulator import DetectorSimulator

TINY_SEED = 7


def tiny_config() -> SimulationConfig:
    config = SimulationConfig()
    PRESETS["tiny"][0](config)
    return config


@pytest.fixture(scope="session")
def tiny_repo(tmp_path_factory):
    """A tiny simulated repository (built once per test session) and its build summary."""
    path = tmp_path_factory.mktemp("repos") / "tiny"
    summary = build_repo(path, tiny_config(), TINY_SEED, processes=2)
    return path, summary


def statistics_config() -> SimulationConfig:
    """Mid-size detectors with many transients, for statistical tests in a few seconds."""
    config = SimulationConfig()
    config.detectorSize = 512
    config.nDetectors = 3
    config.visitsPerField = 4
    config.tracts = [3080]
    config.nHostTransients = 8
    config.nOffsetTransients = 8
    config.nHostlessTransients = 12
    config.nVariableStars = 4
    config.nCosmicRays = 60
    config.nHotPixels = 40
    config.streakProbability = 0.5
    return config


@pytest.fixture(scope="session")
def simulated_visits():
    """In-memory products of every visit and detector of `statistics_config` (seed 3)."""
    config = statistics_config()
    camera, tracts, visits = plan_work(config, seed=3)
    products = []
    for detector in range(config.nDetectors):
        sim = DetectorSimulator(config, camera, tracts[0], 0, detector, "r", seed=3)
        products.extend(sim.simulate(v) for v in visits)
    return config, products


def robust_sigma(values: np.ndarray) -> float:
    values = np.asarray(values)
    return float(1.4826 * np.median(np.abs(values - np.median(values))))
