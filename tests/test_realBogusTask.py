"""RealBogusTask: run() on in-memory images (rows, flags, bad input) and through pipetask."""

from __future__ import annotations

import shutil

import astropy.table
import numpy as np
import pytest
import torch
from lsst.daf.butler import Butler
from lsst.images import Box, MaskedImage
from lsst.meas.realbogus import RealBogusConfig, RealBogusTask
from lsst.meas.realbogus.cnn import DiaCNN
from lsst.meas.realbogus.inference import ModelError, ModelMetadata, save_torchscript
from lsst.meas.realbogus.stamps.resampling import centre_psf_fwhm, psf_fwhm
from lsst.pex.config import FieldValidationError

CHANNELS = ("template", "science", "difference")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "rb.pt"
    md = ModelMetadata(version="tst0001", cutout_size=51, channels=CHANNELS, normalization="robust")
    save_torchscript(DiaCNN(3, 51).eval(), md, path)
    return path


def make_task(model_file, **overrides):
    config = RealBogusConfig()
    config.modelFile = str(model_file)
    for key, value in overrides.items():
        setattr(config, key, value)
    config.validate()
    return RealBogusTask(config=config)


def test_one_row_per_source_in_order(model_file, detector_inputs):
    task = make_task(model_file)
    scores = task.run(**detector_inputs).scores
    dia = detector_inputs["diaSources"]
    assert len(dia) > 5
    assert np.array_equal(scores["diaSourceId"], dia["diaSourceId"])
    assert scores["score"].dtype == np.float32
    assert np.all((scores["score"] >= 0) & (scores["score"] <= 1))
    assert set(scores["modelVersion"]) == {"tst0001"}
    for column in ("flag_edge", "flag_badPixels", "flag_noScore"):
        assert scores[column].dtype == bool
    # Deterministic.
    assert np.array_equal(task.run(**detector_inputs).scores["score"], scores["score"])
    # Timed by @timeMethod; the counts are in the task metadata.
    assert "runStartCpuTime" in task.metadata and "runEndCpuTime" in task.metadata
    assert task.metadata["numSources"] == len(dia)


def test_scores_are_the_model_on_its_batch(model_file, detector_inputs):
    """The task scores exactly the batch that the model's ModelInput cuts (the one path)."""
    task = make_task(model_file)
    dia = detector_inputs["diaSources"]
    images = {k: detector_inputs[k] for k in ("science", "template", "difference")}
    batch = task.model.metadata.input.cut(
        images, dia["x"], dia["y"], bad_mask_planes=task.config.badMaskPlanes
    )
    expected = task.model.predict(batch.data)
    assert np.array_equal(task.run(**detector_inputs).scores["score"], expected)


def test_shuffled_input_keeps_its_order(model_file, detector_inputs):
    task = make_task(model_file)
    dia = detector_inputs["diaSources"]
    order = np.random.default_rng(0).permutation(len(dia))
    shuffled = task.run(**{**detector_inputs, "diaSources": dia[order]}).scores
    original = task.run(**detector_inputs).scores
    assert np.array_equal(shuffled["diaSourceId"], dia["diaSourceId"][order])
    assert np.allclose(shuffled["score"], original["score"][order], atol=1e-6)


def test_empty_catalog_gives_an_empty_table(model_file, detector_inputs):
    empty = detector_inputs["diaSources"][:0]
    scores = make_task(model_file).run(**{**detector_inputs, "diaSources": empty}).scores
    assert len(scores) == 0
    assert {"diaSourceId", "score", "flag_edge", "flag_badPixels", "flag_noScore", "modelVersion"} <= set(
        scores.colnames
    )


def test_edge_and_off_image_sources_are_flagged_and_scored(model_file, detector_inputs):
    dia = detector_inputs["diaSources"][:5].copy()
    size = detector_inputs["science"].bbox.x.size
    dia["x"] = [0.0, size - 1.0, size + 40.0, size / 2, 1e300]
    dia["y"] = [size / 2, size / 2, size / 2, np.nan, 1e300]
    scores = make_task(model_file).run(**{**detector_inputs, "diaSources": dia}).scores
    assert scores["flag_edge"].tolist() == [True] * 5
    assert np.all(np.isfinite(scores["score"][[0, 1]]))
    assert scores["flag_badPixels"].tolist() == [True, True, True, True, True]
    # Entirely off the image, a NaN centroid, an absurd one: no valid pixel, so no score.
    assert scores["flag_noScore"].tolist() == [False, False, True, True, True]
    assert np.isnan(scores["score"][2:]).all() and np.isnan(scores["logit"][2:]).all()


