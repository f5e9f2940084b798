"""Model-ready batches: the one path from images or stamps to what a model takes.

A model takes stamps of some channels, in its own order, of one size, with one
normalization (its metadata says which; see
`lsst.meas.realbogus.inference.ModelMetadata.input`).  `ModelInput` holds
those three and makes a batch either by cutting images around positions
(`ModelInput.cut`: scoring, evaluation, saliency, building training sets) or
from stamps already cut (`ModelInput.prepare`: training, stamp files).  Both
end in `ModelInput.prepare`, so a model sees the same pixels in training and
in use.
"""

from __future__ import annotations

__all__ = ("CHANNELS", "ModelInput", "dihedral_views")

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .cutouts import Cutouts, cut_images
from .normalization import NORMALIZATIONS, normalize
from .resampling import resample_stamps, resampled_size

CHANNELS = ("template", "science", "difference")
"""The stamp channels there are; a model takes any of them, in any order, each at most once."""


@dataclass(frozen=True)
class ModelInput:
    """The channels, size and normalization of a model's input.

    Parameters
    ----------
    channels : `tuple` [`str`, ...]
        Channels in the model's order, taken from `CHANNELS`.
    size : `int`
        Stamp width and height, pixels.
    normalization : `str`
        Name of the normalization (a key of
        `lsst.meas.realbogus.stamps.normalization.NORMALIZATIONS`).

    Raises
    ------
    ValueError
        If a channel is unknown or repeated, the size is not positive, or
        the normalization is unknown.
    """

    channels: tuple[str, ...]
    size: int
    normalization: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        if not self.channels or any(c not in CHANNELS for c in self.channels):
            raise ValueError(f"channels must be taken from {CHANNELS}, got {self.channels}")
        if len(set(self.channels)) != len(self.channels):
            raise ValueError(f"channels must not repeat, got {self.channels}")
        if self.size < 1:
            raise ValueError(f"stamp size must be positive, got {self.size}")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {sorted(NORMALIZATIONS)}, got {self.normalization!r}"
            )

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, size, size)`` of one stamp of the batch."""
        return (len(self.channels), self.size, self.size)

    def covers(self, other: ModelInput) -> bool:
        """Whether ``other``'s batch can be prepared from stamps cut for this one.

        That is, this input has every channel of ``other`` and is at least as
        large (``other`` centre-crops them).
        """
        return set(other.channels) <= set(self.channels) and other.size <= self.size

    def cut(
        self,
        images: Mapping[str, Any],
        x: np.ndarray,
        y: np.ndarray,
        *,
        fill: float = np.nan,
        bad_mask_planes: Sequence[str] = (),
        out: np.ndarray | None = None,
        threads: int = 1,
        scale: float = 1.0,
    ) -> Cutouts:
        """Cut the model's channels around positions and prepare them.

        Parameters
        ----------
        images : `~collections.abc.Mapping` [`str`, `lsst.images.MaskedImage`]
            Images by channel name, on one pixel grid.
        x, y : `numpy.ndarray`
            Positions in the images' pixel frame.
        fill : `float`
            Value of pixels off the image or missing (before normalization).
            NaN (the default): they are left out of the normalization's statistics (see
            `prepare`).
        bad_mask_planes : sequence of `str`
            Mask planes whose pixels are missing.
        out : `numpy.ndarray`, optional
            Buffer for the raw cutouts (see
            `~lsst.meas.realbogus.stamps.cutouts.extract_cutouts`).
        threads : `int`
            CPU threads the normalization may use.
        scale : `float`
            Not 1: resample onto a grid of pixels ``scale`` input pixels wide
            (above 1, cut ``scale`` times wider and average; below 1,
            interpolate; see `cut_raw`).

        Returns
        -------
        cutouts : `~lsst.meas.realbogus.stamps.cutouts.Cutouts`
            The batch (``data``, normalized) with the flags of cutting.

        Raises
        ------
        ValueError
            As `~lsst.meas.realbogus.stamps.cutouts.cut_images`.
        """
        cutouts = self.cut_raw(images, x, y, fill=fill, bad_mask_planes=bad_mask_planes, out=out, scale=scale)
        return dataclasses.replace(cutouts, data=self.prepare(cutouts.data, self.channels, threads=threads))

    def cut_raw(
        self,
        images: Mapping[str, Any],
        x: np.ndarray,
        y: np.ndarray,
        *,
        fill: float = np.nan,
        bad_mask_planes: Sequence[str] = (),
        out: np.ndarray | None = None,
        scale: float = 1.0,
    ) -> Cutouts:
        """Cut the model's channels around positions onto its grid, not normalized (`cut` without `prepare`).

        Parameters are those of `cut`. With ``scale`` above 1 the cutouts are
        cut ``scale`` times wider and averaged onto the model's grid
        (`~lsst.meas.realbogus.stamps.resampling.resample_stamps`), so that a
        PSF ``scale`` times wider than the model's widest looks like it; below
        1 they are interpolated up from their central ``scale * size``
        pixels, so that an undersampled PSF looks as wide as the narrowest.
        The flags are those of the cutouts as cut (for ``scale < 1``, of the
        whole ``size``-pixel cutout), and ``out`` is not used.
        """
        if scale == 1.0:
            return cut_images(
                images, self.channels, x, y, self.size, fill=fill, bad_mask_planes=bad_mask_planes, out=out
            )
        wide = cut_images(
            images,
            self.channels,
            x,
            y,
            resampled_size(self.size, scale),
            fill=fill,
            bad_mask_planes=bad_mask_planes,
        )
        return dataclasses.replace(wide, data=resample_stamps(wide.data, self.size, scale))

    def prepare(
        self,
        stamps: np.ndarray,
        stamp_channels: Sequence[str] = CHANNELS,
        valid: np.ndarray | None = None,
        threads: int = 1,
    ) -> np.ndarray:
        """Put stamps in the model's channel order, centre-crop them to its size, and normalize.

        Parameters
        ----------
        stamps : `numpy.ndarray`
            ``(N, len(stamp_channels), S, S)`` pixel values, ``S >= size``;
            finite wherever ``valid`` is.
        stamp_channels : sequence of `str`
            The channels of ``stamps``, in order (default: `CHANNELS`, the
            order of stored triplets).
        valid : `numpy.ndarray`, optional
            Boolean, of the shape of ``stamps``: the pixels the normalization's
            statistics come from (see
            `~lsst.meas.realbogus.stamps.normalization.normalize`); `None`:
            the finite ones (NaN marks a missing pixel).
        threads : `int`
            CPU threads the normalization may use.

        Returns
        -------
        batch : `numpy.ndarray`
            ``(N, C, size, size)`` float32, a new array unless ``stamps`` is
            already of the model's channels and size and the normalization is
            ``none``.

        Raises
        ------
        ValueError
            If the stamps are not square, lack a channel of the model, or are
            smaller than its size.
        """
        stamps = np.asarray(stamps)
        stamp_channels = tuple(stamp_channels)
        if stamps.ndim != 4 or stamps.shape[1] != len(stamp_channels) or stamps.shape[2] != stamps.shape[3]:
            raise ValueError(
                f"stamps must be (N, {len(stamp_channels)}, S, S) for channels {stamp_channels}, "
                f"got {stamps.shape}"
            )
        missing = [c for c in self.channels if c not in stamp_channels]
        if missing:
            raise ValueError(f"stamps of channels {stamp_channels} lack the model's channels {missing}")
        have = stamps.shape[-1]
        if have < self.size:
            raise ValueError(f"cannot crop {have}-pixel stamps to {self.size} pixels")
        if valid is not None and np.shape(valid) != stamps.shape:
            raise ValueError(f"valid must have the stamps' shape {stamps.shape}, got {np.shape(valid)}")
        if stamp_channels != self.channels or have != self.size:
            index = [stamp_channels.index(c) for c in self.channels]
            lo = (have - self.size + 1) // 2
            window = (slice(None), index, slice(lo, lo + self.size), slice(lo, lo + self.size))
            stamps = np.ascontiguousarray(stamps[window])
            valid = None if valid is None else valid[window]
        if valid is None and stamps.size and not np.isfinite([stamps.min(), stamps.max()]).all():
            valid = np.isfinite(stamps)
        return normalize(stamps, self.normalization, valid=valid, threads=threads)


def dihedral_views(stamps: np.ndarray) -> list[np.ndarray]:
    """The 8 flips and 90-degree rotations of a batch of stamps ``(N, C, S, S)``, the original first.

    View ``k`` is the stamps mirrored left to right if ``k & 4``, then turned
    by ``k & 3`` quarter turns (as the training augmentation draws them).
    """
    views = []
    for k in range(8):
        turned = stamps[..., ::-1] if k & 4 else stamps
        views.append(np.ascontiguousarray(np.rot90(turned, k & 3, axes=(-2, -1))))
    return views
