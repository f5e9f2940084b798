"""The C allocator's settings for training: keep freed memory for the next step instead of returning it.

On the CPU, torch takes every tensor from ``malloc``. A training step (of
``dia_cnn``, or of a DESOM's autoencoder) frees and allocates again
activations and gradients of tens of MB; glibc's defaults give large blocks
back to the kernel when they are freed (by ``munmap``, or by trimming the top
of the heap), so each step faults the same memory in again, page by page:
measured on 2 cores, a quarter to a third of a ``dia_cnn`` training's CPU
time went to the kernel. `retain_freed_memory` raises glibc's thresholds so
that the memory stays in the process and is reused. It lives beside the CNN
code, where it was first needed; `TrainRealBogusTask`, `TrainDesomTask` and
`TrainExposureQualityTask` apply it through their ``retainFreedMemory``
field (training.rst, "Training speed"; desom.rst for the DESOM's figures).
"""

from __future__ import annotations

__all__ = ("retain_freed_memory",)

import ctypes

# mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3


def retain_freed_memory(
    mmap_threshold: int = 32 << 20, trim_threshold: int = 1 << 30, top_pad: int = 256 << 20
) -> bool:
    """Have glibc's ``malloc`` keep freed memory in the process, for this process's lifetime.

    Parameters
    ----------
    mmap_threshold : `int`
        Blocks smaller than this many bytes come from the heap, not from
        their own ``mmap`` (glibc's maximum, 32 MiB on 64-bit systems, is the
        default here; glibc starts at 128 kiB and raises it only as large
        blocks are freed).
    trim_threshold : `int`
        Free memory at the top of the heap is given back to the kernel only
        beyond this many bytes.
    top_pad : `int`
        Extra bytes obtained whenever the heap grows.

    Each setting is passed as a C ``int``: a value above ``2**31 - 1`` is
    taken as that.

    Returns
    -------
    applied : `bool`
        `True` if every setting was accepted; `False` where the C library
        has no ``mallopt`` (not glibc: macOS, musl; nothing changes) or
        refused one of the settings (the others hold).
    """
    settings = (
        ("mmap_threshold", _M_MMAP_THRESHOLD, mmap_threshold),
        ("trim_threshold", _M_TRIM_THRESHOLD, trim_threshold),
        ("top_pad", _M_TOP_PAD, top_pad),
    )
    for name, _, value in settings:
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    ok = True
    for _, param, value in settings:
        ok = mallopt(param, min(value, 2**31 - 1)) == 1 and ok
    return ok
