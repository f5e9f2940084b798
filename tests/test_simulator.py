"""The simulator's statistics: what is injected is in the truth, and detections behave as they should."""

from __future__ import annotations

import dataclasses

import lsst.pex.config as pexConfig
import numpy as np
import pytest
from lsst.meas.realbogus.evaluation.matching import match_nearest
from lsst.meas.realbogus.simulation.detection import psf_photometry
from lsst.meas.realbogus.simulation.scene import ARTIFACT_KINDS, REAL_KINDS


def robust_sigma(values: np.ndarray) -> float:
    values = np.asarray(values)
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _kinds(truth):
    return np.asarray(truth["kind"]).astype(str)


def test_injected_transient_counts_match_truth(simulated_visits):
    config, products = simulated_visits
    n_transients = config.nHostTransients + config.nOffsetTransients + config.nHostlessTransients
    for p in products:
        kinds = _kinds(p.truth)
        assert np.isin(kinds, ("host", "offset", "hostless")).sum() == n_transients
        assert (kinds == "variable").sum() == config.nVariableStars
        assert (kinds == "hot_pixel").sum() == round(config.nHotPixels * (config.detectorSize / 1024) ** 2)
        assert (kinds == "bad_column").sum() == config.nBadColumns
        assert np.array_equal(p.truth["isReal"], np.isin(kinds, REAL_KINDS))


def test_every_truth_transient_is_in_the_pixels(simulated_visits):
    """Forced PSF photometry on the difference image at each truth transient recovers its flux."""
    _, products = simulated_visits
    pulls = []
    for p in products:
        real = p.truth[
            p.truth["isReal"] & ~p.truth["blended"] & np.isin(_kinds(p.truth), ("hostless", "offset"))
        ]
        sim_psf = p.science_psf_sigma

        def gaussian(x, y, s=sim_psf):
            return np.ones((len(x), 1)), np.full((len(x), 1), s)

        flux, err = psf_photometry(
            p.difference.astype(float),
            p.difference_variance.astype(float),
            real["x"],
            real["y"],
            gaussian,
            half=int(3 * sim_psf) + 1,
        )
        true = np.asarray(real["flux"])
        # A single-Gaussian approximation of the PSF is off by a few percent on bright sources.
        assert np.all(np.abs(flux - true) < 5 * err + 0.1 * np.abs(true)), "a transient is not in the pixels"
        pulls.extend((flux - true) / err)
    pulls = np.asarray(pulls)
    assert len(pulls) > 100
    assert abs(np.median(pulls)) < 1.0


def test_cosmic_rays_and_hot_pixels_are_in_the_pixels(simulated_visits):
    _, products = simulated_visits
    checked = 0
    for p in products:
        truth = p.truth[np.isin(_kinds(p.truth), ("cosmic_ray", "hot_pixel"))]
        z = p.difference / np.sqrt(p.difference_variance)
        xi = np.floor(np.asarray(truth["x"]) + 0.5).astype(int)
        yi = np.floor(np.asarray(truth["y"]) + 0.5).astype(int)
        unsaturated = ~p.science_masks["SATURATED"][yi, xi]
        # The brightest pixel within one pixel of the recorded position stands far above the noise.
        peaks = np.max(
            [
                z[np.clip(yi + dy, 0, z.shape[0] - 1), np.clip(xi + dx, 0, z.shape[1] - 1)]
                for dy in (-1, 0, 1)
                for dx in (-1, 0, 1)
            ],
            axis=0,
        )
        assert np.all(peaks[unsaturated] > 5.0)
        checked += unsaturated.sum()
    assert checked > 100


def test_detected_point_source_snr_matches_injected_flux(simulated_visits):
    """Isolated transients: measured PSF flux agrees with the truth within the reported errors."""
    _, products = simulated_visits
    pulls, snr_ratio = [], []
    for p in products:
        truth = p.truth[np.isin(_kinds(p.truth), ("hostless", "offset")) & ~p.truth["blended"]]
        dia = p.dia_sources
        index, _ = match_nearest(truth["x"], truth["y"], dia["x"], dia["y"], 2.0)
        ok = index >= 0
        matched = dia[index[ok]]
        ok_dip = ~np.asarray(matched["isDipole"])
        flux = np.asarray(truth["flux"])[ok][ok_dip]
        m_flux = np.asarray(matched["psfFlux"])[ok_dip]
        m_err = np.asarray(matched["psfFluxErr"])[ok_dip]
        pulls.extend((m_flux - flux) / m_err)
        snr_ratio.extend(np.asarray(matched["snr"])[ok_dip] / (flux / m_err))
    pulls = np.asarray(pulls)
    assert len(pulls) > 100
    assert abs(np.mean(pulls)) < 0.25
    assert 0.8 < robust_sigma(pulls) < 1.25
    assert 0.8 < np.std(pulls) < 1.35
    # The detection S/N (matched filter with a Gaussian PSF) is close to the optimal flux S/N.
    assert 0.93 < np.median(snr_ratio) < 1.03


