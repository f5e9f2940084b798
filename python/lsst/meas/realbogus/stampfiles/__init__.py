"""Stamps from outside a butler: alert packets, FITS cutouts and numpy files, scored one row each.

- `~lsst.meas.realbogus.stampfiles.records`: `StampRecord`, one triplet as read from a file,
  and the channel names sources use.
- `~lsst.meas.realbogus.stampfiles.arrays`: ``.npz`` and ``.npy`` files of stacked stamps.
- `~lsst.meas.realbogus.stampfiles.fits`: FITS cutouts, one file per channel or one file per
  triplet.
- `~lsst.meas.realbogus.stampfiles.avro`: Rubin (``lsst.vN_M``) and ZTF alert packets in Avro
  container files, read with fastavro.
- `~lsst.meas.realbogus.stampfiles.reading`: any of those by file name.
- `~lsst.meas.realbogus.stampfiles.scoring`: `score_stamps` (arrays in memory) and
  `score_stamp_files`, one output row per stamp, never a lost row.

The command line is ``score_realbogus_stamps.py``
(`lsst.meas.realbogus.scripts.score_stamps`).
"""

from .avro import *  # noqa: F401, F403
from .reading import *  # noqa: F401, F403
from .records import *  # noqa: F401, F403
from .scoring import *  # noqa: F401, F403
