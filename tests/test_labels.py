"""Labels of detections from the truth (DMTN-216): arrays and the label table."""

from __future__ import annotations

import astropy.table
import numpy as np
import pytest
from lsst.meas.realbogus.evaluation.labels import (
    effective_psf_sigma,
    footprint_real_flux,
    label_changes,
    label_detections,
    label_table,
)


@pytest.fixture
def truth():
    return astropy.table.Table(
        {
            "x": [10.0, 50.0, 100.0, 200.0],
            "y": [10.0, 50.0, 100.0, 200.0],
            "kind": ["hostless", "cosmic_ray", "streak", "variable"],
            "isReal": [True, False, False, True],
            "length": [0.0, 3.0, 80.0, 0.0],
            "angle": [0.0, 45.0, 0.0, 0.0],
        }
    )


@pytest.fixture
def detections():
    return astropy.table.Table(
        {
            "diaSourceId": np.arange(7) + 100,
            "x": [11.0, 51.5, 130.0, 100.0, 300.0, 200.5, 145.0],
            "y": [10.5, 50.0, 101.0, 100.0, 3.0, 199.0, 100.0],
            "snr": np.arange(7) + 5.0,
        }
    )


def test_labels_points_and_lines(truth, detections):
    is_real, kind, index, distance, fraction = label_detections(detections, truth, radius=3.0)
    assert is_real.tolist() == [True, False, False, False, False, True, False]
    assert kind.tolist() == ["hostless", "cosmic_ray", "streak", "streak", "unknown", "variable", "unknown"]
    assert index.tolist() == [0, -1, -1, -1, -1, 3, -1]
    assert distance[0] == pytest.approx(np.hypot(1.0, 0.5)) and np.isnan(distance[1])
    assert np.isnan(fraction).all()  # the radius rule measures no flux


def test_injected_catalog_every_row_real(truth, detections):
    labels = label_detections(detections, truth, 3.0, is_real_column=None, kind_column=None)
    assert labels.is_real.tolist() == [True, True, False, True, False, True, False]
    assert set(labels.kind[labels.is_real]) == {"injected"}


def test_label_table_one_row_per_detection(truth, detections):
    table = label_table(detections, truth, 3.0)
    assert table.colnames == [
        "diaSourceId",
        "isReal",
        "kind",
        "snr",
        "truthIndex",
        "matchDistance",
        "realFluxFraction",
    ]
    assert table["diaSourceId"].tolist() == detections["diaSourceId"].tolist()
    assert table["isReal"].tolist() == label_detections(detections, truth, 3.0).is_real.tolist()
    assert table.meta["MATCH_RADIUS"] == 3.0
    assert len(label_table(detections[:0], truth, 3.0)) == 0


def test_label_table_without_snr(truth, detections):
    table = label_table(detections[["diaSourceId", "x", "y"]], truth, 3.0, snr_column=None)
    assert np.isnan(table["snr"]).all() and table["isReal"].sum() == 2


def test_missing_columns_are_named(truth, detections):
    with pytest.raises(ValueError, match="no column 'snr'"):
        label_table(detections[["diaSourceId", "x", "y"]], truth, 3.0)
    with pytest.raises(ValueError, match="truth table has no column 'kind2'"):
        label_detections(detections, truth, 3.0, kind_column="kind2")


# Footprint rule.  PSF sigma 2 px: a source at distance d contributes exp(-d**2 / 16) of its flux.
SIGMA = 2.0


def _weight(d):
    return np.exp(-(d**2) / (4 * SIGMA**2))


@pytest.fixture
def blend():
    """Two real transients 8 px apart, a bad column, a faint transient beside a cosmic ray."""
    truth = astropy.table.Table(
        {
            "x": [96.0, 104.0, 300.0, 500.0, 503.5],
            "y": [100.0, 100.0, 300.0, 500.0, 500.0],
            "flux": [1000.0, 1000.0, 5e4, 100.0, 8000.0],
            "kind": ["host", "offset", "bad_column", "hostless", "cosmic_ray"],
            "isReal": [True, True, False, True, False],
            "length": [0.0, 0.0, 400.0, 0.0, 2.0],
            "angle": [0.0, 0.0, 90.0, 0.0, 0.0],
        }
    )
    # The blend's detected flux is what PSF photometry at its centroid picks up from both.
    blended_flux = 2 * 1000.0 * _weight(4.0)
    detections = astropy.table.Table(
        {
            "diaSourceId": [1, 2, 3],
            "x": [100.0, 300.0, 503.0],
            "y": [100.0, 250.0, 500.0],
            "psfFlux": [blended_flux, 900.0, 6000.0],
            "snr": [20.0, 15.0, 40.0],
        }
    )
    return detections, truth


