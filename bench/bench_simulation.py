#!/usr/bin/env python
"""Time the repository simulator: per-stage cost of one detector-visit, and whole presets.

Usage: python bench/bench_simulation.py [--sizes 1024 2048 4096] [--presets demo training]
                                       [--visit-presets training variety shifted]

Prints, for each detector size, the time to draw a detector's static sky and template (once
per field), to simulate one visit, and to write one visit's five datasets to a butler, with
the peak memory of the process; then the wall time of building each requested preset with
``-j 2``.  ``--visit-presets`` times the static sky and a few visits of one detector of each
named preset at its own size and settings (no repository is built).  Figures are kept in
doc/lsst.meas.realbogus/simulation.rst.

Each figure is also given as a ratio to a baseline measured in the same run: a visit against one
FFT convolution of the detector's padded image (a forward and an inverse real FFT, the unit of
the simulator's work: it takes tens of them per visit), the butler put against writing the same
arrays uncompressed with numpy (the disk's limit; the difference is mostly lossless compression),
and each ``--visit-presets`` preset against the first one named.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.fft
from lsst.daf.butler import Butler
from lsst.meas.realbogus.simulation.config import PRESETS, SimulationConfig
from lsst.meas.realbogus.simulation.repo import RUN_COLLECTION, _put, _register, build_repo, plan_work
from lsst.meas.realbogus.simulation.simulator import DetectorSimulator

sys.path.insert(0, os.path.dirname(__file__))
from timing import best_of  # noqa: E402


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def fft_convolution_seconds(shape: tuple[int, int]) -> float:
    """Best time of one forward and inverse real FFT of an image of ``shape`` (all cores, as simulated)."""
    image = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    transfer = np.ones((shape[0], shape[1] // 2 + 1), np.float32)

    def convolve() -> None:
        scipy.fft.irfft2(scipy.fft.rfft2(image, workers=-1) * transfer, s=shape, workers=-1)

    return best_of(convolve, repeat=5, warmup=True)


def raw_write_seconds(arrays: list[np.ndarray], workdir: Path) -> float:
    """Time to write ``arrays`` uncompressed with numpy and flush them to disk."""
    t0 = time.perf_counter()
    for i, array in enumerate(arrays):
        with open(workdir / f"raw{i}.npy", "wb") as stream:
            np.save(stream, array)
            stream.flush()
            os.fsync(stream.fileno())
    return time.perf_counter() - t0


def bench_size(size: int, workdir: Path) -> None:
    config = SimulationConfig()
    PRESETS["demo"][0](config)
    config.detectorSize = size
    config.nDetectors = 1
    config.tracts = [3080]
    config.visitsPerField = 2
    camera, tracts, visits = plan_work(config, seed=1)
    t0 = time.perf_counter()
    sim = DetectorSimulator(config, camera, tracts[0], 0, 0, "r", seed=1)
    t_static = time.perf_counter() - t0
    t0 = time.perf_counter()
    product = sim.simulate(visits[0])
    t_visit = time.perf_counter() - t0
    repo = workdir / f"repo{size}"
    Butler.makeRepo(str(repo))
    with Butler.from_config(str(repo), writeable=True, run=RUN_COLLECTION) as butler:
        _register(butler, str(repo), config, camera, tracts, visits)
        t0 = time.perf_counter()
        _put(butler, config, camera, {t.id: t.fields for t in tracts}, product)
        t_put = time.perf_counter() - t0
    arrays = [a for a in vars(product).values() if isinstance(a, np.ndarray) and a.ndim == 2]
    t_raw = raw_write_seconds(arrays, workdir)
    t_fft = fft_convolution_seconds(sim.shape)
    print(
        f"{size:5d}x{size:<5d} static sky + template {t_static:6.2f} s | one visit {t_visit:6.2f} s "
        f"= {t_visit / t_fft:.0f}x one FFT convolution of {sim.shape[0]}x{sim.shape[1]} ({t_fft:.3f} s; "
        f"{len(product.dia_sources)} diaSources) | butler put of 5 datasets {t_put:6.2f} s = "
        f"{t_put / t_raw:.1f}x writing its {len(arrays)} image planes raw ({t_raw:.2f} s) | "
        f"peak RSS so far {peak_rss_gb():.2f} GB"
    )


def bench_preset_visit(preset: str, n_visits: int = 3, baseline: float | None = None) -> float:
    """Time one detector of ``preset``: its static sky and template, and its first visits.

    Returns the mean visit time; ``baseline`` (another preset's) is printed as a ratio.
    """
    config = SimulationConfig()
    PRESETS[preset][0](config)
    config.nDetectors = 1
    config.tracts = config.tracts[:1]
    camera, tracts, visits = plan_work(config, seed=1)
    t0 = time.perf_counter()
    sim = DetectorSimulator(config, camera, tracts[0], 0, 0, config.bands[0], seed=1)
    t_static = time.perf_counter() - t0
    times = []
    for visit in visits[:n_visits]:
        t0 = time.perf_counter()
        product = sim.simulate(visit)
        times.append(time.perf_counter() - t0)
        family = product.metadata.get("SIM_PSF_FAMILY", "gaussian")
        print(
            f"preset {preset:9s} {config.detectorSize}x{config.detectorSize} visit {visit.visit}: "
            f"{times[-1]:6.2f} s ({family}, FWHM {product.metadata['SIM_PSF_FWHM']:.1f} px, "
            f"{len(product.dia_sources)} diaSources)"
        )
    mean = sum(times) / len(times)
    ratio = f" = {mean / baseline:.2f}x the first preset's" if baseline else ""
    print(
        f"preset {preset:9s} static sky + template {t_static:6.2f} s | mean visit {mean:6.2f} s{ratio}"
        f" | peak RSS so far {peak_rss_gb():.2f} GB"
    )
    return mean


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="*", default=[1024, 2048, 4096])
    parser.add_argument("--presets", nargs="*", default=[])
    parser.add_argument("--visit-presets", nargs="*", default=[])
    parser.add_argument("--visits", type=int, default=3, help="Visits timed per --visit-presets preset.")
    args = parser.parse_args()
    # First-call costs (imports, caches) would fall on whichever is timed first: pay them untimed.
    warm = SimulationConfig()
    PRESETS["tiny"][0](warm)
    camera, tracts, visits = plan_work(warm, seed=1)
    DetectorSimulator(warm, camera, tracts[0], 0, 0, "r", seed=1).simulate(visits[0])
    baseline = None
    for preset in args.visit_presets:
        mean = bench_preset_visit(preset, args.visits, baseline)
        baseline = baseline or mean
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            bench_size(size, Path(tmp))
        for preset in args.presets:
            config = SimulationConfig()
            PRESETS[preset][0](config)
            t0 = time.perf_counter()
            summary = build_repo(Path(tmp) / preset, config, seed=1, processes=2)
            real = summary["dia_sources_matching_real_transients"] / max(summary["dia_sources"], 1)
            print(
                f"preset {preset:9s} -j 2: {time.perf_counter() - t0:7.1f} s, "
                f"{summary['detector_visits']} detector-visits, {summary['dia_sources']} diaSources "
                f"({100 * real:.0f}% real)"
            )


if __name__ == "__main__":
    main()
