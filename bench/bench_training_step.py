#!/usr/bin/env python
"""Benchmark one training step of a classifier in both memory formats, in one run.

Usage: python bench/bench_training_step.py [--architecture dia_cnn] [--batch 128] [--threads 2]
       [--steps 100] [--repeats 3]

A training step as `~lsst.meas.realbogus.cnn.training.train_classifier` takes it (Adam, the
weighted logistic loss, forward and backward) on random 3x51x51 stamps, in the ordinary
(contiguous) memory format and in channels-last, alternately over ``--repeats`` rounds so that
both see the same machine load: milliseconds per step, cutouts/s, the channels-last ratio, and
GFLOP/s (forward and backward counted by torch's FLOP counter) beside the machine's float32
matrix-multiply peak measured in the same run (the physical limit of these layers).

Figures are kept in doc/lsst.meas.realbogus/training.rst ("Training speed").
"""

from __future__ import annotations

import argparse
import time

import torch
from lsst.meas.realbogus.cnn.architectures import get_architecture
from timing import matmul_peak
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def step_seconds(architecture: str, batch: int, steps: int, channels_last: bool) -> float:
    """Mean seconds of one training step after 10 warm-up steps."""
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    torch.manual_seed(0)
    model = get_architecture(architecture, 3, 51).to(memory_format=memory_format).train()
    x = torch.randn(batch, 3, 51, 51).contiguous(memory_format=memory_format)
    y = (torch.rand(batch) > 0.5).float()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(5.0))
    for i in range(steps + 10):
        if i == 10:
            start = time.perf_counter()
        optimizer.zero_grad()
        loss_fn(model(x).reshape(batch), y).backward()
        optimizer.step()
    return (time.perf_counter() - start) / steps


def step_flops(architecture: str, batch: int) -> float:
    model = get_architecture(architecture, 3, 51).train()
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(batch, 3, 51, 51)).sum().backward()
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--architecture", default="dia_cnn")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    flops = step_flops(args.architecture, args.batch)
    peak = matmul_peak(args.threads)
    print(
        f"{args.architecture}, batch {args.batch}, {args.threads} threads: {flops / args.batch / 1e6:.1f} "
        f"MFLOP per cutout and step (forward and backward); matrix-multiply peak {peak:.0f} GFLOP/s"
    )
    for repeat in range(args.repeats):
        seconds = {cl: step_seconds(args.architecture, args.batch, args.steps, cl) for cl in (False, True)}
        for cl, label in ((False, "contiguous"), (True, "channels_last")):
            rate = flops / seconds[cl] / 1e9
            print(
                f"round {repeat + 1}: {label:<13} {seconds[cl] * 1e3:6.1f} ms/step, "
                f"{args.batch / seconds[cl]:6.0f} cutouts/s, {rate:5.1f} GFLOP/s ({rate / peak:.2f} of peak)"
            )
        print(f"round {repeat + 1}: channels_last / contiguous time: {seconds[True] / seconds[False]:.2f}")


if __name__ == "__main__":
    main()
