#!/usr/bin/env python
"""Write one network of an ensemble model file as a model of its own (run with --help)."""

import sys

from lsst.meas.realbogus.scripts.extract_member import main

if __name__ == "__main__":
    sys.exit(main())
