"""LabelDetectionsTask: one label per diaSource from the simulator's truth or an injected catalog."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus import LabelDetectionsConfig, LabelDetectionsTask
from lsst.meas.realbogus.evaluation.labels import label_detections


def test_labels_every_dia_source(detector_visit):
    product, _ = detector_visit
    task = LabelDetectionsTask()
    labels = task.run(product.dia_sources, product.truth).labels
    assert np.array_equal(labels["diaSourceId"], product.dia_sources["diaSourceId"])
    expected = label_detections(product.dia_sources, product.truth, 3.0)
    assert labels["isReal"].tolist() == expected.is_real.tolist()
    assert labels["kind"].tolist() == expected.kind.tolist()
    assert 0 < labels["isReal"].sum() < len(labels)
    assert task.metadata["numReal"] == labels["isReal"].sum()
    assert len(task.run(product.dia_sources[:0], product.truth).labels) == 0


def test_injected_catalog_and_missing_columns(detector_visit):
    product, _ = detector_visit
    config = LabelDetectionsConfig()
    config.truthIsRealColumn = ""
    config.truthKindColumn = ""
    real_only = product.truth[np.asarray(product.truth["isReal"], bool)]
    labels = LabelDetectionsTask(config=config).run(product.dia_sources, real_only["x", "y"]).labels
    assert set(labels["kind"][labels["isReal"]]) == {"injected"}
    config = LabelDetectionsConfig()
    config.snrColumn = "significance"
    with pytest.raises(ValueError, match="no column 'significance'"):
        LabelDetectionsTask(config=config).run(product.dia_sources, product.truth)
