"""Shared config mixins: their checks run through validate() in every task that mixes them in."""

from __future__ import annotations

import pytest
from lsst.meas.realbogus import RealBogusConfig
from lsst.meas.realbogus.evaluateRealBogusTask import EvaluateRealBogusConfig
from lsst.meas.realbogus.inference import default_model_path
from lsst.meas.realbogus.trainDesomTask import TrainDesomConfig
from lsst.meas.realbogus.trainExposureQualityTask import TrainExposureQualityConfig
from lsst.meas.realbogus.trainRealBogusTask import TrainRealBogusConfig
from lsst.pex.config import FieldValidationError


@pytest.mark.parametrize("config_class", [RealBogusConfig, EvaluateRealBogusConfig])
def test_model_file_checked_by_validate(config_class, tmp_path):
    config = config_class()
    assert config.resolved_model_file() == default_model_path(config.resolved_backend())
    config.validate()
    config.modelFile = str(tmp_path / "absent.pt")
    with pytest.raises(FieldValidationError, match="absent.pt does not exist"):
        config.validate()
    config.modelSource = "butler"
    config.validate()


def test_device_field():
    config = TrainRealBogusConfig()
    for good in ("cpu", "cuda", "cuda:1"):
        config.device = good
    with pytest.raises(FieldValidationError):
        config.device = "gpu"
    with pytest.raises(FieldValidationError):
        config.numThreads = -1


@pytest.mark.parametrize(
    "config_class, limit",
    [(TrainRealBogusConfig, 7), (TrainDesomConfig, 7), (TrainExposureQualityConfig, 6)],
)
def test_model_version_length_is_named(config_class, limit):
    config = config_class()
    config.modelVersion = "v" * limit
    config.validate()
    config.modelVersion = "rbx_zoom16"
    with pytest.raises(FieldValidationError, match=f"1 to {limit} characters.*'rbx_zoom16' \\(10\\)"):
        config.validate()
    config.modelVersion = ""
    with pytest.raises(FieldValidationError, match=f"1 to {limit} characters"):
        config.validate()