def test_footprint_real_flux_weights():
    flux = footprint_real_flux([0.0, 0.0], [0.0, 50.0], [3.0, -4.0], [4.0, 0.0], [100.0, 50.0], SIGMA)
    assert flux.flux[0] == pytest.approx(100 * _weight(5.0) + 50 * _weight(4.0))
    assert flux.top_index.tolist() == [0, -1]  # 100 * w(5) = 21 > 50 * w(4) = 18; nothing near the second
    assert flux.flux[1] == 0.0
    negative = footprint_real_flux([0.0], [0.0], [3.0, -4.0], [4.0, 0.0], [100.0, -50.0], SIGMA, sign=[-1])
    assert negative.top_index.tolist() == [1]
    with pytest.raises(ValueError, match="psf_sigma"):
        footprint_real_flux([0.0], [0.0], [1.0], [1.0], [1.0], 0.0)


def test_blend_real_by_footprint_bogus_by_radius(blend):
    detections, truth = blend
    radius = label_detections(detections, truth, 3.0)
    assert radius.is_real.tolist() == [False, False, False]
    labels = label_detections(detections, truth, 3.0, rule="footprint", psf_sigma=SIGMA)
    assert labels.is_real[0]
    assert labels.flux_fraction[0] == pytest.approx(1.0)
    assert labels.truth_index[0] in (0, 1) and labels.kind[0] in ("host", "offset")
    assert labels.distance[0] == pytest.approx(4.0)
    # A flux fraction above what the blend explains makes it bogus again.
    strict = label_detections(detections, truth, 3.0, rule="footprint", psf_sigma=SIGMA, flux_fraction=1.0)
    assert strict.is_real[0]  # exactly explained
    detections["psfFlux"][0] *= 2.5
    assert not label_detections(detections, truth, 3.0, rule="footprint", psf_sigma=SIGMA).is_real[0]


def test_artifact_beside_faint_real_source_stays_bogus(blend):
    detections, truth = blend
    labels = label_detections(detections, truth, 3.0, rule="footprint", psf_sigma=SIGMA)
    # The cosmic ray's detection is 3 px from a faint transient, outside the radius, whose
    # flux explains 100 * w(3) / 6000 of it.
    assert not labels.is_real[2] and labels.kind[2] == "cosmic_ray"
    assert labels.flux_fraction[2] == pytest.approx(100 * _weight(3.0) / 6000)
    assert labels.truth_index[2] == -1 and np.isnan(labels.distance[2])
    # The bad column's detection has no real flux near it.
    assert not labels.is_real[1] and labels.kind[1] == "bad_column" and labels.flux_fraction[1] == 0


def test_radius_match_is_kept_by_footprint_rule(truth, detections):
    detections["psfFlux"] = np.full(len(detections), 1e6)  # nothing explained by flux
    truth["flux"] = np.full(len(truth), 10.0)
    radius = label_detections(detections, truth, 3.0)
    footprint = label_detections(detections, truth, 3.0, rule="footprint", psf_sigma=SIGMA)
    assert np.array_equal(radius.is_real, footprint.is_real)
    assert np.array_equal(radius.kind, footprint.kind)
    assert np.array_equal(radius.truth_index, footprint.truth_index)
    assert np.array_equal(radius.distance, footprint.distance, equal_nan=True)


