#!/usr/bin/env python
"""Create a butler repository holding a simulated DC2-like survey (run with --help)."""

import sys

from lsst.meas.realbogus.scripts.make_sim_repo import main

if __name__ == "__main__":
    sys.exit(main())
