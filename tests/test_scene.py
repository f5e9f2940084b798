"""The static sky: fluxes drawn as catalogued, optionally with real HST galaxies as hosts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from lsst.meas.realbogus.simulation.config import SimulationConfig
from lsst.meas.realbogus.simulation.repo import plan_work
from lsst.meas.realbogus.simulation.scene import flux_to_mag, mag_to_flux, sample_power_law_mags
from lsst.meas.realbogus.simulation.simulator import DetectorSimulator

HOSTS = Path(__file__).parents[2] / "shared" / "data" / "hosts" / "AEGIS_F814w_catalog.fits"


def _simulator(**overrides) -> DetectorSimulator:
    config = SimulationConfig()
    config.detectorSize = 384
    config.nDetectors = 1
    config.tracts = [3080]
    for key, value in overrides.items():
        setattr(config, key, value)
    config.validate()
    camera, tracts, _ = plan_work(config, seed=11)
    return DetectorSimulator(config, camera, tracts[0], 0, 0, "r", seed=11)


def test_magnitudes_round_trip_and_power_law():
    assert flux_to_mag(mag_to_flux(np.array([20.0, 31.4])))[0] == pytest.approx(20.0)
    mags = sample_power_law_mags(np.random.default_rng(0), 100_000, 18.0, 24.0, 0.3)
    assert mags.min() >= 18.0 and mags.max() <= 24.0
    counts, _ = np.histogram(mags, bins=[18, 19, 23, 24])
    # dN/dm ~ 10**(0.3 m): five magnitudes of growth by a factor of 10**1.5.
    assert counts[2] / counts[0] == pytest.approx(10**1.5, rel=0.1)


def test_static_sky_holds_the_catalogued_flux():
    sim = _simulator()
    total = sim.stars["flux"].sum() + sim.galaxies["flux"].sum()
    # Light of objects near the canvas edges spills out of it.
    assert sim.static.sum() == pytest.approx(total, rel=0.05)
    assert len(sim.stars["x"]) > 10 and len(sim.galaxies["x"]) > 20


@pytest.mark.skipif(not HOSTS.exists(), reason=f"real HST galaxies not found at {HOSTS}")
def test_real_hst_galaxies_as_hosts():
    sim = _simulator(realGalaxyCatalog=str(HOSTS), realGalaxyFraction=1.0, galaxyMags=[17.0, 21.0])
    real = sim.galaxies["real"] >= 0
    assert real.all()
    parametric = _simulator(galaxyMags=[17.0, 21.0])
    # Same catalog positions and fluxes (same seed), different morphology, same total light.
    assert np.allclose(parametric.galaxies["flux"], sim.galaxies["flux"])
    assert sim.static.sum() == pytest.approx(parametric.static.sum(), rel=0.05)
    assert not np.allclose(sim.static, parametric.static)


def test_missing_real_galaxy_catalog_is_refused():
    with pytest.raises(Exception, match="no such file"):
        _simulator(realGalaxyCatalog="/no/such/catalog.fits")
