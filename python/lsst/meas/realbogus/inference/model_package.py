"""Rubin's real/bogus model packages, read and converted to this package's model files.

Rubin keeps its real/bogus models (meas_transiNet) as *model packages*: a zip
file or a directory with three members,

- ``architecture``: Python source defining one ``torch.nn.Module`` class;
- ``checkpoint``: a torch ``state_dict`` (possibly under the key
  ``model_state_dict``), often saved on a GPU;
- ``metadata``: YAML with ``input_shape`` (``[height, width, channels]``),
  ``input_scale_factor`` (one number per channel, multiplying the input) and
  free-text ``version`` and ``description``.

`convert_model_package` builds the network and writes it as a TorchScript
file with `~lsst.meas.realbogus.inference.metadata.ModelMetadata` inside, so
`RealBogusTask` and everything else here run it like their own models, with
no foreign code at run time.

Building the network **executes the package's architecture source**: only
convert packages you trust.  That happens only in `build_network` (and so in
`convert_model_package` and the ``convert_rubin_model_package.py`` command);
checkpoints are read with ``weights_only=True``.  Importing this module does
not import torch.
"""

from __future__ import annotations

__all__ = (
    "PACKAGE_MEMBERS",
    "ModelPackage",
    "build_network",
    "convert_model_package",
    "read_model_package",
)

import inspect
import io
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import yaml

from .metadata import ModelError, ModelMetadata

PACKAGE_MEMBERS = ("architecture", "checkpoint", "metadata")
"""The members of a model package."""

RUBIN_CHANNELS = ("difference", "science", "template")
"""Channel order of Rubin's production package (``rubin_tac_cnn`` v0.3); packages do not record it."""


@dataclass
class ModelPackage:
    """The members of a model package, read but not executed.

    Attributes
    ----------
    path : `str`
        The zip file or directory.
    architecture : `str`
        Python source of the network.
    checkpoint : `bytes`
        The serialized ``state_dict``.
    metadata : `dict`
        The parsed metadata.
    """

    path: str
    architecture: str
    checkpoint: bytes
    metadata: dict = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)`` of the network's input."""
        height, width, channels = (int(v) for v in self.metadata["input_shape"])
        return channels, height, width

    @property
    def scale(self) -> np.ndarray:
        """Per-channel factors that multiply the input (ones if the metadata has none)."""
        channels = self.input_shape[0]
        scale = np.asarray(self.metadata.get("input_scale_factor", [1.0] * channels), dtype=np.float32)
        return scale


def _member_names(path: str) -> dict[str, str]:
    """Map each member to its name inside a zip (members may sit in one top-level folder)."""
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
    found = {}
    for member in PACKAGE_MEMBERS:
        matches = [n for n in names if os.path.basename(n) == member]
        if len(matches) == 1:
            found[member] = matches[0]
        elif len(matches) > 1:
            raise ModelError(f"{path}: more than one '{member}' member: {matches}")
    return found


def read_model_package(path: str | os.PathLike) -> ModelPackage:
    """Read a model package (a zip file or a directory) without running any of it.

    Raises
    ------
    ModelError
        If the package does not exist, lacks a member, or its metadata is
        not YAML with a valid ``input_shape`` and ``input_scale_factor``;
        the message names the file and the member.
    """
    path = os.fspath(path)
    contents: dict[str, bytes] = {}
    if os.path.isdir(path):
        for member in PACKAGE_MEMBERS:
            member_path = os.path.join(path, member)
            if os.path.isfile(member_path):
                with open(member_path, "rb") as stream:
                    contents[member] = stream.read()
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member, name in _member_names(path).items():
                contents[member] = archive.read(name)
    elif os.path.exists(path):
        raise ModelError(f"{path} is neither a zip file nor a directory: not a model package")
    else:
        raise ModelError(f"model package {path} does not exist")
    missing = [m for m in PACKAGE_MEMBERS if m not in contents]
    if missing:
        raise ModelError(f"{path}: the model package has no {', '.join(repr(m) for m in missing)} member")
    try:
        metadata = yaml.safe_load(contents["metadata"].decode())
    except (UnicodeDecodeError, yaml.YAMLError) as err:
        raise ModelError(f"{path}: member 'metadata' is not YAML: {err}") from None
    if not isinstance(metadata, dict):
        raise ModelError(f"{path}: member 'metadata' is not a YAML mapping")
    package = ModelPackage(path, contents["architecture"].decode(), contents["checkpoint"], metadata)
    try:
        channels, height, width = package.input_shape
        if min(channels, height, width) < 1:
            raise ValueError("sizes must be positive")
    except (KeyError, TypeError, ValueError) as err:
        raise ModelError(
            f"{path}: member 'metadata' needs input_shape: [height, width, channels], got "
            f"{metadata.get('input_shape')!r} ({err})"
        ) from None
    if package.scale.shape != (channels,):
        raise ModelError(
            f"{path}: member 'metadata': input_scale_factor needs {channels} values, got "
            f"{metadata.get('input_scale_factor')!r}"
        )
    return package


