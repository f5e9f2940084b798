"""Quality labels of DESOM-2's cells: the majority of known labels, plus hand edits (seed 002 section 5.1).

A cell takes the label most of its training exposures have (optionally of its
neighbourhood too, see `label_by_majority`).  A cell no training exposure
landed on takes the label of the nearest labelled cell on the map (the map keeps
neighbours alike), and is marked ``filled`` so a person can review it.  Hand
edits (a YAML file: ``model_version`` and ``set``, a list of ``[row, column,
label]``) go on top, as for DESOM-1's prototypes
(`lsst.meas.realbogus.desom.labelling`).
"""

from __future__ import annotations

__all__ = (
    "CellLabels",
    "apply_cell_edits",
    "class_counts",
    "label_by_majority",
    "labels_by_visit",
    "read_cell_edits",
)

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import yaml

from ..desom.labelling import _pv_index, read_edits
from .background import BackgroundCheck

CELL_LABELS_SCHEMA = 1


def labels_by_visit(tables: Sequence[Any], column: str) -> dict[int, str]:
    """Visit to its known label, from tables (e.g. one per visit) with columns ``visit`` and ``column``.

    Raises
    ------
    ValueError
        If a table lacks either column.
    """
    out: dict[int, str] = {}
    for table in tables:
        if column not in table.colnames or "visit" not in table.colnames:
            raise ValueError(
                f"known-label tables need the columns 'visit' and {column!r}; got {table.colnames}"
            )
        for visit, label in zip(table["visit"], table[column]):
            out[int(visit)] = str(label)
    return out


def class_counts(
    cells: np.ndarray, labels: Sequence[str], classes: Sequence[str], n_cells: int
) -> np.ndarray:
    """``(n_cells, len(classes))``: how many exposures of each class landed on each cell.

    Raises
    ------
    ValueError
        If a label is not one of ``classes`` or a cell is outside the map.
    """
    cells = np.asarray(cells, dtype=np.int64)
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({str(v) for v in labels} - set(index))
    if unknown:
        raise ValueError(f"labels {unknown} are not among the classes {list(classes)}")
    if cells.size and (cells.min() < 0 or cells.max() >= n_cells):
        raise ValueError(f"cells must lie in [0, {n_cells})")
    counts = np.zeros((n_cells, len(classes)), dtype=np.int64)
    np.add.at(counts, (cells, np.array([index[str(v)] for v in labels], dtype=np.int64)), 1)
    return counts


def label_by_majority(
    counts: np.ndarray,
    classes: Sequence[str],
    shape: tuple[int, int],
    fill: bool = True,
    radius: float = 0.0,
    skip: Sequence[str] = (),
) -> tuple[list[str], np.ndarray]:
    """Each cell's majority class, and which cells had no member of their own.

    With ``radius`` > 0, the majority is of the known labels on the cell and
    its neighbours, weighted by ``exp(-d**2 / (2 radius**2))`` of their map
    distance ``d``: on a map with about as many cells as exposures, most
    cells hold one exposure or none, and the neighbourhood (alike, by the
    map's construction) gives a steadier vote.

    Parameters
    ----------
    counts : `numpy.ndarray`
        ``(rows * cols, C)`` from `class_counts`.
    classes : sequence of `str`
        Class names (ties go to the earlier one).
    shape : `tuple` [`int`, `int`]
        Map shape.
    fill : `bool`
        Give empty cells the label of the nearest labelled cell (with
        ``radius``, of their weighted neighbourhood); otherwise ``""``.
    radius : `float`
        Neighbourhood of the vote, in cells; 0: the cell alone.
    skip : sequence of `str`
        Classes that do not vote (decided otherwise, e.g. by the background
        check): no cell takes them, and a cell whose members are all of them
        counts as having none.

    Returns
    -------
    labels : `list` [`str`]
        One per cell.
    filled : `numpy.ndarray`
        Boolean, per cell.
    """
    counts = np.asarray(counts)
    rows, cols = shape
    if counts.shape != (rows * cols, len(classes)):
        raise ValueError(f"counts of shape {counts.shape} for a {rows}x{cols} map and {len(classes)} classes")
    unknown = sorted(set(skip) - set(classes))
    if unknown:
        raise ValueError(f"classes to skip {unknown} are not among the classes {list(classes)}")
    if skip:
        counts = np.where(np.isin(np.asarray(classes), list(skip)), 0, counts)
    has = counts.sum(axis=1) > 0
    votes = counts
    r, c = np.divmod(np.arange(rows * cols), cols)
    if radius > 0:
        d2 = (r[:, None] - r[None, :]) ** 2 + (c[:, None] - c[None, :]) ** 2
        votes = np.exp(-0.5 * d2 / radius**2) @ counts
        if fill and has.any():
            return [classes[int(i)] for i in votes.argmax(axis=1)], ~has
    labels = [classes[int(i)] if h else "" for i, h in zip(votes.argmax(axis=1), has)]
    filled = np.zeros(rows * cols, dtype=bool)
    if fill and has.any() and not has.all():
        known = np.flatnonzero(has)
        for k in np.flatnonzero(~has):
            nearest = known[np.argmin((r[known] - r[k]) ** 2 + (c[known] - c[k]) ** 2)]
            labels[k] = labels[nearest]
            filled[k] = True
    return labels, filled


