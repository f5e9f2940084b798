#!/usr/bin/env python
"""Check, submit and restart BPS workflows of meas_realbogus (run with --help)."""

import sys

from lsst.meas.realbogus.scripts.bps import main

if __name__ == "__main__":
    sys.exit(main())
