"""DESOM files: metadata inside, checked against the network, loaded once, placing thumbnails."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from lsst.meas.realbogus.desom.autoencoder import get_autoencoder
from lsst.meas.realbogus.desom.labelling import PrototypeLabels
from lsst.meas.realbogus.desom.model import (
    DESOM_METADATA_FILE,
    DesomMetadata,
    default_desom_paths,
    load_desom,
)
from lsst.meas.realbogus.desom.network import DesomNetwork, save_desom
from lsst.meas.realbogus.inference import ModelError
from lsst.meas.realbogus.stamps import ModelInput


def metadata(**overrides) -> DesomMetadata:
    values = dict(
        version="dtest",
        thumbnail_size=32,
        channels=("difference",),
        normalization="mong_eq9",
        latent_size=16,
        map_rows=4,
        map_cols=5,
        distance_percentiles={"99": 2.5, "50": 1.0},
    )
    return DesomMetadata(**(values | overrides))


@pytest.fixture
def desom_file(tmp_path):
    torch.manual_seed(0)
    ae = get_autoencoder("table1", 1, 32, 16)
    path = tmp_path / "desom.pt"
    save_desom(DesomNetwork(ae.encoder, ae.decoder, torch.randn(20, 16)), metadata(), path)
    return path, ae


def test_round_trip_and_placing(desom_file):
    path, ae = desom_file
    desom = load_desom(path)
    assert load_desom(path) is desom
    assert desom.metadata == metadata()
    assert desom.metadata.input == ModelInput(("difference",), 32, "mong_eq9")
    x = np.random.default_rng(1).random((300, 1, 32, 32)).astype(np.float32)
    with torch.no_grad():
        z = ae.encode(torch.from_numpy(x)).numpy()
    latents = desom.encode(x, batch_size=64)
    np.testing.assert_allclose(latents, z, atol=1e-4)  # the CPU path is frozen and optimized
    pv, distance = desom.assign(x)
    prototypes = desom.prototypes.numpy()
    brute = np.linalg.norm(latents[:, None, :] - prototypes[None], axis=2)
    assert np.array_equal(pv, brute.argmin(1))
    np.testing.assert_allclose(distance, brute.min(1), rtol=1e-4, atol=1e-4)
    assert desom.decoded_prototypes().shape == (20, 1, 32, 32)
    assert desom.metadata.unusual_distance(99) == 2.5
    with pytest.raises(ModelError, match="records the distance percentiles"):
        desom.metadata.unusual_distance(95)


def test_network_that_disagrees_with_its_metadata(tmp_path):
    ae = get_autoencoder("table1", 1, 32, 16)
    with pytest.raises(ModelError, match="prototypes of shape"):
        save_desom(DesomNetwork(ae.encoder, ae.decoder, torch.randn(21, 16)), metadata(), tmp_path / "a.pt")
    with pytest.raises(ModelError, match="does not take 1x40x40 thumbnails: mat1 and mat2"):
        save_desom(
            DesomNetwork(ae.encoder, ae.decoder, torch.randn(20, 16)),
            metadata(thumbnail_size=40),
            tmp_path / "b.pt",
        )
    # A file whose record was edited to another latent size fails when it is loaded, naming the file.
    good = tmp_path / "good.pt"
    save_desom(DesomNetwork(ae.encoder, ae.decoder, torch.randn(20, 16)), metadata(), good)
    scripted = torch.jit.load(str(good))
    record = json.loads(metadata().to_json()) | {"latent_size": 12}
    bad = tmp_path / "edited.pt"
    torch.jit.save(scripted, str(bad), _extra_files={DESOM_METADATA_FILE: json.dumps(record)})
    with pytest.raises(ModelError, match=r"edited.pt: .* encodes 1x32x32 thumbnails to \(16,\), not \(12,\)"):
        load_desom(bad)


def test_bad_files_and_metadata(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_desom(tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk" * 10)
    with pytest.raises(ModelError, match="junk.pt is not a readable DESOM file"):
        load_desom(tmp_path / "junk.pt")
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(tmp_path / "plain.pt"))
    with pytest.raises(ModelError, match="plain.pt has no meas_realbogus_desom.json"):
        load_desom(tmp_path / "plain.pt")
    with pytest.raises(ModelError, match="training_mode"):
        metadata(training_mode="joint")
    with pytest.raises(ModelError, match="lacks"):
        DesomMetadata.from_json(json.dumps({"version": "x"}))


def test_shipped_desom_and_its_labelling(shipped_desom_version):
    """The package's DESOM loads, matches its labelling, and places thumbnails on its map."""
    path, labels_path = default_desom_paths()
    desom = load_desom(path)
    labels = PrototypeLabels.read(labels_path)
    md = desom.metadata
    assert md.version == shipped_desom_version
    labels.check_for(md.version, md.map_shape, where=labels_path)
    assert md.map_shape == (30, 30) and md.latent_size == 120 and md.input.size == 32
    assert 0 < labels.real.sum() < labels.real.size and labels.stacker
    pv, distance = desom.assign(np.zeros((2, *md.input.shape), dtype=np.float32))
    assert np.all((pv >= 0) & (pv < 900)) and np.all(np.isfinite(distance))
