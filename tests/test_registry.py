"""Registries of named things."""

from __future__ import annotations

import pytest
from lsst.meas.realbogus.registry import Registry


def test_register_get_and_errors():
    registry = Registry[type]("widget")
    assert registry.register("b", int) is int
    registry.register("a", float)
    registry.register("a", float)  # the same item again is fine
    assert registry.get("b") is int and registry.names() == ["a", "b"]
    with pytest.raises(ValueError, match=r"Unknown widget 'c'; known: \['a', 'b'\]"):
        registry.get("c")
    with pytest.raises(ValueError, match="widget 'a' is already registered by float"):
        registry.register("a", str)