def build_network(package: ModelPackage) -> Any:
    """Execute the package's architecture and load its checkpoint (CPU, evaluation mode).

    This runs the package's Python source: only do it for packages you
    trust.  The source must define exactly one ``torch.nn.Module`` subclass
    (or name one in ``__all__``); it is built with
    ``input_shape=(channels, height, width)`` if its constructor takes that
    argument, else with no arguments.

    Raises
    ------
    ModelError
        If the source does not run or define one network, the network cannot
        be built, or the checkpoint does not load into it; the message names
        the file and the member.
    """
    import torch

    path = package.path
    namespace: dict[str, Any] = {"__name__": "rubin_model_package_architecture"}
    try:
        exec(compile(package.architecture, f"{path}:architecture", "exec"), namespace)
    except Exception as err:
        raise ModelError(f"{path}: member 'architecture' does not run: {type(err).__name__}: {err}") from None
    classes = [
        value
        for name, value in namespace.items()
        if inspect.isclass(value)
        and issubclass(value, torch.nn.Module)
        and value.__module__ == namespace["__name__"]
        and name in namespace.get("__all__", [name])
    ]
    if len(classes) != 1:
        raise ModelError(
            f"{path}: member 'architecture' must define one torch.nn.Module, found "
            f"{[c.__name__ for c in classes]}"
        )
    cls = classes[0]
    try:
        takes_shape = "input_shape" in inspect.signature(cls).parameters
        network = cls(input_shape=package.input_shape) if takes_shape else cls()
    except Exception as err:
        raise ModelError(
            f"{path}: member 'architecture': {cls.__name__} cannot be built: {type(err).__name__}: {err}"
        ) from None
    try:
        state = torch.load(io.BytesIO(package.checkpoint), map_location="cpu", weights_only=True)
    except Exception as err:
        raise ModelError(f"{path}: member 'checkpoint' is not a readable torch state_dict: {err}") from None
    if isinstance(state, dict) and "model_state_dict" in state:
        state = state["model_state_dict"]
    try:
        network.load_state_dict(state)
    except Exception as err:
        raise ModelError(
            f"{path}: member 'checkpoint' does not fit {cls.__name__}: {str(err).splitlines()[0]}"
        ) from None
    return network.eval()


def _scaled(network: Any, scale: np.ndarray) -> Any:
    """The network with its input multiplied by per-channel factors (itself when they are all 1)."""
    import torch

    if np.all(scale == 1):
        return network

    class Scaled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network
            self.register_buffer("scale", torch.from_numpy(scale).reshape(1, -1, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.network(x * self.scale)

    return Scaled().eval()


def convert_model_package(
    path: str | os.PathLike,
    output: str | os.PathLike,
    version: str,
    channels: tuple[str, ...] = RUBIN_CHANNELS,
    normalization: str = "none",
    model_output: str = "probability",
    threshold: float = 0.5,
    tolerance: float = 1e-6,
) -> tuple[ModelMetadata, float]:
    """Convert a model package into a TorchScript model file with its metadata inside.

    Runs the package's architecture source (see `build_network`).  The
    network is scripted (or, if its source cannot be scripted, traced), and
    the written file is read back and checked against the eager network on
    random stamps.

    Parameters
    ----------
    path : `str` or `os.PathLike`
        The package (zip file or directory).
    output : `str` or `os.PathLike`
        Model file to write.
    version : `str`
        Model version to record (1 to 7 characters).
    channels : `tuple` [`str`, ...]
        The order of the network's input channels (packages do not record
        it); Rubin's production package takes difference, science, template.
    normalization : `str`
        Normalization the network expects (Rubin's: ``none``, pixels in nJy).
    model_output : `str`
        ``probability`` if the network ends with a sigmoid (Rubin's does),
        else ``logit``.
    threshold : `float`
        Recommended threshold to record.
    tolerance : `float`
        Largest difference allowed between the file's and the eager
        network's scores.

    Returns
    -------
    metadata : `~lsst.meas.realbogus.inference.metadata.ModelMetadata`
        What was written.
    difference : `float`
        The largest score difference found in the check.

    Raises
    ------
    ModelError
        If the package is bad (see `read_model_package` and
        `build_network`), the channels do not match its input, or the
        converted model's scores differ from the eager network's.
    """
    import torch

    from .model import load_model
    from .torchscript import JIT_DEPRECATED, save_torchscript

    package = read_model_package(path)
    n_channels, height, width = package.input_shape
    if height != width:
        raise ModelError(f"{package.path}: square inputs only, the package takes {height}x{width}")
    if len(channels) != n_channels:
        raise ModelError(
            f"{package.path}: the package takes {n_channels} channels, {len(channels)} given: {channels}"
        )
    built = build_network(package)
    network = _scaled(built, package.scale)
    description = " ".join(str(package.metadata.get("description", "")).split())
    metadata = ModelMetadata(
        version=version,
        cutout_size=height,
        channels=tuple(channels),
        normalization=normalization,
        output=model_output,
        architecture=f"model package: {type(built).__name__}",
        threshold=threshold,
        provenance=(
            f"converted from the model package {os.path.basename(package.path)} "
            f"(version {package.metadata.get('version', '?')}{': ' + description if description else ''})"
        ),
    )
    example = torch.from_numpy(np.random.default_rng(0).normal(0, 100, (4, n_channels, height, width)))
    example = example.float()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=JIT_DEPRECATED, category=FutureWarning)
        try:
            module = torch.jit.script(network)
        except Exception:  # source that TorchScript cannot compile: record the computation instead
            module = torch.jit.trace(network, example, check_trace=False)
    save_torchscript(module, metadata, output)
    # Compare the file, as it will be used, with the eager network.
    rng = np.random.default_rng(1)
    stamps = np.concatenate(
        [
            rng.normal(0, 1, (32, n_channels, height, width)),
            rng.normal(0, 1000, (32, n_channels, height, width)),
        ]
    ).astype(np.float32)
    with torch.inference_mode():
        eager = network(torch.from_numpy(stamps)).reshape(len(stamps)).float()
        if model_output == "logit":
            eager = torch.sigmoid(eager)
    converted = load_model(output).predict(stamps)
    difference = float(np.max(np.abs(converted - eager.numpy())))
    if not difference <= tolerance:
        raise ModelError(
            f"{output}: the converted model's scores differ from the package's by up to {difference:.3g} "
            f"(tolerance {tolerance:g})"
        )
    return metadata, difference
