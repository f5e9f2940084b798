"""Judge a candidate model against the default by the rule of training.rst ("Choosing the default").

Both models must have been evaluated on the same test repositories with
EvaluateRealBogus.yaml and ``-c evaluateRealBogus:outputDir=REPO/eval_VERSION`` (as
``make default-model`` and ``make evaluate-candidate`` do); this reads each
REPO/eval_VERSION/metrics.json, prints every clause of the rule with both figures, and
the verdict.  A candidate replaces the reference only when it is judged on all four parts
(in-domain, shifted, sharp, coarse) and passes every clause; given fewer parts, it can only
fail.  It exits with 0 when it could judge (whatever the verdict), 1 with ``--check`` when
the candidate fails or a part was not judged, and 2 when a file is missing or unreadable.
"""

from __future__ import annotations

__all__ = ("main", "read_evaluations")

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence

from ..evaluation.selection import PARTS, SelectionRule, judge_candidate


def read_evaluations(parts: Mapping[str, Sequence[str]], version: str) -> dict[str, dict[str, dict]]:
    """The ``metrics.json`` of ``version`` in each test repository, per part and repository name.

    Raises
    ------
    FileNotFoundError
        If a repository has no evaluation of ``version`` (the message names the file).
    ValueError
        If a file is not JSON.
    """
    out: dict[str, dict[str, dict]] = {}
    for part, repos in parts.items():
        for repo in repos:
            path = os.path.join(repo, f"eval_{version}", "metrics.json")
            if not os.path.exists(path):
                raise FileNotFoundError(
                    f"{path} does not exist: evaluate {version} on {repo} first "
                    f"(EvaluateRealBogus.yaml with -c evaluateRealBogus:outputDir={os.path.dirname(path)})"
                )
            try:
                with open(path) as stream:
                    metrics = json.load(stream)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path} is not JSON: {err}") from None
            out.setdefault(part, {})[os.path.basename(os.path.normpath(repo))] = metrics
    return out


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="realbogus_judge_candidate.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("candidate", help="Version of the candidate (its eval_VERSION directories).")
    parser.add_argument("reference", help="Version of the model it would replace (e.g. the default's).")
    parser.add_argument("--in-domain", nargs="+", default=[], metavar="REPO", help="In-domain test repos.")
    parser.add_argument("--shifted", nargs="+", default=[], metavar="REPO", help="Shifted test repos.")
    parser.add_argument("--sharp", nargs="+", default=[], metavar="REPO", help="Broad-template test repos.")
    parser.add_argument("--coarse", nargs="+", default=[], metavar="REPO", help="Coarse-pixel test repos.")
    parser.add_argument(
        "--confident-allowance",
        type=_count,
        default=SelectionRule.confidentAllowance,
        metavar="N",
        help="Detections above 0.99 every judged bogus kind may have whatever its size (default "
        f"{SelectionRule.confidentAllowance}; 0 is the rule rbsim09 to rbsim12 were judged under).",
    )
    parser.add_argument(
        "--absolute-targets",
        action="store_true",
        help="Fail every target clause the candidate misses, even where the reference misses it by more "
        "(the rule rbsim13 was pre-registered under); by default such a clause passes a candidate no "
        "worse there than the reference.",
    )
    parser.add_argument("--check", action="store_true", help="Exit with 1 if the candidate fails.")
    args = parser.parse_args(argv)
    parts = {"inDomain": args.in_domain, "shifted": args.shifted, "sharp": args.sharp, "coarse": args.coarse}
    parts = {part: repos for part, repos in parts.items() if repos}
    if not parts:
        parser.error("name at least one test repository (--in-domain, --shifted, --sharp, --coarse)")
    try:
        candidate = read_evaluations(parts, args.candidate)
        reference = read_evaluations(parts, args.reference)
        rule = SelectionRule(
            confidentAllowance=args.confident_allowance,
            noWorseWhereReferenceFails=not args.absolute_targets,
        )
        clauses = judge_candidate(candidate, reference, rule)
    except (OSError, ValueError, KeyError) as err:
        print(f"realbogus_judge_candidate.py: {err}", file=sys.stderr)
        return 2
    width = max(len(f"{c.test}: {c.figure}") for c in clauses)
    for clause in clauses:
        mark = "pass" if clause.passed else "FAIL"
        print(
            f"{mark}  {f'{clause.test}: {clause.figure}':{width}s}  {clause.candidate:>12s}  {clause.limit}"
        )
    failed = [c for c in clauses if not c.passed]
    missing = [part for part in PARTS if part not in parts]
    if failed:
        print(
            f"{args.candidate} does NOT replace {args.reference}: "
            f"{len(failed)} of {len(clauses)} clauses fail."
        )
    elif missing:
        # A partial judgment can reject a candidate but never accept one.
        print(
            f"{args.candidate} passes all {len(clauses)} clauses of {', '.join(parts)}, but the rule also "
            f"has {', '.join(missing)}: not judged, so it does not yet replace {args.reference}."
        )
    else:
        print(f"{args.candidate} replaces {args.reference}: all {len(clauses)} clauses pass.")
    return 1 if (failed or missing) and args.check else 0