def test_nan_and_masked_pixels_are_flagged(model_file, detector_inputs):
    dia = detector_inputs["diaSources"]
    x, y = int(round(dia["x"][0])), int(round(dia["y"][0]))
    science = detector_inputs["science"].copy()
    science.image.array[y - 10 : y + 10, x - 10 : x + 10] = np.nan
    difference = detector_inputs["difference"].copy()
    bad = np.zeros(difference.image.array.shape, bool)
    bad[: y - 20, :] = True
    difference.mask.set("NO_DATA", bad)
    scores = (
        make_task(model_file).run(**{**detector_inputs, "science": science, "difference": difference}).scores
    )
    assert scores["flag_badPixels"][0]
    assert scores["badPixelFraction"][0] >= 400 / 51**2
    some = scores["badPixelFraction"] < 1
    assert np.all(np.isfinite(scores["score"][some])) and not scores["flag_noScore"][some].any()
    assert scores["flag_noScore"][~some].all()


@pytest.mark.parametrize("value", [-3.4e38, np.inf, np.nan])
def test_missing_pixel_at_the_centre_is_counted_not_scored(model_file, detector_inputs, value):
    """A sentinel (ZTF's -3.4e38), infinite or NaN pixel at a source's centre is a missing pixel."""
    task = make_task(model_file)
    before = task.run(**detector_inputs).scores
    dia = detector_inputs["diaSources"]
    # The brightest source well inside the image.
    inside = (dia["x"] > 30) & (dia["x"] < 220) & (dia["y"] > 30) & (dia["y"] < 220)
    i = int(np.flatnonzero(inside)[np.argmax(before["score"][inside])])
    x, y = int(np.floor(dia["x"][i] + 0.5)), int(np.floor(dia["y"][i] + 0.5))
    difference = detector_inputs["difference"].copy()
    difference.image.array[y, x] = value
    after = task.run(**{**detector_inputs, "difference": difference}).scores
    assert after["badPixelFraction"][i] == pytest.approx(before["badPixelFraction"][i] + 1 / 51**2)
    assert not after["flag_noScore"][i]
    assert abs(after["score"][i] - before["score"][i]) < 0.2


def test_cutout_with_no_valid_pixel_gets_no_score(model_file, detector_inputs):
    dia = detector_inputs["diaSources"]
    x, y = int(round(dia["x"][0])), int(round(dia["y"][0]))
    science = detector_inputs["science"].copy()
    science.image.array[max(y - 40, 0) : y + 40, max(x - 40, 0) : x + 40] = np.nan
    scores = make_task(model_file).run(**{**detector_inputs, "science": science}).scores
    assert scores["badPixelFraction"][0] == 1.0
    assert scores["flag_noScore"][0] and np.isnan(scores["score"][0])
    assert len(scores) == len(dia)


def test_logit_keeps_the_order_of_the_scores(model_file, detector_inputs):
    scores = make_task(model_file).run(**detector_inputs).scores
    ok = ~scores["flag_noScore"]
    logit, score = np.asarray(scores["logit"][ok], float), np.asarray(scores["score"][ok], float)
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), score, atol=1e-6)
    assert np.all(np.diff(score[np.argsort(logit, kind="stable")]) >= 0)
    # A single network: no ensemble spread.
    assert np.isnan(scores["scoreStd"]).all()


def test_misspelt_mask_plane_is_an_error(model_file, detector_inputs):
    with pytest.raises(ValueError, match=r"bad mask planes \['SATURATD'\] are in none of the images"):
        make_task(model_file, badMaskPlanes=["NO_DATA", "SATURATD"]).run(**detector_inputs)


def test_images_on_different_grids_are_an_error(model_file, detector_inputs):
    template = detector_inputs["template"][Box.factory[0:200, 0:200]]
    with pytest.raises(ValueError, match="template image bbox"):
        make_task(model_file).run(**{**detector_inputs, "template": template})


def test_missing_column_is_an_error(model_file, detector_inputs):
    dia = astropy.table.Table(detector_inputs["diaSources"])
    dia.remove_column("x")
    with pytest.raises(ValueError, match="no column 'x'"):
        make_task(model_file).run(**{**detector_inputs, "diaSources": dia})
    with pytest.raises(ValueError, match="no column 'xc'"):
        make_task(model_file, xColumn="xc").run(**detector_inputs)


def test_model_config_mismatch_fails_at_construction(model_file):
    with pytest.raises(ModelError, match="51x51") as info:
        make_task(model_file, cutoutSize=33)
    assert str(model_file) in str(info.value)


def test_missing_model_fails_at_configuration(tmp_path):
    config = RealBogusConfig()
    config.modelFile = str(tmp_path / "absent.pt")
    with pytest.raises(FieldValidationError, match="absent.pt does not exist"):
        config.validate()
    config.modelSource = "butler"  # the file is not used, so not checked
    config.validate()


