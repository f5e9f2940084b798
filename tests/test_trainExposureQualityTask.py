"""TrainExposureQualityTask: configuration checks and a short training on in-memory images."""

from __future__ import annotations

import astropy.table
import numpy as np
import pytest
from lsst.meas.realbogus.quality.labelling import CellLabels
from lsst.meas.realbogus.trainExposureQualityTask import TrainExposureQualityConfig, TrainExposureQualityTask
from lsst.pex.config import FieldValidationError


def test_config_is_checked(tmp_path):
    for name, value, message in (
        ("goodClass", "fine", "'fine' is not among"),
        ("desom1TMin", 20.0, "0 < desom1TMin <= TMax"),
        ("desom2File", str(tmp_path / "missing" / "d.pt"), "directory of .* does not exist"),
        ("editsFile", str(tmp_path / "none.yaml"), "none.yaml does not exist"),
        ("modelVersion", "toolong7", "modelVersion"),
        ("backgroundClass", "sky", "'sky' is not among"),
    ):
        config = TrainExposureQualityConfig()
        with pytest.raises(FieldValidationError, match=message):
            setattr(config, name, value)
            config.validate()


def test_trained_models_and_labels(quality_models, quality_images):
    (d1, d2, labels_path), result = quality_models
    md1, md2 = result.desom1.metadata, result.desom2.metadata
    assert (md1.version, md1.map_shape, md1.channels) == ("qunita", (4, 4), ("science",))
    assert (md2.version, md2.inputs, md2.histogram_of, md2.thumbnail_size) == (
        "qunitb",
        "histograms",
        "qunita",
        16,
    )
    labels = CellLabels.read(labels_path)
    assert labels.to_dict() == result.cellLabels
    train = [q for q in quality_images if q[0] < 20000]
    assert labels.counts.sum() == result.history["placed"] == len(train)
    # Every cell is labelled (empty ones from a neighbour), with classes that occur in training;
    # background comes from the check alone (backgroundByCheckOnly).
    assert "background" in {q[3] for q in train}
    assert all(labels.labels) and set(labels.labels) <= {q[3] for q in train} - {"background"}
    assert labels.method.endswith("background by the background check only")
    resub = result.history["labelling"]["resubstitution"]
    assert resub["n"] == len(train) and 0 <= resub["accuracy"] <= 1
    assert set(result.history["labelling"]["held_out"]) >= {"accuracy", "recall", "confusion"}
    # The background check, fitted on the good training exposures, passes all of them.
    check = labels.background_check
    assert check is not None and check.label == "background"
    assert check.max_noise_ratio >= 1.25 and check.max_level > 0


def test_missing_known_labels_and_no_images(quality_images):
    config = TrainExposureQualityConfig()
    task = TrainExposureQualityTask(config=config)
    with pytest.raises(ValueError, match="no science images"):
        task.run([], [])
    visit, detector, image, _ = quality_images[0]
    known = [astropy.table.Table({"visit": [visit + 1], "quality": ["good"]})]
    with pytest.raises(ValueError, match=f"no known quality for visits \\[{visit}\\]"):
        task.run([(visit, detector, image)], known)
    with pytest.raises(ValueError, match="need the columns 'visit' and 'quality'"):
        task.run([(visit, detector, image)], [astropy.table.Table({"visit": [visit]})])


def test_edits_are_applied(quality_images, tmp_path):
    import yaml

    edits = tmp_path / "edits.yaml"
    edits.write_text(yaml.safe_dump({"model_version": "qeditb", "set": [[0, 0, "focus"]]}))
    config = TrainExposureQualityConfig()
    config.desom1Rows = config.desom1Cols = 3
    config.desom1LatentSize, config.desom2LatentSize = 8, 4
    config.desom2Rows = config.desom2Cols = 2
    config.desom1AutoencoderEpochs = config.desom1CombinedEpochs = 1
    config.desom2AutoencoderEpochs = config.desom2CombinedEpochs = 2
    config.minSources, config.validationFolds = 5, 0
    config.modelVersion, config.editsFile = "qedit", str(edits)
    train = [q for q in quality_images if q[0] < 20000][:6]
    known = [astropy.table.Table({"visit": [v], "quality": [q]}) for v, _, _, q in train]
    result = TrainExposureQualityTask(config=config).run([q[:3] for q in train], known)
    assert result.cellLabels["labels"][0] == "focus"
    assert result.cellLabels["edits"] == {"set": [[0, 0, "focus"]]}
    assert result.history["labelling"]["held_out"] == {}
    assert np.asarray(result.cellLabels["counts"]).sum() == 6
