#!/usr/bin/env python
"""Benchmark RealBogusTask: cutouts, run() on a full detector, and pipetask on one detector.

Usage: python bench/bench_realbogus.py [--sources 1000] [--skip-pipetask]

1. Cutout extraction, one thread, 51x51 triplets from three 4096x4096 images,
   beside a plain memory copy of the same bytes (the physical limit).
2. RealBogusTask.run() on a 4096x4096 detector with 1000 diaSources and the
   default model (no butler I/O): the split between cutouts, normalization and
   the model, and the model's achieved GFLOP/s beside the machine's measured
   float32 matrix-multiply peak.
3. ``pipetask run`` of the pipeline on one simulated 4096x4096 detector: wall
   time and peak memory (the maximum resident set size of the process).

Figures are kept in doc/lsst.meas.realbogus/task.rst.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import best_of, matmul_peak


def bench_cutouts(n: int = 20000, size: int = 51) -> None:
    from lsst.meas.realbogus.stamps import extract_cutouts
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    images = [rng.standard_normal((4096, 4096), dtype=np.float32) for _ in range(3)]
    x = rng.uniform(30, 4066, n)
    y = rng.uniform(30, 4066, n)
    src = np.ones((n, 3, size, size), np.float32)
    dst = np.zeros_like(src)
    with threadpool_limits(1):
        # Into memory already in use (as RealBogusTask reuses its buffer from detector to detector) ...
        t_copy = best_of(lambda: np.copyto(dst, src))
        t_cut = best_of(lambda: extract_cutouts(images, x, y, size, out=dst), repeat=3)
        # ... and into newly allocated memory (a process's first detector).
        t_copy_new = best_of(lambda: src.copy())
        t_cut_new = best_of(lambda: extract_cutouts(images, x, y, size), repeat=3)
    print(
        f"cutouts ({size}x{size} triplets from three 4096x4096 images, one thread, {n} sources): "
        f"{n / t_cut:,.0f} triplets/s into a reused buffer, beside a memory copy of the same bytes at "
        f"{n / t_copy:,.0f}/s (ratio {t_copy / t_cut:.2f}); {n / t_cut_new:,.0f}/s into new memory, beside "
        f"a copy into new memory at {n / t_copy_new:,.0f}/s (ratio {t_copy_new / t_cut_new:.2f})"
    )


def model_flops(module, shape) -> float:
    """Floating-point operations of one forward pass (2 per multiply-add of convolutions and dense layers)."""
    import torch
    from torch import nn

    total = 0

    def hook(layer, inputs, output):
        nonlocal total
        if isinstance(layer, nn.Conv2d):
            k = layer.kernel_size[0] * layer.kernel_size[1] * layer.in_channels // layer.groups
            total += 2 * k * output.numel()
        elif isinstance(layer, nn.Linear):
            total += 2 * layer.in_features * output.numel()

    handles = [
        m.register_forward_hook(hook) for m in module.modules() if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    with torch.inference_mode():
        module(torch.zeros(shape))
    for h in handles:
        h.remove()
    return total / shape[0]


def bench_single_member(task, dia, images) -> float:
    """run() time with the first network of the task's ensemble model alone (the same backend)."""
    import dataclasses

    from lsst.meas.realbogus import RealBogusConfig, RealBogusTask
    from lsst.meas.realbogus.inference import load_model, save_onnx, save_torchscript

    md = dataclasses.replace(task.model.metadata, members=1)
    member = getattr(load_model(task.model.path.replace(".onnx", ".pt")).module.members, "0")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "single" + os.path.splitext(task.model.path)[1])
        (save_onnx if path.endswith(".onnx") else save_torchscript)(member, md, path)
        config = RealBogusConfig()
        config.modelFile = path
        single = RealBogusTask(config=config)
        single.run(dia, **images)
        return best_of(lambda: single.run(dia, **images), repeat=3)


