#!/usr/bin/env python
"""Benchmark TrainRealBogusTask at the scale of DMTN-272's training set (200,000 triplets).

Usage: python bench/bench_training_scale.py [--triplets 200000] [--source REPO:COLLECTION]
       [--workdir DIR] [--keep]

1. A scratch butler repository is filled with ``--triplets`` labelled triplets
   (``realbogus_triplets`` datasets, one per detector-visit, as
   BuildTrainingSet.yaml writes them).  They are the triplets of a source
   collection (default: ``u/rb/triplets3080`` of ``make default-model``'s
   repository if it exists, otherwise a demo repository built here), repeated
   under new visit ids, each repeat turned by a different flip/rotation and
   given new diaSource ids (so the validation split differs).
2. ``pipetask run`` of TrainRealBogus.yaml for one epoch on all of them, with
   ``cacheBlocks`` on (the default: normalized blocks kept on local disk after
   the first pass) and off (every epoch reads the butler and normalizes): wall
   time, the first pass, the epoch's throughput, and peak memory (maximum
   resident set size) beside the size of the training set (what holding a
   copy would cost).
3. Baseline measured in the same run: one epoch of the same trainer on
   triplets already in memory (no butler, no reading), its throughput.

Figures are kept in doc/lsst.meas.realbogus/training.rst.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PACKAGE = Path(os.environ.get("MEAS_REALBOGUS_DIR", Path(__file__).resolve().parents[1]))
INSTRUMENT = "RBSimCam"
REPEAT_VISIT_OFFSET = 1_000_000
REPEAT_ID_OFFSET = 10**14


def run(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{what} failed: {' '.join(cmd)}")
    return result


def demo_source(workdir: Path) -> tuple[str, str]:
    """Build a demo repository and its triplets; return (repo, collection)."""
    repo = workdir / "source_repo"
    print(f"building a demo repository and its triplets in {repo} ...", flush=True)
    run(
        ["make_realbogus_sim_repo.py", str(repo), "--preset", "demo", "--no-progress", "-j", "2"],
        "simulation",
    )
    run(
        [
            "pipetask",
            "run",
            "-b",
            str(repo),
            "-i",
            "RBSimCam/sim",
            "-o",
            "bench/source_triplets",
            "-p",
            str(PACKAGE / "pipelines" / "BuildTrainingSet.yaml"),
            "--register-dataset-types",
            "-j",
            "2",
        ],
        "BuildTrainingSet",
    )
    return str(repo), "bench/source_triplets"


def repeat(triplets, k: int):
    """The k-th repeat of a triplet dataset: dihedral transform k % 8, new diaSource ids."""
    from lsst.meas.realbogus.stamps import LabelledTriplets

    cutouts = np.rot90(triplets.cutouts, k % 4, axes=(2, 3))
    if (k // 4) % 2:
        cutouts = cutouts[..., ::-1]
    table = triplets.table.copy()
    table["diaSourceId"] = np.asarray(table["diaSourceId"], dtype=np.int64) + k * REPEAT_ID_OFFSET
    return LabelledTriplets(np.ascontiguousarray(cutouts), table)


def fill_repo(source: tuple[str, str], repo: Path, n_target: int) -> tuple[int, int, int]:
    """Write ``n_target`` triplets to a new repository; return (triplets, datasets, bytes)."""
    from lsst.daf.butler import Butler, DatasetType
    from lsst.meas.realbogus.simulation.instrument import RBSimCam
    from lsst.pipe.base.script import register_instrument
    from lsst.utils.introspection import get_full_type_name

    src = Butler(source[0], collections=source[1])
    refs = sorted(
        src.query_datasets("realbogus_triplets", limit=None), key=lambda r: tuple(r.dataId.required.values())
    )
    if not refs:
        raise SystemExit(f"no realbogus_triplets in {source[1]} of {source[0]}")
    Butler.makeRepo(str(repo))
    register_instrument(str(repo), [get_full_type_name(RBSimCam)])
    dest = Butler(str(repo), writeable=True, run="bench/triplets")
    dest.registry.insertDimensionData(
        "day_obs", *(r.toDict() for r in src.query_dimension_records("day_obs", instrument=INSTRUMENT))
    )
    visits = {r.id: r.toDict() for r in src.query_dimension_records("visit", instrument=INSTRUMENT)}
    regions = {
        (r.visit, r.detector): r.toDict()
        for r in src.query_dimension_records("visit_detector_region", instrument=INSTRUMENT)
    }
    dest.registry.registerDatasetType(
        DatasetType("realbogus_triplets", refs[0].datasetType.dimensions, "RealBogusTriplets")
    )
    written = datasets = 0
    k = 0
    registered: set[int] = set()
    start = time.perf_counter()
    while written < n_target:
        for ref in refs:
            if written >= n_target:
                break
            triplets = repeat(src.get(ref), k)
            if len(triplets) > n_target - written:
                triplets = type(triplets)(
                    triplets.cutouts[: n_target - written], triplets.table[: n_target - written]
                )
            visit = ref.dataId["visit"] + k * REPEAT_VISIT_OFFSET
            if visit not in registered:
                record = dict(visits[ref.dataId["visit"]])
                record.update(id=visit, name=f"{record['name']}_r{k}", seq_num=record["seq_num"] + 1000 * k)
                dest.registry.insertDimensionData("visit", record)
                registered.add(visit)
            region = dict(regions[ref.dataId["visit"], ref.dataId["detector"]], visit=visit)
            dest.registry.insertDimensionData("visit_detector_region", region)
            dest.put(
                triplets,
                "realbogus_triplets",
                instrument=INSTRUMENT,
                visit=visit,
                detector=ref.dataId["detector"],
            )
            written += len(triplets)
            datasets += 1
        k += 1
        print(
            f"  {written:,} triplets in {datasets} datasets ({time.perf_counter() - start:.0f} s)", flush=True
        )
    size = sum(f.stat().st_size for f in (repo / "bench").rglob("*.npz"))
    return written, datasets, size


def in_memory_baseline(source: tuple[str, str], n: int) -> float:
    """Triplets per second of one epoch of the trainer on ``n`` triplets held in memory."""
    import logging

    from lsst.daf.butler import Butler
    from lsst.meas.realbogus.cnn import ArrayBlocks, TripletBlocks, train_classifier
    from lsst.meas.realbogus.trainRealBogusTask import TrainRealBogusConfig

    config = TrainRealBogusConfig()
    src = Butler(source[0], collections=source[1])
    # The task's own reading (channels, crop, normalization), but every block kept in memory.
    refs = src.query_datasets("realbogus_triplets", limit=None)
    blocks = TripletBlocks(
        [src.getDeferred(ref) for ref in refs],
        config.channels,
        config.normalization,
        size=config.cutoutSize,
        min_snr=config.minSnr,
        drop_edge=config.dropEdge,
    )
    xs, ys = [], []
    for i in range(len(blocks)):
        block = blocks.load(i)
        xs.append(block.cutouts)
        ys.append(block.is_real)
        if sum(len(y) for y in ys) >= n:
            break
    x, y = np.concatenate(xs)[:n], np.concatenate(ys)[:n]
    logging.getLogger("lsst.meas.realbogus.cnn.training").setLevel(logging.WARNING)
    result = train_classifier(
        ArrayBlocks(x, y),
        architecture=config.architecture,
        epochs=1,
        batch_size=config.batchSize,
        learning_rate=config.learningRate,
        validation_fraction=config.validationFraction,
        seed=config.seed,
    )
    n_train = result.counts["train_real"] + result.counts["train_bogus"]
    return n_train / result.history[0]["seconds"]


def train_one_epoch(repo: Path, cache: bool) -> tuple[float, int, dict]:
    """Run TrainRealBogus.yaml for one epoch; return wall seconds, peak RSS bytes and the history."""
    from lsst.daf.butler import Butler

    output = f"bench/train_cache{int(cache)}"
    cmd = ["/usr/bin/time", "-f", "%e %M", "pipetask", "--log-level", "WARNING", "run", "-b", str(repo)]
    cmd += ["-i", "bench/triplets", "-o", output, "-p", str(PACKAGE / "pipelines" / "TrainRealBogus.yaml")]
    cmd += ["-d", f"instrument='{INSTRUMENT}'", "-c", "trainRealBogus:epochs=1"]
    cmd += ["-c", f"trainRealBogus:cacheBlocks={cache}", "--register-dataset-types", "-j", "1"]
    cmd += ["--cores-per-quantum", str(os.cpu_count())]
    print(f"training one epoch with pipetask, cacheBlocks={cache} ...", flush=True)
    result = run(cmd, "pipetask run")
    wall, rss_kb = result.stderr.strip().splitlines()[-1].split()
    history = Butler(str(repo), collections=output).get("realbogus_training_history")
    return float(wall), int(rss_kb) * 1024, history


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--triplets", type=int, default=200_000, help="training-set size")
    parser.add_argument("--source", help="REPO:COLLECTION holding realbogus_triplets to repeat")
    parser.add_argument(
        "--workdir", help="where the scratch repository goes (default: a temporary directory)"
    )
    parser.add_argument("--baseline", type=int, default=10_000, help="triplets of the in-memory baseline")
    parser.add_argument("--keep", action="store_true", help="keep the scratch repository")
    args = parser.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="rb_bench_train_"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        if args.source:
            repo, _, collection = args.source.rpartition(":")
            source = (repo, collection)
        elif (PACKAGE / "rbsim_training_repo" / "butler.yaml").exists():
            source = (str(PACKAGE / "rbsim_training_repo"), "u/rb/triplets3080")
        else:
            source = demo_source(workdir)
        repo = workdir / "scale_repo"
        print(f"writing {args.triplets:,} triplets from {source[1]} of {source[0]} to {repo} ...", flush=True)
        start = time.perf_counter()
        n, datasets, size = fill_repo(source, repo, args.triplets)
        print(
            f"wrote {n:,} triplets in {datasets} datasets, {size / 1e9:.2f} GB, "
            f"in {time.perf_counter() - start:.0f} s"
        )

        print("measuring the in-memory baseline ...", flush=True)
        baseline_rate = in_memory_baseline(source, args.baseline)
        print()
        for cache in (True, False):
            wall, rss, history = train_one_epoch(repo, cache)
            counts = history["counts"]
            n_train = counts["train_real"] + counts["train_bogus"]
            n_val = counts["val_real"] + counts["val_bogus"]
            epoch = history["epochs"][0]["seconds"]
            channels = len(history["channels"])
            training_bytes = n * channels * history["cutout_size"] ** 2 * 4
            rate = n_train / epoch
            print(
                f"pipetask TrainRealBogus.yaml, cacheBlocks={cache}, 1 epoch of {n:,} triplets ({datasets} "
                f"detector datasets, {n_train:,} train / {n_val:,} validation, "
                f"{channels}x{history['cutout_size']}^2): wall {wall:.0f} s, of which the training task "
                f"{history['seconds']:.0f} s (epoch {epoch:.0f} s; first pass and saving "
                f"{history['seconds'] - epoch:.0f} s)"
            )
            print(
                f"  peak memory {rss / 2**30:.2f} GiB, beside {training_bytes / 2**30:.2f} GiB for the "
                f"normalized training set held in memory (ratio {rss / training_bytes:.2f}); 24 GiB budget"
            )
            print(
                f"  epoch throughput {rate:,.0f} triplets/s, beside {baseline_rate:,.0f}/s from memory "
                f"({args.baseline:,} triplets, same trainer; ratio {rate / baseline_rate:.2f})",
                flush=True,
            )
    finally:
        if args.keep or args.workdir:
            print(f"scratch repository kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