def test_every_bright_transient_is_detected(simulated_visits):
    _, products = simulated_visits
    n_bright = 0
    for p in products:
        truth = p.truth[p.truth["isReal"] & ~p.truth["blended"] & (p.truth["snrExpected"] > 10)]
        index, _ = match_nearest(truth["x"], truth["y"], p.dia_sources["x"], p.dia_sources["y"], 3.0)
        missed = truth[index < 0]
        assert len(missed) == 0, f"undetected transients with S/N > 10: {missed}"
        n_bright += len(truth)
    assert n_bright > 100


def test_faint_transients_are_not_all_detected(simulated_visits):
    """The injected magnitudes reach below the detection limit, as in a real survey."""
    _, products = simulated_visits
    faint = detected = 0
    for p in products:
        truth = p.truth[p.truth["isReal"] & (p.truth["snrExpected"] < 4)]
        index, _ = match_nearest(truth["x"], truth["y"], p.dia_sources["x"], p.dia_sources["y"], 2.0)
        faint += len(truth)
        detected += int(np.sum(index >= 0))
    assert faint > 10
    assert detected < 0.5 * faint


def test_difference_noise_matches_variance_plane(simulated_visits):
    _, products = simulated_visits
    for p in products:
        masks = p.difference_masks
        bad = masks["DETECTED"] | masks["DETECTED_NEGATIVE"] | masks["BAD"] | masks["SATURATED"]
        bad |= masks["COSMIC_RAY"]
        z = (p.difference / np.sqrt(p.difference_variance))[~bad]
        assert 0.9 < robust_sigma(z) < 1.1
        assert 0.9 < np.std(z[np.abs(z) < 5]) < 1.1


def test_artifacts_of_every_kind_are_injected_and_detected(simulated_visits):
    _, products = simulated_visits
    injected, detected = set(), set()
    for p in products:
        truth = p.truth[~p.truth["isReal"]]
        kinds = _kinds(truth)
        injected.update(kinds)
        index, _ = match_nearest(p.dia_sources["x"], p.dia_sources["y"], truth["x"], truth["y"], 3.0)
        detected.update(kinds[index[index >= 0]])
        # Line artifacts are detected anywhere along their length.
        for row in truth[np.isin(kinds, ("streak", "bad_column"))]:
            theta = np.radians(float(row["angle"]))
            dx = np.asarray(p.dia_sources["x"]) - float(row["x"])
            dy = np.asarray(p.dia_sources["y"]) - float(row["y"])
            across = np.abs(-dx * np.sin(theta) + dy * np.cos(theta))
            along = np.abs(dx * np.cos(theta) + dy * np.sin(theta))
            if np.any((across < 3) & (along < float(row["length"]) / 2 + 3)):
                detected.add(str(row["kind"]))
    for kind in ARTIFACT_KINDS:
        assert kind in injected, f"no {kind} injected"
        assert kind in detected, f"no {kind} detected"


def test_real_fraction_of_detections(simulated_visits):
    """Both classes are well represented among the detections."""
    _, products = simulated_visits
    n_real = n_all = 0
    for p in products:
        real = p.truth[p.truth["isReal"]]
        index, _ = match_nearest(p.dia_sources["x"], p.dia_sources["y"], real["x"], real["y"], 3.0)
        n_real += int(np.sum(index >= 0))
        n_all += len(p.dia_sources)
    assert 0.15 < n_real / n_all < 0.85


@pytest.mark.parametrize("column", ["diaSourceId", "x", "y", "ra", "dec", "psfFlux", "psfFluxErr", "snr"])
def test_dia_source_columns(simulated_visits, column):
    _, products = simulated_visits
    p = products[0]
    assert column in p.dia_sources.colnames
    assert np.all(np.isfinite(np.asarray(p.dia_sources[column], dtype=float)))
    ids = np.asarray(p.dia_sources["diaSourceId"])
    assert len(np.unique(ids)) == len(ids)


# ---------------------------------------------------------------- variety options and presets


from lsst.meas.realbogus.simulation.config import PRESETS, SimulationConfig  # noqa: E402
from lsst.meas.realbogus.simulation.psf_families import PSF_FAMILIES  # noqa: E402
from lsst.meas.realbogus.simulation.repo import make_images, plan_work  # noqa: E402
from lsst.meas.realbogus.simulation.simulator import (  # noqa: E402
    DetectorSimulator,
    draw_seeing,
    field_template_blur,
    field_template_fwhm,
    make_rng,
)

