"""Convolutional autoencoders of difference thumbnails: the autoencoder half of a DESOM.

Autoencoders are registered by name (`get_autoencoder`, `list_autoencoders`,
`register_autoencoder`); each is built as ``cls(in_channels, size,
latent_size)`` and has ``encode`` (thumbnails to latent vectors) and
``decode`` (latent vectors to thumbnails).
"""

from __future__ import annotations

__all__ = (
    "Autoencoder",
    "ConvAutoencoder",
    "DenseAutoencoder",
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


class Autoencoder(nn.Module):
    """An ``encoder`` and a ``decoder`` (set by subclasses); ``forward`` gives the code and the output."""

    encoder: nn.Module
    decoder: nn.Module

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent vectors ``(N, latent_size)`` of inputs."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Inputs decoded from latent vectors."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)
        return z, self.decoder(z)


@register_autoencoder("table1")
class ConvAutoencoder(Autoencoder):
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


@register_autoencoder("dense")
class DenseAutoencoder(Autoencoder):
    """A fully connected autoencoder of vectors: seed 002's DESOM-2, over prototype histograms.

    The encoder has two hidden layers (ReLU) and the latent layer; the
    decoder mirrors it, with a sigmoid output (the histograms are scaled to
    [0, 1] per cell).  Inputs of shape ``(N, in_channels)`` when ``size`` is
    1, else ``(N, in_channels, size, size)`` flattened (and restored on
    decoding).

    Parameters
    ----------
    in_channels : `int`
        Vector length (histogram cells), or channels of an image input.
    size : `int`
        1 for vectors; the width of a square image input otherwise.
    latent_size : `int`
        Length of the latent vectors.
    hidden : sequence of `int`
        Widths of the two hidden layers of the encoder.
    """

    def __init__(
        self, in_channels: int = 625, size: int = 1, latent_size: int = 32, hidden: Sequence[int] = (256, 128)
    ) -> None:
        super().__init__()
        features = in_channels * size * size
        widths = [features, *hidden]
        encoder: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(widths[:-1], widths[1:]):
            encoder += [nn.Linear(a, b), nn.ReLU()]
        encoder.append(nn.Linear(widths[-1], latent_size))
        self.encoder = nn.Sequential(*encoder)
        decoder: list[nn.Module] = []
        back = [latent_size, *hidden[::-1]]
        for a, b in zip(back[:-1], back[1:]):
            decoder += [nn.Linear(a, b), nn.ReLU()]
        decoder += [nn.Linear(back[-1], features), nn.Sigmoid()]
        if size > 1:
            decoder.append(nn.Unflatten(1, (in_channels, size, size)))
        self.decoder = nn.Sequential(*decoder)
        self.in_channels = in_channels
        self.size = size
        self.latent_size = latent_size