def apply_cell_edits(
    labels: Sequence[str],
    edits: Mapping[str, Any],
    shape: tuple[int, int],
    model_version: str,
    classes: Sequence[str],
    where: str = "edits",
) -> list[str]:
    """Apply hand edits to cell labels (not modified).

    Parameters
    ----------
    labels : sequence of `str`
        One label per cell.
    edits : `~collections.abc.Mapping`
        ``model_version`` (must be ``model_version``) and ``set``: a list of
        ``[row, column, label]``, ``label`` one of ``classes``.
    shape : `tuple` [`int`, `int`]
        Map shape.
    model_version : `str`
        Version of the DESOM-2 the labels are of.
    classes : sequence of `str`
        Allowed labels.
    where : `str`
        Name of the edits (a file) for messages.

    Raises
    ------
    ValueError
        If the edits are of another version, have unknown keys, or name a
        cell outside the map or an unknown label.
    """
    unknown = sorted(set(edits) - {"model_version", "set", "comment"})
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown} (known: model_version, set, comment)")
    if edits.get("model_version") != model_version:
        raise ValueError(
            f"{where}: edits are for DESOM version {edits.get('model_version')!r}, not {model_version!r}"
        )
    out = list(labels)
    for entry in edits.get("set") or []:
        if not isinstance(entry, (list, tuple)) or len(entry) != 3:
            raise ValueError(f"{where}: each entry of 'set' is [row, column, label], got {entry!r}")
        if entry[2] not in classes:
            raise ValueError(f"{where}: label {entry[2]!r} is not one of {list(classes)}")
        out[_pv_index(list(entry[:2]), shape, where)] = str(entry[2])
    return out


def read_cell_edits(path: str | os.PathLike) -> dict:
    """Read a YAML file of cell-label edits (see `apply_cell_edits`)."""
    return read_edits(path, keys="model_version, set")


