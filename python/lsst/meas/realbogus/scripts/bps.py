"""``realbogus_bps.py``: check, submit and restart BPS workflows of this package's pipelines."""

from __future__ import annotations

import argparse
import os
import sys

from ..workflow.submission import SubmissionError, check_submission, load_submit_config, run_in_session

PARSL_SERVICE = "lsst.ctrl.bps.parsl.ParslService"

# bps submit options passed through, with their Python names.
_OPTIONS = [
    (("-b", "--butler-config"), "butler_config", "Butler repository (overrides payload.butlerConfig)."),
    (("-i", "--input"), "input", "Input collections, comma-separated."),
    (("-o", "--output"), "output", "Output CHAINED collection."),
    (("--output-run",), "output_run", "Output RUN collection."),
    (("-d", "--data-query"), "data_query", "Data query, e.g. \"skymap='DC2_sim' AND tract=4024\"."),
    (("-p", "--pipeline"), "pipeline", "Pipeline file (overrides pipelineYaml)."),
    (("--compute-site",), "compute_site", "Compute site, one of those under 'site:' (e.g. local, slurm)."),
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="realbogus_bps.py",
        description="Check a BPS submission before anything is submitted, submit it, or restart it. "
        "'submit' runs 'bps submit' after the checks, so that a SIGTERM or Ctrl-C stops the whole "
        "workflow (parsl's interchange and workers too); 'restart' reruns what a killed or failed "
        "submission left undone.",
        epilog="example:\n  realbogus_bps.py submit bps/realbogus.yaml -b REPO "
        "-d \"skymap='DC2_sim' AND tract=4024\"",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help in (("check", "check only"), ("submit", "check, then bps submit")):
        sub = commands.add_parser(name, help=help)
        sub.add_argument("config", help="BPS submit configuration, e.g. bps/realbogus.yaml.")
        for flags, dest, text in _OPTIONS:
            sub.add_argument(*flags, dest=dest, help=text)
    restart = commands.add_parser("restart", help="bps restart a submission (parsl)")
    restart.add_argument("submit_dir", help="The submission's directory (printed by submit).")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "restart":
        if not os.path.isdir(args.submit_dir):
            print(f"error: submit directory {args.submit_dir} does not exist", file=sys.stderr)
            return 2
        command = ["bps", "restart", "--wms-service-class", PARSL_SERVICE, "--id", args.submit_dir]
        return run_in_session(command)
    overrides = {dest: getattr(args, dest) for _, dest, _ in _OPTIONS}
    try:
        config = load_submit_config(args.config, **overrides)
        summary = check_submission(config, args.config)
    except SubmissionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        f"checked: site {summary['computeSite']}, pipeline {summary['pipelineYaml']}, "
        f"repository {summary['butlerConfig']}, inputs {summary['inCollection']}",
        file=sys.stderr,
    )
    if args.command == "check":
        return 0
    command = ["bps", "submit", args.config]
    for flags, dest, _ in _OPTIONS:
        if getattr(args, dest):
            command += [flags[-1], getattr(args, dest)]
    return run_in_session(command)
