"""Artifact injection: saturation and bleed, cosmic rays, streaks."""

from __future__ import annotations

import numpy as np
from lsst.meas.realbogus.simulation import artifacts


def test_saturation_conserves_charge_and_bleeds_along_columns():
    image = np.zeros((100, 20))
    image[50, 10] = 1000.0
    image[51, 10] = 300.0
    image[50, 11] = 150.0
    total = image.sum()
    saturated = artifacts.apply_saturation(image, 100.0)
    assert np.all(image <= 100.0)
    assert saturated[:, 10].sum() >= 13  # 1300 of charge at a level of 100
    assert saturated[:, 11].sum() >= 2
    assert not saturated[:, :10].any() and not saturated[:, 12:].any()
    # Charge is conserved to within half the level per saturated run.
    assert abs(image.sum() - total) <= 2 * 50.0


def test_no_saturation_below_level():
    image = np.full((10, 10), 5.0)
    assert not artifacts.apply_saturation(image, 100.0).any()
    assert np.all(image == 5.0)


def test_cosmic_rays_deposit_and_mask():
    rng = np.random.default_rng(1)
    crs = artifacts.make_cosmic_rays(rng, 20, 200, sky_sigma=10.0, masked_fraction=0.5)
    image = np.zeros((200, 200))
    mask = np.zeros((200, 200), dtype=bool)
    artifacts.draw_cosmic_rays(image, mask, crs)
    for x, y in zip(crs["x"], crs["y"]):
        assert image[int(round(y)) - 1 : int(round(y)) + 2, int(round(x)) - 1 : int(round(x)) + 2].max() > 100
    assert mask.any() and crs["masked"].any() and not crs["masked"].all()
    assert (image[mask] > 0).all()


def test_streak_crosses_detector():
    rng = np.random.default_rng(2)
    streak = artifacts.make_streak(rng, 300, sky_sigma=10.0, psf_sigma=2.0)
    image = np.zeros((300, 300))
    artifacts.draw_streak(image, streak)
    assert streak["length"][0] > 100
    assert (image > 0.5 * streak["flux"][0]).sum() > streak["length"][0]


def test_bad_columns_offset_a_column_segment():
    rng = np.random.default_rng(3)
    cols = artifacts.make_bad_columns(rng, 3, 128, sky_sigma=10.0, masked_fraction=1.0)
    image = np.zeros((128, 128))
    mask = np.zeros((128, 128), dtype=bool)
    artifacts.draw_bad_columns(image, mask, cols)
    for x, flux in zip(cols["x"], cols["flux"]):
        assert np.any(image[:, int(x)] == flux) or np.any(np.isclose(image[:, int(x)], flux))
    assert mask.sum() > 0


# ---------------------------------------------------------------- optional artifact kinds

import pytest  # noqa: E402
from lsst.meas.realbogus.simulation.config import PRESETS, SimulationConfig  # noqa: E402
from lsst.meas.realbogus.simulation.repo import plan_work  # noqa: E402
from lsst.meas.realbogus.simulation.scene import VARIETY_ARTIFACT_KINDS  # noqa: E402
from lsst.meas.realbogus.simulation.simulator import DetectorSimulator  # noqa: E402

RATES = {
    "diffract_spike": "diffractionSpikeRate",
    "ghost": "ghostRate",
    "glint": "glintRate",
    "nuclear_residual": "nuclearResidualRate",
    "star_residual": "starResidualRate",
    "amp_offset": "ampOffsetRate",
    "edge_glow": "edgeGlowRate",
    "vignetting": "vignettingRate",
    "bleed_trail": "unmaskedSaturationFraction",
}


def test_every_optional_kind_has_a_rate():
    assert set(RATES) == set(VARIETY_ARTIFACT_KINDS)
    config = SimulationConfig()
    for field in RATES.values():
        assert getattr(config, field) == 0.0, f"{field} must be off by default"


def _simulate(rate_field: str | None, value: float):
    config = SimulationConfig()
    PRESETS["tiny"][0](config)
    config.tracts = [3080]
    config.nDetectors = 1
    config.nBrightStars = 4
    if rate_field is not None:
        setattr(config, rate_field, value)
    config.validate()
    camera, tracts, visits = plan_work(config, seed=9)
    sim = DetectorSimulator(config, camera, tracts[0], 0, 0, "r", seed=9)
    return [sim.simulate(v) for v in visits]