def bench_run(n_sources: int) -> None:
    import astropy.table
    import torch
    from lsst.meas.realbogus import RealBogusConfig, RealBogusTask
    from lsst.meas.realbogus.cnn import get_architecture
    from lsst.meas.realbogus.simulation.camera import CameraGeometry
    from lsst.meas.realbogus.simulation.images import make_observation_info, make_visit_image
    from lsst.meas.realbogus.stamps import cut_images

    size = 4096
    camera = CameraGeometry("RBSimCam", 1, size, 0, 0.2)
    rng = np.random.default_rng(1)
    wcs = camera.wcs(0, 60.0, -35.0)
    det = camera.detector(0, visit=1)
    obs = make_observation_info("RBSimCam", 1, 0, "r", 61000.0)
    masks = {"BAD": np.zeros((size, size), bool)}
    images = {}
    for name in ("science", "template", "difference"):
        pixels = rng.normal(0, 20, (size, size)).astype(np.float32)
        var = np.full((size, size), 400.0, np.float32)
        images[name] = make_visit_image(
            pixels, var, masks, 2.0, wcs, det, obs, "r", difference=name == "difference"
        )
    dia = astropy.table.Table(
        {
            "diaSourceId": np.arange(n_sources),
            "x": rng.uniform(0, size - 1, n_sources),
            "y": rng.uniform(0, size - 1, n_sources),
        }
    )
    task = RealBogusTask(config=RealBogusConfig())
    task.run(dia, **images)  # warm up (first torch call)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        task.run(dia, **images)
        times.append(time.perf_counter() - start)
    # The stages of run(), timed one by one: cutting, preparing (normalizing) and the model.
    config = task.config
    md_model = task.model.metadata
    x, y = np.asarray(dia["x"]), np.asarray(dia["y"])
    buffer = np.empty((n_sources,) + md_model.input.shape, np.float32)

    def cut():
        size = md_model.cutout_size
        return cut_images(
            images, md_model.channels, x, y, size, bad_mask_planes=config.badMaskPlanes, out=buffer
        )

    raw = cut()
    batch = md_model.input.prepare(raw.data, md_model.channels)
    cut_seconds = best_of(cut, repeat=3)
    threads = torch.get_num_threads()
    norm_seconds = best_of(
        lambda: md_model.input.prepare(raw.data, md_model.channels, threads=threads), repeat=3
    )
    model_seconds = best_of(lambda: task.model.predict(batch, batch_size=config.batchSize), repeat=3)
    # A detector whose PSF is outside the model's training widths: the same cut, resampled.
    resampling = {
        scale: best_of(
            lambda scale=scale: md_model.input.cut_raw(
                images, x, y, bad_mask_planes=config.badMaskPlanes, scale=scale
            ),
            repeat=5,
        )
        for scale in (0.75, 1.25)
    }
    module = get_architecture(md_model.architecture, len(md_model.channels), md_model.cutout_size).eval()
    flops = md_model.members * model_flops(
        module, (8, len(md_model.channels), md_model.cutout_size, md_model.cutout_size)
    )
    print(
        f"run(): {min(times):.3f} s for {n_sources} diaSources on a {size}x{size} detector "
        f"(torch threads: {torch.get_num_threads()}); its stages: cutouts {cut_seconds:.3f} s, "
        f"normalization {norm_seconds:.3f} s, model {model_seconds:.3f} s"
    )
    print(
        "cutouts resampled for a PSF outside the training widths: "
        + ", ".join(
            f"scale {scale}: {seconds:.3f} s ({seconds / cut_seconds:.2f} x the plain cut)"
            for scale, seconds in resampling.items()
        )
    )
    if md_model.members > 1:
        single = bench_single_member(task, dia, images)
        print(
            f"ensemble of {md_model.members}: run() {min(times):.3f} s against {single:.3f} s with its first "
            f"member alone (ratio {min(times) / single:.2f}; the cost of scoreStd)"
        )
    achieved, peak = flops * n_sources / model_seconds / 1e9, matmul_peak()
    print(
        f"model: {flops / 1e6:.1f} MFLOP per cutout, {achieved:.1f} GFLOP/s achieved; float32 "
        f"matrix-multiply peak measured {peak:.1f} GFLOP/s (ratio {achieved / peak:.2f})"
    )


def bench_pipetask() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        subprocess.run(
            [
                "make_realbogus_sim_repo.py",
                str(repo),
                "--preset",
                "tiny",
                "--detector-size",
                "4096",
                "-c",
                "tracts=[3080]",
                "-c",
                "visitsPerField=1",
                "-c",
                "nDetectors=1",
                "--no-progress",
                "-j",
                "1",
            ],
            check=True,
            capture_output=True,
        )
        pipeline = Path(os.environ.get("MEAS_REALBOGUS_DIR", ".")) / "pipelines" / "RealBogus.yaml"
        cmd = [
            "/usr/bin/time",
            "-f",
            "%e %M",
            "pipetask",
            "run",
            "-b",
            str(repo),
            "-i",
            "RBSimCam/sim",
            "-o",
            "bench/rb",
            "-p",
            str(pipeline),
            "--register-dataset-types",
            "-j",
            "1",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            print(result.stderr[-2000:], file=sys.stderr)
            raise SystemExit("pipetask run failed")
        wall, rss_kb = result.stderr.strip().splitlines()[-1].split()
        print(
            f"pipetask run, one 4096x4096 detector: wall {float(wall):.1f} s, "
            f"peak memory {int(rss_kb) / 1024**2:.2f} GB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--skip-pipetask", action="store_true")
    args = parser.parse_args()
    bench_cutouts()
    bench_run(args.sources)
    if not args.skip_pipetask:
        bench_pipetask()


if __name__ == "__main__":
    main()
