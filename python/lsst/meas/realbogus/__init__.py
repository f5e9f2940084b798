"""Real/bogus classification of difference-image detections for the LSST Science Pipelines."""

from .version import __version__  # noqa: F401
