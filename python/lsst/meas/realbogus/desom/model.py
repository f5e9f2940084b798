"""DESOM model files: the metadata inside them, and loading them once per process.

A DESOM file is a TorchScript archive of a
`~lsst.meas.realbogus.desom.network.DesomNetwork` (its ``forward`` encodes
thumbnails to latent vectors, ``decode`` decodes them, and the buffer
``prototypes`` holds the map) with a JSON record ``meas_realbogus_desom.json``
(`DesomMetadata`) inside; `~lsst.meas.realbogus.desom.network.save_desom`
writes one.  `load_desom` validates the record against the network when the
file is loaded (a thumbnail or latent size that disagrees is an error naming
the file).  Importing this module does not import torch.
"""

from __future__ import annotations

__all__ = (
    "DEFAULT_DESOM",
    "DEFAULT_DESOM_LABELS",
    "DESOM_METADATA_FILE",
    "DesomMetadata",
    "LoadedDesom",
    "check_network",
    "default_desom_paths",
    "load_desom",
)

import dataclasses
import json
import os
import warnings
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from ..inference.cache import load_once
from ..inference.devices import check_device
from ..inference.metadata import ModelError, record_from_json
from ..inference.torchscript import JIT_DEPRECATED
from ..stamps.batch import CHANNELS, ModelInput
from ..stamps.normalization import NORMALIZATIONS

DESOM_METADATA_FILE = "meas_realbogus_desom.json"
"""Name of the metadata record inside a DESOM file."""

DESOM_SCHEMA_VERSION = 1

DEFAULT_DESOM = "desom_default.pt"
"""File name of the DESOM shipped in the package (``lsst/meas/realbogus/models/``)."""

DEFAULT_DESOM_LABELS = "desom_default_labels.yaml"
"""File name of its prototype labelling."""


def default_desom_paths() -> tuple[str, str]:
    """Paths of the DESOM shipped in the package and of its prototype labelling."""
    models = resources.files("lsst.meas.realbogus") / "models"
    return str(models / DEFAULT_DESOM), str(models / DEFAULT_DESOM_LABELS)


