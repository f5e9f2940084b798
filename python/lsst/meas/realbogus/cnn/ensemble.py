"""A deep ensemble: several networks in one module, one output column each."""

from __future__ import annotations

__all__ = ("Ensemble",)

from collections.abc import Sequence

import torch
from torch import nn


class Ensemble(nn.Module):
    """Networks trained alike from different seeds, run on the same batch.

    Each member maps ``(N, C, H, W)`` to ``(N,)`` or ``(N, 1)`` logits; the
    ensemble returns ``(N, K)``, which a model's metadata declares with
    ``members = K`` (`~lsst.meas.realbogus.inference.model.LoadedModel.score`
    averages the logits and reports the spread of the members' scores).
    It can be scripted (TorchScript) and exported to ONNX.

    Parameters
    ----------
    members : sequence of `torch.nn.Module`
        The networks (at least one).
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [member(x).reshape(x.shape[0]) for member in self.members]
        return torch.stack(outputs, dim=1)
