"""Devices and threads for torch."""

from __future__ import annotations

import pytest
import torch
from lsst.meas.realbogus.inference import check_device, set_torch_threads


def test_check_device():
    check_device("cpu")
    with pytest.raises(ValueError, match="must be 'cpu', 'cuda' or 'cuda:N'"):
        check_device("gpu")
    if torch.cuda.is_available():
        check_device("cuda:0")
    else:
        with pytest.raises(ValueError, match="'cuda:0' requested, but CUDA is not available"):
            check_device("cuda:0")


def test_set_torch_threads():
    before = torch.get_num_threads()
    try:
        set_torch_threads(1)
        assert torch.get_num_threads() == 1
        set_torch_threads(0)  # nothing happens
        set_torch_threads(None)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
