"""Convolutional autoencoders of difference thumbnails: the autoencoder half of a DESOM.

Autoencoders are registered by name (`get_autoencoder`, `list_autoencoders`,
`register_autoencoder`); each is built as ``cls(in_channels, size,
latent_size)`` and has ``encode`` (thumbnails to latent vectors) and
``decode`` (latent vectors to thumbnails).
"""

from __future__ import annotations

__all__ = (
    "ConvAutoencoder",
    "get_autoencoder",
    "get_autoencoder_class",
    "list_autoencoders",
    "register_autoencoder",
)

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..registry import Registry

_AUTOENCODERS: Registry[type[nn.Module]] = Registry("autoencoder")


def register_autoencoder(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: make an autoencoder available as ``name``."""
    return lambda cls: _AUTOENCODERS.register(name, cls)


def list_autoencoders() -> list[str]:
    """Names of the registered autoencoders."""
    return _AUTOENCODERS.names()


def get_autoencoder_class(name: str) -> type[nn.Module]:
    """The class of the autoencoder called ``name`` (`ValueError` listing the names if none)."""
    return _AUTOENCODERS.get(name)


def get_autoencoder(name: str, in_channels: int, size: int, latent_size: int) -> nn.Module:
    """Build the autoencoder called ``name`` for ``in_channels`` x ``size`` x ``size`` thumbnails."""
    return get_autoencoder_class(name)(in_channels=in_channels, size=size, latent_size=latent_size)


@register_autoencoder("table1")
class ConvAutoencoder(nn.Module):
    """The autoencoder of Mong et al. (seed 000, Table 1): Conv2D 32/64/128 with pooling, dense 512.

    The encoder has three 3x3 convolutions ('valid', as Keras's default;
    32, 64 and 128 filters, ReLU), each followed by 2x2 max pooling, then a
    dense layer of 512 (ReLU) and the latent layer (``latent_size``, 120 in
    the seed).  The decoder mirrors it: dense 512, dense to 128 maps of
    ``size / 8`` pixels, and three 2x transposed convolutions back to the
    thumbnail, with a sigmoid output (eq. 9 normalized pixels lie in [0, 1]).

    Parameters
    ----------
    in_channels : `int`
        Thumbnail channels (1: the difference).
    size : `int`
        Thumbnail width and height, a multiple of 8 of at least 24.
    latent_size : `int`
        Length of the latent vectors.
    filters : sequence of `int`
        Filters of the three convolutions.
    dense : `int`
        Width of the dense layer.
    """

    def __init__(
        self,
        in_channels: int = 1,
        size: int = 32,
        latent_size: int = 120,
        filters: Sequence[int] = (32, 64, 128),
        dense: int = 512,
    ) -> None:
        super().__init__()
        steps = len(filters)
        if size % 2**steps or size < 24:
            raise ValueError(f"thumbnails of {size} pixels: the size must be a multiple of {2**steps}, >= 24")
        layers: list[nn.Module] = []
        channels = in_channels
        for f in filters:
            layers += [nn.Conv2d(channels, f, 3), nn.ReLU(), nn.MaxPool2d(2)]
            channels = f
        features = nn.Sequential(*layers)
        with torch.no_grad():
            flat = int(features(torch.zeros(1, in_channels, size, size)).numel())
        self.encoder = nn.Sequential(
            features, nn.Flatten(), nn.Linear(flat, dense), nn.ReLU(), nn.Linear(dense, latent_size)
        )
        base = size // 2**steps
        up: list[nn.Module] = []
        widths = list(filters[::-1]) + [in_channels]
        for cin, cout in zip(widths[:-1], widths[1:]):
            up += [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1), nn.ReLU()]
        up[-1] = nn.Sigmoid()
        self.decoder = nn.Sequential(
            nn.Linear(latent_size, dense),
            nn.ReLU(),
            nn.Linear(dense, filters[-1] * base * base),
            nn.ReLU(),
            nn.Unflatten(1, (filters[-1], base, base)),
            *up,
        )
        self.in_channels = in_channels
        self.size = size
        self.latent_size = latent_size

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent vectors ``(N, latent_size)`` of thumbnails ``(N, C, S, S)``."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Thumbnails ``(N, C, S, S)`` decoded from latent vectors."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)
        return z, self.decoder(z)
