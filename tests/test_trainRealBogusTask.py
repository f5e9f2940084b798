"""TrainRealBogusTask: configuration checks and a short training run on in-memory triplets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lsst.meas.realbogus import BuildTrainingSetTask, LabelDetectionsTask
from lsst.meas.realbogus.cnn import MemberCheckpoints
from lsst.meas.realbogus.inference import load_model
from lsst.meas.realbogus.stamps import read_triplets, write_triplets
from lsst.meas.realbogus.trainRealBogusTask import TrainRealBogusConfig, TrainRealBogusTask
from lsst.pex.config import FieldValidationError


def test_config_is_checked_before_anything_runs(tmp_path):
    config = TrainRealBogusConfig()
    config.channels = ["science", "sky"]
    with pytest.raises(FieldValidationError, match="channels must be taken from"):
        config.validate()
    config = TrainRealBogusConfig()
    config.channels = ["science", "science"]
    with pytest.raises(FieldValidationError, match="must not repeat"):
        config.validate()
    config = TrainRealBogusConfig()
    config.outputFile = str(tmp_path / "missing" / "m.pt")
    with pytest.raises(FieldValidationError, match="does not exist"):
        config.validate()
    config = TrainRealBogusConfig()
    config.architecture = "vgg16"
    with pytest.raises(FieldValidationError, match="Unknown architecture 'vgg16'"):
        config.validate()


def test_cuda_is_checked_at_construction():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    config = TrainRealBogusConfig()
    config.device = "cuda:0"
    with pytest.raises(FieldValidationError, match="device.*CUDA is not available"):
        TrainRealBogusTask(config=config)


def test_trains_and_writes_a_model(detector_visit, detector_inputs, tmp_path):
    product, _ = detector_visit
    labels = LabelDetectionsTask().run(product.dia_sources, product.truth).labels
    triplets = BuildTrainingSetTask().run(**detector_inputs, labels=labels).triplets
    config = TrainRealBogusConfig()
    config.epochs = 1
    config.channels = ["difference", "science"]
    config.cutoutSize = 31
    config.modelVersion = "ttrain"
    config.outputFile = str(tmp_path / "m.pt")
    config.validationFraction = 0.3
    task = TrainRealBogusTask(config=config)
    result = task.run([triplets, triplets], provenance="unit test")
    md = result.model.metadata
    assert (md.version, md.channels, md.cutout_size) == ("ttrain", ("difference", "science"), 31)
    assert "unit test" in md.provenance
    # The widest PSF of the training triplets, for resampling wider ones at inference.
    widths = np.asarray(triplets.table["psfFwhm"])
    assert md.max_psf_fwhm == pytest.approx(widths.max(), abs=1e-3)
    assert md.min_psf_fwhm == pytest.approx(widths.min(), abs=1e-3)
    # Rounded outwards: no training PSF is outside the recorded range.
    assert md.min_psf_fwhm <= widths.min() <= widths.max() <= md.max_psf_fwhm
    assert load_model(tmp_path / "m.pt").metadata == md
    assert result.history["counts"]["train_real"] > 0 and len(result.history["epochs"]) == 1
    assert "runStartCpuTime" in task.metadata
    with pytest.raises(ValueError, match="no realbogus_triplets datasets"):
        task.run([])


def _ensemble_of_two(detector_visit, detector_inputs):
    """Labelled triplets of the test detector-visit, and a config for a one-epoch ensemble of two."""
    product, _ = detector_visit
    labels = LabelDetectionsTask().run(product.dia_sources, product.truth).labels
    triplets = BuildTrainingSetTask().run(**detector_inputs, labels=labels).triplets
    config = TrainRealBogusConfig()
    config.epochs = 1
    config.cutoutSize = 21
    config.ensembleSize = 2
    config.validationFraction = 0.3
    return triplets, config


def test_trains_a_calibrated_ensemble(detector_visit, detector_inputs, tmp_path):
    triplets, config = _ensemble_of_two(detector_visit, detector_inputs)
    result = TrainRealBogusTask(config=config).run([triplets, triplets])
    md = result.model.metadata
    calibration = result.history["calibration"]
    assert md.members == 2 and len(result.history["members"]) == 2
    assert md.temperature == pytest.approx(calibration["temperature"], rel=1e-5)
    assert md.logit_offset == pytest.approx(calibration["offset"], abs=1e-5)
    # One epoch on a few rows may give a network the fit cannot calibrate; then it is left as it is.
    if not calibration["calibrated"]:
        assert (md.temperature, md.logit_offset) == (1.0, 0.0)
    scores = result.model.score(md.input.prepare(triplets.cutouts[:8]))
    assert scores.std.shape == (8,) and np.all(scores.std >= 0) and np.any(scores.std > 0)


def test_an_interrupted_ensemble_resumes_from_its_checkpoints(
    detector_visit, detector_inputs, tmp_path, caplog, monkeypatch
):
    triplets, config = _ensemble_of_two(detector_visit, detector_inputs)
    config.epochs = config.patience = 3
    config.checkpointDir = str(tmp_path / "members")
    first = TrainRealBogusTask(config=config).run([triplets])
    assert sorted(p.name for p in (tmp_path / "members").iterdir()) == ["member1.pt", "member2.pt"]
    # As if killed after the second epoch of the second member: the first member is loaded and the
    # second goes on from its third epoch.
    (tmp_path / "members" / "member2.pt").unlink()
    save_progress = MemberCheckpoints.save_progress

    def killed_after_epoch_2(self, member, state):
        save_progress(self, member, state)
        if state["epoch"] == 2:
            raise RuntimeError("killed")

    monkeypatch.setattr(MemberCheckpoints, "save_progress", killed_after_epoch_2)
    with pytest.raises(RuntimeError, match="killed"):
        TrainRealBogusTask(config=config).run([triplets])
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "members").iterdir()) == ["member1.pt", "member2.progress.pt"]
    with caplog.at_level("INFO", logger="lsst.trainRealBogus"):
        second = TrainRealBogusTask(config=config).run([triplets])
    assert "Loaded ensemble member 1" in caplog.text and "Ensemble member 2 of 2" in caplog.text
    assert "Ensemble member 1 of 2" not in caplog.text
    assert "Resuming ensemble member 2" in caplog.text and "after epoch 2" in caplog.text
    assert "epoch  1:" not in caplog.text and "epoch  3:" in caplog.text
    assert "1 of 2 members loaded" in caplog.text
    assert sorted(p.name for p in (tmp_path / "members").iterdir()) == ["member1.pt", "member2.pt"]
    x = torch.from_numpy(first.model.metadata.input.prepare(triplets.cutouts[:16]))
    assert np.array_equal(first.model.score(x.numpy()).logit, second.model.score(x.numpy()).logit)
    assert second.model.metadata.max_psf_fwhm == first.model.metadata.max_psf_fwhm

    def losses(result):
        return [[e["loss"] for e in m["epochs"]] for m in result.history["members"]]

    assert losses(second) == losses(first)
    # All members saved: nothing is trained, and the PSF range comes from the checkpoints.
    caplog.clear()
    with caplog.at_level("INFO", logger="lsst.trainRealBogus"):
        third = TrainRealBogusTask(config=config).run([triplets])
    assert "Ensemble member" not in caplog.text and caplog.text.count("Loaded ensemble member") == 2
    assert third.model.metadata == first.model.metadata
    # Triplets written and read back, as when rebuilt identically into another collection or on another
    # machine, are the same inputs: the members are loaded.
    write_triplets(triplets, tmp_path / "rebuilt.npz")
    caplog.clear()
    with caplog.at_level("INFO", logger="lsst.trainRealBogus"):
        rebuilt = TrainRealBogusTask(config=config).run([read_triplets(tmp_path / "rebuilt.npz")])
    assert "Ensemble member" not in caplog.text and caplog.text.count("Loaded ensemble member") == 2
    assert rebuilt.model.metadata == first.model.metadata
    # One pixel changed (same diaSources) is another input: its members are trained, not loaded.
    changed = read_triplets(tmp_path / "rebuilt.npz")
    centre = changed.size // 2
    changed.cutouts[0, 0, centre, centre] += 1.0
    caplog.clear()
    with caplog.at_level("INFO", logger="lsst.trainRealBogus"):
        TrainRealBogusTask(config=config).run([changed])
    assert "Loaded" not in caplog.text and caplog.text.count("other settings or inputs") == 2
    # Another setting is another training: its members are trained, not loaded.
    caplog.clear()
    config.learningRate = 2e-3
    with caplog.at_level("INFO", logger="lsst.trainRealBogus"):
        TrainRealBogusTask(config=config).run([triplets])
    assert "Loaded" not in caplog.text and caplog.text.count("other settings or inputs") == 2


def test_architecture_registered_later_is_accepted():
    from lsst.meas.realbogus.cnn import architectures

    @architectures.register_architecture("tiny_test_net")
    class TinyNet(torch.nn.Module):
        """A one-layer network for this test."""

        def __init__(self, in_channels: int, size: int) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(in_channels * size * size, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(x.flatten(1))[:, 0]

    try:
        config = TrainRealBogusConfig()
        config.architecture = "tiny_test_net"
        config.validate()
        config.architecture = "vgg16"
        with pytest.raises(
            FieldValidationError, match=r"Unknown architecture 'vgg16'; known: \[.*tiny_test_net"
        ):
            config.validate()
    finally:
        architectures._ARCHITECTURES.items.pop("tiny_test_net")


def test_no_triplets_is_an_error_not_skipped_work():
    from lsst.meas.realbogus.trainRealBogusTask import TrainRealBogusConnections

    connections = TrainRealBogusConnections(config=TrainRealBogusConfig())
    with pytest.raises(FileNotFoundError, match="trainRealBogus: no realbogus_triplets datasets to train on"):
        connections.adjustQuantum({"triplets": (connections.triplets, [])}, {}, "trainRealBogus", {})
