#!/usr/bin/env python
"""Export a meas_realbogus model file to ONNX (run with --help)."""

import sys

from lsst.meas.realbogus.scripts.export_onnx import main

if __name__ == "__main__":
    sys.exit(main())
