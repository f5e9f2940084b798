#!/usr/bin/env python
"""Judge a candidate model against the default by the rule of training.rst (run with --help)."""

import sys

from lsst.meas.realbogus.scripts.judge_candidate import main

if __name__ == "__main__":
    sys.exit(main())
