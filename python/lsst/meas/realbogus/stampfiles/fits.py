"""FITS cutouts: one file per channel (``<id>_<channel>.fits``) or one file per triplet.

Per-channel files are grouped by the part of the name before the last ``_``
(or ``-``/``.``) and the channel after it (``science``, ``template``,
``difference`` or an alias, see
`~lsst.meas.realbogus.stampfiles.records.CHANNEL_ALIASES`), as the Rubin alert
cutouts of ``../shared/data/real/`` are named.  A file whose name carries no
channel is one triplet: its image extensions are matched to channels by
``EXTNAME``.  The pixels are those of the file's first image HDU (Rubin's
cutouts also carry ``UNCERT`` and ``PSFIMAGE``; ZTF's are gzipped, which
astropy reads).  Units come from ``BUNIT`` when present.
"""

from __future__ import annotations

__all__ = ("read_fits_files",)

import os
import re
from collections.abc import Iterator, Sequence

import numpy as np

from .records import StampRecord, channel_name

FITS_SUFFIXES = (".fits", ".fit", ".fits.gz", ".fit.gz", ".fits.fz")
_NAMED = re.compile(r"^(?P<id>.+)[_\-.](?P<channel>[A-Za-z]+)$")


def _stem(path: str) -> str:
    name = os.path.basename(path)
    for suffix in sorted(FITS_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def first_image(hdus, path: str) -> tuple[np.ndarray, str]:
    """Pixels (float32) and ``BUNIT`` of the first 2-d image HDU; `ValueError` naming ``path`` if none."""
    for hdu in hdus:
        if hdu.data is not None and getattr(hdu.data, "ndim", 0) == 2:
            return np.asarray(hdu.data, dtype=np.float32), str(hdu.header.get("BUNIT", ""))
    raise ValueError(f"{path}: no 2-d image HDU")


def _as_id(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def read_fits_files(paths: Sequence[str]) -> Iterator[StampRecord]:
    """Read triplets from FITS cutout files, one record per triplet.

    A file that cannot be read gives a record with its ``problem`` (the
    triplet is reported, unscored), never an exception.
    """
    from astropy.io import fits

    groups: dict[str, dict[str, str]] = {}
    singles: list[str] = []
    for path in paths:
        match = _NAMED.match(_stem(path))
        channel = channel_name(match["channel"]) if match else None
        if channel is None:
            singles.append(path)
        else:
            groups.setdefault(os.path.join(os.path.dirname(path), match["id"]), {})[channel] = path

    for key, files in groups.items():
        stamps: dict[str, np.ndarray | None] = {}
        problems, units = [], ""
        for channel, path in files.items():
            try:
                with fits.open(path) as hdus:
                    stamps[channel], units = first_image(hdus, path)
            except (OSError, ValueError) as err:
                problems.append(f"{os.path.basename(path)}: {str(err).splitlines()[0]}")
        yield StampRecord(
            id=_as_id(os.path.basename(key)),
            stamps=stamps,
            file=",".join(files.values()),
            units=units,
            problem="; ".join(problems),
        )

    for path in singles:
        stamps, problem, units = {}, "", ""
        try:
            with fits.open(path) as hdus:
                for hdu in hdus:
                    channel = channel_name(hdu.name)
                    if channel and hdu.data is not None:
                        stamps[channel] = np.asarray(hdu.data, dtype=np.float32)
                        units = units or str(hdu.header.get("BUNIT", ""))
            if not stamps:
                problem = "no HDU named science, template or difference (and the file name names no channel)"
        except OSError as err:
            problem = str(err).splitlines()[0]
        yield StampRecord(id=_as_id(_stem(path)), stamps=stamps, file=path, units=units, problem=problem)
