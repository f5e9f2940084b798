"""The training and evaluation pipelines end to end with pipetask: BuildTrainingSet, TrainRealBogus,
EvaluateRealBogus on the tiny repository (train on tract 3080, test on 4024)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from lsst.daf.butler import Butler


@pytest.mark.slow
def test_build_train_evaluate_pipelines(tiny_repo, tmp_path, pipetask):
    repo, _ = tiny_repo
    train = ("-d", "skymap='DC2_sim' AND tract=3080")
    test = ("-d", "skymap='DC2_sim' AND tract=4024")
    pipetask(repo, "BuildTrainingSet.yaml", "RBSimCam/sim", "u/t/triplets", *train)
    # A tract without triplets: pipetask stops before any training, saying the data query is empty.
    empty = pipetask(repo, "TrainRealBogus.yaml", "u/t/triplets", "u/t/none", *test, ok=False)
    assert "Initial data ID query returned no rows" in empty.stderr
    assert "QuantumGraph was empty" in empty.stderr
    model_file = tmp_path / "nodia.pt"
    members = tmp_path / "members"
    options = (
        "-c", "trainRealBogus:epochs=2", "-c", "trainRealBogus:channels=['template','science']",
        "-c", "trainRealBogus:modelVersion=tnodia", "-c", f"trainRealBogus:checkpointDir={members}",
    )  # fmt: skip
    pipetask(
        repo, "TrainRealBogus.yaml", "u/t/triplets", "u/t/model", *train, *options,
        "-c", f"trainRealBogus:outputFile={model_file}",
    )  # fmt: skip
    assert model_file.exists()
    assert [p.name for p in members.iterdir()] == ["member1.pt"]  # its per-epoch progress is removed
    # Trained again with the same settings and the same triplet datasets: the saved member is loaded
    # (its file is not written again) and the model's weights are the same.
    saved = (members / "member1.pt").stat().st_mtime_ns
    again = tmp_path / "again.pt"
    pipetask(
        repo, "TrainRealBogus.yaml", "u/t/triplets", "u/t/model_again", *train, *options,
        "-c", f"trainRealBogus:outputFile={again}",
    )  # fmt: skip
    assert (members / "member1.pt").stat().st_mtime_ns == saved
    # The triplets built again into another collection are other datasets of the same content: the
    # member is loaded again, not trained.
    pipetask(repo, "BuildTrainingSet.yaml", "RBSimCam/sim", "u/t/triplets_again", *train)
    rebuilt = tmp_path / "rebuilt.pt"
    pipetask(
        repo, "TrainRealBogus.yaml", "u/t/triplets_again", "u/t/model_rebuilt", *train, *options,
        "-c", f"trainRealBogus:outputFile={rebuilt}",
    )  # fmt: skip
    assert (members / "member1.pt").stat().st_mtime_ns == saved
    weights = [torch.jit.load(str(path)).state_dict() for path in (model_file, again, rebuilt)]
    assert all(torch.equal(weights[0][name], w[name]) for w in weights[1:] for name in weights[0])
    out = tmp_path / "eval"
    pipetask(
        repo, "EvaluateRealBogus.yaml", "u/t/model,RBSimCam/sim", "u/t/eval", *test,
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
    # Strict JSON (no NaN or Infinity) with the butler's figures.
    with open(out / "metrics.json") as stream:
        written = json.load(stream, parse_constant=lambda name: pytest.fail(f"metrics.json holds {name}"))
    assert written["overall"]["auc"] == pytest.approx(metrics["overall"]["auc"])


@pytest.mark.slow
def test_train_desom_and_flag_with_it(tiny_repo, tmp_path, pipetask):
    """TrainDesom.yaml on the training tract; RealBogus and EvaluateRealBogus flag the test tract with it."""
    repo, _ = tiny_repo
    train = ("-d", "skymap='DC2_sim' AND tract=3080")
    test = ("-d", "skymap='DC2_sim' AND tract=4024")
    pipetask(repo, "BuildTrainingSet.yaml", "RBSimCam/sim", "u/d/triplets", *train)
    small = [
        f"trainDesom:{k}={v}"
        for k, v in (
            ("mapRows", 3),
            ("mapCols", 4),
            ("latentSize", 8),
            ("autoencoderEpochs", 2),
            ("somEpochs", 5),
        )
    ]
    pipetask(
        repo, "TrainDesom.yaml", "u/d/triplets", "u/d/desom", *train, *[a for c in small for a in ("-c", c)],
        "-c", "trainDesom:modelVersion=dtest", "-c", f"trainDesom:labelsFile={tmp_path / 'labels.yaml'}",
    )  # fmt: skip
    out = tmp_path / "eval"
    pipetask(
        repo, "EvaluateRealBogus.yaml", "u/d/desom,RBSimCam/sim", "u/d/eval", *test,
        "-c", "parameters:modelSource=file", "-c", "parameters:doDesom=True",
        "-c", "parameters:desomSource=butler", "-c", f"evaluateRealBogus:outputDir={out}",
        "-c", "evaluateRealBogus:saliencyCount=0",
    )  # fmt: skip
    with Butler.from_config(str(repo), collections=["u/d/eval"]) as butler:
        desom = butler.get("realbogus_desom")
        assert desom.metadata.version == "dtest" and desom.metadata.map_shape == (3, 4)
        labels = butler.get("realbogus_desom_labels")
        assert labels["model_version"] == "dtest" and labels["map_shape"] == [3, 4]
        history = butler.get("realbogus_desom_history")
        assert history["count"] > 50 and 0 <= history["topographic_error"] <= 1
        held_out = history["labelling"]["held_out"]
        assert held_out["fraction"] == 0.15 and 0 <= held_out["fpr"] <= 1 and 0 <= held_out["mdr"] <= 1
        assert butler.query_datasets("realbogus_desom_map_plot", collections="u/d/desom")
        metrics = butler.get("realbogus_metrics")
        assert set(metrics["desom"]) >= {"prototypes", "unusual"}
        assert len(metrics["by_prototype"]["count"]) == 12
        assert sum(metrics["by_prototype"]["count"]) == metrics["overall"]["count"]
        for ref in butler.query_datasets("dia_source_realbogus", limit=None):
            scores = butler.get(ref)
            assert set(scores["desomVersion"]) == {"dtest"}
            assert np.all((scores["desomPv"] >= 0) & (scores["desomPv"] < 12))
    assert (tmp_path / "labels.yaml").exists() and (out / "prototype.png").exists()


@pytest.mark.parametrize(
    "name, labels",
    [
        ("RealBogus.yaml", {"realBogus"}),
        ("RealBogusFilter.yaml", {"realBogus", "filterByRealBogus"}),
        ("BuildTrainingSet.yaml", {"labelDetections", "buildTrainingSet"}),
        ("TrainDesom.yaml", {"trainDesom"}),
        ("TrainExposureQuality.yaml", {"trainExposureQuality"}),
        ("ExposureQuality.yaml", {"exposureQuality", "summarizeExposureQuality"}),
    ],
)
def test_pipelines_are_package_resources(name, labels, monkeypatch):
    """The pipelines load from the installed package, imports included, without $MEAS_REALBOGUS_DIR."""
    from lsst.pipe.base import Pipeline

    monkeypatch.delenv("MEAS_REALBOGUS_DIR", raising=False)
    pipeline = Pipeline.from_uri(f"resource://lsst.meas.realbogus/pipelines/{name}")
    assert set(pipeline.task_labels) == labels
