"""Reproduce the default model shipped in the package (``train_default_model.py``).

It builds (or reuses) a simulated ``training``-preset repository, cuts and
labels the diaSources of the training tract exactly as `RealBogusTask` cuts
them, trains the DIA-based CNN, writes it as a TorchScript file with its
metadata, and reports its AUC on the test tract.  The training and evaluation
pipelines (``pipelines/TrainRealBogus.yaml`` ...) supersede this for general
use.
"""

from __future__ import annotations

__all__ = ("main",)

import argparse
import dataclasses
import logging
import os
import sys
import time

import numpy as np

from ..metrics import completeness_purity, roc_auc
from ..model import LoadedModel, ModelMetadata, save_model
from ..realBogusTask import default_model_path

VERSION = "rbsim01"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="train_default_model.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--repo",
        default="rbsim_training_repo",
        help="Simulated repository; built with the training preset if absent (default: %(default)s).",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="Seed of the repository and of training (default: 1)."
    )
    parser.add_argument(
        "--output", default=default_model_path(), help="Model file to write (default: %(default)s)."
    )
    parser.add_argument("--train-tract", type=int, default=3080)
    parser.add_argument("--test-tract", type=int, default=4024)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--normalization", default="robust")
    parser.add_argument("--device", default="cpu")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("train_default_model")
    from lsst.daf.butler import Butler

    from ..simulation.config import PRESETS, SimulationConfig
    from ..simulation.repo import INPUT_COLLECTION, build_repo
    from ..training import train_classifier
    from ..trainingset import collect_training_set

    if not os.path.exists(os.path.join(args.repo, "butler.yaml")):
        config = SimulationConfig()
        PRESETS["training"][0](config)
        # rbsim01 was trained with four visits per field (the training preset has five since).
        config.visitsPerField = 4
        log.info("Building the simulated training repository %s (seed %d).", args.repo, args.seed)
        build_repo(args.repo, config, args.seed, processes=min(2, os.cpu_count() or 1))
    channels = ("template", "science", "difference")
    with Butler.from_config(args.repo, collections=INPUT_COLLECTION) as butler:
        start = time.perf_counter()
        train = collect_training_set(
            butler,
            f"skymap='DC2_sim' AND tract={args.train_tract}",
            channels=channels,
            normalization=args.normalization,
        )
        test = collect_training_set(
            butler,
            f"skymap='DC2_sim' AND tract={args.test_tract}",
            channels=channels,
            normalization=args.normalization,
        )
        log.info(
            "Collected %d training and %d test cutouts in %.0f s.",
            len(train),
            len(test),
            time.perf_counter() - start,
        )
    result = train_classifier(
        train.cutouts, train.is_real, epochs=args.epochs, seed=args.seed, device=args.device
    )
    metadata = ModelMetadata(
        version=VERSION,
        cutout_size=train.cutouts.shape[-1],
        channels=channels,
        normalization=args.normalization,
        output="logit",
        architecture="dia_cnn",
        threshold=0.5,
    )
    # Score the test tract exactly as RealBogusTask would (sigmoid of the logits, in batches).
    trained = LoadedModel("<trained model>", result.module, metadata, "cpu")
    scores = trained.predict(test.cutouts, batch_size=1024)
    auc = roc_auc(scores, test.is_real)
    completeness, purity = completeness_purity(scores, test.is_real, 0.5)
    metadata = dataclasses.replace(
        metadata,
        provenance=(
            f"train_default_model.py --seed {args.seed}: simulated training preset, tract {args.train_tract} "
            f"({len(train)} cutouts, {int(train.is_real.sum())} real), best epoch {result.best_epoch}; "
            f"tract {args.test_tract} AUC {auc:.4f}"
        ),
    )
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    save_model(result.module, metadata, args.output)
    print(f"model: {args.output}")
    print(f"training tract {args.train_tract}: {len(train)} cutouts, validation AUC {result.val_auc:.4f}")
    print(
        f"test tract {args.test_tract}: {len(test)} cutouts, AUC {auc:.4f}, "
        f"completeness {completeness:.3f} and purity {purity:.3f} at score >= 0.5"
    )
    return 0 if np.isfinite(auc) else 1


if __name__ == "__main__":
    sys.exit(main())
