#!/usr/bin/env python
"""AUC and MDR at 1% FPR of a tract's evaluation with its interpolated detectors rescored (training.rst).

Usage: python rescore_interpolated.py REPO COLLECTION

COLLECTION is an ``EvaluateRealBogus.yaml`` output on tract 4024 (its ``dia_source_realbogus``
and ``dia_source_realbogus_label``). Every detector-visit whose scores were interpolated
(``psfScale < 1``) is rescored in-process by ``RealBogusTask`` with the shipped model as the
package now interpolates, and without interpolation (``minPsfFwhm=0``); the others keep their
scores. Prints the figures of the collection's own scores and of both rescorings, with the
MDR computed as the evaluation computes it. How the Lanczos-3 column of "Interpolating narrow
PSFs" was measured: an analysis of the simulator's repositories, not part of the package.
"""

import argparse

import astropy.table
import numpy as np
from lsst.daf.butler import Butler
from lsst.meas.realbogus import RealBogusConfig, RealBogusTask
from lsst.meas.realbogus.evaluation.metrics import roc_auc

IMAGES = (
    ("science", "preliminary_visit_image"),
    ("template", "template_detector"),
    ("difference", "difference_image"),
)


def main() -> None:
    """Rescore and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo")
    parser.add_argument("collection")
    args = parser.parse_args()
    butler = Butler(args.repo, collections=[args.collection, "RBSimCam/sim"])
    tasks = {"now": RealBogusTask(config=RealBogusConfig())}
    config = RealBogusConfig()
    config.minPsfFwhm = 0.0
    tasks["none"] = RealBogusTask(config=config)
    parts = []
    refs = butler.query_datasets(
        "dia_source_realbogus", where="skymap='DC2_sim' AND tract=4024", collections=args.collection
    )
    for ref in refs:
        scores = butler.get(ref)
        part = astropy.table.Table({"diaSourceId": scores["diaSourceId"], "collection": scores["logit"]})
        interpolated = bool((scores["psfScale"] < 1).any())
        if interpolated:
            dia = butler.get("dia_source_unstandardized", ref.dataId)
            images = {k: butler.get(name, ref.dataId) for k, name in IMAGES}
        for name, task in tasks.items():
            part[name] = task.run(dia, **images).scores["logit"] if interpolated else scores["logit"]
        labels = butler.get("dia_source_realbogus_label", ref.dataId)[["diaSourceId", "isReal"]]
        parts.append(astropy.table.join(part, labels, keys="diaSourceId"))
    table = astropy.table.vstack(parts)
    real = np.asarray(table["isReal"], dtype=bool)
    for name in ("collection", "now", "none"):
        logit = np.asarray(table[name], dtype=float)
        logit = np.where(np.isfinite(logit), logit, -99.0)
        threshold = np.quantile(logit[~real], 0.99)
        print(
            f"{name}: AUC {roc_auc(logit, real):.4f}, MDR at 1% FPR {np.mean(logit[real] <= threshold):.4f}"
        )


if __name__ == "__main__":
    main()