def test_model_prerequisite_only_from_the_butler():
    config = RealBogusConfig()
    assert "model" not in RealBogusConfig.ConnectionsClass(config=config).prerequisiteInputs
    config.modelSource = "butler"
    assert "model" in RealBogusConfig.ConnectionsClass(config=config).prerequisiteInputs


def test_unavailable_device_fails_at_construction():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    config = RealBogusConfig()
    config.modelSource = "butler"  # no model is loaded at construction, the device is still checked
    config.device = "cuda"
    with pytest.raises(FieldValidationError, match="CUDA is not available"):
        RealBogusTask(config=config)


@pytest.mark.slow
def test_pipetask_scores_every_dia_source(scored_tiny_repo, shipped_model_version):
    repo, collection = scored_tiny_repo
    with Butler.from_config(str(repo), collections=[collection]) as butler:
        refs = butler.query_datasets("dia_source_unstandardized", limit=None)
        assert len(refs) == 8
        for ref in refs:
            dia = butler.get(ref)
            scores = butler.get("dia_source_realbogus", ref.dataId)
            assert np.array_equal(scores["diaSourceId"], dia["diaSourceId"])
            assert np.all(np.isfinite(scores["score"]))
            assert np.all((scores["score"] >= 0) & (scores["score"] <= 1))
            assert set(scores["modelVersion"]) == {shipped_model_version}


@pytest.mark.slow
def test_missing_input_for_one_detector(tiny_repo, tmp_path, pipetask):
    """A detector whose template is missing gets no quantum; the others still run."""
    source, _ = tiny_repo
    repo = tmp_path / "repo"
    shutil.copytree(source, repo)
    data_id = {"instrument": "RBSimCam", "visit": 10000, "detector": 1}
    with Butler.from_config(str(repo), writeable=True) as butler:
        ref = butler.find_dataset("template_detector", data_id, collections="RBSimCam/sim")
        butler.pruneDatasets([ref], purge=True, unstore=True, disassociate=True)
    pipetask(repo, "RealBogus.yaml", "RBSimCam/sim", "u/test/missing")
    with Butler.from_config(str(repo), collections=["u/test/missing"]) as butler:
        done = {
            (r.dataId["visit"], r.dataId["detector"]) for r in butler.query_datasets("dia_source_realbogus")
        }
    assert (10000, 1) not in done
    assert len(done) == 7


def assert_scored_as_cut(task, detector_inputs, scores, scale):
    """The scores are the model's on its ModelInput cut at ``scale`` (the one path)."""
    dia = detector_inputs["diaSources"]
    images = {k: detector_inputs[k] for k in ("science", "template", "difference")}
    batch = task.model.metadata.input.cut(
        images, dia["x"], dia["y"], bad_mask_planes=task.config.badMaskPlanes, scale=scale
    )
    ok = np.isfinite(scores)
    np.testing.assert_array_equal(scores[ok], task.model.predict(batch.data)[ok])


def test_wide_psf_is_resampled_to_the_model_limit(model_file, detector_inputs):
    """With maxPsfFwhm below the detector's PSF, the cutouts are cut wider and averaged down."""
    difference = detector_inputs["difference"]
    fwhm = centre_psf_fwhm(difference)
    plain = make_task(model_file).run(**detector_inputs).scores
    assert np.all(plain["psfScale"] == 1.0)
    # A limit above the PSF changes nothing (the model's own limit is 0 here: never resample).
    same = make_task(model_file, maxPsfFwhm=fwhm * 1.01).run(**detector_inputs).scores
    assert np.array_equal(same["score"], plain["score"], equal_nan=True)
    task = make_task(model_file, maxPsfFwhm=fwhm / 1.5)
    wide = task.run(**detector_inputs).scores
    assert np.allclose(wide["psfScale"], 1.5)
    assert task.metadata["psfScale"] == pytest.approx(1.5, rel=1e-6)
    assert np.array_equal(wide["diaSourceId"], plain["diaSourceId"])
    assert not np.allclose(wide["score"], plain["score"], equal_nan=True)
    assert_scored_as_cut(task, detector_inputs, wide["score"], 1.5)
    # Wider cutouts reach the edge sooner.
    assert wide["flag_edge"].sum() >= plain["flag_edge"].sum()
    # Given apart (as runQuantum does when it reads the image and mask planes only), the PSF is used;
    # with none at all there is nothing to resample by, and the task says so.
    planes = MaskedImage(difference.image, mask=difference.mask, variance=difference.variance)
    inputs = dict(detector_inputs, difference=planes)
    task = make_task(model_file, maxPsfFwhm=fwhm / 1.5)
    assert np.allclose(task.run(**inputs, psf=difference.psf).scores["psfScale"], 1.5)
    assert np.all(task.run(**inputs).scores["psfScale"] == 1.0)
    assert task.metadata["psfMissing"]


