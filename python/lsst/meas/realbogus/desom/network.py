"""The network a DESOM file holds, and writing it (torch is imported with this module)."""

from __future__ import annotations

__all__ = ("DesomNetwork", "save_desom")

import os
import warnings

import torch
from torch import nn

from ..inference.torchscript import JIT_DEPRECATED
from .model import DESOM_METADATA_FILE, DesomMetadata, check_network


class DesomNetwork(nn.Module):
    """An encoder, a decoder and the map's prototypes, as one module to script and save.

    Parameters
    ----------
    encoder : `torch.nn.Module`
        Thumbnails ``(N, C, S, S)`` to latent vectors ``(N, L)``.
    decoder : `torch.nn.Module`
        Latent vectors to thumbnails.
    prototypes : `torch.Tensor`
        ``(rows * cols, L)`` prototype vectors, row by row.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, prototypes: torch.Tensor) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.register_buffer("prototypes", prototypes.detach().clone().float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Thumbnails decoded from latent vectors."""
        return self.decoder(z)


def save_desom(network: DesomNetwork, metadata: DesomMetadata, path: str | os.PathLike) -> None:
    """Script a `DesomNetwork` and write it with its metadata.

    Raises
    ------
    lsst.meas.realbogus.inference.ModelError
        If the network disagrees with the metadata (see
        `~lsst.meas.realbogus.desom.model.check_network`).
    """
    network = network.eval()
    check_network(network, metadata, str(path))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=JIT_DEPRECATED, category=FutureWarning)
        torch.jit.save(
            torch.jit.script(network), str(path), _extra_files={DESOM_METADATA_FILE: metadata.to_json()}
        )
