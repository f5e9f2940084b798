#!/usr/bin/env python
"""Benchmark throughput of RealBogus.yaml: pipetask -j 1, -j 2 and BPS on parsl with 1 and 2 workers.

Usage: python bench/bench_scaleout.py [--repo rbsim_training_repo] [--where "..."] [--modes ...]

Every mode scores the same detectors of the same repository, one after another, in this run.
For each it prints:

- end to end: detectors per minute over the whole command's wall time (graph building, the
  pre-execution init, and for BPS the final job that registers the outputs included);
- execution: detectors per minute from the first quantum's start to the last one's end (from
  the task metadata), which holds the per-process costs (imports, model load) of every worker
  process but the first;
- the ideal: detectors per minute if every worker did nothing but its quanta, each as fast as
  in ``pipetask -j 1`` (its mean in-quantum time: read, score, write), measured in the same
  run; and the ratio of each mode's execution throughput to ``pipetask -j 1``'s.

The target of issue 14 is two workers at >= 1.7x the throughput of one.

Then (unless --skip-reads) it builds a repository of two 4096x4096 detector-visits and runs
``pipetask -j 1`` on it reading the images whole and reading only their image and mask planes
(``doReadPlanesOnly``): wall time, mean in-quantum time, the in-quantum time of the second
(warm) quantum, and peak memory, beside a plain read of the three files' bytes (the physical
limit of reading them). Figures are kept in doc/lsst.meas.realbogus/scaleout.rst.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).parents[1]
PIPELINE = ROOT / "pipelines" / "RealBogus.yaml"
MODES = {
    "pipetask -j 1": ("pipetask", 1),
    "pipetask -j 2": ("pipetask", 2),
    "BPS parsl, 1 worker": ("bps", 1),
    "BPS parsl, 2 workers": ("bps", 2),
}


def _run(mode: str, repo: str, where: str, output: str, tmp: Path) -> float:
    kind, workers = MODES[mode]
    if kind == "pipetask":
        command = ["pipetask", "run", "-b", repo, "-i", "RBSimCam/sim", "-o", output, "-p", str(PIPELINE),
                   "-d", where, "--register-dataset-types", "-j", str(workers)]  # fmt: skip
    else:
        submit = tmp / f"submit_{workers}.yaml"
        submit.write_text(
            yaml.safe_dump(
                {
                    "includeConfigs": [str(ROOT / "bps" / "realbogus.yaml")],
                    "site": {"local": {"class": "lsst.ctrl.bps.parsl.sites.Local", "cores": workers}},
                    "cluster": {"perWorker": {"partitionMaxClusters": workers}},
                    "finalJob": {"requestCpus": workers},
                }
            )
        )
        command = ["realbogus_bps.py", "submit", str(submit), "-b", repo, "-o", output, "-d", where]
    start = time.monotonic()
    result = subprocess.run(command, cwd=tmp, capture_output=True, text=True)
    wall = time.monotonic() - start
    if result.returncode != 0:
        print(result.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{mode} failed")
    return wall


def _span(quantum) -> tuple[float, float]:
    """A quantum's start and end (POSIX seconds), from its task metadata."""
    return tuple(datetime.fromisoformat(quantum[key]).timestamp() for key in ("startUtc", "endUtc"))


def _quanta(repo: str, output: str) -> tuple[int, float, float, float]:
    """Number of quanta, execution window (s), mean in-quantum time (s), largest peak RSS (GB)."""
    from lsst.daf.butler import Butler

    with Butler.from_config(repo, collections=[output]) as butler:
        refs = butler.query_datasets("realBogus_metadata", limit=None)
        starts, ends, inside, rss = [], [], [], []
        for ref in refs:
            quantum = butler.get(ref)["quantum"]
            start, end = _span(quantum)
            starts.append(start)
            ends.append(end)
            inside.append(end - start)
            rss.append(float(quantum.get("endMaxResidentSetSize", 0)))
    return len(refs), max(ends) - min(starts), float(np.mean(inside)), max(rss) / 1e9


