"""The TorchScript backend: model files written by ``torch.jit.save`` with their metadata inside.

A model file is a TorchScript archive whose module maps a float32 batch of
stamps ``(N, C, H, W)`` to one logit (or probability) per stamp, with a JSON
metadata record stored in the archive as the extra file ``meas_realbogus.json``
(`~lsst.meas.realbogus.inference.metadata.ModelMetadata`).

torch is imported lazily: importing this module does not import it.
"""

from __future__ import annotations

__all__ = ("TorchScriptBackend", "save_torchscript")

import os
import warnings
from typing import Any

import numpy as np

from .backends import Backend, register_backend
from .metadata import METADATA_FILE, ModelError, ModelMetadata

# Message of the warning that TorchScript is deprecated (in favour of torch.export); Rubin deploys it.
JIT_DEPRECATED = r".*torch\.jit.*deprecated"


@register_backend
class TorchScriptBackend(Backend):
    """A TorchScript module on a device.

    Parameters
    ----------
    module : `torch.jit.ScriptModule`
        The module, in evaluation mode, on ``device``.
    device : `str`
        Torch device.
    """

    name = "torchscript"

    def __init__(self, module: Any, device: str) -> None:
        self.module = module
        self.device = device

    @classmethod
    def load(cls, path: str, device: str) -> tuple[TorchScriptBackend, str]:
        import torch

        extra = {METADATA_FILE: ""}
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=JIT_DEPRECATED, category=FutureWarning)
                module = torch.jit.load(path, map_location=device, _extra_files=extra)
        except Exception as err:  # torch raises RuntimeError/ValueError variants for bad archives
            raise ModelError(f"{path} is not a readable TorchScript model: {err}") from None
        module.eval()
        record = extra[METADATA_FILE]
        return cls(module, device), record.decode() if isinstance(record, bytes) else record

    def outputs(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.module(torch.from_numpy(batch).to(self.device)).float().cpu().numpy()


def save_torchscript(module: Any, metadata: ModelMetadata, path: str | os.PathLike) -> None:
    """Script (or keep) a module and write it with its metadata as a TorchScript file.

    Parameters
    ----------
    module : `torch.nn.Module` or `torch.jit.ScriptModule`
        The model, in evaluation mode; it must map ``(N, C, H, W)`` float32
        stamps to ``(N,)`` or ``(N, 1)`` outputs.
    metadata : `~lsst.meas.realbogus.inference.metadata.ModelMetadata`
        Its metadata.
    path : `str` or `os.PathLike`
        Output file.
    """
    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=JIT_DEPRECATED, category=FutureWarning)
        scripted = module if isinstance(module, torch.jit.ScriptModule) else torch.jit.script(module.eval())
        torch.jit.save(scripted, str(path), _extra_files={METADATA_FILE: metadata.to_json()})
