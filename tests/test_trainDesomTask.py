"""TrainDesomTask: configuration checks and short training runs on in-memory triplets."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from lsst.meas.realbogus import BuildTrainingSetTask, LabelDetectionsTask
from lsst.meas.realbogus.desom.labelling import PrototypeLabels
from lsst.meas.realbogus.desom.model import load_desom
from lsst.meas.realbogus.trainDesomTask import TrainDesomConfig, TrainDesomTask
from lsst.pex.config import FieldValidationError


@pytest.fixture(scope="module")
def triplets(detector_visit, detector_inputs):
    product, _ = detector_visit
    labels = LabelDetectionsTask().run(product.dia_sources, product.truth).labels
    return BuildTrainingSetTask().run(**detector_inputs, labels=labels).triplets


def small_config(tmp_path, **overrides) -> TrainDesomConfig:
    config = TrainDesomConfig()
    config.mapRows, config.mapCols, config.latentSize = 3, 4, 8
    config.autoencoderEpochs, config.somEpochs = 1, 3
    config.modelVersion = "dunit"
    config.outputFile = str(tmp_path / "d.pt")
    config.labelsFile = str(tmp_path / "labels.yaml")
    for name, value in overrides.items():
        setattr(config, name, value)
    return config


def test_config_is_checked_before_anything_runs(tmp_path):
    for name, value, message in (
        ("architecture", "vae", "Unknown autoencoder 'vae'"),
        ("channels", ["difference", "sky"], "channels must be taken from"),
        ("thumbnailSize", 30, "thumbnailSize"),
        ("tMin", 20.0, "0 < tMin <= tMax"),
        ("useClassifier", False, "the 'scores' labelling needs useClassifier"),
        ("outputFile", str(tmp_path / "missing" / "d.pt"), "directory of .* does not exist"),
        ("editsFile", str(tmp_path / "none.yaml"), "none.yaml does not exist"),
        ("relabelDesomFile", str(tmp_path / "none.pt"), "none.pt does not exist"),
    ):
        config = TrainDesomConfig()
        with pytest.raises(FieldValidationError, match=message):  # when set, or else when validated
            setattr(config, name, value)
            config.validate()


def test_trains_labels_by_ratio_with_edits(triplets, tmp_path):
    """Labels from the triplets' labels, hand edits on top, no classifier."""
    edits = tmp_path / "edits.yaml"
    edits.write_text(yaml.safe_dump({"model_version": "dunit", "add": [[0, 0]], "remove": [[2, 3]]}))
    config = small_config(
        tmp_path, useClassifier=False, labellingMethod="ratio", augment=False, editsFile=str(edits)
    )
    task = TrainDesomTask(config=config)
    result = task.run([triplets], provenance="unit test")
    md = result.desom.metadata
    assert (md.version, md.map_shape, md.latent_size) == ("dunit", (3, 4), 8)
    assert "unit test" in md.provenance and load_desom(tmp_path / "d.pt").metadata == md
    labels = PrototypeLabels.from_dict(result.desomLabels)
    assert labels.real[0] and not labels.real[-1]  # the edits win over the ratio
    assert labels.method == "ratio" and not labels.stacker
    assert PrototypeLabels.read(tmp_path / "labels.yaml").real.tolist() == labels.real.tolist()
    # Every triplet placed once without augmentation; the labelling's counts are its members.
    assert int(labels.n_real.sum() + labels.n_bogus.sum()) == result.history["count"]
    summary = result.history["labelling"]
    assert 0 <= summary["fpr"] <= 1 and 0 <= summary["mdr"] <= 1 and not summary["stacked_score"]
    assert {"mapPlot", "reconstructionPlot", "ratioPlot", "uMatrixPlot"} <= set(vars(result))
    assert "rocPlot" not in vars(result)  # no classifier, no ROC
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(yaml.safe_dump({"model_version": "dunit", "add": [[3, 0]]}))
    config = small_config(tmp_path, useClassifier=False, labellingMethod="ratio", editsFile=str(wrong))
    with pytest.raises(ValueError, match=r"wrong.yaml: PV \[3, 0\] is outside the 3x4 map"):
        TrainDesomTask(config=config).run([triplets])
    with pytest.raises(ValueError, match="no realbogus_triplets datasets"):
        TrainDesomTask(config=config).run([])


def test_labels_by_scores_and_fits_the_stacked_score(triplets, tmp_path):
    """The shipped CNN's scores order the PVs; all 8 views are placed; held-out figures are reported."""
    config = small_config(tmp_path, stackerValidationFraction=0.5)
    result = TrainDesomTask(config=config).run([triplets, triplets])
    labels = PrototypeLabels.from_dict(result.desomLabels)
    assert labels.method == "scores" and labels.parameters["score_percentile"] == 50.0
    assert int(labels.n_real.sum() + labels.n_bogus.sum()) == 2 * 8 * len(triplets.table)
    summary = result.history["labelling"]
    assert summary["fpr"] <= config.targetFpr
    assert set(summary["held_out"]) == {"fpr", "mdr", "fraction"}
    assert np.isfinite(summary["held_out"]["mdr"])
    assert set(labels.stacker["features"]) == {"cnn_logit", "pv_real_fraction", "log_distance"}
    assert "rocPlot" in vars(result) and "scorePlot" in vars(result)


def test_relabels_a_desom_for_another_classifier(triplets, tmp_path, shipped_model_version):
    """relabelDesomFile: no training; the DESOM is kept as it is, its prototypes labelled by the CNN."""
    first = small_config(tmp_path, useClassifier=False, labellingMethod="ratio", augment=False)
    trained = TrainDesomTask(config=first).run([triplets]).desom
    config = small_config(tmp_path, relabelDesomFile=str(tmp_path / "d.pt"), modelVersion="other")
    config.outputFile, config.labelsFile = str(tmp_path / "copy.pt"), str(tmp_path / "relabelled.yaml")
    result = TrainDesomTask(config=config).run([triplets, triplets])
    assert result.desom.metadata == trained.metadata  # the file's version, not modelVersion
    assert (tmp_path / "copy.pt").read_bytes() == (tmp_path / "d.pt").read_bytes()
    np.testing.assert_array_equal(result.desom.prototypes.cpu().numpy(), trained.prototypes.cpu().numpy())
    labels = PrototypeLabels.read(tmp_path / "relabelled.yaml")
    assert labels.model_version == "dunit" and labels.method == "scores"
    assert labels.parameters["classifier"] == shipped_model_version and labels.stacker
    assert int(labels.n_real.sum() + labels.n_bogus.sum()) == 2 * 8 * len(triplets.table)
    assert result.history["relabelled"] == str(tmp_path / "d.pt") and "training" not in result.history
    assert {"mapPlot", "uMatrixPlot", "rocPlot"} <= set(vars(result))