def bench_reads(tmp: Path) -> None:
    """pipetask -j 1 on two 4096x4096 detector-visits, reading images whole or only image and mask."""
    from lsst.daf.butler import Butler

    repo = str(tmp / "repo4k")
    subprocess.run(
        ["make_realbogus_sim_repo.py", repo, "--preset", "tiny", "--detector-size", "4096",
         "-c", "tracts=[3080]", "-c", "visitsPerField=2", "-c", "nDetectors=1", "--no-progress"],
        check=True, capture_output=True,
    )  # fmt: skip
    with Butler.from_config(repo, collections=["RBSimCam/sim"]) as butler:
        ref = butler.query_datasets("difference_image", limit=1)[0]
        paths = [
            butler.getURI(name, ref.dataId).ospath
            for name in ("preliminary_visit_image", "template_detector", "difference_image")
        ]
    start = time.monotonic()
    size = sum(len(Path(path).read_bytes()) for path in paths)
    raw = time.monotonic() - start
    print(
        f"\n4096x4096: the three files of one detector-visit, {size / 1e6:.0f} MB, "
        f"read as bytes in {raw:.2f} s"
    )
    for planes in (False, True):
        output = f"u/bench/reads/{planes}"
        command = ["/usr/bin/time", "-f", "%M", "pipetask", "run", "-b", repo, "-i", "RBSimCam/sim",
                   "-o", output, "-p", str(PIPELINE), "--register-dataset-types", "-j", "1",
                   "-c", f"realBogus:doReadPlanesOnly={planes}"]  # fmt: skip
        start = time.monotonic()
        result = subprocess.run(command, capture_output=True, text=True)
        wall = time.monotonic() - start
        if result.returncode != 0:
            print(result.stderr[-3000:], file=sys.stderr)
            raise SystemExit("pipetask failed")
        peak = int(result.stderr.strip().splitlines()[-1]) * 1024 / 1e9
        with Butler.from_config(repo, collections=[output]) as butler:
            inside = []
            for ref in sorted(butler.query_datasets("realBogus_metadata"), key=lambda r: r.dataId["visit"]):
                start, end = _span(butler.get(ref)["quantum"])
                inside.append(end - start)
        what = "image and mask planes" if planes else "whole images"
        print(
            f"  {what:21s}: wall {wall:5.1f} s for 2 detectors, in-quantum {np.mean(inside):.2f} s "
            f"(warm {inside[-1]:.2f} s), peak memory {peak:.2f} GB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo", default=str(ROOT / "rbsim_training_repo"), help="Repository to score.")
    parser.add_argument("--where", default="skymap='DC2_sim' AND tract=4024", help="Data query.")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES), metavar="MODE")
    parser.add_argument("--skip-reads", action="store_true", help="Skip the 4096x4096 read comparison.")
    args = parser.parse_args()
    if not os.path.exists(os.path.join(args.repo, "butler.yaml")):
        raise SystemExit(f"no repository at {args.repo}; make it with `make training-repo`")
    stamp = time.strftime("%Y%m%dT%H%M%S")
    rows = {}
    with tempfile.TemporaryDirectory(prefix="bench_scaleout_") as tmp:
        for mode in args.modes:
            output = f"u/bench/scaleout/{mode.replace(' ', '_').replace(',', '')}/{stamp}"
            wall = _run(mode, args.repo, args.where, output, Path(tmp))
            n, window, inside, rss = _quanta(args.repo, output)
            rows[mode] = (n, wall, window, inside, rss)
            print(f"{mode}: {n} detectors in {wall:.1f} s wall, execution {window:.1f} s", flush=True)
    first = next(iter(rows.values()))
    base = rows.get("pipetask -j 1", first)
    mean_inside = base[3]
    print(f"\n{first[0]} detectors; mean in-quantum time (read, score, write) {mean_inside:.2f} s")
    for mode, row in rows.items():
        print(f"  {mode}: mean in-quantum time {row[3]:.2f} s")
    print(f"{'mode':24s} {'end to end':>12s} {'execution':>12s} {'ideal':>8s} {'of ideal':>9s} "
          f"{'vs -j 1':>8s} {'peak RSS':>9s}")  # fmt: skip
    for mode, (n, wall, window, _, rss) in rows.items():
        workers = MODES[mode][1]
        ideal = 60.0 * workers / mean_inside
        rate = 60.0 * n / window
        ratio = f"{rate / (60.0 * base[0] / base[2]):.2f}x"
        print(
            f"{mode:24s} {60.0 * n / wall:8.1f}/min {rate:8.1f}/min {ideal:6.1f}/min "
            f"{rate / ideal:8.2f} {ratio:>8s} {rss:7.2f} GB"
        )
    if not args.skip_reads:
        with tempfile.TemporaryDirectory(prefix="bench_reads_") as tmp:
            bench_reads(Path(tmp))


if __name__ == "__main__":
    main()