TINY_FINGERPRINT = [
    {
        "science": (38050766.4, 2872963050000.0),
        "science_variance": (48287108.6, 8681935060000.0),
        "template": (40285696.9, 42920057000000.0),
        "difference": (-2304318.47, 20707462400000.0),
        "difference_variance": (48403677.1, 8733884210000.0),
        "masks": {
            "BAD": 128,
            "COSMIC_RAY": 25,
            "DETECTED": 2873,
            "DETECTED_NEGATIVE": 1178,
            "NO_DATA": 0,
            "SATURATED": 438,
        },
        "counts": (32, 35),
        "xy": (4860.74941, 4657.20437),
    },
    {
        "science": (37990921.8, 2896172130000.0),
        "science_variance": (59103192.3, 10717779500000.0),
        "template": (40285696.9, 42920057000000.0),
        "difference": (-2401867.55, 26694152400000.0),
        "difference_variance": (59324410.3, 10828571700000.0),
        "masks": {
            "BAD": 128,
            "COSMIC_RAY": 6,
            "DETECTED": 1460,
            "DETECTED_NEGATIVE": 826,
            "NO_DATA": 0,
            "SATURATED": 444,
        },
        "counts": (27, 32),
        "xy": (4726.76328, 3629.24026),
    },
]
"""Two tiny-preset detector-visits (seed 11): pixel sums and sums of squares, mask plane counts, truth
and diaSource counts, and the sums of the diaSource centroids.  Until 2026-12-03 this was a SHA-256
digest of every byte, computed before the variety options existed; bit-exact floats differ between
CPUs of this machine kind (FFT and BLAS code paths), so the fingerprint, recorded from the code the
digest last passed on, is compared to 1e-7 relative (the integer parts exactly)."""


def _preset(name: str) -> SimulationConfig:
    config = SimulationConfig()
    PRESETS[name][0](config)
    return config


def test_default_output_is_unchanged():
    """The default configuration gives the same pixels, truth and diaSources as before the variety options."""
    config = _preset("tiny")
    camera, tracts, visits = plan_work(config, 11)
    sim = DetectorSimulator(config, camera, tracts[0], 0, 1, "r", 11)
    for v, expected in zip(visits[:2], TINY_FINGERPRINT, strict=True):
        p = sim.simulate(v)
        assert p.metadata["SIM_PSF_FAMILY"] == "gaussian"
        for name in ("science", "science_variance", "template", "difference", "difference_variance"):
            a = np.asarray(getattr(p, name), dtype=float)
            assert ((a).sum(), (a**2).sum()) == pytest.approx(expected[name], rel=1e-7), name
        assert {k: int(m.sum()) for k, m in p.difference_masks.items()} == expected["masks"]
        assert (len(p.truth), len(p.dia_sources)) == expected["counts"]
        xy = (np.sum(p.dia_sources["x"]), np.sum(p.dia_sources["y"]))
        assert xy == pytest.approx(expected["xy"], rel=1e-7)


def _noise_only(**overrides) -> SimulationConfig:
    config = _preset("tiny")
    config.tracts = [3080]
    config.nDetectors = 1
    config.visitsPerField = 3
    config.starDensity = 0.0
    config.galaxyDensity = 0.0
    config.nBrightStars = 0
    config.nVariableStars = 0
    config.nHostTransients = config.nOffsetTransients = config.nHostlessTransients = 0
    config.nCosmicRays = config.nHotPixels = config.nBadColumns = 0
    config.streakProbability = 0.0
    for name, value in overrides.items():
        setattr(config, name, value)
    return config


def _neighbour_correlation(config: SimulationConfig) -> list[float]:
    camera, tracts, visits = plan_work(config, 6)
    sim = DetectorSimulator(config, camera, tracts[0], 0, 0, "r", 6)
    out = []
    for v in visits:
        p = sim.simulate(v)
        z = (p.difference / np.sqrt(p.difference_variance))[4:-4, 4:-4].astype(float)
        z -= z.mean()
        rho_x = np.mean(z[:, 1:] * z[:, :-1]) / np.var(z)
        rho_y = np.mean(z[1:, :] * z[:-1, :]) / np.var(z)
        out.append(0.5 * (rho_x + rho_y))
        # The variance plane still holds the per-pixel variance.
        assert 0.9 < np.std(z) < 1.1
    return out


def test_difference_noise_correlation():
    """Resampling the science exposure correlates the difference noise; the default leaves it white."""
    default = _neighbour_correlation(_noise_only())
    assert np.all(np.abs(default) < 0.03)
    correlated = _neighbour_correlation(
        _noise_only(resampleKernels=["bilinear"], templateDepthRange=[2.0, 3.0])
    )
    assert np.all(np.array(correlated) > 0.1)


@pytest.mark.parametrize("family", PSF_FAMILIES)
def test_psf_family_visits(family):
    """Every family simulates, is recorded, and leaves a difference image whose noise is as stated."""
    config = _preset("tiny")
    config.tracts = [3080]
    config.nDetectors = 1
    config.visitsPerField = 1
    config.psfFamilies = [family]
    config.psfFamilyWeights = [1.0]
    camera, tracts, visits = plan_work(config, 8)
    p = DetectorSimulator(config, camera, tracts[0], 0, 0, "r", 8).simulate(visits[0])
    assert p.metadata["SIM_PSF_FAMILY"] == family
    assert p.metadata["SIM_PSF_FWHM"] == pytest.approx(p.science_psf_sigma * 2.3548, rel=1e-3)
    bad = np.zeros(p.difference.shape, bool)
    for plane in ("DETECTED", "DETECTED_NEGATIVE", "BAD", "SATURATED", "COSMIC_RAY"):
        bad |= p.difference_masks[plane]
    z = (p.difference / np.sqrt(p.difference_variance))[~bad]
    assert 0.85 < robust_sigma(z) < 1.15
    assert len(p.dia_sources) > 0


