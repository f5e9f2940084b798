"""Labelling a DESOM's prototypes (PVs) real or bogus, reproducibly, with hand edits on top.

A labelling is made from labelled detections placed on the map (their
prototype indices):

- `label_by_ratio`: a PV is real when ``P(real | PV) / P(bogus | PV)`` (the
  ratio of its real to its bogus members) is at least a threshold;
- `label_by_scores` (seed 000 section 4.2): PVs are ordered by a percentile
  of a classifier's scores of their members (the 99th worked best there), all
  switched on, then switched off one by one from the lowest; the switch-off
  curve is a ROC, and the selection kept is the one with the lowest missed
  detection rate at a false-positive rate of at most the target (1%);

and then `apply_edits` applies hand edits (a small YAML file of PVs to add
or remove).  `PrototypeLabels` holds the result with what made it, and
reads and writes it as a plain dictionary (a YAML file, or a butler
``StructuredDataDict`` dataset).
"""

from __future__ import annotations

__all__ = (
    "PrototypeLabels",
    "SwitchOffCurve",
    "apply_edits",
    "label_by_ratio",
    "label_by_scores",
    "prototype_counts",
    "read_edits",
    "switch_off_curve",
)

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import yaml

LABELS_FORMAT = "meas_realbogus prototype labels 1"


def prototype_counts(pv: np.ndarray, is_real: np.ndarray, n_prototypes: int) -> tuple[np.ndarray, np.ndarray]:
    """Real and bogus members of each PV.

    Parameters
    ----------
    pv : `numpy.ndarray`
        Each detection's PV index (negative: not placed, ignored).
    is_real : `numpy.ndarray`
        Each detection's label.
    n_prototypes : `int`
        Number of PVs.

    Returns
    -------
    n_real, n_bogus : `numpy.ndarray`
        ``(n_prototypes,)`` counts.
    """
    pv = np.asarray(pv)
    is_real = np.asarray(is_real, dtype=bool)
    placed = pv >= 0
    n_real = np.bincount(pv[placed & is_real], minlength=n_prototypes)[:n_prototypes]
    n_bogus = np.bincount(pv[placed & ~is_real], minlength=n_prototypes)[:n_prototypes]
    return n_real, n_bogus


