"""Write one network of an ensemble model file as a model file of its own.

The member keeps the ensemble's metadata (input, normalization, PSF limits, and the
calibration, which was fitted on the members' mean logit) with members=1 and a new version.
It runs one network instead of K, and gives no scoreStd; it is how a member is compared with
the ensemble it belongs to (training.rst).
"""

from __future__ import annotations

__all__ = ("extract_member", "main")

import argparse
import sys

from ..inference import ModelError, ensemble_member, load_model, save_torchscript


def extract_member(model_file: str, index: int, output: str, version: str | None = None) -> str:
    """Write member ``index`` (from 0) of ``model_file`` to ``output``; returns its version.

    Raises
    ------
    ModelError
        If the model cannot be read, is not an ensemble or has no such
        member, or the version is invalid.
    """
    model = load_model(model_file, backend="torchscript")
    member, metadata = ensemble_member(model.module, model.metadata, index, version)
    save_torchscript(member, metadata, output)
    return metadata.version


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="extract_realbogus_member.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="meas_realbogus TorchScript model file of an ensemble.")
    parser.add_argument("member", type=int, help="Member to write, from 0.")
    parser.add_argument("output", help="TorchScript file to write.")
    parser.add_argument(
        "--version", help="Version of the new model (default: the ensemble's + 'm' + member number from 1)."
    )
    args = parser.parse_args(argv)
    try:
        version = extract_member(args.model, args.member, args.output, args.version)
    except ModelError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {args.output}: member {args.member} of {args.model}, version {version}")
    return 0
