"""The classifier's training loop: the hashed split, bad training sets, devices, divergence."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lsst.meas.realbogus.cnn.blocks import ArrayBlocks, Block
from lsst.meas.realbogus.cnn.training import (
    TrainingDivergedError,
    random_zoom,
    train_classifier,
    validation_rows,
)
from lsst.pipe.base import AlgorithmError


def _noise_set() -> tuple[np.ndarray, np.ndarray]:
    """120 stamps of 2x15x15 Gaussian noise, every third labelled real (seeded)."""
    x = np.random.default_rng(6).normal(size=(120, 2, 15, 15)).astype(np.float32)
    return x, np.arange(120) % 3 == 0


def test_split_independent_of_order_and_seeded():
    keys = np.arange(10000)
    val = validation_rows(keys, 0.15, seed=1)
    assert 0.13 < val.mean() < 0.17
    assert np.array_equal(validation_rows(keys[::-1], 0.15, 1), val[::-1])
    assert not np.array_equal(validation_rows(keys, 0.15, 2), val)


def test_refuses_one_class_and_empty_sets():
    x = np.zeros((40, 3, 21, 21), np.float32)
    with pytest.raises(ValueError, match="no real examples"):
        train_classifier(ArrayBlocks(x, np.zeros(40, bool)), epochs=1)

    class Empty:
        def __len__(self):
            return 1

        def load(self, i):
            return Block(x[:0], np.zeros(0, bool), np.zeros(0, np.int64))

    with pytest.raises(ValueError, match="empty"):
        train_classifier(Empty(), epochs=1)


def test_result_and_history():
    x, labels = _noise_set()
    result = train_classifier(ArrayBlocks(x, labels), epochs=2, seed=2)
    assert [h["epoch"] for h in result.history] == [1, 2]
    assert result.input_shape == (2, 15, 15) and result.seconds > 0
    assert result.counts["train_real"] + result.counts["val_real"] == labels.sum()
    assert result.positive_weight == pytest.approx(result.counts["train_bogus"] / result.counts["train_real"])
    assert [h["learning_rate"] for h in result.history] == [1e-3, 1e-3]


def test_same_seed_same_weights_other_seed_other_weights():
    # What training.rst promises: the same command on the same threads gives the same weights.
    x, labels = _noise_set()

    def weights(seed):
        module = train_classifier(ArrayBlocks(x, labels), epochs=2, max_zoom=1.2, seed=seed).module
        return [p.detach().clone() for p in module.state_dict().values()]

    first, again, other = weights(3), weights(3), weights(4)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))


def test_channels_last_trains_alike_and_returns_the_ordinary_format():
    # The formats differ in rounding and in the order dropout draws its masks, so the weights differ;
    # both learn the same set, channels-last is as repeatable, and the module returned is contiguous
    # (for TorchScript and ONNX export).
    x, labels = _noise_set()
    x[labels, :, 6:9, 6:9] += 2.0  # real: a bright 3x3 centre

    def train(channels_last):
        return train_classifier(ArrayBlocks(x, labels), epochs=4, seed=3, channels_last=channels_last)

    ordinary, last, again = train(False), train(True), train(True)
    assert ordinary.val_auc > 0.9 and last.val_auc > 0.9
    for a, b in zip(last.module.state_dict().values(), again.module.state_dict().values(), strict=True):
        assert torch.equal(a, b) and a.is_contiguous()


def test_cosine_schedule():
    x, labels = _noise_set()
    result = train_classifier(
        ArrayBlocks(x, labels), epochs=4, patience=4, schedule="cosine", learning_rate=2e-3, seed=2
    )
    rates = [h["learning_rate"] for h in result.history]
    assert rates[0] == pytest.approx(2e-3) and rates[2] == pytest.approx(1e-3)
    assert all(a > b for a, b in zip(rates, rates[1:]))
    with pytest.raises(ValueError, match="schedule must be 'constant' or 'cosine'"):
        train_classifier(ArrayBlocks(x, labels), epochs=1, schedule="step")


class _Blocks:
    """``x`` and ``labels`` as ``n`` blocks (so that the order of the blocks is shuffled too)."""

    def __init__(self, x: np.ndarray, labels: np.ndarray, n: int) -> None:
        self.parts = np.array_split(np.arange(len(labels)), n)
        self.x, self.labels = x, labels

    def __len__(self) -> int:
        return len(self.parts)

    def load(self, index: int) -> Block:
        rows = self.parts[index]
        return Block(self.x[rows], self.labels[rows], rows.astype(np.int64))


def _round_trip(state: dict, tmp_path) -> dict:
    """``state`` through torch.save and a weights-only torch.load, as a checkpoint file holds it."""
    path = tmp_path / f"epoch{state['epoch']}.pt"
    torch.save(state, path)
    return torch.load(path, weights_only=True)


def _same_training(a, b) -> None:
    drop = [{k: v for k, v in h.items() if k != "seconds"} for h in a.history]
    assert drop == [{k: v for k, v in h.items() if k != "seconds"} for h in b.history]
    assert (a.best_epoch, a.val_auc) == (b.best_epoch, b.val_auc)
    for name, tensor in a.module.state_dict().items():
        assert torch.equal(tensor, b.module.state_dict()[name]), name
    np.testing.assert_array_equal(a.val_logits, b.val_logits)


def test_a_resumed_training_ends_as_the_uninterrupted_one(tmp_path):
    # Order, augmentation, dropout, optimizer and schedule all go on where they were.
    x, labels = _noise_set()
    args = dict(epochs=4, patience=4, schedule="cosine", max_zoom=1.2, blocks_per_shuffle=1, seed=5)
    source = _Blocks(x, labels, 3)
    states = []
    whole = train_classifier(source, on_epoch=states.append, **args)
    assert [s["epoch"] for s in states] == [1, 2, 3, 4] and not any(s["stopped"] for s in states)
    resumed = train_classifier(source, resume=_round_trip(states[1], tmp_path), **args)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]
    assert resumed.seconds >= states[1]["seconds"]
    _same_training(whole, resumed)


def test_a_training_stopped_early_resumes_as_stopped(tmp_path):
    x, labels = _noise_set()
    args = dict(epochs=8, patience=1, seed=2)
    states = []
    whole = train_classifier(ArrayBlocks(x, labels), on_epoch=states.append, **args)
    assert states[-1]["stopped"] and len(states) < 8
    resumed = train_classifier(ArrayBlocks(x, labels), resume=_round_trip(states[-1], tmp_path), **args)
    _same_training(whole, resumed)


def _width(stamps: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Centroid and rms width (along x) of each stamp's first channel."""
    yy, xx = torch.meshgrid(torch.arange(stamps.shape[-2]), torch.arange(stamps.shape[-1]), indexing="ij")
    im = stamps[:, 0]
    total = im.sum(dim=(1, 2))
    cx = (im * xx).sum(dim=(1, 2)) / total
    cy = (im * yy).sum(dim=(1, 2)) / total
    width = ((im * (xx - cx[:, None, None]) ** 2).sum(dim=(1, 2)) / total).sqrt()
    return torch.stack([cx, cy], 1).numpy(), width.numpy()


