"""Real/bogus classification of difference-image detections for the LSST Science Pipelines."""

from .realBogusTask import *  # noqa: F401, F403
from .version import __version__  # noqa: F401
