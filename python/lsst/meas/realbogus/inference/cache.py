"""Files loaded once per process: a cache keyed on the file's identity and how it was loaded."""

from __future__ import annotations

__all__ = ("load_once",)

import os
import threading
from collections.abc import Callable, Hashable

from .metadata import ModelError

_CACHE: dict[tuple, object] = {}
_LOCK = threading.Lock()


def load_once[T](path: str | os.PathLike, how: Hashable, load: Callable[[str], T]) -> T:
    """``load(path)``, or what it returned before for the same file loaded the same way.

    The cache is keyed on the file's real path, size and modification time
    and on ``how`` (e.g. the device), so a replaced file is loaded again.

    Raises
    ------
    ModelError
        If the file does not exist (and whatever ``load`` raises).
    """
    path = os.path.realpath(os.fspath(path))
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise ModelError(f"model file {path} does not exist") from None
    key = (path, stat.st_size, stat.st_mtime_ns, how)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = load(path)
        return _CACHE[key]  # type: ignore[return-value]
