#!/usr/bin/env python
"""Store a real/bogus model file in a butler repository (run with --help)."""

import sys

from lsst.meas.realbogus.scripts.register_model import main

if __name__ == "__main__":
    sys.exit(main())