def test_random_zoom_widens_about_the_centre():
    yy, xx = torch.meshgrid(torch.arange(41.0), torch.arange(41.0), indexing="ij")
    stamps = torch.exp(-((xx - 20) ** 2 + (yy - 20) ** 2) / (2 * 2.0**2)).expand(200, 3, 41, 41).clone()
    before = stamps.clone()
    zoomed = random_zoom(stamps, torch.Generator().manual_seed(3), max_zoom=1.6, fraction=0.5)
    assert torch.equal(stamps, before)
    centres, widths = _width(zoomed)
    assert np.allclose(centres, 20.0, atol=1e-3)
    changed = widths > 2.01
    # About half magnified, each by at most 1.6 (the Gaussian of sigma 2 has rms width 2).
    assert 70 < changed.sum() < 130
    # Bilinear interpolation adds a little width of its own.
    assert widths.min() > 1.98 and widths.max() < 1.6 * 2.0 * 1.04
    assert random_zoom(stamps, torch.Generator(), max_zoom=1.0) is stamps
    with pytest.raises(ValueError, match="max_zoom must be >= 1"):
        random_zoom(stamps, torch.Generator(), max_zoom=0.5)


def test_diverging_loss_is_an_algorithm_error():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(80, 2, 15, 15)).astype(np.float32)
    x[:, 0, 0, 0] = np.inf  # a bad pixel in every stamp poisons the loss
    labels = np.arange(80) % 2 == 0
    with pytest.raises(TrainingDivergedError, match="not finite in epoch 1, after 0 stamps") as info:
        train_classifier(ArrayBlocks(x, labels), epochs=1)
    assert isinstance(info.value, AlgorithmError)
    assert info.value.metadata["epoch"] == 1


def test_training_on_cuda_or_a_clear_error():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(80, 2, 15, 15)).astype(np.float32)
    labels = np.arange(80) % 2 == 0
    if torch.cuda.is_available():
        result = train_classifier(ArrayBlocks(x, labels), epochs=1, device="cuda")
        assert next(result.module.parameters()).device.type == "cpu"  # returned ready to script
    else:
        with pytest.raises(ValueError, match="CUDA is not available"):
            train_classifier(ArrayBlocks(x, labels), epochs=1, device="cuda")