@pytest.fixture(scope="module")
def plain_visits():
    return _simulate(None, 0.0)


@pytest.mark.parametrize("kind", sorted(RATES))
def test_optional_kind_is_bogus_in_truth_and_leaves_signal(kind, plain_visits):
    """Each optional kind appears in the truth (isReal false) and changes the difference image."""
    products = _simulate(RATES[kind], 1.0 if kind == "bleed_trail" else 4.0)
    rows = 0
    signal = 0.0
    for plain, p in zip(plain_visits, products):
        kinds = np.asarray(p.truth["kind"]).astype(str)
        rows += int(np.sum(kinds == kind))
        assert not np.any(p.truth["isReal"][kinds == kind])
        if kind == "bleed_trail":
            # The pixels are those of the masked case; only the SATURATED flags are missing.
            assert not p.difference_masks["SATURATED"].any()
            assert plain.difference_masks["SATURATED"].any()
            signal = max(signal, np.max(np.abs(p.difference)[plain.difference_masks["SATURATED"]]))
            continue
        # Total S/N of the change: sum(|delta|) / sqrt(sum(variance)) over the changed pixels.
        delta = np.abs(p.difference.astype(float) - plain.difference)
        changed = delta > 1e-3 * np.sqrt(p.difference_variance)
        if changed.any():
            signal = max(signal, float(delta[changed].sum() / np.sqrt(p.difference_variance[changed].sum())))
    assert rows > 0, f"no {kind} in the truth"
    assert signal > 5, f"{kind} left no signal in the difference image"


def test_optional_kinds_name_detections():
    """With every optional kind on, detections are named after each kind (the labels can use them)."""
    from lsst.meas.realbogus.evaluation.labels import label_detections

    config = SimulationConfig()
    PRESETS["variety"][0](config)
    PRESETS["tiny"][0](config)
    config.tracts = [3080]
    for field in RATES.values():
        setattr(config, field, 6.0 if field != "unmaskedSaturationFraction" else 0.5)
    camera, tracts, visits = plan_work(config, seed=4)
    named = set()
    for detector in range(config.nDetectors):
        sim = DetectorSimulator(config, camera, tracts[0], 0, detector, "r", seed=4)
        for v in visits:
            p = sim.simulate(v)
            labels = label_detections(p.dia_sources, p.truth, 3.0)
            named.update(labels.kind[~labels.is_real].astype(str))
    assert {"diffract_spike", "ghost", "glint", "edge_glow"} <= named


def test_ghost_glint_and_spike_drawing():
    rng = np.random.default_rng(2)
    ghosts = artifacts.make_ghosts(rng, 1, 256, 20.0)
    image = np.zeros((256, 256))
    artifacts.draw_ghosts(image, ghosts)
    yy, xx = np.indices(image.shape)
    r = np.hypot(xx - ghosts["x"][0], yy - ghosts["y"][0])
    ring = np.abs(r - ghosts["length"][0] / 2) < 1
    assert image[ring].mean() > 0.8 * ghosts["flux"][0]
    assert image[r < 2].max() < 0.1 * ghosts["flux"][0]

    glints = artifacts.make_glints(rng, 1, 256, 20.0, 1.5)
    image = np.zeros((256, 256))
    artifacts.draw_glints(image, glints)
    assert image.max() == pytest.approx(glints["flux"][0], rel=0.05)

    spikes = artifacts.make_diffraction_spikes(
        rng, np.array([128.0]), np.array([128.0]), np.array([1e7]), (0.01, 0.01)
    )
    image = np.zeros((256, 256))
    artifacts.draw_diffraction_spikes(image, spikes, 1.5)
    assert image.sum() == pytest.approx(spikes["flux"][0], rel=0.1)
    rotated = np.zeros((256, 256))
    artifacts.draw_diffraction_spikes(rotated, spikes, 1.5, rotation=10.0)
    assert rotated.sum() == pytest.approx(image.sum(), rel=0.05)
    assert np.abs(rotated - image).sum() > 0.5 * image.sum()
