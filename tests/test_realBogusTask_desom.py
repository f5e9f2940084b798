"""RealBogusTask with DESOM flagging: the columns, the one cut, bad DESOMs and labellings."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lsst.meas.realbogus import LabelDetectionsTask, RealBogusConfig, RealBogusTask
from lsst.meas.realbogus.cnn.blocks import ArrayBlocks
from lsst.meas.realbogus.desom.labelling import PrototypeLabels, label_by_ratio
from lsst.meas.realbogus.desom.model import DesomMetadata
from lsst.meas.realbogus.desom.network import DesomNetwork, save_desom
from lsst.meas.realbogus.desom.stacking import fit_stacker, stacking_features
from lsst.meas.realbogus.desom.training import train_desom
from lsst.meas.realbogus.inference import ModelError
from lsst.meas.realbogus.stamps import CHANNELS, ModelInput
from lsst.meas.realbogus.stamps.resampling import centre_psf_fwhm
from lsst.pex.config import FieldValidationError

INPUT = ModelInput(("difference",), 32, "mong_eq9")


@pytest.fixture(scope="module")
def desom_files(tmp_path_factory, detector_visit, detector_inputs):
    """A small DESOM trained on one tiny detector's thumbnails, and a labelling with a stacked score."""
    product, _ = detector_visit
    images = {k: detector_inputs[k] for k in ("template", "science", "difference")}
    dia = product.dia_sources
    # As training sees them: prepared from raw triplets (the task cuts the same way).
    raw = ModelInput(CHANNELS, 51, "none").cut(
        images, dia["x"], dia["y"], bad_mask_planes=["NO_DATA", "SATURATED", "BAD"]
    )
    thumbnails = INPUT.prepare(raw.data)
    is_real = LabelDetectionsTask().run(dia, product.truth).labels["isReal"].data
    result = train_desom(
        ArrayBlocks(thumbnails, is_real), latent_size=8, map_shape=(3, 3), autoencoder_epochs=2
    )
    md = DesomMetadata(
        "dtiny", 32, ("difference",), "mong_eq9", 8, 3, 3, distance_percentiles=result.distance_percentiles
    )
    path = tmp_path_factory.mktemp("desom") / "desom.pt"
    save_desom(
        DesomNetwork(result.autoencoder.encoder, result.autoencoder.decoder, result.som.prototypes), md, path
    )
    task = RealBogusTask()
    cnn = task.run(**detector_inputs).scores["score"]
    with torch.no_grad():
        pv, distance = result.som.best_matching_units(result.autoencoder.encode(torch.from_numpy(thumbnails)))
    pv, distance = pv.numpy(), distance.numpy()
    real, _ = label_by_ratio(pv, is_real, 9)
    counts = {
        "n_real": np.bincount(pv[is_real], minlength=9),
        "n_bogus": np.bincount(pv[~is_real], minlength=9),
    }
    labels = PrototypeLabels("dtiny", (3, 3), real, method="ratio", **counts)
    labels.stacker = fit_stacker(
        stacking_features(cnn, labels.real_fraction[pv], distance, is_real.mean()), is_real
    )
    labels_path = path.parent / "labels.yaml"
    labels.write(labels_path)
    return path, labels_path, pv


def make_task(desom_files, **overrides):
    config = RealBogusConfig()
    config.doDesom = True
    config.desomFile, config.desomLabelsFile = str(desom_files[0]), str(desom_files[1])
    for key, value in overrides.items():
        setattr(config, key, value)
    config.validate()
    return RealBogusTask(config=config)


def test_every_row_placed_on_the_map(desom_files, detector_inputs):
    task = make_task(desom_files)
    scores = task.run(**detector_inputs).scores
    dia = detector_inputs["diaSources"]
    assert np.array_equal(scores["diaSourceId"], dia["diaSourceId"])
    # The same scores as without DESOM, and the PVs the DESOM gives its own thumbnails.
    assert np.array_equal(scores["score"], RealBogusTask().run(**detector_inputs).scores["score"])
    assert np.array_equal(scores["desomPv"], desom_files[2])
    assert np.array_equal(scores["desomPv"], scores["desomPvRow"] * 3 + scores["desomPvCol"])
    labels = PrototypeLabels.read(desom_files[1])
    assert np.array_equal(scores["desomPvReal"], labels.real[scores["desomPv"]])
    limit = task.desom.metadata.unusual_distance(99)
    assert np.array_equal(scores["flag_unusual"], scores["desomDistance"] > limit)
    assert not scores["flag_noDesom"].any() and set(scores["desomVersion"]) == {"dtiny"}
    assert np.all((scores["scoreStacked"] >= 0) & (scores["scoreStacked"] <= 1))
    assert task.metadata["numUnusual"] == scores["flag_unusual"].sum()


