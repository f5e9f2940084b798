"""Stamps: cutting them out of images, normalizing them, storing labelled triplets, and making
the model-ready batch.

- `~lsst.meas.realbogus.stamps.cutouts`: cutouts around positions in one pass over each image
  (with its C copy loop, ``_cutcopy.c``), edge, NaN and mask handling.
- `~lsst.meas.realbogus.stamps.fitting`: stamps cut elsewhere (alert packets, files) put on a
  model's grid: padded or centre-cropped, with their missing pixels marked.
- `~lsst.meas.realbogus.stamps.normalization`: per-stamp normalizations by name, optionally
  from the valid pixels only.
- `~lsst.meas.realbogus.stamps.resampling`: stamps averaged onto a coarser grid, for a PSF wider
  than a model's training images, or interpolated onto a finer one, for a narrower one.
- `~lsst.meas.realbogus.stamps.batch`: `ModelInput`, the one path from images or stamps to a
  model's input (channels in its order, its size, its normalization).
- `~lsst.meas.realbogus.stamps.triplets`: labelled template/science/difference triplets, the
  unit of a training set.

Nothing here imports torch.
"""

from .batch import *  # noqa: F401, F403
from .cutouts import *  # noqa: F401, F403
from .fitting import *  # noqa: F401, F403
from .normalization import NORMALIZATIONS, normalize  # noqa: F401
from .triplets import *  # noqa: F401, F403
