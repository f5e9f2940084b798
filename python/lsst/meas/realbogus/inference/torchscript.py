"""The TorchScript backend: model files written by ``torch.jit.save`` with their metadata inside.

A model file is a TorchScript archive whose module maps a float32 batch of
stamps ``(N, C, H, W)`` to one logit (or probability) per stamp, with a JSON
metadata record stored in the archive as the extra file ``meas_realbogus.json``
(`~lsst.meas.realbogus.inference.metadata.ModelMetadata`).

torch is imported lazily: importing this module does not import it.
"""

from __future__ import annotations

__all__ = ("TorchScriptBackend", "ensemble_member", "save_torchscript")

import dataclasses
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


def ensemble_member(
    module: Any, metadata: ModelMetadata, index: int, version: str | None = None
) -> tuple[Any, ModelMetadata]:
    """One network of an ensemble model, as a model of its own.

    Parameters
    ----------
    module : `torch.nn.Module` or `torch.jit.ScriptModule`
        An `~lsst.meas.realbogus.cnn.ensemble.Ensemble`, scripted or not
        (the module of a model file with ``metadata.members`` > 1).
    metadata : `~lsst.meas.realbogus.inference.metadata.ModelMetadata`
        Its metadata.
    index : `int`
        The member, from 0.
    version : `str`, optional
        Version of the new model (at most 7 characters); default: the
        ensemble's with ``m`` and the member's number from 1 appended, if
        that fits.

    Returns
    -------
    member : `torch.nn.Module` or `torch.jit.ScriptModule`
        The network.
    metadata : `~lsst.meas.realbogus.inference.metadata.ModelMetadata`
        The ensemble's metadata with ``members`` 1, the new version and a
        note in the provenance; the calibration (temperature and offset,
        fitted on the ensemble's mean logit) and the PSF limits are kept.

    Raises
    ------
    ModelError
        If the model is not an ensemble, has no member ``index``, or the
        default version would be longer than 7 characters.
    """
    members = getattr(module, "members", None)
    children = dict(members.named_children()) if members is not None else {}
    if metadata.members < 2 or not children:
        raise ModelError(f"model {metadata.version} is not an ensemble (members={metadata.members})")
    if str(index) not in children:  # also a negative index
        raise ModelError(f"model {metadata.version} has members 0 to {len(children) - 1}, not {index}")
    version = version or f"{metadata.version}m{index + 1}"
    if len(version) > 7:
        raise ModelError(f"{version!r} is longer than a model version may be (7 characters): give a version")
    new = dataclasses.replace(
        metadata,
        version=version,
        members=1,
        provenance=f"member {index + 1} of {metadata.members} of {metadata.version}, with its "
        f"calibration; {metadata.provenance}",
    )
    return children[str(index)], new
