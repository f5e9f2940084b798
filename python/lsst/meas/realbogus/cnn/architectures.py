"""Network architectures for real/bogus classification (PyTorch), registered by name.

Architectures are looked up by name, as torchvision's models are:
`get_architecture` builds one for a stamp shape, `list_architectures` names
them, and `register_architecture` adds one (a class taking ``in_channels`` and
``size``).  torch is imported when this module is; the inference task never
imports it: it loads model files through `lsst.meas.realbogus.inference`.
"""

from __future__ import annotations

__all__ = (
    "DiaCNN",
    "SmallResNet",
    "VGG6",
    "get_architecture",
    "get_architecture_class",
    "list_architectures",
    "register_architecture",
)

from collections.abc import Callable

import torch
from torch import nn

from ..registry import Registry

_ARCHITECTURES: Registry[type[nn.Module]] = Registry("architecture")


def register_architecture(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: make an architecture available as ``name``.

    The class is built as ``cls(in_channels=C, size=S)`` for stamps of C
    channels of S x S pixels, and its docstring's first line describes it.
    """
    return lambda cls: _ARCHITECTURES.register(name, cls)


def list_architectures() -> list[str]:
    """Names of the registered architectures."""
    return _ARCHITECTURES.names()


def get_architecture_class(name: str) -> type[nn.Module]:
    """The class of the architecture called ``name``.

    Raises
    ------
    ValueError
        If no architecture has that name (the message lists those that do).
    """
    return _ARCHITECTURES.get(name)


def get_architecture(name: str, in_channels: int, size: int) -> nn.Module:
    """Build the architecture called ``name`` for stamps of ``in_channels`` x ``size`` x ``size``."""
    return get_architecture_class(name)(in_channels=in_channels, size=size)


@register_architecture("dia_cnn")
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


def _flat_size(features: nn.Module, in_channels: int, size: int) -> int:
    """Number of features ``features`` makes of one cutout (by running it on zeros)."""
    with torch.no_grad():
        return int(features(torch.zeros(1, in_channels, size, size)).numel())


@register_architecture("vgg6")
class VGG6(nn.Module):
    """A VGG-style network of six layers, as the VGG6 of the Rubin real/bogus studies (DMTN-272).

    Two blocks of two 3x3 convolutions (16 then 32 filters, ReLU, 'same'
    padding), the first followed by 2x2 and the second by 4x4 max pooling,
    each then by dropout of 0.25; a dense layer of 256 with dropout of 0.5;
    one output logit.

    Parameters
    ----------
    in_channels : `int`
        Number of cutout channels.
    size : `int`
        Cutout width and height (at least 8).
    """

    def __init__(self, in_channels: int = 3, size: int = 51) -> None:
        super().__init__()
        if size < 8:
            raise ValueError(f"cutouts of {size} pixels are too small for VGG6 (at least 8)")

        def block(cin: int, cout: int, pool: int) -> list[nn.Module]:
            return [
                nn.Conv2d(cin, cout, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(cout, cout, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(pool),
                nn.Dropout(0.25),
            ]

        self.features = nn.Sequential(*block(in_channels, 16, 2), *block(16, 32, 4))
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(_flat_size(self.features, in_channels, size), 256),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(256, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))[:, 0]


class _BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch normalization and an identity (or 1x1) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


@register_architecture("resnet_small")
class SmallResNet(nn.Module):
    """A small residual network, a CPU-sized stand-in for the ResNet50 of DMTN-272.

    A 3x3 stem of 16 filters with stride 2, three stages of one basic block
    (16, 32 and 64 filters; the last two with stride 2), global average
    pooling and one output logit.  About the cost of `DiaCNN` per cutout.

    Parameters
    ----------
    in_channels : `int`
        Number of cutout channels.
    size : `int`
        Cutout width and height (any size of at least 4).
    """

    def __init__(self, in_channels: int = 3, size: int = 51) -> None:
        super().__init__()
        if size < 4:
            raise ValueError(f"cutouts of {size} pixels are too small for SmallResNet")
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()
        )
        self.stages = nn.Sequential(_BasicBlock(16, 16, 1), _BasicBlock(16, 32, 2), _BasicBlock(32, 64, 2))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))[:, 0]
