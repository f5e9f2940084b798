"""SummarizeExposureQualityTask: the gathered table, figures and figures of merit."""

from __future__ import annotations

import astropy.table
import numpy as np
import pytest
from lsst.meas.realbogus.exposureQualityTask import ExposureQualityConfig, ExposureQualityTask
from lsst.meas.realbogus.summarizeExposureQualityTask import (
    SummarizeExposureQualityConfig,
    SummarizeExposureQualityTask,
)


@pytest.fixture(scope="module")
def rows(quality_models, quality_images):
    config = ExposureQualityConfig()
    (config.desom1File, config.desom2File, config.cellLabelsFile), _ = quality_models
    config.minSources = 5
    task = ExposureQualityTask(config=config)
    test = [q for q in quality_images if q[0] >= 20000]
    return [task.run(image, visit=v, detector=d).exposureQuality for v, d, image, _ in test], test


def test_summary_and_metrics(rows):
    tables, test = rows
    config = SummarizeExposureQualityConfig()
    config.doEvaluate = True
    known = [astropy.table.Table({"visit": [v], "quality": [q]}) for v, _, _, q in test]
    result = SummarizeExposureQualityTask(config=config).run(tables, known)
    summary = result.summary
    assert len(summary) == len(test) and "histogram" not in summary.colnames
    assert np.all(np.diff(np.asarray(summary["cell"])) >= 0)  # sorted by cell
    truth = {v: q for v, _, _, q in test}
    assert [truth[v] for v in summary["visit"]] == list(summary["known"])
    metrics = result.metrics
    assert metrics["n"] == len(test)
    matrix = np.array(metrics["confusion"]["matrix"])
    assert matrix.sum() == len(test)
    assert metrics["accuracy"] == pytest.approx((matrix[0, 0] + matrix[1:, 1:].sum()) / len(test))
    for name in ("labelMapPlot", "cellMembersPlot", "densityPlot"):
        assert getattr(result, name) is not None


def test_without_known_labels_and_bad_choices(rows):
    tables, _ = rows
    result = SummarizeExposureQualityTask().run(tables)
    assert not hasattr(result, "metrics") and len(result.summary) == len(tables)
    config = SummarizeExposureQualityConfig()
    config.exampleVisit = 1
    with pytest.raises(ValueError, match="visit 1 detector 0 is not among the rows"):
        SummarizeExposureQualityTask(config=config).run(tables)
    config = SummarizeExposureQualityConfig()
    config.doEvaluate = True
    with pytest.raises(ValueError, match="no known quality for visits"):
        SummarizeExposureQualityTask(config=config).run(
            tables, [astropy.table.Table({"visit": [0], "quality": ["good"]})]
        )
