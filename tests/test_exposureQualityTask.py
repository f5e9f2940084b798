"""ExposureQualityTask: a row per detector-visit, flags, and models checked at start-up."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus.exposureQualityTask import ExposureQualityConfig, ExposureQualityTask
from lsst.meas.realbogus.inference.metadata import ModelError
from lsst.pex.config import FieldValidationError


def make_task(paths, **overrides) -> ExposureQualityTask:
    config = ExposureQualityConfig()
    config.desom1File, config.desom2File, config.cellLabelsFile = paths
    config.minSources = 5
    for name, value in overrides.items():
        setattr(config, name, value)
    return ExposureQualityTask(config=config)


def test_one_row_per_image(quality_models, quality_images):
    paths, _ = quality_models
    task = make_task(paths, doPlot=True)
    visit, detector, image, _ = quality_images[-1]
    result = task.run(image, visit=visit, detector=detector)
    row = result.exposureQuality
    assert len(row) == 1 and row["visit"][0] == visit and row["detector"][0] == detector
    assert row["nDetected"][0] >= row["nUsed"][0] >= 5 and not row["flag_tooFewSources"][0]
    assert row["histogram"].shape == (1, 16) and row["histogram"][0].sum() == pytest.approx(
        row["nDetected"][0]
    )
    assert 0 <= row["cell"][0] < 9 and row["cell"][0] == 3 * row["cellRow"][0] + row["cellCol"][0]
    assert row["label"][0] in {"good", "tracking", "severe_tracking", "focus", "background"}
    assert row["preview"].shape == (1, 64, 64)
    assert result.densityPlot is not None
    # The same image gives the same row (the subsample is seeded by the data ID).
    again = task.run(image, visit=visit, detector=detector).exposureQuality
    assert np.array_equal(again["histogram"], row["histogram"]) and again["cell"][0] == row["cell"][0]


def test_too_few_sources_is_flagged_not_dropped(quality_models, quality_images):
    paths, _ = quality_models
    task = make_task(paths, minSources=100000)
    for visit, detector, image, quality in quality_images[:6]:
        row = task.run(image, visit=visit, detector=detector).exposureQuality
        assert row["flag_tooFewSources"][0] and row["cell"][0] == -1 and row["cellLabel"][0] == ""
        assert row["nUsed"][0] > 0 and row["histogram"][0].sum() > 0
        # No cell, so no cell label; the background check still labels a bad sky.
        assert row["label"][0] == ("background" if row["flag_background"][0] else "")
        assert row["flag_background"][0] == (quality == "background"), (visit, quality)


def test_blank_image_is_a_flagged_row(quality_models, quality_images):
    paths, _ = quality_models
    visit, detector, image, _ = quality_images[0]
    blank = image.copy()
    blank.image.array[...] = np.nan
    row = make_task(paths).run(blank, visit=visit, detector=detector).exposureQuality
    assert row["nDetected"][0] == 0 and row["flag_tooFewSources"][0]


def test_bad_models_fail_at_start_up(quality_models, tmp_path):
    (d1, d2, labels), _ = quality_models
    with pytest.raises(ModelError, match="d1.pt: DESOM-2 must take histograms"):
        make_task((d1, d1, labels))
    config = ExposureQualityConfig()
    with pytest.raises(FieldValidationError, match="missing.pt does not exist"):
        config.desom1File = str(tmp_path / "missing.pt")
        config.desom2File, config.cellLabelsFile = d2, labels
        config.validate()
