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

import lsst.pex.config as pexConfig  # noqa: E402
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


def _simulate(rate_field: str | None, value: float, **overrides):
    config = SimulationConfig()
    PRESETS["tiny"][0](config)
    config.tracts = [3080]
    config.nDetectors = 1
    config.nBrightStars = 4
    if rate_field is not None:
        setattr(config, rate_field, value)
    for field, override in overrides.items():
        setattr(config, field, override)
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


def test_glint_length_power_changes_only_the_glints():
    """glintLengthPower draws shorter glints below 1 and leaves every other draw of the detector as it was."""
    lengths = {}
    for power in (1.0, 0.5, 0.0):
        products = _simulate("glintRate", 6.0, glintLengthPower=power)
        drawn = []
        for p in products:
            kind = np.asarray(p.truth["kind"]).astype(str)
            # Glint rows of length 0 name detections of a glint's fragments, not drawn glints.
            glint = (kind == "glint") & (np.asarray(p.truth["length"]) > 0)
            drawn.append({c: np.asarray(p.truth[c])[glint] for c in ("x", "y", "flux", "angle", "length")})
            drawn[-1]["others"] = {c: np.asarray(p.truth[c])[kind != "glint"] for c in ("kind", "x", "flux")}
            drawn[-1]["template"] = p.template
        lengths[power] = drawn
    for uniform, sqrt, log in zip(lengths[1.0], lengths[0.5], lengths[0.0]):
        for other in (sqrt, log):
            for column in ("x", "y", "flux", "angle"):
                np.testing.assert_array_equal(uniform[column], other[column])
            for column in ("kind", "x", "flux"):
                np.testing.assert_array_equal(uniform["others"][column], other["others"][column])
            np.testing.assert_array_equal(uniform["template"], other["template"])
        # The same uniform number u gives a shorter glint the lower the power, never a longer one: the
        # length is the power mean of the range's ends weighted 1 - u and u, which grows with the power.
        assert np.all(log["length"] < sqrt["length"])
        assert np.all(sqrt["length"] < uniform["length"])
    typical = {}
    for power, drawn in lengths.items():
        values = np.concatenate([d["length"] for d in drawn])
        assert len(values) >= 10 and values.min() >= 8.0 and values.max() <= 60.0
        typical[power] = np.exp(np.mean(np.log(values)))
    assert typical[0.0] < typical[0.5] < typical[1.0]


def test_glint_length_power_draws_the_documented_shares():
    """Under 12 px of 8-60: one glint in thirteen for power 1, one in eight for 0.5, one in five for 0."""
    for power, share in ((1.0, 4 / 52), (0.5, 0.129), (0.0, 0.201)):
        glints = artifacts.make_glints(np.random.default_rng(11), 200_000, 512, 10.0, 1.5, length_power=power)
        assert abs(np.mean(glints["length"] < 12.0) - share) < 0.005


def test_glint_length_power_one_is_the_uniform_draw():
    """Power 1 draws the very numbers of rng.uniform(low, high): presets drawn before the power existed
    reproduce bit for bit."""
    glints = artifacts.make_glints(np.random.default_rng(5), 1000, 512, 10.0, 1.5, length_power=1.0)
    rng = np.random.default_rng(5)
    for _ in range(3):  # x, y, the flux's uniform draw
        rng.uniform(0.0, 1.0, 1000)
    np.testing.assert_array_equal(glints["length"], rng.uniform(8.0, 60.0, 1000))


@pytest.mark.parametrize("name, power", [("blurfield6short", 0.0), ("blurfield6sqrt", 0.5)])
def test_glint_length_presets_are_blurfield6_with_other_lengths(name, power):
    configs = {}
    for preset in ("blurfield6", name):
        configs[preset] = SimulationConfig()
        PRESETS[preset][0](configs[preset])
    assert configs[name].glintLengthPower == power
    assert configs["blurfield6"].glintLengthPower == 1.0
    configs[name].glintLengthPower = 1.0
    assert configs[name].compare(configs["blurfield6"], shortcut=False)


