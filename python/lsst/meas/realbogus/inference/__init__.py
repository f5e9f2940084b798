"""Inference: model files that describe themselves, loaded once per process, behind one backend
interface.

- `~lsst.meas.realbogus.inference.metadata`: `ModelMetadata`, the record inside every model
  file (version, input channels, size, normalization, output), and `ModelError`.
- `~lsst.meas.realbogus.inference.backends`: the `Backend` interface and its registry.
- `~lsst.meas.realbogus.inference.torchscript`: the TorchScript backend and `save_torchscript`.
- `~lsst.meas.realbogus.inference.onnx_backend`: the ONNX backend (onnxruntime) and `save_onnx`.
- `~lsst.meas.realbogus.inference.model`: `load_model` (cached) and `LoadedModel.predict`.
- `~lsst.meas.realbogus.inference.devices`: device checks and torch's thread count.
- `~lsst.meas.realbogus.inference.model_package`: Rubin's model packages, converted to model
  files (imported on its own: it executes a package's source when asked to).

Importing this package does not import torch, onnx or onnxruntime.
"""

from .backends import *  # noqa: F401, F403
from .devices import *  # noqa: F401, F403
from .metadata import *  # noqa: F401, F403
from .model import *  # noqa: F401, F403
from .onnx_backend import *  # noqa: F401, F403
from .torchscript import *  # noqa: F401, F403