def test_negative_detections(blend):
    detections, truth = blend
    truth["flux"][:2] = -1000.0  # two fading sources (e.g. variable stars)
    labels = label_detections(detections, truth, 3.0, rule="footprint", psf_sigma=SIGMA)
    assert not labels.is_real[0]  # a positive detection is not explained by negative flux
    assert labels.flux_fraction[0] == pytest.approx(-1.0)
    detections["psfFlux"][0] *= -1
    labels = label_detections(detections, truth, 3.0, rule="footprint", psf_sigma=SIGMA)
    assert labels.is_real[0] and labels.flux_fraction[0] == pytest.approx(1.0)
    # Opposite fluxes cancel in the aperture: a negative detection beside them is not explained.
    truth["flux"][1] = 1000.0
    assert not label_detections(detections, truth, 3.0, rule="footprint", psf_sigma=SIGMA).is_real[0]
    # Zero or NaN detected flux: only the radius rule can make it real.
    detections["psfFlux"][0] = np.nan
    labels = label_detections(detections, truth, 3.0, rule="footprint", psf_sigma=SIGMA)
    assert not labels.is_real[0] and np.isnan(labels.flux_fraction[0])


def test_footprint_rule_with_injected_catalog(blend):
    detections, truth = blend
    injected = truth[truth["isReal"]]["x", "y", "flux"]
    labels = label_detections(
        detections, injected, 3.0, rule="footprint", psf_sigma=SIGMA, is_real_column=None, kind_column=None
    )
    assert labels.is_real.tolist() == [True, False, False]
    assert labels.kind.tolist() == ["injected", "unknown", "unknown"]
    injected.rename_column("flux", "injFlux")
    with pytest.raises(ValueError, match="no column 'flux'"):
        label_detections(
            detections,
            injected,
            3.0,
            rule="footprint",
            psf_sigma=SIGMA,
            is_real_column=None,
            kind_column=None,
        )
    labels = label_detections(
        detections,
        injected,
        3.0,
        rule="footprint",
        psf_sigma=SIGMA,
        is_real_column=None,
        kind_column=None,
        truth_flux_column="injFlux",
    )
    assert labels.is_real[0]


def test_footprint_rule_arguments(blend):
    detections, truth = blend
    with pytest.raises(ValueError, match="psf_sigma"):
        label_detections(detections, truth, 3.0, rule="footprint")
    with pytest.raises(ValueError, match="flux_fraction"):
        label_detections(detections, truth, 3.0, rule="footprint", psf_sigma=SIGMA, flux_fraction=0.0)
    with pytest.raises(ValueError, match="unknown label rule"):
        label_detections(detections, truth, 3.0, rule="nearest")
    with pytest.raises(ValueError, match="no column 'psfFlux'"):
        label_detections(detections["x", "y"], truth, 3.0, rule="footprint", psf_sigma=SIGMA)


def test_label_table_metadata_and_changes(blend):
    detections, truth = blend
    old = label_table(detections, truth, 3.0)
    new = label_table(detections, truth, 3.0, rule="footprint", psf_sigma=SIGMA, flux_fraction=0.4)
    assert old.meta["LABEL_RULE"] == "radius" and "FLUX_FRACTION" not in old.meta
    assert new.meta == {
        "LABEL_RULE": "footprint",
        "MATCH_RADIUS": 3.0,
        "FLUX_FRACTION": 0.4,
        "PSF_SIGMA": 2.0,
    }
    assert new["realFluxFraction"][0] == pytest.approx(1.0)
    changes = label_changes(old, new)
    assert changes["bogus_to_real"] == {f"unknown -> {new['kind'][0]}": 1}
    assert not changes["real_to_bogus"]
    assert label_changes(new, old)["real_to_bogus"] == {f"{new['kind'][0]} -> unknown": 1}
    with pytest.raises(ValueError, match="length"):
        label_changes(old, new[:1])


def test_effective_psf_sigma():
    from lsst.images import Box
    from lsst.images.psfs import GaussianPointSpreadFunction

    psf = GaussianPointSpreadFunction(1.7, Box.factory[0:100, 0:100], 21)
    assert effective_psf_sigma(psf) == 1.7

    class KernelOnly:
        """A PSF without a sigma: its kernel image's second moments give it."""

        def compute_kernel_image(self, *, x, y):
            return psf.compute_kernel_image(x=x, y=y)

    assert effective_psf_sigma(KernelOnly(), 50.0, 50.0) == pytest.approx(1.7, rel=1e-3)