def test_variety_and_shifted_presets_validate():
    variety, shifted, training = _preset("variety"), _preset("shifted"), _preset("training")
    variety.validate()
    shifted.validate()
    for name in ("detectorSize", "nDetectors", "visitsPerField"):
        assert getattr(variety, name) == getattr(training, name) == getattr(shifted, name)
    assert list(variety.tracts) == [3080, 4024]
    assert list(shifted.tracts) == [4024]
    # Twice the training set; the shifted test stays the one field it was first built with.
    assert variety.fieldsPerTract == 2 and shifted.fieldsPerTract == training.fieldsPerTract == 1
    # Outside the training ranges: a PSF family variety never draws, and broader seeing in pixels.
    assert not set(shifted.psfFamilies) & set(variety.psfFamilies)
    assert shifted.seeingRange[0] / shifted.pixelScale > variety.seeingRange[1] / variety.pixelScale
    for field in ("ghostRate", "glintRate", "diffractionSpikeRate", "nuclearResidualRate"):
        assert getattr(variety, field) > 0


def test_narrow_preset_validates():
    """The narrow test is variety's PSF families, with seeing and templates below variety's ranges."""
    variety, narrow = _preset("variety"), _preset("narrow")
    narrow.validate()
    assert list(narrow.tracts) == [4024] and narrow.fieldsPerTract == 1
    assert list(narrow.psfFamilies) == list(variety.psfFamilies)
    assert narrow.seeingRange[1] < variety.seeingRange[0]
    assert max(narrow.templatePsfFwhmRange) < min(variety.templatePsfFwhmRange)
    assert narrow.pixelScale == variety.pixelScale


def test_wide_preset_covers_the_narrow_test_and_not_the_shifted_one():
    """``wide`` is variety with seeing (and templates) down to narrow's; shifted stays outside it."""
    variety, wide, narrow, shifted = (_preset(n) for n in ("variety", "wide", "narrow", "shifted"))
    wide.validate()
    changed = {"seeingRange", "templatePsfFwhmRange"}
    assert {name for name in variety.keys() if getattr(variety, name) != getattr(wide, name)} == changed
    assert wide.seeingRange[0] <= narrow.seeingRange[0] and wide.seeingRange[1] == variety.seeingRange[1]
    assert min(wide.templatePsfFwhmRange) <= min(narrow.templatePsfFwhmRange)
    assert max(narrow.templatePsfFwhmRange) <= max(wide.templatePsfFwhmRange) < wide.seeingRange[0]
    assert not set(shifted.psfFamilies) & set(wide.psfFamilies)
    assert shifted.seeingRange[0] > wide.seeingRange[1]


def test_bad_photometry_visits():
    """badPhotometryProbability scales some visits' flux-scale errors and leaves every other draw alone."""
    config = _preset("variety")
    before = plan_work(config, 1)[2]
    config.badPhotometryProbability = 0.5
    config.badPhotometricError = 0.05
    after = plan_work(config, 1)[2]
    ratios = []
    for a, b in zip(before, after, strict=True):
        for name in ("shift", "kernel_factor", "sky_sigma", "seeing", "kernel"):
            assert getattr(a, name) == getattr(b, name)
        ratios.append(b.flux_scale_error / a.flux_scale_error)
    # Each visit keeps its error (good) or has it scaled by 0.05 / 0.01 (bad); some of each.
    assert set(np.round(ratios, 6)) == {1.0, 5.0}


def test_draw_seeing_uniform_is_the_draw_it_always_was():
    """The default draw takes the visit generator's one number as before (old repositories reproduce)."""
    assert draw_seeing(make_rng(5, "visit", 3), (0.42, 1.6)) == make_rng(5, "visit", 3).uniform(0.42, 1.6)
    for options in (("logUniform", None), ("uniform", (2, 5)), ("logUniform", (0, 5))):
        rng = make_rng(5, "visit", 3)
        draw_seeing(rng, (0.42, 1.6), *options)
        # One number taken whatever the options: the visit's later draws do not move.
        assert rng.uniform() == pytest.approx(_second_draw(5, 3))
    with pytest.raises(ValueError, match="normal"):
        draw_seeing(make_rng(5, "visit", 3), (0.42, 1.6), "normal")


def _second_draw(seed: int, visit: int) -> float:
    rng = make_rng(seed, "visit", visit)
    rng.uniform()
    return rng.uniform()


