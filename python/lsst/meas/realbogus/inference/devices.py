"""Where torch runs: checking a device, and the number of CPU threads."""

from __future__ import annotations

__all__ = ("check_device", "cpu_threads", "set_torch_threads")

import os
import sys

_threads: int | None = None


def check_device(device: str) -> None:
    """Raise `ValueError` if ``device`` is not ``cpu``, ``cuda`` or ``cuda:N``, or CUDA is absent.

    torch is imported only for a CUDA device.
    """
    if device == "cpu":
        return
    if device != "cuda" and not device.startswith("cuda:"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    import torch

    if not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested, but CUDA is not available")


def set_torch_threads(threads: int | None) -> None:
    """Have torch and onnxruntime use ``threads`` CPU threads (nothing happens for `None` or 0).

    Under ``pipetask``, which turns implicit threading off, a task passes its
    ``numThreads`` or else the cores granted to the quantum
    (``butlerQC.resources.num_cores``). torch is not imported for this (the
    ONNX backend scores without it, and importing it costs a worker about
    1.5 s and 0.45 GB); if it is imported later, `cpu_threads` applies the
    number then.
    """
    global _threads
    if threads:
        _threads = int(threads)
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_num_threads(_threads)


def cpu_threads() -> int:
    """The CPU threads to use around and in the model (normalization, onnxruntime, torch).

    The number given to `set_torch_threads`, else torch's own if it is
    imported, else ``OMP_NUM_THREADS``, else the CPUs this process may use.
    """
    torch = sys.modules.get("torch")
    if torch is not None:
        if _threads and torch.get_num_threads() != _threads:
            torch.set_num_threads(_threads)  # torch was imported after set_torch_threads
        return torch.get_num_threads()
    if _threads:
        return _threads
    return int(os.environ.get("OMP_NUM_THREADS") or 0) or len(os.sched_getaffinity(0))
