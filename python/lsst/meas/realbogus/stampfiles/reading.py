"""Stamps from files of any supported kind, chosen by file name."""

from __future__ import annotations

__all__ = ("expand_inputs", "read_stamp_files")

import glob
import os
from collections.abc import Iterator, Sequence

from .arrays import read_array_file
from .avro import read_avro_file
from .fits import FITS_SUFFIXES, read_fits_files
from .records import StampRecord

ARRAY_SUFFIXES = (".npz", ".npy")
AVRO_SUFFIXES = (".avro",)
SUFFIXES = ARRAY_SUFFIXES + AVRO_SUFFIXES + FITS_SUFFIXES
"""File name endings read (case-insensitive)."""


def _kind(path: str) -> str | None:
    name = path.lower()
    for kind, suffixes in (("array", ARRAY_SUFFIXES), ("avro", AVRO_SUFFIXES), ("fits", FITS_SUFFIXES)):
        if name.endswith(suffixes):
            return kind
    return None


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Files to read: the inputs, with each directory replaced by its readable files (sorted).

    Raises
    ------
    FileNotFoundError
        If an input does not exist, or a directory holds no readable file.
    ValueError
        If a file's name has none of the known endings (`SUFFIXES`).
    """
    files = []
    for item in inputs:
        if os.path.isdir(item):
            found = sorted(p for p in glob.glob(os.path.join(item, "**", "*"), recursive=True) if _kind(p))
            if not found:
                raise FileNotFoundError(f"{item}: no file ending in {', '.join(SUFFIXES)}")
            files.extend(found)
        elif not os.path.exists(item):
            raise FileNotFoundError(f"{item}: no such file or directory")
        elif _kind(item) is None:
            raise ValueError(f"{item}: cannot tell its kind; file names must end in {', '.join(SUFFIXES)}")
        else:
            files.append(item)
    return files


def read_stamp_files(inputs: Sequence[str], channels: Sequence[str] | None = None) -> Iterator[StampRecord]:
    """Records of every stamp in ``inputs`` (files or directories), in order, FITS files last.

    Parameters
    ----------
    inputs : sequence of `str`
        ``.npz``/``.npy`` stamp arrays, ``.avro`` alert packet files, FITS
        cutouts, or directories of them.
    channels : sequence of `str`, optional
        Channel names of numpy files that do not name their own.
    """
    files = expand_inputs(inputs)
    fits_files = []
    for path in files:
        kind = _kind(path)
        if kind == "array":
            yield from read_array_file(path, channels)
        elif kind == "avro":
            yield from read_avro_file(path)
        else:
            fits_files.append(path)
    if fits_files:
        yield from read_fits_files(fits_files)
