"""RealBogusTask.run() on in-memory images, without a butler: rows, flags, bad input."""

from __future__ import annotations

import astropy.table
import numpy as np
import pytest
import torch
from conftest import tiny_config
from lsst.images import Box
from lsst.meas.realbogus import RealBogusConfig, RealBogusTask
from lsst.meas.realbogus.architectures import DiaCNN
from lsst.meas.realbogus.model import ModelError, ModelMetadata, save_model
from lsst.meas.realbogus.simulation.repo import make_images, plan_work
from lsst.meas.realbogus.simulation.simulator import DetectorSimulator

CHANNELS = ("template", "science", "difference")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "rb.pt"
    md = ModelMetadata(version="tst0001", cutout_size=51, channels=CHANNELS, normalization="robust")
    save_model(DiaCNN(3, 51).eval(), md, path)
    return path


@pytest.fixture(scope="module")
def inputs():
    """In-memory science, template, difference images and diaSources of one tiny detector-visit."""
    config = tiny_config()
    camera, tracts, visits = plan_work(config, seed=2)
    sim = DetectorSimulator(config, camera, tracts[0], 0, 0, "r", seed=2)
    product = sim.simulate(visits[0])
    images = make_images(config, camera, {t.id: t.fields for t in tracts}, product)
    return {"diaSources": product.dia_sources, **images}


def make_task(model_file, **overrides):
    config = RealBogusConfig()
    config.modelFile = str(model_file)
    for key, value in overrides.items():
        setattr(config, key, value)
    config.validate()
    return RealBogusTask(config=config)


def test_one_row_per_source_in_order(model_file, inputs):
    task = make_task(model_file)
    scores = task.run(**inputs).scores
    dia = inputs["diaSources"]
    assert len(dia) > 5
    assert np.array_equal(scores["diaSourceId"], dia["diaSourceId"])
    assert scores["score"].dtype == np.float32
    assert np.all((scores["score"] >= 0) & (scores["score"] <= 1))
    assert set(scores["modelVersion"]) == {"tst0001"}
    for column in ("flag_edge", "flag_badPixels", "flag_noScore"):
        assert scores[column].dtype == bool
    # Deterministic.
    assert np.array_equal(task.run(**inputs).scores["score"], scores["score"])


def test_shuffled_input_keeps_its_order(model_file, inputs):
    task = make_task(model_file)
    dia = inputs["diaSources"]
    order = np.random.default_rng(0).permutation(len(dia))
    shuffled = task.run(**{**inputs, "diaSources": dia[order]}).scores
    original = task.run(**inputs).scores
    assert np.array_equal(shuffled["diaSourceId"], dia["diaSourceId"][order])
    assert np.allclose(shuffled["score"], original["score"][order], atol=1e-6)


def test_empty_catalog(model_file, inputs):
    empty = inputs["diaSources"][:0]
    scores = make_task(model_file).run(**{**inputs, "diaSources": empty}).scores
    assert len(scores) == 0
    assert {"diaSourceId", "score", "flag_edge", "flag_badPixels", "flag_noScore", "modelVersion"} <= set(
        scores.colnames
    )


def test_edge_and_off_image_sources_are_flagged_and_scored(model_file, inputs):
    dia = inputs["diaSources"][:4].copy()
    size = inputs["science"].bbox.x.size
    dia["x"] = [0.0, size - 1.0, size + 40.0, size / 2]
    dia["y"] = [size / 2, size / 2, size / 2, np.nan]
    scores = make_task(model_file).run(**{**inputs, "diaSources": dia}).scores
    assert scores["flag_edge"].tolist() == [True, True, True, True]
    assert np.all(np.isfinite(scores["score"][:3]))
    assert scores["flag_badPixels"][:3].tolist() == [True, True, True]
    assert scores["flag_noScore"].tolist() == [False, False, False, True]
    assert np.isnan(scores["score"][3])


def test_nan_and_masked_pixels_are_flagged(model_file, inputs):
    dia = inputs["diaSources"]
    x, y = int(round(dia["x"][0])), int(round(dia["y"][0]))
    science = inputs["science"].copy()
    science.image.array[y - 10 : y + 10, x - 10 : x + 10] = np.nan
    difference = inputs["difference"].copy()
    bad = np.zeros(difference.image.array.shape, bool)
    bad[: y - 20, :] = True
    difference.mask.set("NO_DATA", bad)
    scores = make_task(model_file).run(**{**inputs, "science": science, "difference": difference}).scores
    assert scores["flag_badPixels"][0]
    assert scores["badPixelFraction"][0] >= 400 / 51**2
    assert np.all(np.isfinite(scores["score"]))


def test_images_on_different_grids_are_an_error(model_file, inputs):
    template = inputs["template"][Box.factory[0:200, 0:200]]
    with pytest.raises(ValueError, match="template image bbox"):
        make_task(model_file).run(**{**inputs, "template": template})


def test_missing_column_is_an_error(model_file, inputs):
    dia = astropy.table.Table(inputs["diaSources"])
    dia.remove_column("x")
    with pytest.raises(ValueError, match="no column 'x'"):
        make_task(model_file).run(**{**inputs, "diaSources": dia})
    with pytest.raises(ValueError, match="no column 'xc'"):
        make_task(model_file, xColumn="xc").run(**inputs)


def test_model_config_mismatch_fails_at_construction(model_file):
    with pytest.raises(ModelError, match="51x51") as info:
        make_task(model_file, cutoutSize=33)
    assert str(model_file) in str(info.value)


def test_missing_model_fails_at_configuration(tmp_path):
    config = RealBogusConfig()
    config.modelFile = str(tmp_path / "absent.pt")
    with pytest.raises(Exception, match="absent.pt does not exist"):
        config.validate()
