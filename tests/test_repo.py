"""The simulated butler repository: registry contents, dataset types, tracts, and safe building."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.daf.butler import Butler
from lsst.images import DifferenceImage, VisitImage
from lsst.meas.realbogus.simulation.repo import DATASET_TYPES, INPUT_COLLECTION, RepoExistsError, build_repo
from lsst.meas.realbogus.simulation.scene import ARTIFACT_KINDS, REAL_KINDS

DIMENSIONS = {"instrument", "visit", "detector"}


@pytest.fixture(scope="module")
def butler(tiny_repo):
    path, _ = tiny_repo
    with Butler.from_config(str(path), collections=INPUT_COLLECTION) as b:
        yield b


def test_registry_is_sqlite(tiny_repo):
    path, _ = tiny_repo
    assert (path / "gen3.sqlite3").exists()
    assert (path / "simulation_config.py").exists()
    assert (path / "simulation_summary.yaml").exists()


def test_instrument_detectors_and_filters(butler):
    instruments = list(butler.registry.queryDimensionRecords("instrument"))
    assert [r.name for r in instruments] == ["RBSimCam"]
    assert instruments[0].class_name == "lsst.meas.realbogus.simulation.instrument.RBSimCam"
    bands = {r.band for r in butler.registry.queryDimensionRecords("physical_filter", instrument="RBSimCam")}
    assert bands == {"u", "g", "r", "i", "z", "y"}
    assert len(list(butler.registry.queryDimensionRecords("detector", instrument="RBSimCam"))) == 189


def test_dataset_types(butler):
    for name, storage_class in DATASET_TYPES.values():
        dataset_type = butler.get_dataset_type(name)
        assert dataset_type.storageClass_name == storage_class
        assert set(dataset_type.dimensions.required) == DIMENSIONS


def test_every_visit_detector_has_all_datasets(butler, tiny_repo, tiny_config):
    _, summary = tiny_repo
    config = tiny_config
    n = summary["detector_visits"]
    assert n == 2 * config.visitsPerField * config.nDetectors
    for name, _ in DATASET_TYPES.values():
        assert len(butler.query_datasets(name, limit=None)) == n


def test_tract_selects_its_visits(butler, tiny_config):
    config = tiny_config
    for tract in (3080, 4024):
        ids = butler.query_data_ids(
            ["visit", "detector"], where=f"skymap='DC2_sim' AND tract={tract}", instrument="RBSimCam"
        )
        visits = {d["visit"] for d in ids}
        assert len(visits) == config.visitsPerField
        assert len(ids) == config.visitsPerField * config.nDetectors
        records = list(
            butler.registry.queryDimensionRecords(
                "visit", dataId={"instrument": "RBSimCam"}, where=f"visit IN ({','.join(map(str, visits))})"
            )
        )
        assert {r.target_name.split("_")[0] for r in records} == {f"tract{tract}"}
    tracts = {r.id for r in butler.registry.queryDimensionRecords("tract", skymap="DC2_sim")}
    assert tracts == {3080, 4024}
    assert len(list(butler.registry.queryDimensionRecords("patch", skymap="DC2_sim"))) == 32


def test_images_are_lsst_images_types(butler):
    ref = butler.query_datasets(DATASET_TYPES["science"][0], limit=1)[0]
    science = butler.get(ref)
    assert isinstance(science, VisitImage)
    assert science.psf is not None and science.band == "r"
    assert science.sky_projection is not None
    assert science.image.array.dtype == np.float32
    assert np.all(science.variance.array > 0)
    template = butler.get(DATASET_TYPES["template"][0], ref.dataId)
    difference = butler.get(DATASET_TYPES["difference"][0], ref.dataId)
    assert isinstance(template, VisitImage)
    assert isinstance(difference, DifferenceImage)
    assert science.bbox == template.bbox == difference.bbox
    # The template is deeper than the science image.
    assert np.median(template.variance.array) < 0.2 * np.median(science.variance.array)
    # The difference image is science minus a PSF-matched template: static sources are gone.
    static = template.image.array > 10 * np.sqrt(template.variance.array)
    static &= ~difference.mask.get("SATURATED")
    z = difference.image.array / np.sqrt(difference.variance.array)
    assert static.sum() > 100
    assert np.mean(np.abs(z[static]) > 5) < 0.25
    cutout = butler.get(DATASET_TYPES["difference"][0], ref.dataId, parameters={"bbox": science.bbox})
    assert cutout.bbox == science.bbox


def test_dia_sources_and_truth(butler):
    ref = butler.query_datasets(DATASET_TYPES["diaSources"][0], limit=1)[0]
    dia = butler.get(ref)
    truth = butler.get(DATASET_TYPES["truth"][0], ref.dataId)
    for column in (
        "diaSourceId",
        "x",
        "y",
        "ra",
        "dec",
        "psfFlux",
        "psfFluxErr",
        "snr",
        "isDipole",
        "pixelFlags_edge",
        "pixelFlags_bad",
        "pixelFlags_saturated",
        "pixelFlags_cr",
    ):
        assert column in dia.colnames
    assert str(dia["psfFlux"].unit) == "nJy"
    for column in ("truthId", "kind", "isReal", "x", "y", "ra", "dec", "flux", "snrExpected", "blended"):
        assert column in truth.colnames
    # ra/dec agree with the image WCS.
    science = butler.get(DATASET_TYPES["science"][0], ref.dataId)
    wcs = science.sky_projection.as_astropy()
    sky = wcs.pixel_to_world(np.asarray(dia["x"]), np.asarray(dia["y"]))
    assert np.allclose(sky.ra.deg, dia["ra"], atol=1e-6)
    assert np.allclose(sky.dec.deg, dia["dec"], atol=1e-6)


def test_dia_source_ids_unique_across_repo(butler):
    ids = np.concatenate(
        [
            np.asarray(butler.get(ref)["diaSourceId"])
            for ref in butler.query_datasets(DATASET_TYPES["diaSources"][0], limit=None)
        ]
    )
    assert len(np.unique(ids)) == len(ids)


def test_every_kind_appears(tiny_repo):
    """Even the tiny repository holds every kind of real transient and of artifact."""
    _, summary = tiny_repo
    for kind in REAL_KINDS + ARTIFACT_KINDS:
        assert summary["truth_by_kind"].get(kind, 0) > 0, kind


def test_refuses_non_empty_target(tmp_path, tiny_config):
    target = tmp_path / "repo"
    target.mkdir()
    (target / "precious.txt").write_text("keep me")
    with pytest.raises(RepoExistsError, match="already exists"):
        build_repo(target, tiny_config, 1)
    assert (target / "precious.txt").read_text() == "keep me"


def test_failed_build_leaves_nothing(tmp_path, tiny_config):
    target = tmp_path / "repo"

    def explode(done, total):
        raise RuntimeError("simulated failure")

    with pytest.raises(RuntimeError, match="simulated failure"):
        build_repo(target, tiny_config, 1, processes=1, progress=explode)
    assert list(tmp_path.iterdir()) == []


def _read(path, name, data_id):
    with Butler.from_config(str(path), collections=INPUT_COLLECTION) as butler:
        return butler.get(name, data_id)


def test_overwrite_and_determinism(tmp_path, tiny_repo, tiny_config, tiny_seed):
    """The same seed gives the same content; another seed does not; --overwrite replaces a repository."""
    path, summary = tiny_repo
    target = tmp_path / "again"
    target.mkdir()
    (target / "old.txt").write_text("old")
    config = tiny_config
    config.tracts = [3080]
    again = build_repo(target, config, tiny_seed, overwrite=True, processes=1)
    assert not (target / "old.txt").exists()
    assert again["detector_visits"] == summary["detector_visits"] // 2
    data_id = {"instrument": "RBSimCam", "visit": 10001, "detector": 1}
    original = _read(path, "difference_image", data_id)
    rebuilt = _read(target, "difference_image", data_id)
    assert np.array_equal(original.image.array, rebuilt.image.array)
    assert np.array_equal(original.mask.array, rebuilt.mask.array)
    for name in ("dia_source_unstandardized", "realbogus_sim_truth"):
        a, b = _read(path, name, data_id), _read(target, name, data_id)
        assert a.colnames == b.colnames
        for column in a.colnames:
            values = np.asarray(a[column])
            assert np.array_equal(values, np.asarray(b[column]), equal_nan=values.dtype.kind == "f")
    build_repo(tmp_path / "other", config, tiny_seed + 1, processes=1)
    other = _read(tmp_path / "other", "difference_image", data_id)
    assert not np.array_equal(other.image.array, original.image.array)


def test_invalid_config_is_refused(tmp_path, tiny_config):
    with pytest.raises(ValueError, match="seed"):
        build_repo(tmp_path / "x", tiny_config, -1)
    tiny_config.seeingRange = [0.5, 1.0]  # sharper than the template
    with pytest.raises(Exception, match="broader than the template"):
        build_repo(tmp_path / "x", tiny_config, 1)
    assert not (tmp_path / "x").exists()