def test_draw_seeing_log_uniform_and_strata():
    """Log-uniform puts as many draws in each factor of the range; stratum k of n holds its quantiles."""
    lo, hi = 0.28, 1.6
    draws = np.array([draw_seeing(make_rng(1, "visit", i), (lo, hi), "logUniform") for i in range(4000)])
    assert lo <= draws.min() and draws.max() < hi
    geometric_middle = np.sqrt(lo * hi)
    assert np.mean(draws < geometric_middle) == pytest.approx(0.5, abs=0.03)
    edges = lo * (hi / lo) ** (np.arange(6) / 5)
    for k in range(5):
        s = [draw_seeing(make_rng(1, "visit", i), (lo, hi), "logUniform", (k, 5)) for i in range(50)]
        assert edges[k] <= min(s) and max(s) < edges[k + 1]
    s = [draw_seeing(make_rng(1, "visit", i), (lo, hi), "uniform", (4, 5)) for i in range(50)]
    assert lo + 0.8 * (hi - lo) <= min(s)


def test_wide_log_preset_puts_every_field_in_the_narrow_range():
    """``wide_log``: each field has a visit in every fifth of log(seeing), so some in narrow's range."""
    wide, wide_log, narrow = (_preset(n) for n in ("wide", "wide_log", "narrow"))
    wide_log.validate()
    changed = {"seeingDistribution", "stratifySeeing"}
    assert {name for name in wide.keys() if getattr(wide, name) != getattr(wide_log, name)} == changed
    wide_log.detectorSize = 256
    camera, tracts, visits = plan_work(wide_log, 1)
    for tract in tracts:
        for field in range(wide_log.fieldsPerTract):
            seeing = sorted(v.seeing for v in visits if v.tract == tract.id and v.field == field)
            assert len(seeing) == wide_log.visitsPerField
            assert narrow.seeingRange[0] <= seeing[0] < narrow.seeingRange[1]
            ratios = np.log(np.array(seeing[1:]) / np.array(seeing[:-1]))
            # Neighbours within two strata of each other: none of the range left empty.
            assert ratios.max() < 2 * np.log(wide_log.seeingRange[1] / wide_log.seeingRange[0]) / 5


def test_field_pixel_scales_emulate_a_coarser_camera():
    """A field of 3 times the pixel scale: 9 times the sky per pixel, more noise, PSFs as wide in pixels."""
    config = _noise_only(fieldsPerTract=2, skySigmaRange=[1.0, 1.000001], starDensity=20000.0)
    config.seeingRange = [0.9, 0.9001]
    fine = plan_work(config, 3)[2]
    config.fieldPixelScales = [0.2, 0.6]
    config.validate()
    camera, tracts, visits = plan_work(config, 3)
    assert [v.pixel_scale for v in visits] == [0.2] * 3 + [0.6] * 3
    # Every draw is as it was without the option; only the second field's sky noise changes.
    for before, after in zip(fine, visits, strict=True):
        assert before.seeing == after.seeing and before.kernel == after.kernel
        assert after.sky_sigma == pytest.approx(before.sky_sigma * after.pixel_scale / 0.2, rel=1e-12)
    assert visits[:3] == fine[:3]
    sims = [DetectorSimulator(config, camera, tracts[0], f, 0, "r", 3) for f in (0, 1)]
    assert sims[1].pixel_scale == 0.6 and sims[1].sky_sigma == pytest.approx(3 * sims[0].sky_sigma)
    # Nine times the stars on the same detector: as many per square arcsecond.
    ratio = len(sims[1].stars["x"]) / len(sims[0].stars["x"])
    assert ratio == pytest.approx(9.0, rel=0.1)
    products = [sim.simulate(v) for sim, v in ((sims[0], visits[0]), (sims[1], visits[3]))]
    assert products[1].science_psf_sigma == pytest.approx(products[0].science_psf_sigma, rel=0.01)
    assert products[1].template_psf_sigma == products[0].template_psf_sigma
    # The variance planes follow the field's sky.
    assert np.median(products[1].science_variance) == pytest.approx(
        9 * np.median(products[0].science_variance), rel=0.05
    )


def test_field_pixel_scales_must_be_positive():
    config = _preset("tiny")
    config.fieldPixelScales = [0.2, 0.0]
    with pytest.raises(Exception, match="pixel scales must be positive"):
        config.validate()


def test_coarse_preset_is_variety_through_one_arcsec_pixels():
    """The coarse test: variety's sky, PSF families and artifacts on a camera of 1 arcsec pixels."""
    variety, coarse, narrow = (_preset(n) for n in ("variety", "coarse", "narrow"))
    coarse.validate()
    assert list(coarse.tracts) == [4024] and coarse.fieldsPerTract == 1
    assert coarse.pixelScale == 1.0 and not coarse.fieldPixelScales
    assert list(coarse.psfFamilies) == list(variety.psfFamilies)
    # The same sky per square arcsecond: noise per pixel up by the square root of the pixel area.
    assert coarse.skySigma == pytest.approx(variety.skySigma * coarse.pixelScale / variety.pixelScale)
    for name in ("starDensity", "galaxyDensity", "transientMags", "saturationLevelRange"):
        assert getattr(coarse, name) == getattr(variety, name)
    # Seeing in pixels from about narrow's up into the bottom of variety's range.
    px = [s / coarse.pixelScale for s in coarse.seeingRange]
    assert narrow.seeingRange[0] / narrow.pixelScale <= px[0] < variety.seeingRange[0] / variety.pixelScale


