"""Labelled cutout sets built from a butler repository with a truth catalog."""

from __future__ import annotations

__all__ = ("TrainingSet", "collect_training_set")

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lsst.daf.butler import Butler
from lsst.utils.logging import PeriodicLogger

from .cutouts import cut_images
from .labels import label_detections
from .normalization import normalize

_LOG = logging.getLogger(__name__)


@dataclass
class TrainingSet:
    """Normalized cutouts with labels.

    Attributes
    ----------
    cutouts : `numpy.ndarray`
        ``(N, C, H, W)`` float32, normalized.
    is_real : `numpy.ndarray`
        ``(N,)`` bool labels.
    kind : `numpy.ndarray`
        ``(N,)`` truth kind of each detection.
    snr : `numpy.ndarray`
        ``(N,)`` detection S/N.
    """

    cutouts: np.ndarray
    is_real: np.ndarray
    kind: np.ndarray
    snr: np.ndarray

    def __len__(self) -> int:
        return len(self.is_real)


def collect_training_set(
    butler: Butler,
    where: str,
    *,
    channels: Sequence[str] = ("template", "science", "difference"),
    size: int = 51,
    normalization: str = "robust",
    match_radius: float = 3.0,
    fill: float = 0.0,
    bad_mask_planes: Sequence[str] = ("NO_DATA", "SATURATED", "BAD"),
    dataset_types: dict[str, str] | None = None,
    truth_dataset_type: str = "realbogus_sim_truth",
) -> TrainingSet:
    """Cut, normalize and label the diaSources of every visit and detector matching ``where``.

    Cutouts are made exactly as `lsst.meas.realbogus.RealBogusTask` makes them.

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
        Butler with default collections set.
    where : `str`
        Data query, e.g. ``"skymap='DC2_sim' AND tract=3080"``.
    """
    names = {
        "science": "preliminary_visit_image",
        "template": "template_detector",
        "difference": "difference_image",
        "diaSources": "dia_source_unstandardized",
    }
    names.update(dataset_types or {})
    refs = butler.query_datasets(names["diaSources"], where=where, limit=None)
    if not refs:
        raise ValueError(f"no {names['diaSources']} datasets match {where!r}")
    parts: list[TrainingSet] = []
    periodic = PeriodicLogger(_LOG, interval=30.0)
    for i, ref in enumerate(refs):
        dia = butler.get(ref)
        truth = butler.get(truth_dataset_type, ref.dataId)
        images = {c: butler.get(names[c], ref.dataId) for c in channels}
        cut = cut_images(
            images, channels, dia["x"], dia["y"], size, fill=fill, bad_mask_planes=bad_mask_planes
        )
        is_real, kind = label_detections(dia, truth, match_radius)
        parts.append(TrainingSet(normalize(cut.data, normalization), is_real, kind, np.asarray(dia["snr"])))
        periodic.log("Collected %d of %d detector-visits.", i + 1, len(refs))
    return TrainingSet(
        cutouts=np.concatenate([p.cutouts for p in parts]),
        is_real=np.concatenate([p.is_real for p in parts]),
        kind=np.concatenate([p.kind for p in parts]),
        snr=np.concatenate([p.snr for p in parts]),
    )