def label_by_ratio(
    pv: np.ndarray, is_real: np.ndarray, n_prototypes: int, threshold: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Real PVs by the ratio of real to bogus members.

    Returns
    -------
    real : `numpy.ndarray`
        ``(n_prototypes,)`` bool: ``P(real | PV) / P(bogus | PV) >= threshold``
        (a PV with real members and no bogus one is real; an empty PV is not).
    ratio : `numpy.ndarray`
        The ratio (``inf`` without bogus members, NaN for empty PVs).
    """
    n_real, n_bogus = prototype_counts(pv, is_real, n_prototypes)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = n_real / n_bogus.astype(float)
    ratio[(n_real == 0) & (n_bogus == 0)] = np.nan
    return np.nan_to_num(ratio, nan=-1.0) >= threshold, ratio


@dataclass(frozen=True)
class SwitchOffCurve:
    """PVs switched off one by one, with the rates after each step.

    Attributes
    ----------
    order : `numpy.ndarray`
        PV indices in switch-off order (lowest score percentile first; empty
        PVs first of all).
    fpr, mdr : `numpy.ndarray`
        ``(K + 1,)`` false-positive and missed-detection rates with the first
        ``i`` PVs of ``order`` off (``i = 0``: every PV on).
    key : `numpy.ndarray`
        The score percentile of each PV of ``order`` (NaN for empty PVs).
    """

    order: np.ndarray
    fpr: np.ndarray
    mdr: np.ndarray
    key: np.ndarray


def switch_off_curve(
    pv: np.ndarray, scores: np.ndarray, is_real: np.ndarray, n_prototypes: int, percentile: float = 99.0
) -> SwitchOffCurve:
    """The ROC traced by switching PVs off in order of a percentile of their members' scores."""
    pv = np.asarray(pv)
    scores = np.asarray(scores, dtype=float)
    is_real = np.asarray(is_real, dtype=bool)
    placed = (pv >= 0) & np.isfinite(scores)
    pv, scores, is_real = pv[placed], scores[placed], is_real[placed]
    key = np.full(n_prototypes, np.nan)
    for k in np.unique(pv):
        key[k] = np.percentile(scores[pv == k], percentile)
    order = np.argsort(np.where(np.isnan(key), -np.inf, key), kind="stable")
    n_real, n_bogus = prototype_counts(pv, is_real, n_prototypes)
    total_real, total_bogus = max(int(n_real.sum()), 1), max(int(n_bogus.sum()), 1)
    off_real = np.r_[0, np.cumsum(n_real[order])]
    off_bogus = np.r_[0, np.cumsum(n_bogus[order])]
    fpr = (n_bogus.sum() - off_bogus) / total_bogus
    mdr = off_real / total_real
    return SwitchOffCurve(order=order, fpr=fpr, mdr=mdr, key=key[order])


def label_by_scores(
    pv: np.ndarray,
    scores: np.ndarray,
    is_real: np.ndarray,
    n_prototypes: int,
    percentile: float = 99.0,
    target_fpr: float = 0.01,
) -> tuple[np.ndarray, SwitchOffCurve, int]:
    """Real PVs by switching PVs off in score order until the false-positive rate meets a target.

    Returns
    -------
    real : `numpy.ndarray`
        ``(n_prototypes,)`` bool: the selection with the lowest
        missed-detection rate among those with FPR at most ``target_fpr``.
    curve : `SwitchOffCurve`
        The whole switch-off curve.
    step : `int`
        The number of PVs switched off in that selection.
    """
    curve = switch_off_curve(pv, scores, is_real, n_prototypes, percentile)
    step = int(np.flatnonzero(curve.fpr <= target_fpr)[0])
    real = np.ones(n_prototypes, dtype=bool)
    real[curve.order[:step]] = False
    return real, curve, step


def _pv_index(entry: Any, shape: tuple[int, int], where: str) -> int:
    rows, cols = shape
    if isinstance(entry, (list, tuple)) and len(entry) == 2:
        r, c = (int(v) for v in entry)
        if not (0 <= r < rows and 0 <= c < cols):
            raise ValueError(f"{where}: PV {list(entry)} is outside the {rows}x{cols} map")
        return r * cols + c
    if isinstance(entry, (int, np.integer)) and not isinstance(entry, bool):
        if not 0 <= entry < rows * cols:
            raise ValueError(f"{where}: PV {entry} is outside the {rows}x{cols} map (0 to {rows * cols - 1})")
        return int(entry)
    raise ValueError(f"{where}: a PV is [row, column] or an index, got {entry!r}")


def apply_edits(
    real: np.ndarray,
    edits: Mapping[str, Any],
    shape: tuple[int, int],
    model_version: str,
    where: str = "edits",
) -> np.ndarray:
    """Apply hand edits to a labelling.

    Parameters
    ----------
    real : `numpy.ndarray`
        ``(rows * cols,)`` labelling to edit (not modified).
    edits : `~collections.abc.Mapping`
        ``model_version`` (must be ``model_version``), and ``add`` and
        ``remove``: lists of PVs, each ``[row, column]`` or a flat index
        (row-major), to label real or bogus.  ``remove`` wins over ``add``.
    shape : `tuple` [`int`, `int`]
        Map shape.
    model_version : `str`
        Version of the DESOM the labelling is of.
    where : `str`
        Name of the edits (a file) for messages.

    Raises
    ------
    ValueError
        If the edits are of another model version, have unknown keys, or
        name a PV outside the map.
    """
    unknown = sorted(set(edits) - {"model_version", "add", "remove", "comment"})
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown} (known: model_version, add, remove, comment)")
    version = edits.get("model_version")
    if version != model_version:
        raise ValueError(f"{where}: edits are for DESOM version {version!r}, not {model_version!r}")
    out = np.array(real, dtype=bool, copy=True)
    for key, value in (("add", True), ("remove", False)):
        for entry in edits.get(key) or []:
            out[_pv_index(entry, shape, where)] = value
    return out


def read_edits(path: str | os.PathLike, keys: str = "model_version, add, remove") -> dict:
    """Read a YAML file of hand edits (see `apply_edits`; ``keys`` names its keys in the error)."""
    with open(path) as stream:
        edits = yaml.safe_load(stream)
    if not isinstance(edits, dict):
        raise ValueError(f"{path}: a labelling edit file is a YAML mapping ({keys})")
    return edits


