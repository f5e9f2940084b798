"""Real/bogus classification of difference-image detections for the LSST Science Pipelines.

The tasks are modules at this level (``realBogusTask``, ``filterByRealBogusTask``,
``labelDetectionsTask``, ``buildTrainingSetTask``, ``trainRealBogusTask``,
``evaluateRealBogusTask``, ``trainDesomTask``, and for exposure quality
``exposureQualityTask``, ``trainExposureQualityTask`` and ``summarizeExposureQualityTask``),
with the connections and config fields they share (``sharedConnections``, ``sharedConfig``).
The pure code is in subpackages by concern:
``stamps`` (cutting, normalization, triplets, the model-ready batch), ``inference`` (model
files, loading, backends, Rubin's model packages), ``cnn`` (architectures and training),
``desom`` (the deep-embedded self-organizing map), ``quality`` (exposure quality: sources,
histograms, cell labels, metrics, figures), ``evaluation`` (labels, metrics, report,
plots, saliency), ``butler`` (formatters and butler configuration), ``simulation`` (the
simulated repository) and ``scripts`` (command lines).

The inference, filtering and labelling tasks are importable from here without torch or
matplotlib; the training, evaluation and exposure-quality tasks live in their own modules.
"""

from .buildTrainingSetTask import *  # noqa: F401, F403
from .filterByRealBogusTask import *  # noqa: F401, F403
from .labelDetectionsTask import *  # noqa: F401, F403
from .realBogusTask import *  # noqa: F401, F403
from .version import __version__  # noqa: F401
