"""Convert a Rubin model package (meas_transiNet format) into a meas_realbogus model file.

WARNING: this runs the Python source in the package's ``architecture`` member (that is how
the network is defined). Convert only packages you trust. Nothing else in meas_realbogus runs
foreign code: the file written here is TorchScript with its metadata inside, and RealBogusTask
loads it like any model of this package (-c realBogus:modelFile=OUTPUT). The checkpoint is
read with weights_only=True on the CPU, and the written model is checked against the
package's own network on random stamps.

Packages do not record their channel order or normalization: the defaults are those of
Rubin's production package (difference, science, template; no normalization, pixels in nJy;
a sigmoid output).
"""

from __future__ import annotations

__all__ = ("main",)

import argparse
import sys

from ..inference import ModelError
from ..inference.model_package import RUBIN_CHANNELS, convert_model_package
from ..stamps import CHANNELS, NORMALIZATIONS


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="convert_rubin_model_package.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("package", help="Model package: a zip file or a directory.")
    parser.add_argument("output", help="Model file to write (TorchScript with metadata).")
    parser.add_argument("--version", required=True, help="Model version to record (1 to 7 characters).")
    parser.add_argument(
        "--channels",
        default=",".join(RUBIN_CHANNELS),
        help=f"Comma-separated input channel order, from {', '.join(CHANNELS)} (default: %(default)s).",
    )
    parser.add_argument(
        "--normalization",
        default="none",
        choices=sorted(NORMALIZATIONS),
        help="Normalization the network expects (default: %(default)s).",
    )
    parser.add_argument(
        "--output-kind",
        default="probability",
        choices=("probability", "logit"),
        help="What the network returns: 'probability' if it ends with a sigmoid (default), else 'logit'.",
    )
    parser.add_argument("--threshold", type=float, default=0.5, help="Recommended threshold to record.")
    args = parser.parse_args(argv)
    try:
        metadata, difference = convert_model_package(
            args.package,
            args.output,
            args.version,
            channels=tuple(c.strip() for c in args.channels.split(",")),
            normalization=args.normalization,
            model_output=args.output_kind,
            threshold=args.threshold,
        )
    except ModelError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(
        f"wrote {args.output}: model {metadata.version}, {metadata.architecture}, "
        f"{metadata.cutout_size}x{metadata.cutout_size} stamps, channels {', '.join(metadata.channels)}, "
        f"normalization {metadata.normalization}; scores equal the package's within {difference:.1g}"
    )
    return 0
