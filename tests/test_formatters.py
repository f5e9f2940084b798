"""Butler formatters of models and triplets, through a real butler with the package's configuration."""

from __future__ import annotations

import os
import sqlite3

import astropy.table
import numpy as np
import pytest
from lsst.daf.butler import Butler, DatasetType
from lsst.meas.realbogus.butler import TorchScriptModelFormatter, TripletsFormatter, config_dir
from lsst.meas.realbogus.inference import LoadedModel, default_model_path, load_model
from lsst.meas.realbogus.stamps import LabelledTriplets


@pytest.fixture
def butler(tmp_path):
    Butler.makeRepo(str(tmp_path / "repo"))
    with Butler.from_config(str(tmp_path / "repo"), writeable=True, run="u/test") as butler:
        yield butler


def _register(butler, name, storage_class):
    storage = butler.storageClasses.getStorageClass(storage_class)
    butler.registry.registerDatasetType(DatasetType(name, butler.dimensions.empty, storage))


def test_config_dir_holds_the_butler_configuration():
    assert os.path.isfile(os.path.join(config_dir(), "storageClasses.yaml"))
    assert os.path.isfile(os.path.join(config_dir(), "datastores", "fileDatastore.yaml"))


def test_model_round_trip_byte_for_byte(butler, tmp_path):
    _register(butler, "realbogus_model", "RealBogusModel")
    model = load_model(default_model_path())
    ref = butler.put(model, "realbogus_model")
    back = butler.get(ref)
    assert isinstance(back, LoadedModel) and back.metadata == model.metadata
    assert butler.getURI(ref).read() == open(default_model_path(), "rb").read()
    assert butler.getURI(ref).getExtension() == TorchScriptModelFormatter.default_extension


def test_triplets_round_trip(butler):
    _register(butler, "realbogus_triplets", "RealBogusTriplets")
    table = astropy.table.Table({"diaSourceId": np.arange(3), "isReal": [True, False, True]})
    triplets = LabelledTriplets(np.random.default_rng(0).normal(size=(3, 3, 7, 7)).astype(np.float32), table)
    ref = butler.put(triplets, "realbogus_triplets")
    back = butler.get(ref)
    assert np.array_equal(back.cutouts, triplets.cutouts) and back.table["isReal"].tolist() == [
        True,
        False,
        True,
    ]
    assert butler.getURI(ref).getExtension() == TripletsFormatter.default_extension


def test_datasets_written_by_the_former_formatter_module_still_read(tmp_path):
    """Datastores record the formatter's full name; datasets recorded under the old name still read."""
    Butler.makeRepo(str(tmp_path / "old"))
    table = astropy.table.Table({"diaSourceId": np.arange(2), "isReal": [True, False]})
    triplets = LabelledTriplets(np.ones((2, 3, 5, 5), np.float32), table)
    with Butler.from_config(str(tmp_path / "old"), writeable=True, run="u/old") as butler:
        _register(butler, "realbogus_triplets", "RealBogusTriplets")
        ref = butler.put(triplets, "realbogus_triplets")
    # What a repository written before the formatters moved to lsst.meas.realbogus.butler holds.
    old = "lsst.meas.realbogus.formatters.TripletsFormatter"
    with sqlite3.connect(tmp_path / "old" / "gen3.sqlite3") as db:
        db.execute("UPDATE file_datastore_records SET formatter = ?", (old,))
    with Butler.from_config(str(tmp_path / "old")) as butler:
        assert butler._datastore.getStoredItemsInfo(ref)[0].formatter == old
        assert np.array_equal(butler.get(ref).cutouts, triplets.cutouts)
