#!/usr/bin/env python
"""Score triplet stamps from alert packets, FITS or numpy files (run with --help)."""

import sys

from lsst.meas.realbogus.scripts.score_stamps import main

if __name__ == "__main__":
    sys.exit(main())
