"""The ONNX backend (onnxruntime), and `save_onnx`, which exports a model file to ONNX.

An ONNX model file of this package is a standard ONNX model whose
``metadata_props`` hold the same JSON record as a TorchScript file's
(`~lsst.meas.realbogus.inference.metadata.ModelMetadata`, key
``meas_realbogus.json``), so it describes itself the same way.  onnxruntime
runs it on the CPU (or on CUDA with onnxruntime's GPU build).  Importing
this module does not import onnx or onnxruntime.
"""

from __future__ import annotations

__all__ = ("OnnxBackend", "save_onnx", "session_options")

import os
import warnings
from typing import Any

import numpy as np

from .backends import Backend, register_backend
from .devices import cpu_threads
from .metadata import METADATA_FILE, ModelError, ModelMetadata


def session_options() -> Any:
    """Session options of onnxruntime that share the CPU with torch and numpy.

    As many threads as the rest of the work (`lsst.meas.realbogus.inference.devices.cpu_threads`),
    and no spinning between runs: a spinning pool slows the numpy and torch work of the same
    process (measured: DESOM flagging added 47% to ``RealBogusTask.run()`` with spinning, 31% without).
    torch is not imported.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = cpu_threads()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


@register_backend
class OnnxBackend(Backend):
    """An onnxruntime inference session.

    Parameters
    ----------
    session : `onnxruntime.InferenceSession`
        The session.
    device : `str`
        ``cpu`` or ``cuda[:N]``.
    """

    name = "onnx"

    def __init__(self, session: Any, device: str) -> None:
        self.session = session
        self.device = device
        self._input = session.get_inputs()[0].name

    @classmethod
    def load(cls, path: str, device: str) -> tuple[OnnxBackend, str]:
        import onnxruntime

        if device == "cpu":
            providers: list[Any] = ["CPUExecutionProvider"]
        else:
            if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
                raise ModelError(f"{path}: onnxruntime here has no CUDA provider (device {device!r})")
            index = int(device.split(":")[1]) if ":" in device else 0
            providers = [("CUDAExecutionProvider", {"device_id": index})]
        try:
            session = onnxruntime.InferenceSession(path, session_options(), providers=providers)
        except Exception as err:  # onnxruntime raises its own error types for bad files
            raise ModelError(f"{path} is not a readable ONNX model: {str(err).splitlines()[0]}") from None
        record = session.get_modelmeta().custom_metadata_map.get(METADATA_FILE, "")
        return cls(session, device), record

    def outputs(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.session.run(None, {self._input: batch})[0], dtype=np.float32)


def save_onnx(module: Any, metadata: ModelMetadata, path: str | os.PathLike) -> None:
    """Export a torch module (or TorchScript module) to an ONNX file with its metadata.

    The batch dimension is dynamic; the stamps are ``metadata.input.shape``.

    Parameters
    ----------
    module : `torch.nn.Module` or `torch.jit.ScriptModule`
        The network, mapping ``(N, C, H, W)`` float32 stamps to ``(N,)`` or
        ``(N, 1)`` outputs.
    metadata : `~lsst.meas.realbogus.inference.metadata.ModelMetadata`
        Its metadata, stored in the file.
    path : `str` or `os.PathLike`
        Output file.
    """
    import onnx
    import torch

    example = torch.zeros((2, *metadata.input.shape), dtype=torch.float32)
    path = os.fspath(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notices
        torch.onnx.export(
            module.eval(),
            (example,),
            path,
            dynamo=False,
            input_names=["stamps"],
            output_names=["scores"],
            dynamic_axes={"stamps": {0: "n"}, "scores": {0: "n"}},
        )
    model = onnx.load(path)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_FILE, metadata.to_json()
    onnx.save(model, path)
