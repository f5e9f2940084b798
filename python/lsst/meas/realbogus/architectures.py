"""Network architectures for real/bogus classification (PyTorch).

torch is imported when this module is; the inference task never imports it:
it loads TorchScript files through `lsst.meas.realbogus.model`.
"""

from __future__ import annotations

__all__ = ("ARCHITECTURES", "DiaCNN", "make_architecture")

import torch
from torch import nn


class DiaCNN(nn.Module):
    """The DIA-based CNN of Acero-Cuellar et al. ("There's no difference"), on stacked channels.

    Three 5x5 convolutions (16, 32 and 64 filters, ReLU), each followed by 2x2
    max pooling and dropout, a dense layer of 32 and one output logit.  The
    paper places the template, science and difference stamps side by side in
    one 51x153 image; here they are stacked as input channels, which keeps the
    layers and cuts the cost of the first convolutions by three.

    Parameters
    ----------
    in_channels : `int`
        Number of cutout channels.
    size : `int`
        Cutout width and height.
    dropout : `float`
        Dropout probability after each pooling.
    """

    def __init__(self, in_channels: int = 3, size: int = 51, dropout: float = 0.4) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        width = size
        for filters in (16, 32, 64):
            # 5x5 'valid' convolutions as in the paper; small inputs switch to 3x3 'same' ones.
            kernel, padding = (5, 0) if width >= 9 else (3, 1)
            layers += [nn.Conv2d(channels, filters, kernel, padding=padding), nn.ReLU(), nn.MaxPool2d(2)]
            layers.append(nn.Dropout(dropout))
            channels = filters
            width = (width - kernel + 1 + 2 * padding) // 2
        if width < 1:
            raise ValueError(f"cutouts of {size} pixels are too small for DiaCNN")
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * width * width, 32), nn.ReLU(), nn.Linear(32, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))[:, 0]


ARCHITECTURES = {"dia_cnn": DiaCNN}
"""Architectures by name."""


def make_architecture(name: str, in_channels: int, size: int) -> nn.Module:
    """Build the architecture called ``name`` for cutouts of ``in_channels`` x ``size`` x ``size``."""
    try:
        cls = ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"Unknown architecture {name!r}; known: {sorted(ARCHITECTURES)}") from None
    return cls(in_channels=in_channels, size=size)
