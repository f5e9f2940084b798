"""The CNN classifier: architectures registered by name, and its streaming training loop.

- `~lsst.meas.realbogus.cnn.architectures`: `DiaCNN`, `VGG6`, `SmallResNet`, looked up by
  name (`get_architecture`, `list_architectures`, `register_architecture`).
- `~lsst.meas.realbogus.cnn.blocks`: training sets read block by block (`TripletBlocks` from
  the butler's labelled triplets, `CachedBlocks`, `ArrayBlocks`).
- `~lsst.meas.realbogus.cnn.training`: `train_classifier`, with a hashed validation split,
  class weighting, augmentation and early stopping.
- `~lsst.meas.realbogus.cnn.calibration`: `fit_calibration`, the temperature and offset of the
  logits fitted on the validation rows.
- `~lsst.meas.realbogus.cnn.ensemble`: `Ensemble`, several trained networks in one module.
- `~lsst.meas.realbogus.cnn.allocator`: `retain_freed_memory`, glibc's ``malloc`` told to keep
  freed memory for the next training step.
- `~lsst.meas.realbogus.cnn.checkpoints`: `MemberCheckpoints`, trained members kept on disk so
  that an interrupted ensemble training resumes.

Importing this package imports torch.
"""

from .allocator import *  # noqa: F401, F403
from .architectures import *  # noqa: F401, F403
from .blocks import *  # noqa: F401, F403
from .calibration import *  # noqa: F401, F403
from .checkpoints import *  # noqa: F401, F403
from .ensemble import *  # noqa: F401, F403
from .training import *  # noqa: F401, F403
