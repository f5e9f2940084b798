"""FilterByRealBogusTask: every diaSource in exactly one half; mismatched tables refused."""

from __future__ import annotations

import astropy.table
import numpy as np
import pytest
from lsst.daf.butler import Butler
from lsst.meas.realbogus.filterByRealBogusTask import FilterByRealBogusConfig, FilterByRealBogusTask
from lsst.pex.config import FieldValidationError


def tables():
    dia = astropy.table.Table({"diaSourceId": np.arange(10, 16), "x": np.arange(6.0), "flux": np.ones(6)})
    scores = astropy.table.Table(
        {"diaSourceId": np.arange(10, 16), "score": np.array([0.9, 0.1, 0.5, np.nan, 0.49, 1.0], np.float32)}
    )
    return dia, scores


def test_split_at_the_threshold():
    dia, scores = tables()
    result = FilterByRealBogusTask().run(dia, scores)
    high, low = result.highScoreDiaSources, result.lowScoreDiaSources
    assert list(high["diaSourceId"]) == [10, 12, 13, 15]  # >= 0.5, and the unscored one
    assert list(low["diaSourceId"]) == [11, 14]
    assert set(high.colnames) == {"diaSourceId", "x", "flux", "score"}
    assert "score" not in dia.colnames  # the input is not modified
    config = FilterByRealBogusConfig()
    config.threshold, config.keepUnscored = 0.95, False
    result = FilterByRealBogusTask(config=config).run(dia, scores)
    assert list(result.highScoreDiaSources["diaSourceId"]) == [15]
    assert len(result.lowScoreDiaSources) == 5
    empty = FilterByRealBogusTask().run(dia[:0], scores[:0])
    assert len(empty.highScoreDiaSources) == 0 and len(empty.lowScoreDiaSources) == 0


def test_refuses_tables_that_do_not_match():
    dia, scores = tables()
    task = FilterByRealBogusTask()
    with pytest.raises(ValueError, match="6 rows for 5 diaSources"):
        task.run(dia[:5], scores)
    shuffled = scores[[1, 0, 2, 3, 4, 5]]
    with pytest.raises(
        ValueError, match=r"differs from the diaSources' at 2 rows \(first at row 0: 11 for 10\)"
    ):
        task.run(dia, shuffled)
    with pytest.raises(ValueError, match=r"the score table has no column\(s\) \['score'\]"):
        task.run(dia, scores[["diaSourceId"]])
    with pytest.raises(FieldValidationError):
        FilterByRealBogusConfig().threshold = 1.5


@pytest.mark.slow
def test_pipeline_on_the_tiny_repository(tiny_repo, pipetask):
    """RealBogusFilter.yaml through pipetask: the two halves hold every diaSource once."""
    repo, _ = tiny_repo
    pipetask(repo, "RealBogusFilter.yaml", "RBSimCam/sim", "u/test/filter")
    with Butler.from_config(str(repo), collections="u/test/filter") as butler:
        refs = butler.query_datasets("dia_source_unstandardized", limit=None)
        assert refs
        for ref in refs:
            dia = butler.get(ref)
            high = butler.get("dia_source_high_realbogus", dataId=ref.dataId)
            low = butler.get("dia_source_low_realbogus", dataId=ref.dataId)
            assert sorted([*high["diaSourceId"], *low["diaSourceId"]]) == sorted(dia["diaSourceId"])
            assert np.all(high["score"][np.isfinite(high["score"])] >= 0.5) and np.all(low["score"] < 0.5)


AP_STAND_IN = """\
description: |
  A stand-in for an alert-production pipeline that imports meas_realbogus's scoring and filter,
  as a Rubin pipeline would, with a downstream task in association's place that reads the
  high-score diaSources (pipe_base's DynamicTestPipelineTask: ap_pipe is not on PyPI).
imports:
  - location: resource://lsst.meas.realbogus/pipelines/RealBogusFilter.yaml
tasks:
  associateApdb:
    class: lsst.pipe.base.tests.mocks.DynamicTestPipelineTask
    config:
      python: |
        from lsst.pipe.base.tests.mocks import DynamicConnectionConfig
        detector = ["instrument", "visit", "detector"]
        config.dimensions = detector
        config.inputs["diaSourceTable"] = DynamicConnectionConfig(
            dataset_type_name="dia_source_high_realbogus", storage_class="ArrowAstropy",
            dimensions=detector, mock_storage_class=False)
        config.outputs["associatedDiaSources"] = DynamicConnectionConfig(
            dataset_type_name="dia_source_apdb_stand_in", storage_class="StructuredDataDict",
            dimensions=detector)
"""


@pytest.mark.slow
def test_imported_into_an_alert_production_pipeline(tiny_repo, pipetask, tmp_path):
    """A pipeline importing RealBogusFilter.yaml by resource, with a task downstream of the filter, runs."""
    repo, _ = tiny_repo
    pipeline = tmp_path / "ApStandIn.yaml"
    pipeline.write_text(AP_STAND_IN)
    pipetask(repo, str(pipeline), "RBSimCam/sim", "u/test/ap_stand_in")
    with Butler.from_config(str(repo), collections="u/test/ap_stand_in") as butler:
        detectors = butler.query_datasets("dia_source_unstandardized", limit=None)
        for name in ("dia_source_realbogus", "dia_source_high_realbogus", "dia_source_apdb_stand_in"):
            assert len(butler.query_datasets(name, limit=None)) == len(detectors), name
