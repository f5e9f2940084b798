#!/usr/bin/env python
"""Benchmark the inference backends on the same model and stamps, in one run.

Usage: python bench/bench_backends.py [--stamps 1000] [--threads 2]

On 1000 normalized 3x51x51 stamps and the shipped default model (``rb_default.pt`` and its
ONNX copy ``rb_default.onnx``): TorchScript and onnxruntime at several batch sizes, each as
seconds, cutouts/s and GFLOP/s beside the machine's float32 matrix-multiply peak measured in
the same run. With Rubin's model package beside the clone (``../shared/data/models``), also
the same comparison on Rubin's network (TACCNN, converted with
``convert_rubin_model_package.py``) beside Rubin's way of running it: eager PyTorch, a batch
of 64 stacked from per-source arrays, as meas_transiNet does (no normalization). The "whole
step" rows time this package's normalization and model together (robust normalization, as
the default model needs, then onnxruntime), the figure to set against Rubin's way.

Figures are kept in doc/lsst.meas.realbogus/task.rst.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from timing import best_of, matmul_peak

RUBIN_PACKAGE = (
    Path(__file__).resolve().parents[2]
    / "shared/data/models/rubin_tac_cnn_v0.3/pretrainedModelPackage_tac_cnn_lsstcam_2026-02-26.zip"
)


def flops_per_stamp(module, shape) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(torch.zeros(1, *shape))
    return counter.get_total_flops()


def compare(name: str, ts_path: str, onnx_path: str, stamps: np.ndarray, eager=None) -> None:
    from lsst.meas.realbogus.inference import load_model

    ts, ort = load_model(ts_path), load_model(onnx_path, backend="onnx")
    flops = flops_per_stamp(eager if eager is not None else ts.module, stamps.shape[1:])
    rows = []
    for batch in (64, 256, 512, 1000):
        rows.append(
            (f"TorchScript, batch {batch}", best_of(lambda b=batch: ts.predict(stamps, b), warmup=True))
        )
    for batch in (64, 256, 1000):
        rows.append(
            (f"onnxruntime, batch {batch}", best_of(lambda b=batch: ort.predict(stamps, b), warmup=True))
        )
    from lsst.meas.realbogus.stamps import normalize

    # The whole scoring step of this package: the robust normalization (the default model's; it
    # costs the same for any network) and the model, timed together on raw stamps.
    rows.append(
        (
            "whole step: robust normalization + onnxruntime, batch 64",
            best_of(lambda: ort.predict(normalize(stamps, "robust", threads=THREADS), 64), warmup=True),
        )
    )
    if eager is not None:
        import torch

        per_source = [stamps[i] for i in range(len(stamps))]

        def rubin_way():
            with torch.no_grad():
                out = [eager(torch.stack([torch.from_numpy(s) for s in per_source[i : i + 64]]))
                       for i in range(0, len(per_source), 64)]  # fmt: skip
            return torch.cat(out)

        rows.append(("Rubin's way: eager, batch 64 stacked per source", best_of(rubin_way, warmup=True)))
    reference = rows[-1][1] if eager is not None else rows[2][1]
    print(f"{name}: {len(stamps)} stamps, {flops / 1e6:.1f} MFLOP per stamp, peak {PEAK:.0f} GFLOP/s")
    for label, seconds in rows:
        gflops = flops * len(stamps) / seconds / 1e9
        print(
            f"  {label:48s} {seconds:7.3f} s  {len(stamps) / seconds:8.0f} stamps/s  {gflops:6.1f} GFLOP/s "
            f"({gflops / PEAK:.2f} of peak)  speed-up over {'Rubin' if eager is not None else 'default'} "
            f"{reference / seconds:5.2f}x"
        )


def main() -> None:
    global PEAK
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stamps", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch
    from lsst.meas.realbogus.inference import default_model_path, load_model

    global THREADS
    THREADS = args.threads
    torch.set_num_threads(args.threads)
    PEAK = matmul_peak(args.threads)
    rng = np.random.default_rng(0)
    stamps = rng.normal(0, 1, (args.stamps, 3, 51, 51)).astype(np.float32)
    version = load_model(default_model_path()).metadata.version
    compare(f"default model ({version})", default_model_path(), default_model_path("onnx"), stamps)
    if RUBIN_PACKAGE.exists():
        from lsst.meas.realbogus.inference.model_package import (
            build_network,
            convert_model_package,
            read_model_package,
        )
        from lsst.meas.realbogus.scripts.export_onnx import export_onnx

        with tempfile.TemporaryDirectory() as tmp:
            convert_model_package(RUBIN_PACKAGE, f"{tmp}/tac.pt", "tac03")
            export_onnx(f"{tmp}/tac.pt", f"{tmp}/tac.onnx")
            nanojansky = rng.normal(0, 300, stamps.shape).astype(np.float32)
            eager = build_network(read_model_package(RUBIN_PACKAGE))
            compare("Rubin's TACCNN (tac03)", f"{tmp}/tac.pt", f"{tmp}/tac.onnx", nanojansky, eager)


PEAK = 0.0
THREADS = 2

if __name__ == "__main__":
    main()
