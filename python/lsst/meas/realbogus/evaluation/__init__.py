"""Evaluation: labels from a truth catalog, metrics of scores, the report, and its plots.

- `~lsst.meas.realbogus.evaluation.matching`: nearest-neighbour matching within a radius.
- `~lsst.meas.realbogus.evaluation.labels`: real or bogus, and the kind of each detection
  (DMTN-216), as arrays (`label_detections`) or as the label table (`label_table`).
- `~lsst.meas.realbogus.evaluation.metrics`: ROC, precision-recall and DET curves, AUC, MDR at
  an FPR, the OSS-REQ-0353 point, calibration.
- `~lsst.meas.realbogus.evaluation.report`: scores joined to labels over detectors
  (`collect_scores`) and every metric of them (`evaluate_scores`).
- `~lsst.meas.realbogus.evaluation.plots`: the report's figures (matplotlib, no pyplot state).
- `~lsst.meas.realbogus.evaluation.saliency`: gradient saliency maps of a model.
- `~lsst.meas.realbogus.evaluation.selection`: the rule by which a candidate model replaces the
  default, over both models' evaluations (`judge_candidate`).

Importing this package imports neither matplotlib nor torch: import ``plots`` and
``saliency`` from their modules.
"""

from .labels import *  # noqa: F401, F403
from .matching import *  # noqa: F401, F403
from .metrics import *  # noqa: F401, F403
from .report import *  # noqa: F401, F403
from .selection import *  # noqa: F401, F403
