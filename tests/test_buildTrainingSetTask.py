"""BuildTrainingSetTask: labelled raw triplets cut as RealBogusTask cuts them."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus import BuildTrainingSetConfig, BuildTrainingSetTask, LabelDetectionsTask
from lsst.meas.realbogus.stamps import CHANNELS, cut_images
from lsst.meas.realbogus.stamps.resampling import centre_psf_fwhm
from lsst.pipe.base import NoWorkFound


@pytest.fixture(scope="module")
def labelled(detector_visit, detector_inputs):
    product, _ = detector_visit
    labels = LabelDetectionsTask().run(product.dia_sources, product.truth).labels
    return {**detector_inputs, "labels": labels}


def test_triplets_are_the_raw_cutouts_with_labels(labelled):
    triplets = BuildTrainingSetTask().run(**labelled).triplets
    dia, labels = labelled["diaSources"], labelled["labels"]
    assert len(triplets) == len(dia) and triplets.size == 51
    images = {k: labelled[k] for k in CHANNELS}
    raw = cut_images(
        images, CHANNELS, dia["x"], dia["y"], 51, fill=np.nan, bad_mask_planes=["NO_DATA", "SATURATED", "BAD"]
    )
    np.testing.assert_array_equal(triplets.cutouts, raw.data)
    assert triplets.table["isReal"].tolist() == labels["isReal"].tolist()
    assert triplets.table["flag_edge"].tolist() == raw.off_image.tolist()
    # The detector's PSF width, which the trained model records as the widest it has seen.
    fwhm = centre_psf_fwhm(labelled["difference"])
    assert np.isfinite(fwhm) and np.allclose(triplets.table["psfFwhm"], fwhm)


def test_cuts(labelled):
    config = BuildTrainingSetConfig()
    config.minSnr = 8.0
    config.keepEdge = False
    triplets = BuildTrainingSetTask(config=config).run(**labelled).triplets
    assert np.all(np.abs(triplets.table["snr"]) > 8.0) and not triplets.table["flag_edge"].any()
    assert 0 < len(triplets) < len(labelled["diaSources"])


def test_nothing_to_keep_is_no_work(labelled):
    with pytest.raises(NoWorkFound, match="no triplets to keep of 0 diaSources"):
        BuildTrainingSetTask().run(
            **{**labelled, "diaSources": labelled["diaSources"][:0], "labels": labelled["labels"][:0]}
        )
    config = BuildTrainingSetConfig()
    config.minSnr = 1e9
    with pytest.raises(NoWorkFound, match=r"of 25 diaSources \(minSnr=1000000000.0"):
        BuildTrainingSetTask(config=config).run(**labelled)


def test_labels_of_other_sources_are_refused(labelled):
    with pytest.raises(ValueError, match="labels do not match the diaSources"):
        BuildTrainingSetTask().run(**{**labelled, "labels": labelled["labels"][::-1]})


def test_max_bogus_per_detector_keeps_every_real_one(labelled):
    """maxBogusPerDetector drops bogus diaSources at random, the same ones every time, and no real one."""
    full = BuildTrainingSetTask().run(**labelled).triplets
    is_real = np.asarray(full.table["isReal"])
    n_bogus = int((~is_real).sum())
    assert n_bogus >= 4 and is_real.any()
    config = BuildTrainingSetConfig()
    config.maxBogusPerDetector = n_bogus // 2
    task = BuildTrainingSetTask(config=config)
    capped = task.run(**labelled).triplets
    assert task.metadata["numBogusDropped"] == n_bogus - n_bogus // 2
    table = capped.table
    assert int((~np.asarray(table["isReal"])).sum()) == n_bogus // 2
    ids = np.asarray(full.table["diaSourceId"])
    assert set(ids[is_real]) <= set(np.asarray(table["diaSourceId"]))
    # The kept rows are the full set's rows, in order, cutouts and all; and the same on a rerun.
    rows = np.flatnonzero(np.isin(ids, table["diaSourceId"]))
    np.testing.assert_array_equal(capped.cutouts, full.cutouts[rows])
    again = BuildTrainingSetTask(config=config).run(**labelled).triplets
    assert again.table["diaSourceId"].tolist() == table["diaSourceId"].tolist()
    # A cap above the count keeps everything.
    config.maxBogusPerDetector = n_bogus
    assert len(BuildTrainingSetTask(config=config).run(**labelled).triplets) == len(full)
