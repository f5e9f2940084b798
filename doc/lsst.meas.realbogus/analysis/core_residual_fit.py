#!/usr/bin/env python
"""How far each simulated core residual is from a point source, for the ideal observer (training.rst).

Usage: python core_residual_fit.py REPO EVAL_COLLECTION [--hosts 0.15] [-o fits.ecsv]

For every ``nuclear_residual`` diaSource of an EvaluateRealBogus collection, and a random
fraction of the real ``host`` ones, fit the 41x41 difference-image pixels around it (weighted
by the variance plane) twice: a point source (a Gaussian of the visit's effective PSF width,
free flux, centre and background) and a core residual of the simulator's own family (that
Gaussian made wider or narrower by a free factor in 0.7-1.4 and shifted, minus the Gaussian,
free amplitude, so no net flux). Prints the quantiles of ``dchi2`` = chi2(point) -
chi2(residual) for both kinds, beside the model's scores: above 0 the pixels prefer a
residual, below 0 a point source.
An analysis of the simulator's repositories, not part of the package.
"""

import argparse

import astropy.table
import numpy as np
from lsst.daf.butler import Butler
from scipy import optimize

HALF = 20
OY, OX = np.mgrid[-HALF : HALF + 1, -HALF : HALF + 1].astype(float)
# Width ratios of the residual family: the simulator draws 0.75-1.3.
LOG_RATIO = (np.log(0.7), np.log(1.4))


def gaussian(sigma, x0, y0):
    """A unit-flux Gaussian on the fitting window, centred at ``x0, y0`` from its middle pixel."""
    return np.exp(-0.5 * ((OX - x0) ** 2 + (OY - y0) ** 2) / sigma**2) / (2 * np.pi * sigma**2)


def chi2(model, data, weight):
    """Chi-square of the best amplitude of ``model`` plus a constant."""
    design = np.stack([model.ravel(), np.ones(data.size)], 1) * np.sqrt(weight.ravel())[:, None]
    target = data.ravel() * np.sqrt(weight.ravel())
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return float(np.sum((target - design @ coef) ** 2))


def dchi2(data, weight, sigma, fx, fy):
    """Chi-square of the best point source minus that of the best core residual."""
    point = optimize.minimize(
        lambda p: chi2(gaussian(sigma, *p), data, weight), [fx, fy], method="Nelder-Mead"
    ).fun
    best = np.inf
    for log_ratio in (np.log(0.8), np.log(1.2)):
        fit = optimize.minimize(
            lambda p: chi2(
                gaussian(sigma * np.exp(np.clip(p[2], *LOG_RATIO)), p[0] + p[3], p[1] + p[4])
                - gaussian(sigma, p[0], p[1]),
                data,
                weight,
            ),
            [fx, fy, log_ratio, 0.0, 0.0],
            method="Nelder-Mead",
            options={"maxiter": 2000, "xatol": 1e-3, "fatol": 1e-3},
        )
        best = min(best, fit.fun)
    return point - best


def main():
    """Fit the diaSources of a collection and print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo")
    parser.add_argument("collection", help="an EvaluateRealBogus output collection")
    parser.add_argument("--hosts", type=float, default=0.15, help="fraction of real host diaSources fitted")
    parser.add_argument("-o", "--output", help="write the fits (ECSV)")
    args = parser.parse_args()
    butler = Butler(args.repo, collections=[args.collection])
    rng = np.random.default_rng(0)
    rows = []
    for ref in butler.query_datasets("dia_source_realbogus_label", find_first=True):
        labels = butler.get(ref)
        pick = (labels["kind"] == "nuclear_residual") | (
            (labels["kind"] == "host") & labels["isReal"] & (rng.uniform(size=len(labels)) < args.hosts)
        )
        if not pick.any():
            continue
        scores = butler.get("dia_source_realbogus", ref.dataId)
        sources = butler.get("dia_source_unstandardized", ref.dataId)
        diff = butler.get("difference_image", ref.dataId)
        image, variance = diff.image.array, diff.variance.array
        sigma = diff.metadata["SIM_PSF_FWHM"] / 2.3548
        for i in np.flatnonzero(pick):
            x, y = float(sources["x"][i]), float(sources["y"][i])
            ix, iy = int(round(x)), int(round(y))
            if not (HALF <= ix < image.shape[1] - HALF and HALF <= iy < image.shape[0] - HALF):
                continue
            cut = np.s_[iy - HALF : iy + HALF + 1, ix - HALF : ix + HALF + 1]
            rows.append(
                (
                    int(sources["diaSourceId"][i]),
                    str(labels["kind"][i]),
                    int(ref.dataId["visit"]),
                    float(labels["snr"][i]),
                    float(scores["score"][i]),
                    dchi2(image[cut].astype(float), 1.0 / variance[cut].astype(float), sigma, x - ix, y - iy),
                )
            )
    fits = astropy.table.Table(rows=rows, names=("diaSourceId", "kind", "visit", "snr", "score", "dchi2"))
    for kind in ("nuclear_residual", "host"):
        k = fits[fits["kind"] == kind]
        q = np.quantile(k["dchi2"], [0.1, 0.5, 0.9])
        top = k["dchi2"][k["score"] > 0.99]
        print(
            f"{kind}: {len(k)} fitted, dchi2 10/50/90% {q[0]:.1f} / {q[1]:.1f} / {q[2]:.1f}, "
            f"{np.mean(k['dchi2'] > 25):.1%} above 25; {len(top)} scored above 0.99, "
            f"{np.sum(top > 25)} of them with dchi2 above 25"
        )
    if args.output:
        fits.write(args.output, overwrite=True)


if __name__ == "__main__":
    main()