@dataclass
class CellLabels:
    """The quality label of every cell of a DESOM-2 map.

    Parameters
    ----------
    model_version : `str`
        Version of the DESOM-2.
    map_shape : `tuple` [`int`, `int`]
        Its map shape.
    classes : `list` [`str`]
        The label names.
    labels : `list` [`str`]
        One per cell, row by row.
    counts : `numpy.ndarray`
        ``(cells, classes)`` training exposures of each class on each cell.
    filled : `numpy.ndarray`
        Cells labelled from their nearest labelled neighbour.
    edits : `dict`
        The hand edits applied (``set``).
    method : `str`
        How the labels were made.
    background_check : `BackgroundCheck`, optional
        Limits on the sky beyond which an exposure is labelled a background
        problem whatever its cell (`~lsst.meas.realbogus.quality.background`).
    """

    model_version: str
    map_shape: tuple[int, int]
    classes: list[str]
    labels: list[str]
    counts: np.ndarray
    filled: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    edits: dict = field(default_factory=dict)
    method: str = "majority"
    background_check: BackgroundCheck | None = None

    def __post_init__(self) -> None:
        self.map_shape = (int(self.map_shape[0]), int(self.map_shape[1]))
        n = self.map_shape[0] * self.map_shape[1]
        self.counts = np.asarray(self.counts, dtype=np.int64).reshape(n, len(self.classes))
        self.filled = np.asarray(self.filled, dtype=bool) if len(self.filled) else np.zeros(n, dtype=bool)
        if len(self.labels) != n or len(self.filled) != n:
            raise ValueError(f"a {self.map_shape[0]}x{self.map_shape[1]} map needs {n} labels")
        bad = sorted({v for v in self.labels if v and v not in self.classes})
        if bad:
            raise ValueError(f"labels {bad} are not among the classes {self.classes}")
        if self.background_check is not None and self.background_check.label not in self.classes:
            raise ValueError(
                f"the background check's label {self.background_check.label!r} is not among the classes "
                f"{self.classes}"
            )

    def check_for(self, model_version: str, map_shape: Sequence[int], where: str = "cell labels") -> None:
        """Raise `ValueError` (naming ``where``) unless these labels are of that DESOM-2."""
        if self.model_version != model_version or tuple(self.map_shape) != tuple(map_shape):
            raise ValueError(
                f"{where}: labels of DESOM {self.model_version} ({self.map_shape[0]}x{self.map_shape[1]}), "
                f"not of {model_version} ({map_shape[0]}x{map_shape[1]})"
            )

    def label_of(self, cells: np.ndarray) -> np.ndarray:
        """Labels of cells (``""`` for a negative cell, i.e. an exposure not placed)."""
        cells = np.asarray(cells, dtype=np.int64)
        table = np.array(list(self.labels) + [""], dtype=object)
        return table[np.where(cells < 0, len(self.labels), cells)].astype(str)

    def background_flags(self, noise: np.ndarray, background: np.ndarray) -> np.ndarray:
        """Exposures whose sky fails the background check (none without one).

        ``noise`` and ``background`` are the exposures' background rms and level.
        """
        if self.background_check is None:
            return np.zeros(np.shape(noise), dtype=bool)
        return self.background_check.flags(noise, background)

    def exposure_labels(
        self, cells: np.ndarray, noise: np.ndarray, background: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The labels of exposures on ``cells`` with that sky: the check's where it fails, else the cell's.

        Returns the labels, the cells' labels and the background flags.
        """
        cell_labels = self.label_of(cells)
        if self.background_check is None:
            return cell_labels, cell_labels, np.zeros(cell_labels.shape, dtype=bool)
        labels, flags = self.background_check.relabel(cell_labels, noise, background)
        return labels, cell_labels, flags

    def to_dict(self) -> dict:
        """A YAML-ready mapping (what the butler stores, and `write` writes)."""
        return {
            "schema_version": CELL_LABELS_SCHEMA,
            "model_version": self.model_version,
            "map_shape": list(self.map_shape),
            "classes": list(self.classes),
            "method": self.method,
            "labels": list(self.labels),
            "counts": self.counts.tolist(),
            "filled": self.filled.astype(int).tolist(),
            "edits": dict(self.edits),
        } | ({"background_check": self.background_check.to_dict()} if self.background_check else {})

    @classmethod
    def from_dict(cls, record: Mapping[str, Any], where: str = "cell labels") -> CellLabels:
        """Parse `to_dict` output (`ValueError` naming ``where`` if malformed)."""
        try:
            if int(record.get("schema_version", 0)) > CELL_LABELS_SCHEMA:
                raise ValueError(f"schema {record['schema_version']} is newer than {CELL_LABELS_SCHEMA}")
            return cls(
                model_version=str(record["model_version"]),
                map_shape=tuple(record["map_shape"]),
                classes=[str(c) for c in record["classes"]],
                labels=[str(v) for v in record["labels"]],
                counts=np.asarray(record["counts"]),
                filled=np.asarray(record.get("filled", []), dtype=bool),
                edits=dict(record.get("edits") or {}),
                method=str(record.get("method", "majority")),
                background_check=(
                    BackgroundCheck.from_dict(record["background_check"])
                    if record.get("background_check")
                    else None
                ),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{where}: not a cell labelling: {err}") from None

    def write(self, path: str | os.PathLike) -> None:
        """Write as YAML."""
        with open(path, "w") as stream:
            yaml.safe_dump(self.to_dict(), stream, sort_keys=False)

    @classmethod
    def read(cls, path: str | os.PathLike) -> CellLabels:
        """Read a YAML file written by `write` (`ValueError` naming the file if malformed)."""
        with open(path) as stream:
            return cls.from_dict(yaml.safe_load(stream) or {}, where=str(path))