def test_multiscale_preset_adds_a_field_of_coarser_pixels():
    """``multiscale``: variety plus a third field per tract at 0.5 arcsec; the coarse test stays outside."""
    variety, multiscale, coarse = (_preset(n) for n in ("variety", "multiscale", "coarse"))
    multiscale.validate()
    changed = {"fieldsPerTract", "fieldPixelScales"}
    assert {n for n in variety.keys() if getattr(variety, n) != getattr(multiscale, n)} == changed
    assert multiscale.fieldsPerTract == 3 and list(multiscale.fieldPixelScales)[:2] == [0.2, 0.2]
    assert max(multiscale.fieldPixelScales) < coarse.pixelScale


# ---------------------------------------------------------------- templates broader than the science


def _sharp_science(**overrides) -> SimulationConfig:
    """Tiny-preset visits of 0.8-1.3 arcsec seeing under a template blurred to about 1.7 arcsec."""
    config = _preset("tiny")
    config.tracts = [3080]
    config.nDetectors = 1
    config.visitsPerField = 3
    config.templateBlurRange = [1.55, 1.6]
    for name, value in overrides.items():
        setattr(config, name, value)
    config.validate()
    return config


def test_template_blur_leaves_every_other_draw_as_it_was():
    """The blur is drawn from its own stream: the visits, static sky and template noise are unchanged."""
    config = _preset("tiny")
    blurred = _sharp_science(nDetectors=config.nDetectors, visitsPerField=config.visitsPerField)
    blurred.tracts = config.tracts
    assert plan_work(config, 5)[2] == plan_work(blurred, 5)[2]
    camera, tracts, _ = plan_work(config, 5)
    plain = DetectorSimulator(config, camera, tracts[0], 0, 0, "r", 5)
    sharp = DetectorSimulator(blurred, camera, tracts[0], 0, 0, "r", 5)
    assert plain.blur_s2 == 0 and sharp.blur_s2 > 0
    np.testing.assert_array_equal(plain.stars["flux"], sharp.stars["flux"])
    assert sharp.template_psf.effective_sigma > plain.template_psf.effective_sigma
    # The same static sky, blurred: the template keeps its flux.
    assert sharp.template_static.sum() == pytest.approx(plain.template_static.sum(), rel=1e-4)


def test_visits_sharper_than_the_template_convolve_the_science_and_are_decorrelated():
    """Convolving the science would correlate the difference noise; the decorrelation whitens it again."""
    config = _sharp_science()
    noise_only = _noise_only(templateBlurRange=list(config.templateBlurRange))
    assert np.all(np.abs(_neighbour_correlation(noise_only)) < 0.03)
    camera, tracts, visits = plan_work(config, 8)
    sim = DetectorSimulator(config, camera, tracts[0], 0, 0, "r", 8)
    for v in visits:
        p = sim.simulate(v)
        assert p.metadata["SIM_SUBTRACTION"] == "convolveScience"
        assert p.science_psf_sigma < p.template_psf_sigma
        # The difference PSF: about the science's, as ZOGY's is under a deep template.
        assert p.science_psf_sigma <= p.difference_psf_sigma < p.template_psf_sigma
        images = make_images(config, camera, {t.id: t.fields for t in tracts}, p)
        assert images["difference"].psf is not None
        bad = np.zeros(p.difference.shape, bool)
        for plane in ("DETECTED", "DETECTED_NEGATIVE", "BAD", "SATURATED", "COSMIC_RAY"):
            bad |= p.difference_masks[plane]
        z = (p.difference / np.sqrt(p.difference_variance))[~bad]
        assert 0.85 < robust_sigma(z) < 1.15
        # Cosmic rays of the science image are spread by the kernel: their masks are grown with them.
        assert p.difference_masks["COSMIC_RAY"].sum() > p.science_masks["COSMIC_RAY"].sum()


def test_sharp_science_transients_are_detected_and_measured():
    """Bright transients are all found in convolve-science mode, with fluxes near the truth.

    The PSF fit models the decorrelated PSF as a Gaussian mixture of its width, which leaves bright
    fluxes a few per cent high (2-5% here); the detection S/N stays close to the expected.
    """
    config = _sharp_science(visitsPerField=4, nHostlessTransients=30, nOffsetTransients=20)
    camera, tracts, visits = plan_work(config, 9)
    sim = DetectorSimulator(config, camera, tracts[0], 0, 0, "r", 9)
    ratios, snr_ratios, n_bright = [], [], 0
    for v in visits:
        p = sim.simulate(v)
        truth = p.truth[np.isin(_kinds(p.truth), ("hostless", "offset")) & ~p.truth["blended"]]
        index, _ = match_nearest(truth["x"], truth["y"], p.dia_sources["x"], p.dia_sources["y"], 2.0)
        bright = np.asarray(truth["snrExpected"]) > 10
        assert np.all(index[bright] >= 0)
        n_bright += int(bright.sum())
        ok = index >= 0
        matched = p.dia_sources[index[ok]]
        keep = ~np.asarray(matched["isDipole"])
        ratios.extend(np.asarray(matched["psfFlux"])[keep] / np.asarray(truth["flux"])[ok][keep])
        snr_ratios.extend(np.asarray(matched["snr"])[keep] / np.asarray(truth["snrExpected"])[ok][keep])
    assert n_bright > 20 and len(ratios) > 30
    assert 0.98 < np.median(ratios) < 1.07
    assert 0.9 < np.median(snr_ratios) < 1.05


