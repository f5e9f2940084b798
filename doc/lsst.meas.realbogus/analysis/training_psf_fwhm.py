#!/usr/bin/env python
"""The widest and narrowest PSF of a training tract, and a model file that records them (training.rst).

Usage: python training_psf_fwhm.py REPO [--tract 3080] [--model IN.pt --output OUT.pt --version V]

Measures the difference-image PSF FWHM at the centre of every detector-visit of the tract, as
BuildTrainingSetTask records it in the ``psfFwhm`` column of the triplets (the same function,
`lsst.meas.realbogus.stamps.resampling.psf_fwhm`, at the centre of the PSF's bounds), and
prints its range. With
``--model``, writes a copy of the model with that range as its ``max_psf_fwhm`` and
``min_psf_fwhm`` (rounded outwards to 0.001 pixel, as TrainRealBogusTask does) and a new
version: how ``rbsim08`` (maximum only) and ``rbsim09`` (both) were made from ``rbsim06``,
whose triplets predate the column (``make default-model`` now records both itself). An
analysis of the simulator's repositories, not part of the package.
"""

import argparse
import dataclasses
import math

import numpy as np
from lsst.daf.butler import Butler
from lsst.meas.realbogus.inference import load_model, save_torchscript
from lsst.meas.realbogus.stamps.resampling import psf_fwhm


def main() -> None:
    """Measure the widths and, with --model, write the copy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo")
    parser.add_argument("--tract", type=int, default=3080)
    parser.add_argument("--collection", default="RBSimCam/sim")
    parser.add_argument("--model", help="model file to copy with the measured max_psf_fwhm and min_psf_fwhm")
    parser.add_argument("--output", help="where to write the copy")
    parser.add_argument("--version", help="version of the copy")
    args = parser.parse_args()
    butler = Butler(args.repo, collections=args.collection)
    refs = butler.query_datasets(
        "difference_image", where=f"skymap='DC2_sim' AND tract={args.tract}", with_dimension_records=True
    )
    widths = np.array([psf_fwhm(butler.get(ref.makeComponentRef("psf"))) for ref in refs])
    print(
        f"{len(widths)} detector-visits of tract {args.tract}: PSF FWHM {widths.min():.3f} to "
        f"{widths.max():.3f} pixels (median {np.median(widths):.3f})"
    )
    if args.model:
        model = load_model(args.model, device="cpu", backend="torchscript")
        md = dataclasses.replace(
            model.metadata,
            version=args.version or model.metadata.version,
            max_psf_fwhm=math.ceil(float(widths.max()) * 1000) / 1000,
            min_psf_fwhm=math.floor(float(widths.min()) * 1000) / 1000,
            provenance=f"{model.metadata.provenance}; max_psf_fwhm and min_psf_fwhm from tract "
            f"{args.tract} (training_psf_fwhm.py), weights of {model.metadata.version}",
        )
        save_torchscript(model.backend.module, md, args.output)
        print(
            f"wrote {args.output}: version {md.version}, "
            f"PSF FWHM {md.min_psf_fwhm} to {md.max_psf_fwhm} pixels"
        )


if __name__ == "__main__":
    main()
