"""Stacked stamps in numpy files: ``.npz`` archives and ``.npy`` arrays.

An ``.npz`` file holds the stamps as one ``(N, C, H, W)`` (or ``(N, H, W, C)``)
array under ``triplets``, ``stamps`` or ``cutouts``; its channel names under
``channels`` (or given by the caller); the identifiers under the first of
``diaSourceId``, ``candid``, ``id`` or ``transientid`` (else the row number);
its pixel units under ``units``.  Every other one-dimensional array of length N
is carried into the output (ZTF's ``drb``, Rubin's ``reliability``).  This is
the layout of the real stamp sets in ``../shared/data/real/``.  A ``.npy`` file
is the stamp array alone (channels from the caller).
"""

from __future__ import annotations

__all__ = ("read_array_file",)

from collections.abc import Iterator, Sequence

import numpy as np

from .records import StampRecord, channel_name

STAMP_KEYS = ("triplets", "stamps", "cutouts")
ID_KEYS = ("diaSourceId", "candid", "id", "transientid")


def _channel_axis(shape: tuple[int, ...], n_chan: int, path: str) -> int:
    """1 for ``(N, C, H, W)``, 3 for ``(N, H, W, C)``."""
    if len(shape) != 4:
        raise ValueError(f"{path}: stamps must be a 4-d (N, C, H, W) array, got shape {shape}")
    if shape[1] == n_chan:
        return 1
    if shape[3] == n_chan:
        return 3
    raise ValueError(f"{path}: stamps of shape {shape} have no axis of {n_chan} channels")


def read_array_file(path: str, channels: Sequence[str] | None = None) -> Iterator[StampRecord]:
    """Read the stamps of an ``.npz`` or ``.npy`` file, one record per stamp.

    Parameters
    ----------
    path : `str`
        The file.
    channels : sequence of `str`, optional
        Channel names of the stamp array's planes, in order; required when
        the file does not name them.  Planes that are not science, template
        or difference (e.g. ``scorr``) are skipped.

    Raises
    ------
    ValueError
        If the file holds no stamp array, the channels are unknown, or the
        array's shape does not fit them; the message names the file.
    """
    with np.load(path, allow_pickle=False) as loaded:
        if isinstance(loaded, np.ndarray):
            arrays = {"stamps": loaded}
        else:
            arrays = {key: loaded[key] for key in loaded.files}
    key = next((k for k in STAMP_KEYS if k in arrays), None)
    if key is None:
        raise ValueError(f"{path}: no stamp array (one of {', '.join(STAMP_KEYS)}; has {sorted(arrays)})")
    stack = arrays[key]
    names = [str(c) for c in (arrays["channels"] if "channels" in arrays else channels or [])]
    if not names:
        raise ValueError(
            f"{path}: the file does not name its channels; give them (e.g. science,template,difference)"
        )
    mapped = [channel_name(c) for c in names]
    if not any(mapped):
        raise ValueError(f"{path}: none of the channels {names} is science, template or difference")
    axis = _channel_axis(stack.shape, len(names), path)
    n = stack.shape[0]
    id_key = next((k for k in ID_KEYS if k in arrays and arrays[k].shape == (n,)), None)
    ids = arrays[id_key] if id_key else np.arange(n)
    units = str(arrays["units"]) if "units" in arrays and arrays["units"].ndim == 0 else ""
    carried = {
        k: a for k, a in arrays.items() if k not in (key, id_key, "channels") and a.ndim == 1 and len(a) == n
    }
    for i in range(n):
        planes = stack[i] if axis == 1 else np.moveaxis(stack[i], -1, 0)
        stamps = {c: planes[j] for j, c in enumerate(mapped) if c is not None}
        yield StampRecord(
            id=ids[i].item(),
            stamps=stamps,
            file=f"{path}[{i}]",
            columns={k: a[i].item() for k, a in carried.items()},
            units=units,
        )
