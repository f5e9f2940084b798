"""Butler integration: the formatters of the package's storage classes and their configuration.

- `~lsst.meas.realbogus.butler.formatters`: `TorchScriptModelFormatter` (``RealBogusModel``)
  and `TripletsFormatter` (``RealBogusTriplets``).
- ``configs/``: ``storageClasses.yaml`` and ``datastores/fileDatastore.yaml``, the directory
  to put on ``DAF_BUTLER_CONFIG_PATH`` (`config_dir`; ``setup.sh`` and the EUPS table do).
"""

from importlib import resources

from .formatters import *  # noqa: F401, F403


def config_dir() -> str:
    """The directory of the package's butler configuration (for ``DAF_BUTLER_CONFIG_PATH``)."""
    return str(resources.files("lsst.meas.realbogus.butler") / "configs")
