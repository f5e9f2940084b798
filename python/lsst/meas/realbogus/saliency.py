"""Saliency maps of a real/bogus model (Simonyan et al. 2014; used by Acero-Cuellar et al., seed 004)."""

from __future__ import annotations

__all__ = ("saliency_maps",)

import numpy as np

from .model import LoadedModel


def saliency_maps(model: LoadedModel, cutouts: np.ndarray) -> np.ndarray:
    """Absolute gradient of the model's output with respect to each input pixel.

    Parameters
    ----------
    model : `~lsst.meas.realbogus.model.LoadedModel`
        The model (its TorchScript module is differentiated, in evaluation mode).
    cutouts : `numpy.ndarray`
        ``(N, C, S, S)`` normalized cutouts, as the model takes them.

    Returns
    -------
    saliency : `numpy.ndarray`
        ``(N, C, S, S)`` float32 ``|d output / d pixel|``; large values mark the
        pixels the decision depends on most.
    """
    import torch

    x = torch.from_numpy(np.ascontiguousarray(cutouts, dtype=np.float32)).to(model.device)
    x.requires_grad_(True)
    with torch.enable_grad():
        out = model.module(x)
        out.sum().backward()
    return x.grad.abs().cpu().numpy()
