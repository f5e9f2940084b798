#!/usr/bin/env python
"""Summarize real/bogus scores against the simulation's truth (run with --help)."""

import sys

from lsst.meas.realbogus.scripts.score_report import main

if __name__ == "__main__":
    sys.exit(main())