def test_wide_psf_resamples_the_desom_thumbnails_too(desom_files, detector_inputs):
    """With a PSF above the limit, the DESOM is placed on the CNN's resampled cutouts (one cut)."""
    scale = 1.4
    limit = centre_psf_fwhm(detector_inputs["difference"]) / scale
    scores = make_task(desom_files, maxPsfFwhm=limit).run(**detector_inputs).scores
    assert np.allclose(scores["psfScale"], scale)
    assert np.array_equal(
        scores["score"], RealBogusTask(config=_plain(limit)).run(**detector_inputs).scores["score"]
    )
    dia = detector_inputs["diaSources"]
    images = {k: detector_inputs[k] for k in ("template", "science", "difference")}
    raw = ModelInput(CHANNELS, 51, "none").cut(
        images, dia["x"], dia["y"], bad_mask_planes=["NO_DATA", "SATURATED", "BAD"], scale=scale
    )
    task = make_task(desom_files)
    pv, _ = task.desom.assign(INPUT.prepare(raw.data))
    assert np.array_equal(scores["desomPv"], pv)


def _plain(limit):
    config = RealBogusConfig()
    config.maxPsfFwhm = limit
    return config


def test_unplaceable_rows_are_flagged_not_dropped(desom_files, detector_inputs):
    dia = detector_inputs["diaSources"][:3].copy()
    dia["x"][1] = np.nan
    scores = make_task(desom_files).run(**{**detector_inputs, "diaSources": dia}).scores
    assert len(scores) == 3
    assert scores["flag_noDesom"].tolist() == [False, True, False]
    assert (
        scores["desomPv"][1] == -1
        and np.isnan(scores["desomDistance"][1])
        and np.isnan(scores["scoreStacked"][1])
    )
    assert not scores["desomPvReal"][1] and not scores["flag_unusual"][1]
    empty = make_task(desom_files).run(**{**detector_inputs, "diaSources": dia[:0]}).scores
    assert len(empty) == 0 and "desomPv" in empty.colnames


def test_bad_desom_configurations(desom_files, detector_inputs, tmp_path):
    config = RealBogusConfig()
    config.doDesom = True
    config.validate()  # the shipped DESOM and labelling
    config.desomFile = str(tmp_path / "none.pt")
    with pytest.raises(
        FieldValidationError, match="doDesom is set, but the DESOM file .*none.pt does not exist"
    ):
        config.validate()
    config.desomFile = str(desom_files[0])
    config.desomLabelsFile = str(tmp_path / "none.yaml")
    with pytest.raises(FieldValidationError, match="prototype labelling file .*none.yaml does not exist"):
        config.validate()
    with pytest.raises(ModelError, match="records the distance percentiles"):
        make_task(desom_files, unusualPercentile=97.5)
    other = PrototypeLabels.read(desom_files[1])
    other.model_version = "dother"
    other.write(tmp_path / "other.yaml")
    with pytest.raises(ValueError, match="other.yaml: the labelling is of DESOM 'dother'"):
        make_task(desom_files, desomLabelsFile=str(tmp_path / "other.yaml"))
    config = RealBogusConfig()
    config.doDesom = True
    config.desomSource = "butler"
    connections = RealBogusConfig.ConnectionsClass(config=config)
    assert {"desom", "desomLabels"} <= connections.prerequisiteInputs
    with pytest.raises(RuntimeError, match="No DESOM"):
        RealBogusTask(config=config).run(**detector_inputs)


def test_stacker_of_another_classifier_is_not_used(desom_files, detector_inputs, tmp_path, caplog):
    labels = PrototypeLabels.read(desom_files[1])
    labels.parameters["classifier"] = "other01"
    labels.write(tmp_path / "labels.yaml")
    task = make_task((desom_files[0], tmp_path / "labels.yaml"))
    scores = task.run(**detector_inputs).scores
    assert np.isnan(scores["scoreStacked"]).all() and np.isfinite(scores["score"]).all()
    assert "fitted on the scores of classifier other01" in caplog.text
