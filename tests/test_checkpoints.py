"""MemberCheckpoints: trained ensemble members saved, keyed and loaded again."""

from __future__ import annotations

import logging

import numpy as np
import torch
from lsst.meas.realbogus.cnn import MemberCheckpoints, TrainingResult, get_architecture, training_key


def _result(seed: int = 0) -> TrainingResult:
    torch.manual_seed(seed)
    module = get_architecture("dia_cnn", 3, 21).eval()
    rng = np.random.default_rng(seed)
    return TrainingResult(
        module=module,
        best_epoch=3,
        val_auc=0.9,
        history=[{"epoch": 1, "loss": 0.5, "val_auc": 0.8, "seconds": 1.0}],
        counts={"train_real": 5, "train_bogus": 7, "val_real": 2, "val_bogus": 3},
        positive_weight=1.4,
        input_shape=(3, 21, 21),
        seconds=12.5,
        val_logits=rng.normal(size=5).astype(np.float32),
        val_labels=np.array([True, False, True, False, False]),
    )


def test_training_key_depends_on_settings_and_inputs_not_their_order():
    key = training_key({"seed": 1, "epochs": 45}, ["a", "b"])
    assert key == training_key({"epochs": 45, "seed": 1}, ["b", "a"])
    assert key != training_key({"seed": 2, "epochs": 45}, ["a", "b"])
    assert key != training_key({"seed": 1, "epochs": 45}, ["a", "c"])


def test_a_saved_member_loads_as_it_was(tmp_path):
    result = _result()
    checkpoints = MemberCheckpoints(tmp_path / "ckpt", "k1")
    path = checkpoints.save(1, result, (2.5, 8.75))
    assert path.name == "member2.pt" and not list(path.parent.glob("*.partial"))
    loaded, psf_range = checkpoints.load(1, "dia_cnn")
    assert psf_range == (2.5, 8.75)
    assert not loaded.module.training
    for name, tensor in result.module.state_dict().items():
        assert torch.equal(tensor, loaded.module.state_dict()[name])
    x = torch.randn(4, 3, 21, 21)
    with torch.no_grad():
        assert torch.equal(result.module(x), loaded.module(x))
    for name in ("best_epoch", "val_auc", "history", "counts", "positive_weight", "input_shape", "seconds"):
        assert getattr(loaded, name) == getattr(result, name)
    np.testing.assert_array_equal(loaded.val_logits, result.val_logits)
    np.testing.assert_array_equal(loaded.val_labels, result.val_labels)
    assert checkpoints.load(0, "dia_cnn") is None  # never saved


def test_another_trainings_or_an_unreadable_file_is_not_loaded(tmp_path, caplog):
    MemberCheckpoints(tmp_path, "k1").save(0, _result(), (3.0, 8.0))
    with caplog.at_level(logging.INFO):
        assert MemberCheckpoints(tmp_path, "k2").load(0, "dia_cnn") is None
    assert "other settings or inputs" in caplog.text
    (tmp_path / "member1.pt").write_bytes(b"not a checkpoint")
    with caplog.at_level(logging.WARNING):
        assert MemberCheckpoints(tmp_path, "k1").load(0, "dia_cnn") is None
    assert "Cannot read the checkpoint" in caplog.text and "member1.pt" in caplog.text


def test_a_member_saved_under_another_index_is_not_loaded(tmp_path):
    checkpoints = MemberCheckpoints(tmp_path, "k1")
    checkpoints.save(0, _result(), (3.0, 8.0))
    (tmp_path / "member1.pt").rename(tmp_path / "member2.pt")
    assert checkpoints.load(1, "dia_cnn") is None


def test_another_architecture_is_rebuilt_as_itself(tmp_path):
    result = _result()
    result.module = get_architecture("vgg6", 3, 21).eval()
    checkpoints = MemberCheckpoints(tmp_path, "k")
    checkpoints.save(0, result, (3.0, 8.0))
    loaded, _ = checkpoints.load(0, "vgg6")
    assert type(loaded.module) is type(result.module)


def test_progress_is_kept_until_the_member_is_saved(tmp_path, caplog):
    checkpoints = MemberCheckpoints(tmp_path, "k1")
    assert checkpoints.load_progress(0) is None
    state = {"epoch": 4, "stopped": False, "model": {"w": torch.arange(3.0)}, "numpy_rng": {"s": 2**100}}
    checkpoints.save_progress(0, state)
    assert checkpoints.progress_path(0).name == "member1.progress.pt"
    with caplog.at_level(logging.INFO):
        loaded = checkpoints.load_progress(0)
    assert "Resuming ensemble member 1" in caplog.text and "after epoch 4" in caplog.text
    assert loaded["epoch"] == 4 and loaded["numpy_rng"] == {"s": 2**100}
    assert torch.equal(loaded["model"]["w"], state["model"]["w"])
    assert MemberCheckpoints(tmp_path, "k2").load_progress(0) is None  # another training's
    assert checkpoints.load_progress(1) is None  # another member's
    checkpoints.save(0, _result(), (3.0, 8.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["member1.pt"]
