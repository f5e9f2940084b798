"""The ONNX backend: exported model files score as their TorchScript originals, in RealBogusTask too."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus import RealBogusConfig, RealBogusTask
from lsst.meas.realbogus.evaluateRealBogusTask import EvaluateRealBogusConfig
from lsst.meas.realbogus.inference import ModelError, default_model_path, load_model
from lsst.meas.realbogus.scripts.export_onnx import export_onnx, main
from lsst.pex.config import FieldValidationError


def test_export_scores_as_torchscript(tmp_path):
    difference = export_onnx(default_model_path(), str(tmp_path / "m.onnx"))
    assert difference <= 1e-5
    onnx_model, ts_model = load_model(tmp_path / "m.onnx", backend="onnx"), load_model(default_model_path())
    assert onnx_model.metadata == ts_model.metadata and onnx_model.backend.name == "onnx"
    stamps = np.random.default_rng(1).normal(0, 5, (70, *ts_model.metadata.input.shape)).astype(np.float32)
    np.testing.assert_allclose(onnx_model.predict(stamps, 16), ts_model.predict(stamps), atol=1e-5, rtol=0)
    with pytest.raises(ModelError, match="a onnx model has no torch module"):
        _ = onnx_model.module


def test_shipped_onnx_copy_matches_the_default_model():
    onnx_model = load_model(default_model_path("onnx"), backend="onnx")
    ts_model = load_model(default_model_path())
    assert onnx_model.metadata == ts_model.metadata
    stamps = np.random.default_rng(2).normal(0, 5, (40, *ts_model.metadata.input.shape)).astype(np.float32)
    np.testing.assert_allclose(onnx_model.predict(stamps), ts_model.predict(stamps), atol=1e-5, rtol=0)


def test_bad_onnx_files(tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"junk" * 10)
    with pytest.raises(ModelError, match="junk.onnx is not a readable ONNX model"):
        load_model(tmp_path / "junk.onnx", backend="onnx")
    with pytest.raises(ModelError, match="rb_default.pt is not a readable ONNX model"):
        load_model(default_model_path(), backend="onnx")
    assert main([default_model_path(), str(tmp_path / "x.onnx")]) == 0
    assert main([str(tmp_path / "none.pt"), str(tmp_path / "y.onnx")]) == 1


def test_task_with_the_onnx_backend(detector_inputs, shipped_model_version):
    torchscript = RealBogusConfig()
    torchscript.backend = "torchscript"
    ts_scores = RealBogusTask(config=torchscript).run(**detector_inputs).scores
    config = RealBogusConfig()
    assert config.resolved_backend() == "onnx" and config.resolved_model_file().endswith("rb_default.onnx")
    onnx_scores = RealBogusTask(config=config).run(**detector_inputs).scores
    assert len(onnx_scores) == len(ts_scores) and set(onnx_scores["modelVersion"]) == {shipped_model_version}
    np.testing.assert_allclose(onnx_scores["score"], ts_scores["score"], atol=1e-5, rtol=0)
    config.backend = "onnx"
    config.modelSource = "butler"
    with pytest.raises(FieldValidationError, match="models in the butler are TorchScript"):
        config.validate()
    evaluate = EvaluateRealBogusConfig()
    evaluate.backend = "onnx"
    with pytest.raises(FieldValidationError, match="saliency maps need the model's gradients"):
        evaluate.validate()
    evaluate.saliencyCount = 0
    evaluate.modelSource = "file"
    evaluate.validate()


def test_auto_backend_follows_the_file():
    config = RealBogusConfig()
    config.modelFile = "/some/model.pt"
    assert config.resolved_backend() == "torchscript"
    config.modelFile = "/some/model.onnx"
    assert config.resolved_backend() == "onnx"
    config.device = "cuda"
    assert config.resolved_backend() == "torchscript"  # onnxruntime from PyPI is CPU-only
    config.device, config.modelSource = "cpu", "butler"
    assert config.resolved_backend() == "torchscript"
    assert EvaluateRealBogusConfig().resolved_backend() == "torchscript"  # saliency needs gradients


def test_scoring_on_cpu_does_not_import_torch(tiny_repo):
    """The ONNX backend on CPU scores a detector without torch (1.5 s and 0.45 GB saved per process)."""
    import subprocess
    import sys

    repo, _ = tiny_repo
    script = f"""
import sys
from lsst.daf.butler import Butler
from lsst.meas.realbogus.realBogusTask import RealBogusTask
butler = Butler.from_config({str(repo)!r}, collections=["RBSimCam/sim"])
ref = butler.query_datasets("difference_image", limit=1)[0]
inputs = {{name: butler.get(dataset, ref.dataId) for name, dataset in (
    ("diaSources", "dia_source_unstandardized"), ("science", "preliminary_visit_image"),
    ("template", "template_detector"), ("difference", "difference_image"))}}
task = RealBogusTask()
assert task.model.backend.name == "onnx", task.model.backend.name
scores = task.run(**inputs).scores
assert len(scores) == len(inputs["diaSources"])
print("torch" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"
