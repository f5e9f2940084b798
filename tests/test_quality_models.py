"""DESOM-1, DESOM-2 and cell labels together (quality/models.py), and DESOMs of histograms."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from lsst.meas.realbogus.desom.autoencoder import get_autoencoder
from lsst.meas.realbogus.desom.model import DesomMetadata, load_desom
from lsst.meas.realbogus.inference.metadata import ModelError
from lsst.meas.realbogus.quality.labelling import CellLabels
from lsst.meas.realbogus.quality.models import load_quality_models


def test_dense_autoencoder_shapes():
    vectors = get_autoencoder("dense", 25, 1, 4)
    z, out = vectors(torch.rand(3, 25))
    assert z.shape == (3, 4) and out.shape == (3, 25) and 0 <= out.min() and out.max() <= 1
    images = get_autoencoder("dense", 1, 8, 4)
    assert images(torch.rand(2, 1, 8, 8))[1].shape == (2, 1, 8, 8)


def test_histogram_metadata_is_checked():
    md = DesomMetadata(
        "h1",
        4,
        (),
        "none",
        2,
        2,
        2,
        architecture="dense",
        inputs="histograms",
        histogram_of="t1",
        histogram_scale=[1, 2, 3, 4],
    )
    assert md.input_shape == (4,)
    with pytest.raises(ModelError, match="takes histograms, not thumbnails"):
        _ = md.input
    for changes, message in (
        ({"histogram_scale": [1.0]}, "must hold 4 values"),
        ({"histogram_of": ""}, "must name the DESOM"),
        ({"channels": ("science",)}, "no channels"),
        ({"inputs": "spectra"}, "'thumbnails' or 'histograms'"),
    ):
        record = {**md.__dict__, **changes}
        with pytest.raises(ModelError, match=message):
            DesomMetadata(**record)
    assert DesomMetadata.from_json(md.to_json()) == md


def test_the_three_files_load_and_must_agree(quality_models, tmp_path):
    (d1, d2, labels_path), _ = quality_models
    models = load_quality_models(d1, d2, labels_path)
    assert models.desom2.metadata.histogram_of == models.desom1.metadata.version
    histogram = np.random.default_rng(0).uniform(size=(5, models.desom2.metadata.thumbnail_size))
    cells, _ = models.desom2.assign(histogram.astype(np.float32))
    assert cells.shape == (5,) and cells.max() < 9
    with pytest.raises(ModelError, match="expected inputs of shape"):
        models.desom2.encode(np.zeros((2, 3), np.float32))
    # DESOM-2 where DESOM-1 should be, and the other way round.
    with pytest.raises(ModelError, match="d2.pt: DESOM-1 must take science thumbnails"):
        load_quality_models(d2, d2, labels_path)
    with pytest.raises(ModelError, match="d1.pt: DESOM-2 must take histograms"):
        load_quality_models(d1, d1, labels_path)
    # Labels of another DESOM-2.
    other = CellLabels.read(labels_path)
    other.model_version = "other"
    other.write(tmp_path / "other.yaml")
    with pytest.raises(ModelError, match="other.yaml: labels of DESOM other"):
        load_quality_models(d1, d2, str(tmp_path / "other.yaml"))
    # A corrupt file.
    broken = tmp_path / "broken.pt"
    shutil.copy(d1, broken)
    broken.write_bytes(broken.read_bytes()[:1000])
    with pytest.raises(ModelError, match="broken.pt is not a readable DESOM file"):
        load_desom(str(broken))
    with pytest.raises(ModelError, match="missing.yaml: cannot read the cell labels"):
        load_quality_models(d1, d2, str(tmp_path / "missing.yaml"))


def test_a_desom_2_that_disagrees_with_its_metadata(quality_models, tmp_path):
    """A DESOM-2 whose record says histograms of 25 cells, holding a network of 16: an error naming it."""
    import json

    from lsst.meas.realbogus.desom.model import DESOM_METADATA_FILE

    (_, d2, _), _ = quality_models
    extra = {DESOM_METADATA_FILE: ""}
    network = torch.jit.load(d2, _extra_files=extra)
    record = json.loads(extra[DESOM_METADATA_FILE])
    record["thumbnail_size"] = 25
    record["histogram_scale"] = [1.0] * 25
    wrong = tmp_path / "wrong_d2.pt"
    torch.jit.save(network, str(wrong), _extra_files={DESOM_METADATA_FILE: json.dumps(record)})
    with pytest.raises(ModelError, match="wrong_d2.pt: the DESOM network does not take 25 histograms"):
        load_desom(str(wrong))