def test_sharp_preset_puts_most_visits_under_a_broader_template():
    config = _preset("sharp")
    config.validate()
    assert list(config.tracts) == [4024] and config.fieldsPerTract == 1
    config.detectorSize = 256
    config.nDetectors = 1
    camera, tracts, visits = plan_work(config, 2)
    sim = DetectorSimulator(config, camera, tracts[0], 0, 0, config.bands[0], 2)
    modes = [sim.simulate(v).metadata["SIM_SUBTRACTION"] for v in visits if v.band == config.bands[0]]
    assert "convolveScience" in modes and "convolveTemplate" in modes
    assert modes.count("convolveScience") >= len(modes) / 2


def test_template_blur_must_not_be_negative():
    config = _preset("tiny")
    config.templateBlurRange = [-0.1, 0.5]
    with pytest.raises(Exception, match="cannot be negative"):
        config.validate()


def test_template_blur_fields_must_be_fields_of_a_blurred_config():
    config = _preset("bothways")
    config.templateBlurFields = [2]
    with pytest.raises(Exception, match=r"fields \[2\] are not in 0..1"):
        config.validate()
    config = _preset("tiny")
    config.templateBlurFields = [0]
    with pytest.raises(Exception, match="needs a templateBlurRange"):
        config.validate()


def test_bothways_preset_blurs_only_the_second_field():
    """``bothways``: variety's visits and first field; the second field's template blurred."""
    variety, bothways = _preset("variety"), _preset("bothways")
    bothways.validate()
    changed = {n for n in variety.keys() if getattr(variety, n) != getattr(bothways, n)}
    assert changed == {"templateBlurRange", "templateBlurFields"}
    assert plan_work(variety, 1)[2] == plan_work(bothways, 1)[2]
    for tract in bothways.tracts:
        assert field_template_blur(bothways, 1, tract, 0) == 0.0
        assert 0.6 <= field_template_blur(bothways, 1, tract, 1) <= 0.9


def test_blurfield_preset_adds_a_blurred_field_to_variety():
    """``blurfield``: variety's two fields and visits unchanged, a third field's template blurred."""
    variety, blurfield = _preset("variety"), _preset("blurfield")
    blurfield.validate()
    changed = {n for n in variety.keys() if getattr(variety, n) != getattr(blurfield, n)}
    assert changed == {"fieldsPerTract", "templateBlurRange", "templateBlurFields"}
    visits = plan_work(blurfield, 1)[2]
    assert plan_work(variety, 1)[2] == [v for v in visits if v.field < 2]
    assert {v.field for v in visits} == {0, 1, 2}
    for tract in blurfield.tracts:
        assert [field_template_blur(blurfield, 1, tract, field) for field in (0, 1)] == [0.0, 0.0]
        assert 0.6 <= field_template_blur(blurfield, 1, tract, 2) <= 0.9


def test_blurfield3x_preset_is_the_documented_overrides():
    """``blurfield3x`` is variety with the ``-c`` overrides ``rbsim12``'s repository was built with."""
    overrides = _preset("variety")
    overrides.fieldsPerTract = 3
    overrides.templateBlurRange = [0.6, 0.9]
    overrides.templateBlurFields = [2]
    overrides.nuclearResidualRate = 12.0
    overrides.glintRate = 3.0
    preset = _preset("blurfield3x")
    preset.validate()
    assert {n for n in preset.keys() if getattr(preset, n) != getattr(overrides, n)} == set()
    assert {n for n in preset.keys() if getattr(preset, n) != getattr(_preset("blurfield"), n)} == {
        "nuclearResidualRate",
        "glintRate",
    }


def test_blurfield6_preset_doubles_blurfield3x_fields():
    """``blurfield6``: blurfield3x's settings over six fields, one in three under a blurred template."""
    preset, half = _preset("blurfield6"), _preset("blurfield3x")
    preset.validate()
    changed = {n for n in preset.keys() if getattr(preset, n) != getattr(half, n)}
    assert changed == {"fieldsPerTract", "templateBlurFields"}
    assert preset.fieldsPerTract == 2 * half.fieldsPerTract
    visits = plan_work(preset, 1)[2]
    assert {v.field for v in visits} == set(range(6))
    # Its first three fields are blurfield3x's visits (rbsim12's training set), the rest new ones.
    assert plan_work(half, 1)[2] == [v for v in visits if v.field < 3]
    for tract in preset.tracts:
        blurred = [f for f in range(6) if field_template_blur(preset, 1, tract, f) > 0]
        assert blurred == [2, 5]


