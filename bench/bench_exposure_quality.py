"""What labelling one detector-visit's quality costs, on one core, beside reading its image.

Usage::

    python bench/bench_exposure_quality.py REPO [--collection u/rb/qual01] [--images 5]

``REPO`` is a repository with science images (``make quality-repo``); the models are those
shipped in the package, or those of ``--collection`` (TrainExposureQuality.yaml outputs).
Each step of `ExposureQualityTask.run` is timed on 1024x1024 images of the repository and on a
4096x4096 image tiled from one of them (an LSSTCam-sized detector with 16 times the sources),
with torch on one thread, and printed against two baselines measured in the same run: reading
the image from the butler (what the issue's budget is "beyond"), and one pass over its pixels
(a sum: the least any per-pixel step could cost).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from timing import best_of  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo")
    parser.add_argument("--collection", default="", help="collection with the trained models (else shipped)")
    parser.add_argument("--images", type=int, default=5, help="1024x1024 images to time")
    args = parser.parse_args()

    from lsst.daf.butler import Butler
    from lsst.meas.realbogus.exposureQualityTask import ExposureQualityConfig, ExposureQualityTask
    from lsst.meas.realbogus.inference import set_torch_threads
    from lsst.meas.realbogus.quality.histograms import desom2_input, histo_vector
    from lsst.meas.realbogus.quality.labelling import CellLabels
    from lsst.meas.realbogus.quality.models import QualityModels
    from lsst.meas.realbogus.quality.sources import detect_sources, select_sources
    from lsst.meas.realbogus.stamps.cutouts import extract_cutouts

    set_torch_threads(1)
    start = time.perf_counter()
    config = ExposureQualityConfig()
    if args.collection:
        config.qualitySource = "butler"
    collections = [args.collection, "RBSimCam/sim"] if args.collection else ["RBSimCam/sim"]
    butler = Butler.from_config(args.repo, collections=collections)
    task = ExposureQualityTask(config=config)
    if args.collection:
        task.models = QualityModels(
            butler.get("realbogus_quality_desom1"),
            butler.get("realbogus_quality_desom2"),
            CellLabels.from_dict(butler.get("realbogus_quality_cell_labels")),
        )
    load = time.perf_counter() - start
    models = task.models
    md1 = models.desom1.metadata
    refs = butler.query_datasets("preliminary_visit_image", limit=args.images)
    print(f"models loaded (their encoders exported to ONNX) in {load:.2f} s, once per process")
    print(f"{'image':>24} {'read':>7} {'pixels':>7} {'detect':>7} {'cut':>7} {'DESOM-1':>8} {'DESOM-2':>8} "
          f"{'run()':>7} {'sources':>8} {'run/read':>9} {'run/pass':>9}")  # fmt: skip

    def measure(name: str, image, read: float, visit: int, detector: int) -> None:
        array = image.image.array
        sources = detect_sources(array)
        chosen = select_sources(sources, array.shape, md1.thumbnail_size, config.maxSources, 1)
        raw = extract_cutouts([array], sources.x[chosen], sources.y[chosen], md1.thumbnail_size, fill=np.nan)
        batch = md1.input.prepare(raw.data, ("science",))
        pv = models.desom1.assign(batch)[0]
        md2 = models.desom2.metadata
        scaled = desom2_input(
            histo_vector(pv, md1.map_rows * md1.map_cols, len(sources)),
            md2.histogram_normalization,
            md2.histogram_scale,
        )
        times = {
            "pixels": best_of(lambda: float(np.sum(array, dtype=np.float64)), 3),
            "detect": best_of(lambda: detect_sources(array), 3),
            "cut": best_of(
                lambda: md1.input.prepare(
                    extract_cutouts(
                        [array], sources.x[chosen], sources.y[chosen], md1.thumbnail_size, fill=np.nan
                    ).data,
                    ("science",),
                ),
                3,
            ),
            "desom1": best_of(lambda: models.desom1.assign(batch), 3),
            "desom2": best_of(lambda: models.desom2.assign(scaled), 3),
            "run": best_of(lambda: task.run(image, visit=visit, detector=detector), 3, warmup=True),
        }
        print(
            f"{name:>24} {read:7.3f} {times['pixels']:7.4f} {times['detect']:7.3f} {times['cut']:7.3f} "
            f"{times['desom1']:8.3f} {times['desom2']:8.4f} {times['run']:7.3f} {len(sources):8d} "
            f"{times['run'] / read:9.2f} {times['run'] / times['pixels']:9.0f}"
        )

    for ref in refs:
        read = best_of(lambda ref=ref: butler.get(ref), 3)
        image = butler.get(ref)
        measure(
            f"visit {ref.dataId['visit']} det {ref.dataId['detector']}", image, read, ref.dataId["visit"], 0
        )
    # An LSSTCam-sized detector: the first image tiled 4x4 (16 times the pixels and the sources).
    image = butler.get(refs[0])
    big = np.tile(image.image.array, (4, 4))
    tiled = _with_pixels(image, big)
    read = best_of(lambda: butler.get(refs[0]), 3) * 16
    measure("4096x4096 (tiled 4x4)", tiled, read, refs[0].dataId["visit"], 1)
    print(
        "read: butler.get of the image (for the tiled image, 16 times one read); pixels: one sum over "
        "them; run(): ExposureQualityTask.run, best of 3, one torch thread"
    )


def _with_pixels(image, array):
    """A stand-in with ``image.array`` only (all ExposureQualityTask.run reads, with no mask planes set)."""

    class _Image:
        def __init__(self, a):
            self.array = a

    class _Visit:
        def __init__(self, a):
            self.image = _Image(a)
            self.mask = None

    return _Visit(array)


if __name__ == "__main__":
    main()
