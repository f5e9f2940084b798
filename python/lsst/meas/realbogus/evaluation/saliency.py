"""Saliency maps of a real/bogus model (Simonyan et al. 2014; used by Acero-Cuellar et al., seed 004)."""

from __future__ import annotations

__all__ = ("saliency_maps",)

import numpy as np

from ..inference.model import LoadedModel


def saliency_maps(model: LoadedModel, cutouts: np.ndarray) -> np.ndarray:
    """Absolute gradient of the model's output with respect to each input pixel.

    Parameters
    ----------
    model : `~lsst.meas.realbogus.inference.model.LoadedModel`
        The model (its TorchScript module is differentiated, in evaluation
        mode).
    cutouts : `numpy.ndarray`
        ``(N, C, S, S)`` model-ready batch (``model.metadata.input``).

    Returns
    -------
    saliency : `numpy.ndarray`
        ``(N, C, S, S)`` float32 ``|d output / d pixel|``; large values mark the
        pixels the decision depends on most.

    Raises
    ------
    lsst.meas.realbogus.inference.ModelError
        If the model has no torch module to differentiate.
    """
    import torch

    module = model.module
    x = torch.from_numpy(np.ascontiguousarray(cutouts, dtype=np.float32)).to(model.device)
    x.requires_grad_(True)
    with torch.enable_grad():
        out = module(x)
        out.sum().backward()
    return x.grad.abs().cpu().numpy()