def test_field_seeing_factors_sharpen_one_field_and_nothing_else():
    """fieldSeeingFactors scales a field's seeing and template PSF; every other draw stays as it was."""
    config = _noise_only(fieldsPerTract=2)
    config.templatePsfFwhmRange = [0.28, 0.38]
    config.seeingRange = [0.42, 1.6]
    before = plan_work(config, 3)[2]
    config.fieldSeeingFactors = [1.0, 0.5]
    config.validate()
    camera, tracts, after = plan_work(config, 3)
    assert [v.field for v in after] == [0] * 3 + [1] * 3
    assert after[:3] == before[:3]
    for old, new in zip(before[3:], after[3:], strict=True):
        assert new.seeing == pytest.approx(0.5 * old.seeing, rel=1e-12)
        assert new.sky_sigma == old.sky_sigma and new.shift == old.shift
    for field, factor in ((0, 1.0), (1, 0.5)):
        config.fieldSeeingFactors = []
        plain = field_template_fwhm(config, 3, tracts[0].id, field)
        config.fieldSeeingFactors = [1.0, 0.5]
        assert field_template_fwhm(config, 3, tracts[0].id, field) == pytest.approx(factor * plain, rel=1e-12)
    # The simulated images follow: the second field's PSFs are half as wide in pixels.
    sims = [DetectorSimulator(config, camera, tracts[0], f, 0, "r", 3) for f in (0, 1)]
    config.fieldSeeingFactors = []
    plain = DetectorSimulator(config, camera, tracts[0], 1, 0, "r", 3).simulate(before[3])
    sharp = sims[1].simulate(after[3])
    assert sharp.science_psf_sigma == pytest.approx(0.5 * plain.science_psf_sigma, rel=0.02)
    assert sharp.template_psf_sigma == pytest.approx(0.5 * plain.template_psf_sigma, rel=1e-9)


@pytest.mark.parametrize("factors", [[1.0, 0.0], [-0.5], [float("nan")], [float("inf")]])
def test_field_seeing_factors_must_be_positive_and_finite(factors):
    config = _preset("tiny")
    config.fieldSeeingFactors = factors
    with pytest.raises(pexConfig.FieldValidationError, match="seeing factors must be positive and finite"):
        config.validate()


def test_blurfield7narrow_preset_adds_a_sharp_field_to_blurfield6():
    """``blurfield7narrow``: blurfield6's six fields unchanged, a seventh at 0.65 of their seeing."""
    preset, base, narrow, coarse = (
        _preset(n) for n in ("blurfield7narrow", "blurfield6", "narrow", "coarse")
    )
    preset.validate()
    assert {n for n in preset.keys() if getattr(preset, n) != getattr(base, n)} == {
        "fieldsPerTract",
        "fieldSeeingFactors",
    }
    preset.tracts = base.tracts = [3080]
    visits = plan_work(preset, 1)[2]
    assert plan_work(base, 1)[2] == [v for v in visits if v.field < 6]
    # The seventh field reaches into the narrow and coarse tests' seeing (1.4-2.6 pixels); the others
    # do not; and it stays a minority of the training tract's visits.
    px = {f: sorted(v.seeing / preset.pixelScale for v in visits if v.field == f) for f in range(7)}
    lowest = min(narrow.seeingRange[0] / narrow.pixelScale, coarse.seeingRange[0] / coarse.pixelScale)
    assert all(px[f][0] > 2.1 for f in range(6))
    assert lowest * 0.95 <= px[6][0] < 2.1
    undersampled = sum(s < 2.1 for f in px for s in px[f])
    assert 0 < undersampled <= 0.1 * len(visits)
    assert field_template_fwhm(preset, 1, 3080, 6) / preset.pixelScale < min(
        field_template_fwhm(preset, 1, 3080, f) / preset.pixelScale for f in range(6)
    )


def test_log_uniform_saturation_levels_change_only_the_levels():
    """saturationLevelLogUniform lowers each visit's level and leaves every other draw of the visit alone."""
    linear = _preset("blurfield6short")
    log = _preset("blurfield6shortsat")
    log.validate()
    assert {n for n in log.keys() if getattr(log, n) != getattr(linear, n)} == {"saturationLevelLogUniform"}
    a, b = plan_work(linear, 1)[2], plan_work(log, 1)[2]
    assert len(a) == len(b) == 60  # two tracts of six fields of five visits
    low, high = linear.saturationLevelRange
    for u, v in zip(a, b):
        assert v.saturation_level < u.saturation_level  # the same uniform number, on the log scale
        assert low <= v.saturation_level <= high
        assert dataclasses.replace(v, saturation_level=u.saturation_level) == u
    # About half the visits under the range's geometric mean, against about a quarter.
    middle = np.sqrt(low * high)
    assert sum(v.saturation_level < middle for v in b) >= 21 > sum(u.saturation_level < middle for u in a)


def test_log_uniform_saturation_level_must_be_positive():
    config = _preset("variety")
    config.saturationLevelLogUniform = True
    config.saturationLevelRange = [0.0, 200000.0]
    with pytest.raises(pexConfig.FieldValidationError, match="positive"):
        config.validate()
