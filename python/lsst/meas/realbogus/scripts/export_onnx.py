"""Export a meas_realbogus model file (TorchScript) to ONNX, metadata included.

The ONNX file runs with onnxruntime: -c realBogus:backend=onnx -c realBogus:modelFile=OUT.onnx.
The export is checked: the ONNX model's scores must equal the TorchScript model's within
--tolerance on random stamps, or nothing is kept.
"""

from __future__ import annotations

__all__ = ("export_onnx", "main")

import argparse
import os
import sys

import numpy as np

from ..inference import ModelError, load_model
from ..inference.onnx_backend import save_onnx


def export_onnx(model_file: str, output: str, tolerance: float = 1e-5) -> float:
    """Export ``model_file`` to ``output``; returns the largest score difference found.

    Raises
    ------
    ModelError
        If the model cannot be read or exported, or the scores differ by
        more than ``tolerance`` (the output is then removed).
    """
    model = load_model(model_file)
    try:
        save_onnx(model.module, model.metadata, output)
    except ModelError:
        raise
    except Exception as err:  # the exporter's errors
        raise ModelError(f"{model_file}: cannot be exported to ONNX: {str(err).splitlines()[0]}") from None
    stamps = np.random.default_rng(0).normal(0, 3, (300, *model.metadata.input.shape)).astype(np.float32)
    difference = float(
        np.max(np.abs(load_model(output, backend="onnx").predict(stamps) - model.predict(stamps)))
    )
    if not difference <= tolerance:
        os.remove(output)
        raise ModelError(
            f"{output}: the ONNX model's scores differ from {model_file}'s by up to {difference:.3g} "
            f"(tolerance {tolerance:g}); not kept"
        )
    return difference


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="export_realbogus_onnx.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="meas_realbogus TorchScript model file.")
    parser.add_argument("output", help="ONNX file to write.")
    parser.add_argument("--tolerance", type=float, default=1e-5, help="Largest score difference allowed.")
    args = parser.parse_args(argv)
    try:
        difference = export_onnx(args.model, args.output, args.tolerance)
    except ModelError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {args.output}: scores equal the TorchScript model's within {difference:.2g}")
    return 0
