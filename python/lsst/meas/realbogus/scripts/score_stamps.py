"""Score triplet stamps outside a butler: alert packets, FITS cutouts, numpy files.

Writes one row per stamp (Parquet or CSV, by the output's ending): the stamp's id and file,
score, flags (noScore, padded, cropped, badPixels), the reason a stamp was not scored, and the
values its source carries (ZTF's drb, Rubin's reliability). Inputs, by file name:

  *.avro                  Rubin (lsst.vN_M) or ZTF alert packets (Avro container files)
  *.npz, *.npy            stacked stamps (N, C, H, W); channels from the file's 'channels'
                          array or --channels
  *.fits, *.fits.gz       cutouts named <id>_<science|template|difference>.fits, or one file per
                          triplet with those EXTNAMEs
  directories             every such file inside

Stamps of any size are used as they are: smaller ones are padded (flag_padded), larger ones
centre-cropped (flag_cropped), not resized unless --psf-fwhm says their PSF is outside the
model's training widths (then resampled to them: psfScale); the normalization is computed on
the real pixels. NaN, infinite and sentinel pixels (|value| >= --missing-above; ZTF writes -3.4e38)
are missing and counted. A stamp that cannot be scored gets flag_noScore and its reason.
"""

from __future__ import annotations

__all__ = ("main",)

import argparse
import sys

from ..inference import ModelError, choose_backend, default_model_path, load_model
from ..stamps import MISSING_ABOVE


def output_format(path: str) -> str:
    """The astropy table format of an output file, by its ending (``.parquet``, ``.pq``, ``.csv``).

    Raises
    ------
    ValueError
        For any other ending (checked before any stamp is scored).
    """
    if path.lower().endswith((".parquet", ".pq")):
        return "parquet"
    if path.lower().endswith(".csv"):
        return "ascii.csv"
    raise ValueError(f"{path}: the output must end in .parquet, .pq or .csv")


def _number_or_name(value: str | None) -> float | str | None:
    """``--psf-fwhm``: a number if it is one, else the name of a value of the stamps."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return value


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    from ..stampfiles import score_stamp_files

    parser = argparse.ArgumentParser(
        prog="score_realbogus_stamps.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", help="Stamp files or directories.")
    parser.add_argument("-o", "--output", required=True, help="Output table: .parquet or .csv.")
    parser.add_argument(
        "--model", default="", help="Model file (.pt TorchScript or .onnx). Default: the shipped model."
    )
    parser.add_argument(
        "--backend",
        choices=("auto", "torchscript", "onnx"),
        default="auto",
        help="auto (default): onnx for .onnx files and the shipped model on the CPU, torchscript otherwise.",
    )
    parser.add_argument("--device", default="cpu", help="Torch device (cpu, cuda, cuda:N).")
    parser.add_argument(
        "--channels",
        default="",
        help="Comma-separated channel names of numpy files that do not name them "
        "(e.g. science,template,difference).",
    )
    parser.add_argument(
        "--to-njy",
        action="store_true",
        help="Convert pixels in counts to nJy with the packet's zero point (ZTF magzpsci) or "
        "--zero-point; for models that take raw pixel values (Rubin's). The default model does not "
        "depend on units.",
    )
    parser.add_argument("--zero-point", type=float, default=None, help="AB magnitude of one count.")
    parser.add_argument(
        "--missing-above",
        type=float,
        default=MISSING_ABOVE,
        help=f"Pixels with |value| at least this are missing (default {MISSING_ABOVE:g}).",
    )
    parser.add_argument(
        "--psf-fwhm",
        default=None,
        help="PSF FWHM of the stamps in pixels (a number: all stamps, e.g. a survey's typical seeing), or "
        "the name of a value each stamp carries it in (e.g. a column of the numpy file); stamps of a PSF "
        "outside the model's training widths are resampled to them. Default: not resampled.",
    )
    parser.add_argument("--batch-size", type=int, default=64, help="Stamps per model batch (default 64).")
    parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
    args = parser.parse_args(argv)

    backend = choose_backend(args.backend, args.device, args.model)
    model_file = args.model or default_model_path(backend)
    try:
        table_format = output_format(args.output)
        model = load_model(model_file, device=args.device, backend=backend)
        bar = None
        if not args.no_progress:
            from tqdm import tqdm

            bar = tqdm(desc="stamps", unit="stamp", file=sys.stderr, mininterval=1.0)
        try:
            table = score_stamp_files(
                args.inputs,
                model,
                channels=[c for c in args.channels.split(",") if c] or None,
                to_njy=args.to_njy,
                zero_point=args.zero_point,
                missing_above=args.missing_above,
                batch_size=args.batch_size,
                progress=bar.update if bar is not None else None,
                psf_fwhm=_number_or_name(args.psf_fwhm),
            )
        finally:
            if bar is not None:
                bar.close()
        table.write(args.output, format=table_format, overwrite=True)
    except (ModelError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    unscored = int(table["flag_noScore"].sum())
    print(
        f"wrote {args.output}: {len(table)} stamps, {unscored} not scored, "
        f"{int(table['flag_padded'].sum())} padded, {int(table['flag_cropped'].sum())} cropped, "
        f"{int(table['flag_badPixels'].sum())} with bad pixels, "
        f"{int((table['psfScale'] != 1).sum())} resampled (model {model.metadata.version})"
    )
    return 0
