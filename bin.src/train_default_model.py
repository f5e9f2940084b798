#!/usr/bin/env python
"""Reproduce the default real/bogus model shipped in the package (run with --help)."""

import sys

from lsst.meas.realbogus.scripts.train_default_model import main

if __name__ == "__main__":
    sys.exit(main())
