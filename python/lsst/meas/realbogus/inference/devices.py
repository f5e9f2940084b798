"""Where torch runs: checking a device, and the number of CPU threads."""

from __future__ import annotations

__all__ = ("check_device", "cpu_threads", "set_torch_threads")


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
    """Have torch use ``threads`` CPU threads (nothing happens for `None` or 0).

    Under ``pipetask``, which turns implicit threading off, a task passes its
    ``numThreads`` or else the cores granted to the quantum
    (``butlerQC.resources.num_cores``).
    """
    if threads:
        import torch

        torch.set_num_threads(threads)


def cpu_threads() -> int:
    """The CPU threads torch uses (`set_torch_threads`), for the work around the model (normalization)."""
    import torch

    return torch.get_num_threads()