@dataclass(frozen=True)
class DesomMetadata:
    """What a DESOM needs to be used correctly, stored inside its file.

    Parameters
    ----------
    version : `str`
        Version, 1 to 7 characters (written in every score row).
    thumbnail_size : `int`
        Thumbnail width and height, pixels.
    channels : `tuple` [`str`, ...]
        Thumbnail channels, in order (the seed's: the difference alone).
    normalization : `str`
        Thumbnail normalization (the seed's: ``mong_eq9``).
    latent_size : `int`
        Length of the latent and prototype vectors.
    map_rows, map_cols : `int`
        Map shape.
    architecture : `str`
        Name of the autoencoder.
    training_mode : `str`
        ``separate`` or ``combined``.
    distance_percentiles : `dict` [`str`, `float`]
        Percentiles (keys such as ``"99"``) of the distances of the training
        thumbnails to their prototypes: what "unusual" is measured against.
    provenance : `str`
        How it was trained.
    inputs : `str`
        ``thumbnails`` (a DESOM of thumbnails ``(C, S, S)``: DESOM-1) or
        ``histograms`` (a DESOM of another DESOM's prototype histograms:
        seed 002's DESOM-2, whose input is a vector of ``thumbnail_size``
        cells; ``channels`` is then empty and ``normalization`` ``none``).
    histogram_of : `str`
        For ``histograms``: the version of the DESOM whose map the
        histograms are over.
    histogram_scale : `list` [`float`]
        For ``histograms``: each cell's scale (its largest value over the
        training exposures); a histogram is divided by it before encoding.
    histogram_normalization : `str`
        For ``histograms``: ``counts`` or ``fractions``, applied before the
        scale (`lsst.meas.realbogus.quality.histograms.desom2_input`).
    schema_version : `int`
        Version of this layout.

    Raises
    ------
    lsst.meas.realbogus.inference.ModelError
        If a field is invalid (the message lists every problem).
    """

    version: str
    thumbnail_size: int
    channels: tuple[str, ...]
    normalization: str
    latent_size: int
    map_rows: int
    map_cols: int
    architecture: str = "table1"
    training_mode: str = "separate"
    distance_percentiles: dict[str, float] = field(default_factory=dict)
    provenance: str = ""
    inputs: str = "thumbnails"
    histogram_of: str = ""
    histogram_scale: list[float] = field(default_factory=list)
    histogram_normalization: str = "counts"
    schema_version: int = DESOM_SCHEMA_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "distance_percentiles", dict(self.distance_percentiles))
        object.__setattr__(self, "histogram_scale", [float(v) for v in self.histogram_scale])
        problems = []
        if not isinstance(self.version, str) or not 0 < len(self.version) <= 7:
            problems.append(f"version must be a string of 1 to 7 characters, got {self.version!r}")
        for name in ("thumbnail_size", "latent_size", "map_rows", "map_cols"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                problems.append(f"{name} must be a positive integer, got {value!r}")
        if self.inputs == "histograms":
            if self.channels or self.normalization != "none":
                problems.append("a DESOM of histograms has no channels and normalization 'none'")
            if not self.histogram_of:
                problems.append("a DESOM of histograms must name the DESOM they are of (histogram_of)")
            if self.histogram_normalization not in ("counts", "fractions"):
                problems.append(
                    "histogram_normalization must be 'counts' or 'fractions', got "
                    f"{self.histogram_normalization!r}"
                )
            if len(self.histogram_scale) != self.thumbnail_size:
                problems.append(
                    f"histogram_scale must hold {self.thumbnail_size} values, got {len(self.histogram_scale)}"
                )
        elif self.inputs != "thumbnails":
            problems.append(f"inputs must be 'thumbnails' or 'histograms', got {self.inputs!r}")
        elif not self.channels or any(c not in CHANNELS for c in self.channels):
            problems.append(f"channels must be taken from {CHANNELS}, got {self.channels!r}")
        if self.normalization not in NORMALIZATIONS:
            problems.append(
                f"normalization must be one of {sorted(NORMALIZATIONS)}, got {self.normalization!r}"
            )
        if self.training_mode not in ("separate", "combined"):
            problems.append(f"training_mode must be 'separate' or 'combined', got {self.training_mode!r}")
        if problems:
            raise ModelError("invalid DESOM metadata: " + "; ".join(problems))

    @property
    def input(self) -> ModelInput:
        """The thumbnails' channels, size and normalization: how to make a DESOM batch.

        Raises
        ------
        lsst.meas.realbogus.inference.ModelError
            For a DESOM of histograms.
        """
        if self.inputs == "histograms":
            raise ModelError(f"DESOM {self.version} takes histograms, not thumbnails")
        return ModelInput(self.channels, self.thumbnail_size, self.normalization)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input: ``(C, S, S)`` thumbnails or ``(K,)`` histograms."""
        if self.inputs == "histograms":
            return (self.thumbnail_size,)
        return (len(self.channels), self.thumbnail_size, self.thumbnail_size)

    @property
    def map_shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of the map."""
        return (self.map_rows, self.map_cols)

    def unusual_distance(self, percentile: float) -> float:
        """The training-set distance percentile ``percentile`` (one recorded in the file).

        Raises
        ------
        lsst.meas.realbogus.inference.ModelError
            If the file does not record that percentile.
        """
        key = f"{percentile:g}"
        if key not in self.distance_percentiles:
            raise ModelError(
                f"DESOM {self.version} records the distance percentiles {sorted(self.distance_percentiles)}, "
                f"not {key}"
            )
        return float(self.distance_percentiles[key])

    def to_json(self) -> str:
        """Serialize to JSON."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> DesomMetadata:
        """Parse and validate a JSON record (`~lsst.meas.realbogus.inference.ModelError` if bad)."""
        return cls(**record_from_json(cls, text, DESOM_SCHEMA_VERSION))


def check_network(network: Any, md: DesomMetadata, path: str) -> None:
    """Raise `ModelError` (naming ``path``) if the network's shapes disagree with the metadata."""
    import torch

    shape = md.input_shape
    what = "x".join(str(n) for n in shape) + (" histograms" if md.inputs == "histograms" else " thumbnails")
    device = network.prototypes.device

    def attempt(what: str, function: Any, x: Any) -> Any:
        try:
            with torch.no_grad():
                return function(x)
        except Exception as err:  # a network that cannot take what its metadata says
            last = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
            raise ModelError(f"{path}: the DESOM network does not {what}: {last}") from None

    problems = []
    z = attempt(f"take {what}", network, torch.zeros(1, *shape, device=device))
    if tuple(z.shape) != (1, md.latent_size):
        problems.append(f"encodes {what} to {tuple(z.shape[1:])}, not ({md.latent_size},)")
    else:
        decoded = attempt(f"decode latent vectors of {md.latent_size}", network.decode, z)
        if tuple(decoded.shape) != (1, *shape):
            problems.append(f"decodes latent vectors to {tuple(decoded.shape[1:])}, not {shape}")
    expected = (md.map_rows * md.map_cols, md.latent_size)
    if tuple(network.prototypes.shape) != expected:
        problems.append(f"has prototypes of shape {tuple(network.prototypes.shape)}, not {expected}")
    if problems:
        raise ModelError(f"{path}: the DESOM network disagrees with its metadata: it " + "; ".join(problems))


class LoadedDesom:
    """A loaded DESOM, ready to place thumbnails on its map.

    Parameters
    ----------
    path : `str`
        File it was loaded from.
    network : `torch.jit.ScriptModule`
        The scripted `DesomNetwork`, on ``device``, in evaluation mode.
    metadata : `DesomMetadata`
        Its metadata.
    device : `str`
        Torch device.
    """

    def __init__(self, path: str, network: Any, metadata: DesomMetadata, device: str) -> None:
        self.path = path
        self.network = network
        self.metadata = metadata
        self.device = device
        self.prototypes = network.prototypes
        self._encoder = network
        self._session = _onnx_encoder(network, metadata) if device == "cpu" else None
        if device == "cpu" and self._session is None:
            # Frozen and optimized for inference (MKL-DNN convolutions): about 2.5x faster on CPUs.
            import torch

            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning)
                warnings.filterwarnings("ignore", message=r".*deprecated", category=FutureWarning)
                self._encoder = torch.jit.optimize_for_inference(torch.jit.freeze(network.eval()))

    def encode(self, thumbnails: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Latent vectors ``(N, L)`` of a DESOM batch ``(N, C, S, S)`` (``metadata.input``).

        A DESOM of histograms takes ``(N, K)`` scaled histograms instead.
        """
        import torch

        expected = self.metadata.input_shape
        if thumbnails.ndim != 1 + len(expected) or tuple(thumbnails.shape[1:]) != expected:
            raise ModelError(f"{self.path}: expected inputs of shape (N, {expected}), got {thumbnails.shape}")
        out = np.empty((len(thumbnails), self.metadata.latent_size), dtype=np.float32)
        if self._session is not None:
            for start in range(0, len(thumbnails), batch_size):
                batch = np.ascontiguousarray(thumbnails[start : start + batch_size], np.float32)
                out[start : start + len(batch)] = self._session.run(None, {"thumbnails": batch})[0]
            return out
        with torch.inference_mode():
            for start in range(0, len(thumbnails), batch_size):
                batch = np.ascontiguousarray(thumbnails[start : start + batch_size], np.float32)
                z = self._encoder(torch.from_numpy(batch).to(self.device))
                out[start : start + len(batch)] = z.float().cpu().numpy()
        return out

    def nearest(self, latents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each latent vector's prototype (index) and its distance to it (the quantization error)."""
        import torch

        with torch.inference_mode():
            z = torch.from_numpy(np.ascontiguousarray(latents, np.float32)).to(self.prototypes.device)
            m = self.prototypes
            d = ((z * z).sum(1, keepdim=True) - 2.0 * z @ m.T + (m * m).sum(1)[None, :]).clamp_min(0.0)
            best, index = d.min(dim=1)
            return index.cpu().numpy().astype(np.int64), best.sqrt().cpu().numpy().astype(np.float32)

    def assign(self, thumbnails: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Prototype index and distance of each thumbnail of a DESOM batch."""
        return self.nearest(self.encode(thumbnails, batch_size))

    def decode(self, latents: np.ndarray) -> np.ndarray:
        """Thumbnails ``(N, C, S, S)`` decoded from latent vectors (e.g. the prototypes)."""
        import torch

        with torch.inference_mode():
            z = torch.from_numpy(np.ascontiguousarray(latents, np.float32)).to(self.device)
            return self.network.decode(z).float().cpu().numpy()

    def decoded_prototypes(self) -> np.ndarray:
        """``(rows * cols, C, S, S)``: each prototype as a thumbnail."""
        return self.decode(self.prototypes.cpu().numpy())


def load_desom(path: str | os.PathLike, device: str = "cpu") -> LoadedDesom:
    """Load a DESOM file, once per process (later calls return the cached one).

    Raises
    ------
    lsst.meas.realbogus.inference.ModelError
        If the file does not exist, is not a TorchScript archive, has no or
        invalid metadata, its network disagrees with the metadata (thumbnail
        size, latent size, map shape), or the device is not available; the
        message names the file.
    """

    def load(real_path: str) -> LoadedDesom:
        import torch

        try:
            check_device(device)
        except ValueError as err:
            raise ModelError(f"{real_path}: {err}") from None
        extra = {DESOM_METADATA_FILE: ""}
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=JIT_DEPRECATED, category=FutureWarning)
                network = torch.jit.load(real_path, map_location=device, _extra_files=extra)
        except Exception as err:  # torch raises RuntimeError/ValueError variants for bad archives
            raise ModelError(f"{real_path} is not a readable DESOM file: {err}") from None
        record = extra[DESOM_METADATA_FILE]
        if not record:
            raise ModelError(f"{real_path} has no {DESOM_METADATA_FILE} record; it is not a DESOM file")
        try:
            metadata = DesomMetadata.from_json(record)
        except ModelError as err:
            raise ModelError(f"{real_path}: {err}") from None
        network.eval()
        check_network(network, metadata, real_path)
        return LoadedDesom(real_path, network, metadata, device)

    return load_once(path, ("desom", device), load)


def _onnx_encoder(network: Any, metadata: DesomMetadata) -> Any:
    """The encoder as an onnxruntime session (about 3x faster than torch on CPUs), or None.

    Exported in memory when the DESOM is loaded; None if onnxruntime is missing
    or the export fails, and torch runs the encoder instead.
    """
    import io

    try:
        import onnxruntime
        import torch

        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                network.eval(),
                (torch.zeros((2, *metadata.input_shape)),),
                buffer,
                dynamo=False,
                input_names=["thumbnails"],
                output_names=["latents"],
                dynamic_axes={"thumbnails": {0: "n"}, "latents": {0: "n"}},
            )
        from ..inference.onnx_backend import session_options

        return onnxruntime.InferenceSession(
            buffer.getvalue(), session_options(), providers=["CPUExecutionProvider"]
        )
    except Exception:  # no onnxruntime, or a network the exporter cannot take: torch runs it
        return None
