"""ModelMetadata: the record inside every model file, and the model input it describes."""

from __future__ import annotations

import json

import pytest
from lsst.meas.realbogus.inference import ModelError, ModelMetadata
from lsst.meas.realbogus.stamps import ModelInput


def test_json_round_trip_and_input():
    md = ModelMetadata("v1", 33, ["difference", "science"], "l2", architecture="vgg6", threshold=0.3)
    assert md.channels == ("difference", "science")
    assert ModelMetadata.from_json(md.to_json()) == md
    assert md.input == ModelInput(("difference", "science"), 33, "l2")
    assert md.input.shape == (2, 33, 33)


def test_every_problem_is_listed():
    with pytest.raises(ModelError) as info:
        ModelMetadata("versiontoolong", 2, ("sky",), "zscale", output="softmax", threshold=2.0)
    for word in ("version", "cutout_size", "channels", "normalization", "output", "threshold"):
        assert word in str(info.value)


def test_bad_records():
    with pytest.raises(ModelError, match="lacks"):
        ModelMetadata.from_json(json.dumps({"version": "x"}))
    with pytest.raises(ModelError, match="not valid JSON"):
        ModelMetadata.from_json("{")
    with pytest.raises(ModelError, match="JSON object"):
        ModelMetadata.from_json("[1]")
    record = json.loads(ModelMetadata("v", 21, ("science",), "none").to_json())
    record["schema_version"] = 99
    with pytest.raises(ModelError, match="schema 99 is newer"):
        ModelMetadata.from_json(json.dumps(record))


def test_max_psf_fwhm_is_optional_and_checked():
    # A record written before the field existed reads as 0 (never resample).
    record = json.loads(ModelMetadata("v", 21, ("science",), "none", max_psf_fwhm=8.5).to_json())
    assert ModelMetadata.from_json(json.dumps(record)).max_psf_fwhm == 8.5
    del record["max_psf_fwhm"]
    assert ModelMetadata.from_json(json.dumps(record)).max_psf_fwhm == 0.0
    with pytest.raises(ModelError, match="max_psf_fwhm must be a number"):
        ModelMetadata("v", 21, ("science",), "none", max_psf_fwhm=-1.0)


def test_min_psf_fwhm_is_optional_and_below_the_max():
    record = json.loads(ModelMetadata("v", 21, ("science",), "none", min_psf_fwhm=3.0).to_json())
    assert ModelMetadata.from_json(json.dumps(record)).min_psf_fwhm == 3.0
    del record["min_psf_fwhm"]
    assert ModelMetadata.from_json(json.dumps(record)).min_psf_fwhm == 0.0
    with pytest.raises(ModelError, match="min_psf_fwhm must be a number"):
        ModelMetadata("v", 21, ("science",), "none", min_psf_fwhm=-1.0)
    with pytest.raises(ModelError, match="is above max_psf_fwhm"):
        ModelMetadata("v", 21, ("science",), "none", min_psf_fwhm=5.0, max_psf_fwhm=4.0)
