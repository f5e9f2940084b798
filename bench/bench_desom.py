#!/usr/bin/env python
"""Benchmark the DESOM: SOM training against MiniSom and torchsom, and the cost of DESOM flagging.

Usage: python bench/bench_desom.py [--vectors 100000] [--desom FILE --labels FILE]
       [--repo REPO --collection COLL] [--skip-som] [--skip-flagging]

1. SOM training on the same latent vectors (N x 120, a 30x30 map), in one run: this
   package's batch SOM (`lsst.meas.realbogus.desom.som.train_som`; 10, 20 and 30 epochs, see
   ``--som-epochs``; Tmax 10 to Tmin 0.01; and 20 epochs to Tmin 1.4), MiniSom (online, one
   pass in random order, its default decays, sigma 3) and torchsom (batch learning, its
   default decays). Each is timed
   and scored by its quantization error (mean distance to the best-matching prototype) and
   topographic error, both computed by the same code. The vectors are the latent vectors of
   the training tract's thumbnails under a DESOM (``--desom`` and ``--repo``; the 8 flips and
   rotations of each thumbnail, so 13,219 triplets give 105,752 vectors; the shipped DESOM
   unless ``--desom``), or else a Gaussian mixture of the same shape.
2. ``RealBogusTask.run()`` on a 4096x4096 detector with 1000 diaSources, with and without
   ``doDesom`` (the ratio is the cost of flagging), and the stages of flagging timed one by one.

Figures are kept in doc/lsst.meas.realbogus/desom.rst.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from timing import best_of


def latent_vectors(args) -> tuple[np.ndarray, str]:
    """The vectors to train maps on, and where they come from."""
    if args.repo:
        from lsst.daf.butler import Butler
        from lsst.meas.realbogus.desom.model import default_desom_paths, load_desom
        from lsst.meas.realbogus.stamps import CHANNELS, dihedral_views

        desom = load_desom(args.desom or default_desom_paths()[0])
        out = []
        with Butler.from_config(args.repo, collections=args.collection) as butler:
            for ref in butler.query_datasets("realbogus_triplets", limit=None):
                stamps = desom.metadata.input.prepare(butler.get(ref).cutouts, CHANNELS)
                out.extend(desom.encode(view) for view in dihedral_views(stamps))
        z = np.concatenate(out)[: args.vectors]
        return z, f"DESOM {desom.metadata.version} latents of {args.collection} (8 flips/rotations)"
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(60, 120)) * 2
    z = centers[rng.integers(0, 60, args.vectors)] + rng.normal(size=(args.vectors, 120))
    return z.astype(np.float32), "a Gaussian mixture (60 components)"


def bench_som(args) -> None:
    import torch
    from lsst.meas.realbogus.desom.som import (
        SelfOrganizingMap,
        quantization_error,
        topographic_error,
        train_som,
    )

    torch.set_num_threads(args.threads)
    z, origin = latent_vectors(args)
    zt = torch.from_numpy(z)
    rows = []

    def score(prototypes: np.ndarray) -> tuple[float, float]:
        som = SelfOrganizingMap(30, 30, z.shape[1])
        with torch.no_grad():
            som.prototypes.copy_(torch.from_numpy(np.asarray(prototypes, np.float32).reshape(900, -1)))
        return quantization_error(som, zt), topographic_error(som, zt)

    for epochs in args.som_epochs:
        som = SelfOrganizingMap(30, 30, z.shape[1])
        start = time.perf_counter()
        train_som(som, zt, epochs=epochs, t_max=10.0, t_min=0.01)
        seconds = time.perf_counter() - start
        rows.append(
            (f"meas_realbogus batch SOM ({epochs} epochs)", seconds, *score(som.prototypes.detach().numpy()))
        )

    # The last temperature decides the trade between the two errors: Tmin 0.01 (seed 000, the
    # default) ends close to k-means; Tmin 1.4 ends about where MiniSom's neighbourhood does (sigma 1;
    # our kernel is exp(-d^2 / T^2), MiniSom's exp(-d^2 / 2 sigma^2)).
    som = SelfOrganizingMap(30, 30, z.shape[1])
    start = time.perf_counter()
    train_som(som, zt, epochs=20, t_max=10.0, t_min=1.4)
    seconds = time.perf_counter() - start
    rows.append(
        ("meas_realbogus batch SOM (20 epochs, Tmin 1.4)", seconds, *score(som.prototypes.detach().numpy()))
    )

    from minisom import MiniSom

    mini = MiniSom(30, 30, z.shape[1], sigma=3.0, learning_rate=0.5, random_seed=1)
    mini.random_weights_init(z)
    start = time.perf_counter()
    mini.train(z, len(z), random_order=True)
    rows.append(("MiniSom (one online pass)", time.perf_counter() - start, *score(mini.get_weights())))

    from torchsom import SOM

    tsom = SOM(30, 30, z.shape[1], epochs=args.torchsom_epochs, batch_size=256, sigma=3.0, device="cpu")
    tsom.initialize_weights(zt, mode="random")
    start = time.perf_counter()
    tsom.fit(zt, verbose=False)
    rows.append(
        (
            f"torchsom ({args.torchsom_epochs} epochs, batch 256)",
            time.perf_counter() - start,
            *score(tsom.weights.detach().numpy()),
        )
    )
    print(f"SOM training, {len(z):,} x {z.shape[1]} vectors ({origin}), 30x30 map, {args.threads} threads:")
    mini_seconds, mini_qe = next((r[1], r[2]) for r in rows if r[0].startswith("MiniSom"))
    for name, seconds, qe, te in rows:
        print(
            f"  {name:46s} {seconds:8.1f} s  quantization error {qe:.4f} ({qe / mini_qe:.3f} of MiniSom's)  "
            f"topographic error {te:.4f}  speed-up over MiniSom {mini_seconds / seconds:5.1f}x"
        )


def bench_flagging(args) -> None:
    import tempfile

    import astropy.table
    import torch
    from lsst.meas.realbogus import RealBogusConfig, RealBogusTask
    from lsst.meas.realbogus.desom.autoencoder import get_autoencoder
    from lsst.meas.realbogus.desom.labelling import PrototypeLabels
    from lsst.meas.realbogus.desom.model import DesomMetadata
    from lsst.meas.realbogus.desom.network import DesomNetwork, save_desom
    from lsst.meas.realbogus.simulation.camera import CameraGeometry
    from lsst.meas.realbogus.simulation.images import make_observation_info, make_visit_image

    torch.set_num_threads(args.threads)
    size, n = 4096, 1000
    camera = CameraGeometry("RBSimCam", 1, size, 0, 0.2)
    rng = np.random.default_rng(1)
    wcs, det = camera.wcs(0, 60.0, -35.0), camera.detector(0, visit=1)
    obs = make_observation_info("RBSimCam", 1, 0, "r", 61000.0)
    masks = {"BAD": np.zeros((size, size), bool)}
    images = {}
    for name in ("science", "template", "difference"):
        pixels = rng.normal(0, 20, (size, size)).astype(np.float32)
        images[name] = make_visit_image(
            pixels,
            np.full((size, size), 400.0, np.float32),
            masks,
            2.0,
            wcs,
            det,
            obs,
            "r",
            difference=name == "difference",
        )
    dia = astropy.table.Table(
        {"diaSourceId": np.arange(n), "x": rng.uniform(0, size - 1, n), "y": rng.uniform(0, size - 1, n)}
    )
    tmp = tempfile.TemporaryDirectory()
    from lsst.meas.realbogus.desom.model import default_desom_paths

    desom_file, labels_file = args.desom, args.labels
    if not desom_file and os.path.exists(default_desom_paths()[0]):
        desom_file, labels_file = default_desom_paths()
    if not desom_file:
        # The default architecture (Table 1, 120 latent, 30x30): the cost does not depend on the weights.
        ae = get_autoencoder("table1", 1, 32, 120)
        md = DesomMetadata(
            "bench", 32, ("difference",), "mong_eq9", 120, 30, 30, distance_percentiles={"99": 1.0}
        )
        desom_file, labels_file = f"{tmp.name}/d.pt", f"{tmp.name}/l.yaml"
        save_desom(DesomNetwork(ae.encoder, ae.decoder, torch.randn(900, 120)), md, desom_file)
        PrototypeLabels("bench", (30, 30), np.zeros(900, bool)).write(labels_file)
    plain = RealBogusTask(config=RealBogusConfig())
    config = RealBogusConfig()
    config.doDesom = True
    config.desomFile, config.desomLabelsFile = desom_file, labels_file
    flagged = RealBogusTask(config=config)
    for task in (plain, flagged):
        task.run(dia, **images)
        task.run(dia, **images)
    t_plain = best_of(lambda: plain.run(dia, **images), 5)
    t_flagged = best_of(lambda: flagged.run(dia, **images), 5)
    desom = flagged.desom
    md_cnn = plain.model.metadata
    from lsst.meas.realbogus.stamps import cut_images

    raw = cut_images(
        images, md_cnn.channels, dia["x"], dia["y"], md_cnn.cutout_size, bad_mask_planes=config.badMaskPlanes
    )
    t_prepare = best_of(lambda: desom.metadata.input.prepare(raw.data, md_cnn.channels), 5)
    thumbs = desom.metadata.input.prepare(raw.data, md_cnn.channels)
    t_encode = best_of(lambda: desom.encode(thumbs, config.desomBatchSize), 5)
    latents = desom.encode(thumbs)
    t_nearest = best_of(lambda: desom.nearest(latents), 5)
    batches = {b: best_of(lambda b=b: desom.encode(thumbs, b), 5) for b in (64, 128, 256, 512, 1000)}
    print(
        f"RealBogusTask.run(), {n} diaSources on {size}x{size} ({args.threads} threads): "
        f"{t_plain:.3f} s without DESOM, {t_flagged:.3f} s with it: ratio {t_flagged / t_plain:.2f} "
        f"(flagging adds {100 * (t_flagged / t_plain - 1):.0f}%)"
    )
    print(
        f"  flagging stages: crop and eq. 9 normalization {t_prepare:.3f} s, encoder {t_encode:.3f} s, "
        f"nearest prototype {t_nearest:.4f} s"
    )
    print("  encoder batch size (s): " + ", ".join(f"{b}: {t:.3f}" for b, t in batches.items()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vectors", type=int, default=100000)
    parser.add_argument(
        "--desom", default="", help="DESOM file (latents for the SOM bench; the flagging bench)"
    )
    parser.add_argument("--labels", default="", help="Its prototype labelling (flagging bench)")
    parser.add_argument("--repo", default="", help="Repository with realbogus_triplets (SOM bench latents)")
    parser.add_argument("--collection", default="u/rb/triplets3080")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--torchsom-epochs", type=int, default=10)
    parser.add_argument(
        "--som-epochs",
        type=int,
        nargs="+",
        default=[10, 20, 30],
        help="Epochs of our batch SOM (one row each)",
    )
    parser.add_argument("--skip-som", action="store_true")
    parser.add_argument("--skip-flagging", action="store_true")
    args = parser.parse_args()
    if not args.skip_som:
        bench_som(args)
    if not args.skip_flagging:
        bench_flagging(args)


if __name__ == "__main__":
    main()
