"""Real/bogus classification of difference-image detections for the LSST Science Pipelines.

The inference and labelling tasks are importable from here without torch or
matplotlib; `~lsst.meas.realbogus.trainRealBogusTask.TrainRealBogusTask` and
`~lsst.meas.realbogus.evaluateRealBogusTask.EvaluateRealBogusTask` live in
their own modules.
"""

from .buildTrainingSetTask import *  # noqa: F401, F403
from .labelDetectionsTask import *  # noqa: F401, F403
from .realBogusTask import *  # noqa: F401, F403
from .version import __version__  # noqa: F401
