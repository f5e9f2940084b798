"""Command-line interface of the simulated-repository builder (``make_realbogus_sim_repo.py``)."""

from __future__ import annotations

__all__ = ("main",)

import argparse
import logging
import os
import signal
import sys
from typing import Any

import yaml

from lsst.pex.config import FieldValidationError

from ..butler.postgresql import RegistryDatabaseError
from ..simulation.config import PRESETS, SimulationConfig
from ..simulation.repo import INPUT_COLLECTION, RepoExistsError, build_repo


def _parser() -> argparse.ArgumentParser:
    presets = "\n".join(f"  {name:11s} {desc}" for name, (_, desc) in PRESETS.items())
    parser = argparse.ArgumentParser(
        prog="make_realbogus_sim_repo.py",
        description="Create a butler repository (SQLite or PostgreSQL registry) holding a simulated "
        "DC2-like survey: science, template and difference images, diaSources and the truth "
        "of everything injected.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"presets:\n{presets}\n\n"
        f"Everything is written to the collection {INPUT_COLLECTION!r}; select a tract with\n"
        "  butler query-data-ids REPO visit detector --where \"skymap='DC2_sim' AND tract=3080\"\n"
        "The same seed and options always give the same repository.",
    )
    parser.add_argument("repo", help="Directory of the new repository (must not exist or be empty).")
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), default="demo", help="Size preset (default: demo)."
    )
    parser.add_argument("--seed", type=int, default=1, help="Random seed (default: 1).")
    parser.add_argument(
        "--detector-size", type=int, help="Override the preset's detector size in pixels (e.g. 4096)."
    )
    parser.add_argument(
        "-c",
        "--config",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="Override a SimulationConfig field (YAML value), e.g. -c nDetectors=9 -c bands=[g,r].",
    )
    parser.add_argument(
        "-C", "--config-file", action="append", default=[], help="Apply a pex_config override file."
    )
    parser.add_argument("--overwrite", action="store_true", help="Replace an existing repository.")
    parser.add_argument(
        "--registry-db",
        metavar="URL",
        help="Keep the registry in this PostgreSQL database (postgresql://user@host:port/dbname, which "
        "needs the btree_gist extension) instead of an SQLite file in the repository.",
    )
    parser.add_argument(
        "--registry-namespace",
        metavar="SCHEMA",
        help="PostgreSQL schema of the registry (default: the repository directory's name).",
    )
    parser.add_argument(
        "-j",
        "--processes",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="Processes simulating and writing in parallel (default: %(default)s).",
    )
    parser.add_argument("--show-config", action="store_true", help="Print the configuration and exit.")
    parser.add_argument("--no-progress", action="store_true", help="Do not show a progress bar.")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="Logging level."
    )
    return parser


def _make_config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> SimulationConfig:
    config = SimulationConfig()
    PRESETS[args.preset][0](config)
    for filename in args.config_file:
        if not os.path.exists(filename):
            parser.error(f"config file {filename!r} does not exist")
        config.load(filename)
    if args.detector_size is not None:
        config.detectorSize = args.detector_size
    for item in args.config:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"-c expects FIELD=VALUE, got {item!r}")
        if name not in config:
            parser.error(f"unknown config field {name!r}; see --show-config")
        try:
            setattr(config, name, yaml.safe_load(value))
        except (TypeError, ValueError, FieldValidationError) as err:
            parser.error(f"bad value for {name}: {err}")
    try:
        config.validate()
    except (FieldValidationError, ValueError) as err:
        parser.error(f"invalid configuration: {err}")
    return config


class _Terminated(KeyboardInterrupt):
    """A SIGTERM, raised in the main thread so the build cleans up as after Ctrl-C."""


def _terminate(signum: int, frame: Any) -> None:
    raise _Terminated()


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error("--seed must be non-negative")
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    config = _make_config(args, parser)
    if args.show_config:
        config.saveToStream(sys.stdout)
        return 0
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
    # A SIGTERM (a batch system's, or kill) interrupts the build as Ctrl-C does: the queued
    # detectors are dropped and the half-built directory is removed.
    signal.signal(signal.SIGTERM, _terminate)

    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(desc="detector-visits", unit="img", file=sys.stderr, mininterval=1.0)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.update(done - bar.n)

    try:
        summary = build_repo(
            args.repo,
            config,
            args.seed,
            overwrite=args.overwrite,
            processes=args.processes,
            progress=progress,
            registry_db=args.registry_db,
            registry_namespace=args.registry_namespace,
        )
    except (RepoExistsError, RegistryDatabaseError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        print(f"interrupted: {args.repo} was not built", file=sys.stderr)
        return 143 if isinstance(err, _Terminated) else 130
    finally:
        if bar is not None:
            bar.close()
    print(yaml.safe_dump({"repo": os.path.abspath(args.repo), **summary}, sort_keys=False), end="")
    return 0