def test_glint_length_range_is_checked():
    config = SimulationConfig()
    config.glintLengthRange = [0.0, 60.0]
    with pytest.raises(pexConfig.FieldValidationError, match="positive"):
        config.validate()
    config.glintLengthRange = [60.0, 8.0]
    with pytest.raises(pexConfig.FieldValidationError, match="increasing"):
        config.validate()
    config.glintLengthRange = [8.0, 60.0]
    config.glintLengthPower = float("nan")
    with pytest.raises(pexConfig.FieldValidationError, match="finite"):
        config.validate()


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


# ---------------------------------------------------------------- residual shapes


def _gaussian_stamp(sigma: float, half: int) -> np.ndarray:
    offsets = np.arange(-half, half + 1)
    stamp = np.exp(-0.5 * (offsets[:, None] ** 2 + offsets[None, :] ** 2) / sigma**2)
    return stamp / stamp.sum()


def _residual_pair(psf_image, psf_sigma=2.0, seed=4):
    x, y = np.array([40.3]), np.array([41.7])
    drawn = []
    for image in (None, psf_image):
        residuals = artifacts.make_residuals(
            np.random.default_rng(seed), "nuclear_residual", x, y, 1, 1.0, psf_sigma, (10.0, 10.0), image
        )
        layer = np.zeros((83, 83))
        artifacts.draw_residuals(layer, residuals, psf_sigma, image)
        drawn.append((residuals, layer))
    return drawn


def test_residuals_in_a_gaussian_psf_image_are_the_gaussian_residuals():
    """residualShape='psf' with a Gaussian PSF draws what the Gaussian shape draws, at the same S/N."""
    (gauss, gauss_layer), (psf, psf_layer) = _residual_pair(_gaussian_stamp(2.0, 14))
    assert psf["flux"][0] == pytest.approx(gauss["flux"][0], rel=0.03)
    assert np.abs(psf_layer - gauss_layer).max() < 0.05 * np.abs(gauss_layer).max()


def test_residuals_take_the_shape_of_a_donut_psf():
    """A defocused PSF's residual is a ring: little at the centre, unlike the Gaussian one."""
    from lsst.meas.realbogus.simulation.psf_families import PsfFamilyParameters, family_kernel
    from scipy.signal import fftconvolve

    donut = fftconvolve(
        _gaussian_stamp(1.0, 20),
        family_kernel(PsfFamilyParameters("defocused", fwhm=12.0, obscuration=0.6), half=20),
        "same",
    )
    donut /= donut.sum()
    (_, gauss_layer), (_, psf_layer) = _residual_pair(donut, psf_sigma=4.0)
    centre = (slice(41, 43), slice(40, 41))  # the pixels nearest (40.3, 41.7)
    assert np.abs(gauss_layer[centre]).max() > 0.5 * np.abs(gauss_layer).max()
    assert np.abs(psf_layer[centre]).max() < 0.1 * np.abs(psf_layer).max()


def test_simulator_draws_residuals_in_the_visit_psf():
    """residualShape='psf' changes the difference image only around the core residuals."""
    gaussian = _simulate("nuclearResidualRate", 4.0, psfFamilies=["elongated"], psfFamilyWeights=[1.0])
    psf = _simulate(
        "nuclearResidualRate", 4.0, psfFamilies=["elongated"], psfFamilyWeights=[1.0], residualShape="psf"
    )
    for g, p in zip(gaussian, psf):
        kinds = np.asarray(p.truth["kind"]).astype(str)
        assert np.array_equal(kinds, np.asarray(g.truth["kind"]).astype(str))
        changed = np.abs(p.difference.astype(float) - g.difference) > 1e-3 * np.sqrt(p.difference_variance)
        near = np.zeros_like(changed)
        for x, y in zip(p.truth["x"][kinds == "nuclear_residual"], p.truth["y"][kinds == "nuclear_residual"]):
            near[max(int(y) - 40, 0) : int(y) + 41, max(int(x) - 40, 0) : int(x) + 41] = True
        assert changed.any() == bool((kinds == "nuclear_residual").any())
        assert not (changed & ~near).any()
