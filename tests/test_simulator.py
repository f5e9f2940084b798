"""The simulator's statistics: what is injected is in the truth, and detections behave as they should."""

from __future__ import annotations

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
