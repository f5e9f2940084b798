"""TorchScript real/bogus models that carry their own metadata.

A model file is a TorchScript archive (``torch.jit.save``) whose module maps a
float32 batch of cutouts ``(N, C, H, W)`` to one logit (or probability) per
cutout, with a JSON metadata record stored inside the archive as the extra file
``meas_realbogus.json`` (see `ModelMetadata`).  Loading validates the record,
so a model can never be fed cutouts of another size, channel order or
normalization than it was trained on.

torch is imported lazily: importing this module does not import it.
"""

from __future__ import annotations

__all__ = (
    "CHANNELS",
    "METADATA_FILE",
    "LoadedModel",
    "ModelError",
    "ModelMetadata",
    "load_model",
    "save_model",
)

import dataclasses
import json
import os
import threading
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .normalization import NORMALIZATIONS

METADATA_FILE = "meas_realbogus.json"
"""Name of the metadata record inside a model archive."""

CHANNELS = ("template", "science", "difference")
"""Cutout channels a model may ask for (in any order, each at most once)."""

METADATA_SCHEMA_VERSION = 1


class ModelError(RuntimeError):
    """A model file is missing, unreadable, or inconsistent with its use."""


@dataclass(frozen=True)
class ModelMetadata:
    """What a model needs to be used correctly, stored inside its file.

    Parameters
    ----------
    version : `str`
        Model version, at most 7 characters (Rubin's reliability filters read
        it into a 7-character field).
    cutout_size : `int`
        Width and height of the cutouts, pixels.
    channels : `tuple` [`str`, ...]
        Cutout channels in the order the model expects, from `CHANNELS`.
    normalization : `str`
        Name of the normalization (a key of
        `lsst.meas.realbogus.normalization.NORMALIZATIONS`).
    output : `str`
        ``"logit"`` (a sigmoid is applied) or ``"probability"``.
    architecture : `str`
        Name of the architecture.
    threshold : `float`
        Recommended decision threshold on the score.
    provenance : `str`
        Short description of how the model was trained (data, command).
    schema_version : `int`
        Version of this metadata layout.
    """

    version: str
    cutout_size: int
    channels: tuple[str, ...]
    normalization: str
    output: str = "logit"
    architecture: str = ""
    threshold: float = 0.5
    provenance: str = ""
    schema_version: int = METADATA_SCHEMA_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        problems = []
        if not isinstance(self.version, str) or not 0 < len(self.version) <= 7:
            problems.append(f"version must be a string of 1 to 7 characters, got {self.version!r}")
        if not isinstance(self.cutout_size, int) or self.cutout_size < 4:
            problems.append(f"cutout_size must be an integer >= 4, got {self.cutout_size!r}")
        if not self.channels or any(c not in CHANNELS for c in self.channels):
            problems.append(f"channels must be taken from {CHANNELS}, got {self.channels!r}")
        elif len(set(self.channels)) != len(self.channels):
            problems.append(f"channels must not repeat, got {self.channels!r}")
        if self.normalization not in NORMALIZATIONS:
            problems.append(
                f"normalization must be one of {sorted(NORMALIZATIONS)}, got {self.normalization!r}"
            )
        if self.output not in ("logit", "probability"):
            problems.append(f"output must be 'logit' or 'probability', got {self.output!r}")
        if not 0.0 <= self.threshold <= 1.0:
            problems.append(f"threshold must be in [0, 1], got {self.threshold!r}")
        if problems:
            raise ModelError("invalid model metadata: " + "; ".join(problems))

    def to_json(self) -> str:
        """Serialize to JSON."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelMetadata:
        """Parse and validate a JSON record."""
        try:
            record = json.loads(text)
        except ValueError as err:
            raise ModelError(f"model metadata is not valid JSON: {err}") from None
        if not isinstance(record, dict):
            raise ModelError("model metadata must be a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        missing = [
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.name not in record
        ]
        if missing:
            raise ModelError(f"model metadata lacks {missing}")
        unknown = sorted(set(record) - known)
        if unknown:
            raise ModelError(f"model metadata has unknown fields {unknown}")
        if record.get("schema_version", METADATA_SCHEMA_VERSION) > METADATA_SCHEMA_VERSION:
            raise ModelError(
                f"model metadata schema {record['schema_version']} is newer than this package "
                f"understands ({METADATA_SCHEMA_VERSION})"
            )
        return cls(**record)


def save_model(module: Any, metadata: ModelMetadata, path: str | os.PathLike) -> None:
    """Script (or keep) a module and write it with its metadata as a TorchScript file.

    Parameters
    ----------
    module : `torch.nn.Module` or `torch.jit.ScriptModule`
        The model, in evaluation mode; it must map ``(N, C, H, W)`` float32
        cutouts to ``(N,)`` or ``(N, 1)`` outputs.
    metadata : `ModelMetadata`
        Its metadata.
    path : `str` or `os.PathLike`
        Output file.
    """
    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit.*deprecated", category=FutureWarning)
        scripted = module if isinstance(module, torch.jit.ScriptModule) else torch.jit.script(module.eval())
        torch.jit.save(scripted, str(path), _extra_files={METADATA_FILE: metadata.to_json()})


class LoadedModel:
    """A loaded model with its metadata, ready to score cutouts.

    Parameters
    ----------
    path : `str`
        File it was loaded from.
    module : `torch.jit.ScriptModule`
        The TorchScript module (in evaluation mode, on ``device``).
    metadata : `ModelMetadata`
        Its metadata.
    device : `str`
        Torch device.
    """

    def __init__(self, path: str, module: Any, metadata: ModelMetadata, device: str) -> None:
        self.path = path
        self.module = module
        self.metadata = metadata
        self.device = device

    def check_compatible(
        self, cutout_size: int | None = None, channels: tuple[str, ...] | None = None
    ) -> None:
        """Raise `ModelError` if the model does not take the given cutout size or channels."""
        md = self.metadata
        if cutout_size is not None and cutout_size != md.cutout_size:
            raise ModelError(
                f"{self.path}: model takes {md.cutout_size}x{md.cutout_size} cutouts, "
                f"configuration asks for {cutout_size}x{cutout_size}"
            )
        if channels is not None and tuple(channels) != md.channels:
            raise ModelError(
                f"{self.path}: model takes channels {md.channels}, configuration gives {tuple(channels)}"
            )

    def predict(self, cutouts: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Scores in [0, 1] of normalized cutouts ``(N, C, H, W)``, as float32.

        Raises
        ------
        ModelError
            If the cutouts do not have the model's shape, or the model's
            output is not one value per cutout.
        """
        import torch

        md = self.metadata
        expected = (len(md.channels), md.cutout_size, md.cutout_size)
        if cutouts.ndim != 4 or tuple(cutouts.shape[1:]) != expected:
            raise ModelError(
                f"{self.path}: expected cutouts of shape (N, {', '.join(map(str, expected))}), "
                f"got {cutouts.shape}"
            )
        n = cutouts.shape[0]
        scores = np.empty(n, dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, n, batch_size):
                batch = torch.from_numpy(
                    np.ascontiguousarray(cutouts[start : start + batch_size], np.float32)
                )
                out = self.module(batch.to(self.device))
                if out.dim() == 2 and out.shape[1] == 1:
                    out = out[:, 0]
                if out.shape != (batch.shape[0],):
                    raise ModelError(
                        f"{self.path}: model returned shape {tuple(out.shape)} for a batch of "
                        f"{batch.shape[0]}; expected one value per cutout"
                    )
                if md.output == "logit":
                    out = torch.sigmoid(out)
                scores[start : start + batch.shape[0]] = out.float().cpu().numpy()
        return scores


