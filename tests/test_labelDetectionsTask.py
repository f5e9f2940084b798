"""LabelDetectionsTask: one label per diaSource from the simulator's truth or an injected catalog."""

from __future__ import annotations

import astropy.table
import lsst.pex.config as pexConfig
import numpy as np
import pytest
from lsst.images import Box
from lsst.images.psfs import GaussianPointSpreadFunction
from lsst.meas.realbogus import LabelDetectionsConfig, LabelDetectionsTask
from lsst.meas.realbogus.evaluation.labels import FWHM_PER_SIGMA, label_detections
from lsst.meas.realbogus.labelDetectionsTask import LabelDetectionsConnections


def _psf(sigma: float) -> GaussianPointSpreadFunction:
    return GaussianPointSpreadFunction(sigma, Box.factory[0:512, 0:512], 2 * int(5 * sigma) + 1)


def test_labels_every_dia_source(detector_visit):
    product, _ = detector_visit
    task = LabelDetectionsTask()
    psf = _psf(product.science_psf_sigma)
    labels = task.run(product.dia_sources, product.truth, psf).labels
    assert np.array_equal(labels["diaSourceId"], product.dia_sources["diaSourceId"])
    expected = label_detections(
        product.dia_sources, product.truth, 3.0, rule="footprint", psf_sigma=product.science_psf_sigma
    )
    assert labels["isReal"].tolist() == expected.is_real.tolist()
    assert labels["kind"].tolist() == expected.kind.tolist()
    assert 0 < labels["isReal"].sum() < len(labels)
    assert task.metadata["numReal"] == labels["isReal"].sum()
    assert task.metadata["psfSigma"] == pytest.approx(product.science_psf_sigma)
    assert labels.meta["LABEL_RULE"] == "footprint" and labels.meta["FLUX_FRACTION"] == 0.5
    # Every diaSource real by the radius rule is real by the footprint rule.
    radius = label_detections(product.dia_sources, product.truth, 3.0)
    assert np.all(labels["isReal"][radius.is_real])
    assert len(task.run(product.dia_sources[:0], product.truth, psf).labels) == 0


def test_radius_rule(detector_visit):
    product, _ = detector_visit
    config = LabelDetectionsConfig()
    config.labelRule = "radius"
    labels = LabelDetectionsTask(config=config).run(product.dia_sources, product.truth).labels
    expected = label_detections(product.dia_sources, product.truth, 3.0)
    assert labels["isReal"].tolist() == expected.is_real.tolist()
    assert labels.meta["LABEL_RULE"] == "radius" and "PSF_SIGMA" not in labels.meta
    assert "differencePsf" not in LabelDetectionsConnections(config=config).inputs


def test_blend_real_by_footprint_only():
    """Two real transients 8 px apart, detected as one 4 px from each."""
    truth = astropy.table.Table(
        {
            "x": [96.0, 104.0],
            "y": [50.0, 50.0],
            "flux": [800.0, 1200.0],
            "kind": ["host", "offset"],
            "isReal": [True, True],
        }
    )
    sigma = 2.0
    dia = astropy.table.Table(
        {
            "diaSourceId": [7],
            "x": [100.0],
            "y": [50.0],
            "psfFlux": [2000.0 * np.exp(-1.0)],
            "snr": [30.0],
        }
    )
    config = LabelDetectionsConfig()
    config.psfSource = "config"
    config.psfFwhm = sigma * FWHM_PER_SIGMA
    labels = LabelDetectionsTask(config=config).run(dia, truth).labels
    assert labels["isReal"][0] and labels["kind"][0] == "offset" and labels["truthIndex"][0] == 1
    assert labels["realFluxFraction"][0] == pytest.approx(1.0)
    assert labels.meta["PSF_SIGMA"] == pytest.approx(sigma)
    assert "differencePsf" not in LabelDetectionsConnections(config=config).inputs
    # The same from the image's PSF (psfSource "image", the default).
    labels = LabelDetectionsTask().run(dia, truth, _psf(sigma)).labels
    assert labels["isReal"][0] and labels.meta["PSF_SIGMA"] == pytest.approx(sigma)
    config.labelRule = "radius"
    assert not LabelDetectionsTask(config=config).run(dia, truth).labels["isReal"][0]


def test_injected_catalog_and_missing_columns(detector_visit):
    product, _ = detector_visit
    config = LabelDetectionsConfig()
    config.truthIsRealColumn = ""
    config.truthKindColumn = ""
    real_only = product.truth[np.asarray(product.truth["isReal"], bool)]
    psf = _psf(product.science_psf_sigma)
    labels = LabelDetectionsTask(config=config).run(product.dia_sources, real_only["x", "y", "flux"], psf)
    labels = labels.labels
    assert set(labels["kind"][labels["isReal"]]) == {"injected"}
    with pytest.raises(ValueError, match="no column 'flux'"):
        LabelDetectionsTask(config=config).run(product.dia_sources, real_only["x", "y"], psf)
    config.labelRule = "radius"  # needs no flux
    LabelDetectionsTask(config=config).run(product.dia_sources, real_only["x", "y"])
    config = LabelDetectionsConfig()
    config.snrColumn = "significance"
    with pytest.raises(ValueError, match="no column 'significance'"):
        LabelDetectionsTask(config=config).run(product.dia_sources, product.truth, psf)


def test_config_validation():
    config = LabelDetectionsConfig()
    assert config.labelRule == "footprint" and config.psfSource == "image"
    assert "differencePsf" in LabelDetectionsConnections(config=config).inputs
    config.validate()
    for field, value in (("labelRule", "nearest"), ("psfSource", "header")):
        with pytest.raises(pexConfig.FieldValidationError):
            setattr(config, field, value)
    for field, value in (
        ("fluxFraction", 0.0),
        ("fluxFraction", 1.5),
        ("psfFwhm", 0.0),
        ("matchRadius", -1.0),
    ):
        config = LabelDetectionsConfig()
        with pytest.raises(pexConfig.FieldValidationError):  # when set (RangeField) or validated (check)
            setattr(config, field, value)
            config.validate()
    config = LabelDetectionsConfig()
    config.fluxFraction = 1.0
    config.validate()
