"""One triplet as read from a file, before it is fitted to a model."""

from __future__ import annotations

__all__ = ("CHANNEL_ALIASES", "StampRecord", "channel_name")

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..stamps import CHANNELS

CHANNEL_ALIASES = {
    "science": "science",
    "sci": "science",
    "new": "science",
    "template": "template",
    "templ": "template",
    "ref": "template",
    "reference": "template",
    "difference": "difference",
    "diff": "difference",
    "diffim": "difference",
}
"""Names sources give the three channels (case-insensitive), mapped to `CHANNELS`."""


def channel_name(name: str) -> str | None:
    """The channel of `CHANNELS` a source's name stands for, or `None` for another plane (e.g. ``scorr``)."""
    return CHANNEL_ALIASES.get(str(name).strip().lower())


@dataclass
class StampRecord:
    """A triplet of stamps from a file.

    Attributes
    ----------
    id : `int` or `str`
        The detection's identifier in its source (``diaSourceId``, ZTF's
        ``candid``, a file stem or a row number).
    stamps : `dict` [`str`, `numpy.ndarray` or `None`]
        2-d pixel arrays by channel of `CHANNELS`; a channel the source did
        not have is absent or `None`.
    file : `str`
        Where it was read from.
    columns : `dict` [`str`, `~typing.Any`]
        Values of the source to carry into the output (ZTF's ``drb``,
        Rubin's ``reliability``, ...).
    units : `str`
        Pixel units: ``nJy``, ``counts`` or empty when the source does not
        say.
    zero_point : `float` or `None`
        AB magnitude of one count, when the source gives it (ZTF's
        ``magzpsci``).
    problem : `str`
        Why the record cannot be scored (an undecodable cutout), or empty.
    """

    id: int | str
    stamps: dict[str, np.ndarray | None]
    file: str
    columns: dict[str, Any] = field(default_factory=dict)
    units: str = ""
    zero_point: float | None = None
    problem: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.stamps) - set(CHANNELS)
        if unknown:
            raise ValueError(f"{self.file}: unknown channels {sorted(unknown)}; channels are {CHANNELS}")