_CACHE: dict[tuple, LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


def load_model(path: str | os.PathLike, device: str = "cpu") -> LoadedModel:
    """Load a model file, once per process (later calls return the cached model).

    The cache is keyed on the file's real path, size and modification time and
    on the device, so a replaced file is reloaded.

    Raises
    ------
    ModelError
        If the file does not exist, is not a TorchScript archive, has no or
        invalid metadata, or the device is not available.
    """
    path = os.path.realpath(os.fspath(path))
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise ModelError(f"model file {path} does not exist") from None
    key = (path, stat.st_size, stat.st_mtime_ns, device)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        import torch

        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ModelError(f"device {device!r} requested for {path}, but CUDA is not available")
        extra = {METADATA_FILE: ""}
        try:
            with warnings.catch_warnings():
                # TorchScript is deprecated in favour of torch.export, but it is what Rubin deploys.
                warnings.filterwarnings("ignore", message=r".*torch\.jit.*deprecated", category=FutureWarning)
                module = torch.jit.load(path, map_location=device, _extra_files=extra)
        except Exception as err:  # torch raises RuntimeError/ValueError variants for bad archives
            raise ModelError(f"{path} is not a readable TorchScript model: {err}") from None
        if not extra[METADATA_FILE]:
            raise ModelError(
                f"{path} has no {METADATA_FILE} metadata record; it was not saved by "
                "lsst.meas.realbogus.model.save_model"
            )
        try:
            metadata = ModelMetadata.from_json(extra[METADATA_FILE])
        except ModelError as err:
            raise ModelError(f"{path}: {err}") from None
        module.eval()
        model = LoadedModel(path, module, metadata, device)
        _CACHE[key] = model
        return model
