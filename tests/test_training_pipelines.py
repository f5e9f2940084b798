"""Training and evaluation: metrics, streaming training, and the three pipelines with pipetask."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import astropy.table
import numpy as np
import pytest
from lsst.daf.butler import Butler
from lsst.meas.realbogus.metrics import (
    calibration,
    fpr_at_mdr,
    mdr_at_fpr,
    requirement_threshold,
    score_curves,
)
from lsst.meas.realbogus.triplets import LabelledTriplets, read_triplets, write_triplets

PIPELINES = Path(__file__).parents[1] / "pipelines"


def test_operating_points_match_brute_force():
    rng = np.random.default_rng(3)
    labels = rng.random(2000) < 0.3
    scores = np.round(np.clip(rng.normal(labels * 1.0, 0.35), 0, 1), 3)  # with ties
    curves = score_curves(scores, labels)
    for i in range(0, len(curves.threshold), 37):
        t = curves.threshold[i]
        assert curves.true_positives[i] == np.sum((scores >= t) & labels)
        assert curves.false_positives[i] == np.sum((scores >= t) & ~labels)
    mdr, t = mdr_at_fpr(scores, labels, 0.01)
    assert np.mean(scores[~labels] >= t) <= 0.01
    assert mdr == pytest.approx(np.mean(scores[labels] < t))
    # The next lower distinct score would exceed the FPR.
    lower = scores[scores < t].max()
    assert np.mean(scores[~labels] >= lower) > 0.01
    fpr, t2 = fpr_at_mdr(scores, labels, 0.01)
    assert np.mean(scores[labels] < t2) <= 0.01 and fpr == pytest.approx(np.mean(scores[~labels] >= t2))
    req = requirement_threshold(scores, labels, 0.9, 0.95)
    assert req["purity"] >= 0.95
    assert req["met"] == (req["completeness"] >= 0.9)
    perfect = calibration(np.r_[np.zeros(50), np.ones(50)], np.r_[np.zeros(50, bool), np.ones(50, bool)])
    assert perfect["ece"] == pytest.approx(0.0)
    assert calibration(np.full(100, 0.9), np.zeros(100, bool))["ece"] == pytest.approx(0.9)


def test_triplets_round_trip(tmp_path):
    cutouts = np.random.default_rng(1).normal(size=(5, 3, 9, 9)).astype(np.float32)
    table = astropy.table.Table(
        {"diaSourceId": np.arange(5), "isReal": [True, False] * 2 + [True], "kind": ["host"] * 5}
    )
    write_triplets(LabelledTriplets(cutouts, table), tmp_path / "t.npz")
    back = read_triplets(tmp_path / "t.npz")
    assert np.array_equal(back.cutouts, cutouts) and back.table["kind"].tolist() == ["host"] * 5
    assert back.select(("science", "template"), 5).shape == (5, 2, 5, 5)
    np.testing.assert_array_equal(back.select(("difference",), 5)[:, 0], cutouts[:, 2, 2:7, 2:7])
    (tmp_path / "bad.npz").write_bytes(b"not an archive")
    with pytest.raises(ValueError, match="bad.npz"):
        read_triplets(tmp_path / "bad.npz")


def test_streaming_split_independent_of_blocks_and_refuses_one_class():
    from lsst.meas.realbogus.training import ArrayBlocks, Block, train_classifier, validation_rows

    keys = np.arange(10000)
    val = validation_rows(keys, 0.15, seed=1)
    assert 0.13 < val.mean() < 0.17
    assert np.array_equal(validation_rows(keys[::-1], 0.15, 1), val[::-1])
    assert not np.array_equal(validation_rows(keys, 0.15, 2), val)
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


def test_cached_blocks_read_each_block_once_and_train_the_same(tmp_path, caplog):
    import torch
    from lsst.meas.realbogus.training import Block, CachedBlocks, train_classifier

    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 2, 15, 15)).astype(np.float32)
    labels = rng.random(300) < 0.4
    x[labels, 1, 6:9, 6:9] += 2.0

    class Counted:
        """Five blocks of 60 rows; counts the reads."""

        def __init__(self):
            self.reads = 0

        def __len__(self):
            return 5

        def load(self, i):
            self.reads += 1
            rows = slice(60 * i, 60 * (i + 1))
            return Block(x[rows].copy(), labels[rows], np.arange(300)[rows])

    plain, cached = Counted(), Counted()
    settings = dict(epochs=3, seed=4, blocks_per_shuffle=2, batch_size=32)
    a = train_classifier(plain, **settings)
    b = train_classifier(CachedBlocks(cached, str(tmp_path)), **settings)
    assert plain.reads == 5 * 4 and cached.reads == 5  # the split pass + 3 epochs, against once
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    weights = zip(a.module.state_dict().values(), b.module.state_dict().values())
    assert all(torch.equal(p, q) for p, q in weights)
    # A directory that cannot be written: a warning, and blocks come from the source.
    broken = CachedBlocks(Counted(), str(tmp_path / "missing"))
    assert np.array_equal(broken.load(1).cutouts, x[60:120]) and not broken.enabled
    assert np.array_equal(broken.load(1).keys, np.arange(60, 120)) and broken.source.reads == 2
    assert "Not caching training blocks" in caplog.text


def test_training_on_cuda_or_a_clear_error():
    import torch
    from lsst.meas.realbogus.training import ArrayBlocks, train_classifier

    rng = np.random.default_rng(6)
    x = rng.normal(size=(80, 2, 15, 15)).astype(np.float32)
    labels = np.arange(80) % 2 == 0
    if torch.cuda.is_available():
        result = train_classifier(ArrayBlocks(x, labels), epochs=1, device="cuda")
        assert next(result.module.parameters()).device.type == "cpu"  # returned ready to script
    else:
        with pytest.raises(ValueError, match="CUDA is not available"):
            train_classifier(ArrayBlocks(x, labels), epochs=1, device="cuda")
        from lsst.meas.realbogus.trainRealBogusTask import TrainRealBogusConfig, TrainRealBogusTask

        config = TrainRealBogusConfig()
        config.device = "cuda:0"
        with pytest.raises(ValueError, match="device.*CUDA is not available"):
            TrainRealBogusTask(config=config)


@pytest.mark.parametrize("architecture", ["dia_cnn", "vgg6", "resnet_small"])
def test_architectures_learn_and_script(architecture, tmp_path):
    """Each architecture learns a trivial task (a central blob in the difference channel) and scripts."""
    from lsst.meas.realbogus.model import ModelMetadata, load_model, save_model
    from lsst.meas.realbogus.training import ArrayBlocks, train_classifier

    rng = np.random.default_rng(2)
    n = 400
    labels = rng.random(n) < 0.4
    x = rng.normal(size=(n, 2, 21, 21)).astype(np.float32)
    x[labels, 1, 8:13, 8:13] += 3.0
    result = train_classifier(ArrayBlocks(x, labels), architecture=architecture, epochs=4, seed=3)
    assert result.val_auc > 0.9, result.history
    md = ModelMetadata("t", 21, ("science", "difference"), "none", architecture=architecture)
    save_model(result.module, md, tmp_path / "m.pt")
    assert load_model(tmp_path / "m.pt").predict(x[:8]).shape == (8,)


def test_evaluation_refuses_scores_of_another_model():
    from lsst.meas.realbogus.evaluateRealBogusTask import EvaluateRealBogusTask

    task = EvaluateRealBogusTask()  # the shipped model, from its file
    ids = np.arange(6)
    labels = astropy.table.Table(
        {"diaSourceId": ids, "isReal": ids % 2 == 0, "kind": ["host", "cosmic_ray"] * 3, "snr": ids + 5.0}
    )
    scores = astropy.table.Table({"diaSourceId": ids, "score": ids / 6, "modelVersion": ["other"] * 6})
    with pytest.raises(ValueError, match=r"model version\(s\) \['other'\].*" + task.model.metadata.version):
        task.run({"d": scores}, {"d": labels})
    scores["modelVersion"] = [task.model.metadata.version] * 6
    assert task.run({"d": scores}, {"d": labels}).metrics["overall"]["count"] == 6
    with pytest.raises(ValueError, match="same detectors"):
        task.run({"d": scores}, {"e": labels})


def _pipetask(repo: Path, pipeline: str, inputs: str, output: str, where: str, *extra: str, ok: bool = True):
    cmd = ["pipetask", "run", "-b", str(repo), "-i", inputs, "-o", output, "-p", str(PIPELINES / pipeline)]
    cmd += ["-d", where, "--register-dataset-types", "-j", "1", *extra]
    result = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), timeout=900)
    assert (result.returncode == 0) == ok, result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_build_train_evaluate_pipelines(tiny_repo, tmp_path):
    repo, _ = tiny_repo
    train = "skymap='DC2_sim' AND tract=3080"
    test = "skymap='DC2_sim' AND tract=4024"
    _pipetask(repo, "BuildTrainingSet.yaml", "RBSimCam/sim", "u/t/triplets", train)
    # A tract without triplets: pipetask stops before any training, saying the data query is empty.
    empty = _pipetask(repo, "TrainRealBogus.yaml", "u/t/triplets", "u/t/none", test, ok=False)
    assert "Initial data ID query returned no rows" in empty.stderr
    assert "QuantumGraph was empty" in empty.stderr
    model_file = tmp_path / "nodia.pt"
    _pipetask(
        repo, "TrainRealBogus.yaml", "u/t/triplets", "u/t/model", train,
        "-c", "trainRealBogus:epochs=2", "-c", "trainRealBogus:channels=['template','science']",
        "-c", "trainRealBogus:modelVersion=tnodia", "-c", f"trainRealBogus:outputFile={model_file}",
    )  # fmt: skip
    assert model_file.exists()
    out = tmp_path / "eval"
    _pipetask(
        repo, "EvaluateRealBogus.yaml", "u/t/model,RBSimCam/sim", "u/t/eval", test,
        "-c", f"evaluateRealBogus:outputDir={out}", "-c", "evaluateRealBogus:saliencyCount=4",
    )  # fmt: skip
    with Butler.from_config(str(repo), collections=["u/t/eval"]) as butler:
        model = butler.get("realbogus_model")
        assert model.metadata.channels == ("template", "science") and model.metadata.version == "tnodia"
        triplets = butler.query_datasets("realbogus_triplets", collections="u/t/triplets", limit=None)
        assert len(triplets) == 4  # 2 detectors x 2 visits of tract 3080
        metrics = butler.get("realbogus_metrics")
        assert metrics["model"]["version"] == "tnodia"
        n_dia = sum(
            len(butler.get("dia_source_unstandardized", ref.dataId))
            for ref in butler.query_datasets("dia_source_realbogus", limit=None)
        )
        assert metrics["overall"]["count"] + metrics["unscored"] == n_dia
        assert {"snr>5", "snr>6", "by_snr", "by_kind", "calibration"} <= set(metrics)
        assert 0 <= metrics["overall"]["auc"] <= 1
        # Plots are write-only datasets (PNG); check they were stored.
        assert butler.query_datasets("realbogus_saliency_plot", collections="u/t/eval")
    assert {"metrics.json", "roc.png", "pr.png", "det.png", "calibration.png", "saliency.png"} <= {
        p.name for p in out.iterdir()
    }
