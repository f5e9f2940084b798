"""Timing helpers shared by the benchmark scripts of this directory (run as ``python bench/X.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeat: int = 5, warmup: bool = False) -> float:
    """The shortest wall time of ``repeat`` calls of ``fn``, seconds.

    With ``warmup``, ``fn`` is first called once untimed (first-call costs: allocation, caches).
    """
    if warmup:
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_peak() -> float:
    """This machine's float32 matrix-multiply rate in torch (2048x2048, warmed up), GFLOP/s."""
    import torch

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    return 2 * 2048**3 / best_of(lambda: a @ b, warmup=True) / 1e9
