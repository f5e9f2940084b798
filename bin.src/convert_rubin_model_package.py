#!/usr/bin/env python
"""Convert a Rubin model package into a meas_realbogus model file (run with --help)."""

import sys

from lsst.meas.realbogus.scripts.convert_model_package import main

if __name__ == "__main__":
    sys.exit(main())
