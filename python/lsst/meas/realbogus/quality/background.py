"""A background check beside DESOM-2: exposures whose sky is unlike the good training exposures'.

Seed 002's maps see only sources, and most of its false "good" exposures are background
problems whose sources look fine. The sky itself tells them apart: SEP's one global background
level and rms (`lsst.meas.realbogus.quality.sources`), which gradients, glows, high sky and
short exposures raise. The check is fitted on the good training exposures alone: an exposure
whose rms is more than ``noise_margin`` times the largest good ratio to the good median, or
whose level is more than ``level_margin`` times the largest good level (in rms units), is
flagged.
"""

from __future__ import annotations

__all__ = ["BackgroundCheck"]

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class BackgroundCheck:
    """Limits on an exposure's background rms and level, from good training exposures.

    Parameters
    ----------
    noise_median : `float`
        Median background rms of the good training exposures.
    max_noise_ratio : `float`
        Flag an rms above this times ``noise_median``.
    max_level : `float`
        Flag a background level above this many rms.
    label : `str`
        The class a flagged exposure is given.
    """

    noise_median: float
    max_noise_ratio: float
    max_level: float
    label: str = "background"

    @staticmethod
    def _sky(noise: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rms, and the background level in rms units."""
        noise = np.asarray(noise, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return noise, np.asarray(background, dtype=np.float64) / noise

    @classmethod
    def fit(
        cls,
        noise: np.ndarray,
        background: np.ndarray,
        *,
        noise_margin: float = 1.25,
        level_margin: float = 2.0,
        label: str = "background",
    ) -> BackgroundCheck:
        """Fit the limits on good exposures' background rms and level.

        Raises
        ------
        ValueError
            If there is no good exposure with a finite, positive rms.
        """
        noise, level = cls._sky(noise, background)
        usable = np.isfinite(noise) & (noise > 0) & np.isfinite(level)
        if not usable.any():
            raise ValueError("no good exposure with a finite background rms to fit the background check on")
        median = float(np.median(noise[usable]))
        return cls(
            noise_median=median,
            max_noise_ratio=float(noise_margin * np.max(noise[usable] / median)),
            max_level=float(level_margin * np.max(level[usable])),
            label=label,
        )

    def flags(self, noise: np.ndarray, background: np.ndarray) -> np.ndarray:
        """True where an exposure's background rms or level is beyond the limits (NaN: not flagged)."""
        noise, level = self._sky(noise, background)
        with np.errstate(invalid="ignore"):
            return (noise / self.noise_median > self.max_noise_ratio) | (level > self.max_level)

    def relabel(
        self, labels: np.ndarray, noise: np.ndarray, background: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The exposures' labels with those whose sky fails the check given ``label``, and the flags.

        ``labels`` (e.g. their cells' labels) is not modified.
        """
        flags = self.flags(noise, background)
        return np.where(flags, self.label, np.asarray(labels, dtype=str)), flags

    def to_dict(self) -> dict:
        """A YAML-ready mapping (kept with the cell labels)."""
        return {
            "noise_median": self.noise_median,
            "max_noise_ratio": self.max_noise_ratio,
            "max_level": self.max_level,
            "label": self.label,
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> BackgroundCheck:
        """Parse `to_dict` output."""
        return cls(
            noise_median=float(record["noise_median"]),
            max_noise_ratio=float(record["max_noise_ratio"]),
            max_level=float(record["max_level"]),
            label=str(record.get("label", "background")),
        )
