"""Exposure quality end to end with pipetask: TrainExposureQuality on tract 3080 of a small repository
with quality problems, then ExposureQuality on tract 4024 with the models from the butler."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.daf.butler import Butler
from lsst.meas.realbogus.simulation.config import PRESETS, SimulationConfig
from lsst.meas.realbogus.simulation.repo import build_repo

SMALL = [
    "-c", "trainExposureQuality:desom1Rows=4", "-c", "trainExposureQuality:desom1Cols=4",
    "-c", "trainExposureQuality:desom1LatentSize=16", "-c", "trainExposureQuality:desom2Rows=3",
    "-c", "trainExposureQuality:desom2Cols=3", "-c", "trainExposureQuality:desom1AutoencoderEpochs=1",
    "-c", "trainExposureQuality:desom1CombinedEpochs=1",
    "-c", "trainExposureQuality:desom2AutoencoderEpochs=5",
    "-c", "trainExposureQuality:desom2CombinedEpochs=5", "-c", "trainExposureQuality:minSources=5",
    "-c", "trainExposureQuality:modelVersion=qpipe",
]  # fmt: skip


@pytest.fixture(scope="module")
def quality_repo(tmp_path_factory):
    config = SimulationConfig()
    PRESETS["tiny"][0](config)
    config.detectorSize = 384
    config.visitsPerField = 4
    config.starDensity, config.galaxyDensity = 100000.0, 240000.0
    config.qualityRates = {"tracking": 0.25, "focus": 0.25, "background": 0.25}
    path = tmp_path_factory.mktemp("repos") / "quality"
    build_repo(path, config, 11, processes=2)
    return path


@pytest.mark.slow
def test_train_then_label_every_detector_visit(quality_repo, tmp_path, pipetask):
    repo = quality_repo
    pipetask(
        repo, "TrainExposureQuality.yaml", "RBSimCam/sim", "u/q/train",
        "-d", "skymap='DC2_sim' AND tract=3080",
        *SMALL, "-c", f"trainExposureQuality:outputDir={tmp_path}",
    )  # fmt: skip
    assert {"desom1Map.png", "labelMap.png"} <= {p.name for p in tmp_path.iterdir()}
    test = ("-d", "skymap='DC2_sim' AND tract=4024")
    pipetask(
        repo, "ExposureQuality.yaml", "u/q/train,RBSimCam/sim", "u/q/eval", *test,
        "-c", "parameters:qualitySource=butler", "-c", "parameters:doEvaluate=True",
        "-c", "exposureQuality:minSources=5",
    )  # fmt: skip
    with Butler.from_config(str(repo), collections=["u/q/eval"]) as butler:
        images = butler.query_datasets(
            "preliminary_visit_image",
            collections="RBSimCam/sim",
            where="tract=4024",
            skymap="DC2_sim",
            limit=None,
        )
        rows = butler.query_datasets("exposure_quality", limit=None)
        assert {r.dataId["visit"] for r in rows} == {r.dataId["visit"] for r in images}
        assert len(rows) == len(images) == 8  # 4 visits x 2 detectors
        summary = butler.get("exposure_quality_summary")
        metrics = butler.get("exposure_quality_metrics")
        assert len(summary) == metrics["n"] == 8
        labels = butler.get("realbogus_quality_cell_labels")
        for ref in rows:
            row = butler.get(ref)
            assert row["desom2Version"][0] == "qpipeb"
            assert row["cellLabel"][0] == (labels["labels"][row["cell"][0]] if row["cell"][0] >= 0 else "")
            # The background check, kept with the cell labels, overrides the cell's label.
            assert row["label"][0] == ("background" if row["flag_background"][0] else row["cellLabel"][0])
        truth = {
            ref.dataId["visit"]: butler.get(ref)["quality"][0]
            for ref in butler.query_datasets(
                "realbogus_sim_visit_quality", collections="RBSimCam/sim", limit=None
            )
        }
        assert list(summary["known"]) == [truth[v] for v in summary["visit"]]
        assert np.array(metrics["confusion"]["matrix"]).sum() == 8
        assert butler.query_datasets("realbogus_exposure_quality_members_plot")
    # Models that do not go together: pipetask fails before any quantum, naming the file.
    bad = pipetask(
        repo, "ExposureQuality.yaml", "RBSimCam/sim", "u/q/bad", *test,
        "-c", f"parameters:desom1File={tmp_path / 'missing.pt'}", ok=False,
    )  # fmt: skip
    assert "missing.pt does not exist" in bad.stderr
