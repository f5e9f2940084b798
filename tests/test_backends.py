"""The registry of inference backends."""

from __future__ import annotations

import pytest
from lsst.meas.realbogus.inference import TorchScriptBackend, get_backend, list_backends, register_backend


def test_torchscript_is_registered():
    assert "torchscript" in list_backends()
    assert get_backend("torchscript") is TorchScriptBackend


def test_unknown_and_clashing_names():
    with pytest.raises(ValueError, match=r"Unknown inference backend 'nope'; known: \["):
        get_backend("nope")

    class Clash(TorchScriptBackend):
        name = "torchscript"

    with pytest.raises(ValueError, match="already registered by TorchScriptBackend"):
        register_backend(Clash)
    assert get_backend("torchscript") is TorchScriptBackend