@dataclass
class PrototypeLabels:
    """Which PVs of a DESOM are real, how that was decided, and what the stacked score needs.

    Attributes
    ----------
    model_version : `str`
        Version of the DESOM.
    map_shape : `tuple` [`int`, `int`]
        Its map shape.
    real : `numpy.ndarray`
        ``(rows * cols,)`` bool, row-major.
    method : `str`
        ``ratio`` or ``scores``.
    parameters : `dict`
        The method's settings (threshold, percentile, target FPR).
    n_real, n_bogus : `numpy.ndarray`
        Real and bogus members of each PV in the labelling data.
    edits : `dict`
        The hand edits applied (``add``, ``remove``), if any.
    stacker : `dict`
        The stacked score's model (see `~lsst.meas.realbogus.desom.stacking`),
        empty if there is none.
    """

    model_version: str
    map_shape: tuple[int, int]
    real: np.ndarray
    method: str = ""
    parameters: dict = field(default_factory=dict)
    n_real: np.ndarray | None = None
    n_bogus: np.ndarray | None = None
    edits: dict = field(default_factory=dict)
    stacker: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.map_shape = tuple(int(v) for v in self.map_shape)
        self.real = np.asarray(self.real, dtype=bool)
        size = self.map_shape[0] * self.map_shape[1]
        if self.real.shape != (size,):
            raise ValueError(
                f"{self.real.shape[0]} PV labels for a {self.map_shape[0]}x{self.map_shape[1]} map"
            )
        zeros = np.zeros(size, dtype=np.int64)
        self.n_real = zeros.copy() if self.n_real is None else np.asarray(self.n_real, dtype=np.int64)
        self.n_bogus = zeros.copy() if self.n_bogus is None else np.asarray(self.n_bogus, dtype=np.int64)

    @property
    def real_fraction(self) -> np.ndarray:
        """``P(real | PV)`` in the labelling data (NaN for PVs without members)."""
        total = (self.n_real + self.n_bogus).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.n_real / total

    def check_for(self, model_version: str, map_shape: Sequence[int], where: str = "labels") -> None:
        """Raise `ValueError` unless this labelling is of a DESOM of this version and map shape."""
        if self.model_version != model_version or self.map_shape != tuple(map_shape):
            raise ValueError(
                f"{where}: the labelling is of DESOM {self.model_version!r} ({self.map_shape[0]}x"
                f"{self.map_shape[1]}), not of {model_version!r} ({map_shape[0]}x{map_shape[1]})"
            )

    def to_dict(self) -> dict:
        """A plain dictionary (for YAML, or a ``StructuredDataDict`` dataset)."""
        rows, cols = self.map_shape
        return {
            "format": LABELS_FORMAT,
            "model_version": self.model_version,
            "map_shape": [rows, cols],
            "method": self.method,
            "parameters": dict(self.parameters),
            "real": [[int(r), int(c)] for r, c in zip(*np.divmod(np.flatnonzero(self.real), cols))],
            "n_real": self.n_real.tolist(),
            "n_bogus": self.n_bogus.tolist(),
            "edits": dict(self.edits),
            "stacker": dict(self.stacker),
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any], where: str = "labels") -> PrototypeLabels:
        """Read what `to_dict` wrote (`ValueError` naming ``where`` if it is not that)."""
        if not isinstance(record, Mapping) or record.get("format") != LABELS_FORMAT:
            raise ValueError(f"{where} is not a meas_realbogus prototype labelling ({LABELS_FORMAT!r})")
        try:
            shape = tuple(int(v) for v in record["map_shape"])
            real = np.zeros(shape[0] * shape[1], dtype=bool)
            for entry in record["real"]:
                real[_pv_index(entry, shape, where)] = True
            return cls(
                model_version=str(record["model_version"]),
                map_shape=shape,
                real=real,
                method=record.get("method", ""),
                parameters=dict(record.get("parameters") or {}),
                n_real=record.get("n_real"),
                n_bogus=record.get("n_bogus"),
                edits=dict(record.get("edits") or {}),
                stacker=dict(record.get("stacker") or {}),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"{where}: malformed prototype labelling ({err})") from None

    def write(self, path: str | os.PathLike) -> None:
        """Write as YAML."""
        with open(path, "w") as stream:
            yaml.safe_dump(self.to_dict(), stream, sort_keys=False, default_flow_style=None)

    @classmethod
    def read(cls, path: str | os.PathLike) -> PrototypeLabels:
        """Read a YAML file written by `write`."""
        with open(path) as stream:
            return cls.from_dict(yaml.safe_load(stream), where=str(path))
