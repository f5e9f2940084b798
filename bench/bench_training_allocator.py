#!/usr/bin/env python
"""Benchmark training with glibc's default allocator settings and with `retain_freed_memory`.

Usage: python bench/bench_training_allocator.py [--trainer dia_cnn|desom] [--cutouts 24000] [--epochs 2]
[--threads 2] [--repeats 2]

Each run is a fresh process (the allocator's settings hold for a process's life) training
``dia_cnn`` on random 3x51x51 stamps held in memory, alternately without and with
`~lsst.meas.realbogus.cnn.allocator.retain_freed_memory` (what ``TrainRealBogusTask``'s
``retainFreedMemory`` does) so that both see the same machine load: wall time, minor page faults,
user and system CPU time, and the ratio of the two. The lower limit measured in the same process:
the same number of training steps on one fixed batch, with nothing else (no reading, shuffling,
augmentation or validation), after the allocator has settled. ``--trainer desom`` trains a DESOM
(`~lsst.meas.realbogus.desom.training.train_desom`, TrainDesomTask's defaults: 1x32x32 thumbnails,
``--epochs`` epochs of the autoencoder and of the map) instead, with no lower limit.

Figures are kept in doc/lsst.meas.realbogus/training.rst ("Training speed").
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _measured(train) -> tuple[object, dict]:
    """``train()``'s result, and its wall time, minor page faults and user and system CPU time."""
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    result = train()
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    return result, {
        "seconds": seconds,
        "faults": after.ru_minflt - before.ru_minflt,
        "user": after.ru_utime - before.ru_utime,
        "sys": after.ru_stime - before.ru_stime,
    }


def child(trainer: str, cutouts: int, epochs: int, threads: int, retain: bool) -> dict:
    """Train once in this process; the figures as a dict."""
    import numpy as np
    import torch
    from bench_training_step import step_seconds
    from lsst.meas.realbogus.cnn import ArrayBlocks, retain_freed_memory, train_classifier
    from lsst.meas.realbogus.desom.training import train_desom

    torch.set_num_threads(threads)
    if retain and not retain_freed_memory():
        raise RuntimeError("retain_freed_memory had no effect: not glibc?")
    rng = np.random.default_rng(1)
    if trainer == "desom":
        x = rng.normal(size=(cutouts, 1, 32, 32)).astype(np.float32)
        blocks = ArrayBlocks(x, np.zeros(cutouts, bool))
        _, figures = _measured(lambda: train_desom(blocks, autoencoder_epochs=epochs, som_epochs=epochs))
        return {**figures, "steps_only": None}
    x = rng.normal(size=(cutouts, 3, 51, 51)).astype(np.float32)
    y = rng.random(cutouts) < 0.3
    x[y, :, 23:28, 23:28] += 3.0
    result, figures = _measured(
        lambda: train_classifier(ArrayBlocks(x, y), epochs=epochs, patience=epochs, seed=1)
    )
    # The lower limit: as many steps of the same batch size on one batch (channels-last, as trained).
    n_train = result.counts["train_real"] + result.counts["train_bogus"]
    steps = epochs * -(-n_train // 128)
    return {**figures, "steps_only": step_seconds("dia_cnn", 128, steps, channels_last=True) * steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trainer", choices=("dia_cnn", "desom"), default="dia_cnn")
    parser.add_argument("--cutouts", type=int, default=24000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", choices=("default", "retain"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        figures = child(args.trainer, args.cutouts, args.epochs, args.threads, args.child == "retain")
        print(json.dumps(figures))
        return
    print(
        f"{args.trainer}, {args.cutouts} random cutouts in memory, {args.epochs} epochs, "
        f"{args.threads} threads; each run a fresh process"
    )
    for round_ in range(1, args.repeats + 1):
        times = {}
        for mode in ("default", "retain"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, *sys.argv[1:]],
                capture_output=True,
                text=True,
                check=True,
            )
            f = json.loads(out.stdout.strip().splitlines()[-1])
            times[mode] = f["seconds"]
            kernel = f["sys"] / (f["user"] + f["sys"])
            bare = (
                ""
                if f["steps_only"] is None
                else f" ({f['steps_only'] / f['seconds']:.2f} of it the bare steps, {f['steps_only']:.1f} s)"
            )
            print(
                f"round {round_}: {mode:8s} {f['seconds']:6.1f} s{bare}, {f['faults']:9d} minor faults, "
                f"user {f['user']:5.1f} s, sys {f['sys']:5.1f} s ({kernel:.0%})"
            )
        print(f"round {round_}: retain / default time: {times['retain'] / times['default']:.2f}")


if __name__ == "__main__":
    main()
