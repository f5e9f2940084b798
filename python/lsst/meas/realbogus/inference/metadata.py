"""The metadata a model file carries inside it, and the error of a model that cannot be used."""

from __future__ import annotations

__all__ = ("METADATA_FILE", "METADATA_SCHEMA_VERSION", "ModelError", "ModelMetadata", "record_from_json")

import dataclasses
import json
from dataclasses import dataclass

from ..stamps.batch import CHANNELS, ModelInput
from ..stamps.normalization import NORMALIZATIONS

METADATA_FILE = "meas_realbogus.json"
"""Name of the metadata record inside a model archive."""

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
        Cutout channels in the order the model expects, from
        `~lsst.meas.realbogus.stamps.batch.CHANNELS`.
    normalization : `str`
        Name of the normalization (a key of
        `lsst.meas.realbogus.stamps.normalization.NORMALIZATIONS`).
    output : `str`
        ``"logit"`` (a sigmoid is applied) or ``"probability"``.
    temperature : `float`
        Logits are divided by this before the sigmoid (temperature scaling,
        fitted on validation rows when the model is trained; 1: none).
    logit_offset : `float`
        Added to the logits after the temperature (fitted with it; 0: none).
    members : `int`
        Networks in the file: 1, or K for an ensemble whose network returns
        ``(N, K)`` outputs (the score is the mean logit's, with the spread
        of the members' scores as its uncertainty).
    architecture : `str`
        Name of the architecture.
    threshold : `float`
        Recommended decision threshold on the score.
    provenance : `str`
        Short description of how the model was trained (data, command).
    max_psf_fwhm : `float`
        The widest PSF FWHM of the training images, pixels: images of a
        wider PSF are resampled to it before scoring (see
        `lsst.meas.realbogus.stamps.resampling`); 0: not recorded, never
        resampled.
    min_psf_fwhm : `float`
        The narrowest PSF FWHM of the training images, pixels: images of a
        narrower (undersampled) PSF are interpolated up to it before scoring;
        0: not recorded, never interpolated.
    schema_version : `int`
        Version of this metadata layout.

    Raises
    ------
    ModelError
        If any field is invalid (the message lists every problem).
    """

    version: str
    cutout_size: int
    channels: tuple[str, ...]
    normalization: str
    output: str = "logit"
    temperature: float = 1.0
    logit_offset: float = 0.0
    members: int = 1
    architecture: str = ""
    threshold: float = 0.5
    provenance: str = ""
    max_psf_fwhm: float = 0.0
    min_psf_fwhm: float = 0.0
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
        if not (isinstance(self.temperature, int | float) and 0.0 < self.temperature < 1e3):
            problems.append(f"temperature must be a number in (0, 1000), got {self.temperature!r}")
        if not (isinstance(self.logit_offset, int | float) and abs(self.logit_offset) < 1e3):
            problems.append(f"logit_offset must be a number in (-1000, 1000), got {self.logit_offset!r}")
        if not isinstance(self.members, int) or self.members < 1:
            problems.append(f"members must be an integer >= 1, got {self.members!r}")
        if not (isinstance(self.max_psf_fwhm, int | float) and 0.0 <= self.max_psf_fwhm < 1e3):
            problems.append(f"max_psf_fwhm must be a number in [0, 1000), got {self.max_psf_fwhm!r}")
        if not (isinstance(self.min_psf_fwhm, int | float) and 0.0 <= self.min_psf_fwhm < 1e3):
            problems.append(f"min_psf_fwhm must be a number in [0, 1000), got {self.min_psf_fwhm!r}")
        elif 0 < self.max_psf_fwhm < self.min_psf_fwhm:
            problems.append(f"min_psf_fwhm {self.min_psf_fwhm} is above max_psf_fwhm {self.max_psf_fwhm}")
        if not 0.0 <= self.threshold <= 1.0:
            problems.append(f"threshold must be in [0, 1], got {self.threshold!r}")
        if problems:
            raise ModelError("invalid model metadata: " + "; ".join(problems))

    @property
    def input(self) -> ModelInput:
        """The model's input (channels, size, normalization): how to make its batches."""
        return ModelInput(self.channels, self.cutout_size, self.normalization)

    def to_json(self) -> str:
        """Serialize to JSON."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelMetadata:
        """Parse and validate a JSON record.

        Raises
        ------
        ModelError
            If the record is not JSON, lacks or has unknown fields, is of a
            newer schema, or is invalid.
        """
        return cls(**record_from_json(cls, text, METADATA_SCHEMA_VERSION))


def record_from_json(cls: type, text: str | bytes, schema_version: int) -> dict:
    """The fields of the dataclass ``cls`` in a JSON record, checked.

    Raises
    ------
    ModelError
        If the record is not a JSON object, lacks a field without a default,
        has a field ``cls`` does not, or has a ``schema_version`` newer than
        ``schema_version``.
    """
    try:
        record = json.loads(text)
    except ValueError as err:
        raise ModelError(f"model metadata is not valid JSON: {err}") from None
    if not isinstance(record, dict):
        raise ModelError("model metadata must be a JSON object")
    fields = dataclasses.fields(cls)
    required = [
        f for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [f.name for f in required if f.name not in record]
    if missing:
        raise ModelError(f"model metadata lacks {missing}")
    unknown = sorted(set(record) - {f.name for f in fields})
    if unknown:
        raise ModelError(f"model metadata has unknown fields {unknown}")
    if record.get("schema_version", schema_version) > schema_version:
        raise ModelError(
            f"model metadata schema {record['schema_version']} is newer than this package "
            f"understands ({schema_version})"
        )
    return record