def test_narrow_psf_is_interpolated_to_the_model_limit(model_file, detector_inputs):
    """With minPsfFwhm above the detector's PSF, the cutouts are interpolated up from their centres."""
    fwhm = centre_psf_fwhm(detector_inputs["difference"])
    plain = make_task(model_file).run(**detector_inputs).scores
    same = make_task(model_file, minPsfFwhm=fwhm / 1.01).run(**detector_inputs).scores
    assert np.array_equal(same["score"], plain["score"], equal_nan=True)
    task = make_task(model_file, minPsfFwhm=fwhm * 1.25)
    narrow = task.run(**detector_inputs).scores
    assert np.allclose(narrow["psfScale"], 0.8)
    assert not narrow["flag_psfOutOfRange"].any()
    assert_scored_as_cut(task, detector_inputs, narrow["score"], 0.8)
    assert not np.allclose(narrow["score"], plain["score"], equal_nan=True)
    # Limits on both sides: only the one the PSF is outside applies.
    both = make_task(model_file, minPsfFwhm=fwhm * 1.25, maxPsfFwhm=fwhm * 2).run(**detector_inputs).scores
    assert np.array_equal(both["score"], narrow["score"], equal_nan=True)


def test_resampling_is_capped_and_flagged(model_file, detector_inputs):
    """A PSF far outside the limits (e.g. a corrupt PSF model) is resampled by maxPsfResampling only."""
    fwhm = centre_psf_fwhm(detector_inputs["difference"])
    task = make_task(model_file, maxPsfFwhm=fwhm / 10, maxPsfResampling=2.0)
    capped = task.run(**detector_inputs).scores
    assert np.allclose(capped["psfScale"], 2.0) and capped["flag_psfOutOfRange"].all()
    within = make_task(model_file, maxPsfFwhm=fwhm / 2, maxPsfResampling=2.0).run(**detector_inputs).scores
    assert not within["flag_psfOutOfRange"].any()
    np.testing.assert_array_equal(capped["score"], within["score"])
    task = make_task(model_file, minPsfFwhm=fwhm * 10, maxPsfResampling=2.0)
    assert np.allclose(task.run(**detector_inputs).scores["psfScale"], 0.5)


def test_psf_limits_are_checked_at_configuration():
    config = RealBogusConfig()
    config.maxPsfFwhm, config.minPsfFwhm = 3.0, 5.0
    with pytest.raises(FieldValidationError, match="minPsfFwhm 5.0 is above"):
        config.validate()
    config.maxPsfFwhm = 0.0  # no upper limit: any lower one will do
    config.validate()
    with pytest.raises(FieldValidationError):
        config.maxPsfResampling = 0.5
    # Against the model's own limits, when it is loaded: the shipped model records both.
    config = RealBogusConfig()
    config.maxPsfFwhm = 1.0
    with pytest.raises(ValueError, match=r"above the widest, 1.0 \(maxPsfFwhm\)"):
        RealBogusTask(config=config)
    config.minPsfFwhm = 0.0
    RealBogusTask(config=config)


@pytest.mark.slow
def test_pipetask_reads_the_psf_to_resample(scored_tiny_repo, pipetask):
    """Through pipetask (image and mask planes read alone) the PSF comes from its own component."""
    repo, plain_collection = scored_tiny_repo
    where = "instrument='RBSimCam' AND visit=10000 AND detector=0"
    pipetask(
        repo,
        "RealBogus.yaml",
        "RBSimCam/sim",
        "u/test/psf",
        "-d",
        where,
        "-c",
        "realBogus:maxPsfFwhm=2.0",
        "-c",
        "realBogus:minPsfFwhm=0",
    )
    with Butler.from_config(str(repo)) as butler:
        data_id = {"instrument": "RBSimCam", "visit": 10000, "detector": 0}
        psf = butler.get("difference_image.psf", data_id, collections="RBSimCam/sim")
        wide = butler.get("dia_source_realbogus", data_id, collections="u/test/psf")
        plain = butler.get("dia_source_realbogus", data_id, collections=plain_collection)
    fwhm = psf_fwhm(psf)
    assert np.allclose(wide["psfScale"], fwhm / 2.0, rtol=1e-5) and not wide["flag_psfOutOfRange"].any()
    assert np.all(plain["psfScale"] == 1.0)
    assert np.array_equal(wide["diaSourceId"], plain["diaSourceId"])
