"""Connections shared by the real/bogus tasks, declared once and composed (as ip_diffim does).

- `DetectorInputConnections`: the four per-detector inputs (diaSources, science, template,
  difference) of every task that cuts stamps.
- `ModelConnections`: the model as an optional prerequisite, removed unless the config's
  ``modelSource`` is ``butler``.
- `DesomConnections`: a DESOM and its prototype labelling as optional prerequisites, removed
  unless the config's ``doDesom`` is set and its ``desomSource`` is ``butler``.
- `QualityModelConnections`: DESOM-1, DESOM-2 and the cell labels of exposure quality as
  prerequisites, removed unless the config's ``qualitySource`` is ``butler``.
- `TripletTrainingConnections`: the labelled triplets of every detector of the data query, for
  the tasks that train on them (a quantum without any is an error, not skipped work).
- `plot_output` declares a figure written as a PNG ``Plot`` dataset with no dimensions.
- `connect_to` makes a connection to a dataset type declared once elsewhere (one task's output
  is another's input), and `for_every_detector` an input of a per-detector dataset type for
  every detector of the data query at once (for the tasks with no dimensions).
"""

from __future__ import annotations

__all__ = (
    "PER_DETECTOR",
    "DesomConnections",
    "DetectorInputConnections",
    "DiaSourceStorageConnections",
    "ModelConnections",
    "QualityModelConnections",
    "TripletTrainingConnections",
    "connect_to",
    "for_every_detector",
    "plot_output",
)

import dataclasses
from typing import Any

import lsst.pipe.base as pipeBase
import lsst.pipe.base.connectionTypes as cT

PER_DETECTOR = ("instrument", "visit", "detector")
"""Dimensions of the per-detector tasks and datasets."""


class DiaSourceStorageConnections(pipeBase.PipelineTaskConnections, dimensions=()):
    """Reads the ``diaSources`` connection in the storage class ``config.diaSourceStorageClass`` names.

    ``ArrowAstropy`` (the default) reads Parquet tables, as this package's
    simulator writes them; ``AstropyTable`` reads afw ``SourceCatalog``
    datasets of the Rubin stack (alert production's
    ``dia_source_unstandardized``), which the butler converts with afw's
    ``asAstropy``.  No storage class reads both (``AstropyTable`` has no
    converter from Parquet, ``ArrowAstropy`` none from afw), so the choice is
    a config field (see `~lsst.meas.realbogus.sharedConfig.DiaSourceColumnsMixin`)
    and a pipeline parameter.
    """

    def __init__(self, *, config: Any = None) -> None:
        super().__init__(config=config)
        storage_class = getattr(config, "diaSourceStorageClass", None)
        if storage_class and "diaSources" in self.inputs and self.diaSources.storageClass != storage_class:
            self.diaSources = dataclasses.replace(self.diaSources, storageClass=storage_class)


class DetectorInputConnections(DiaSourceStorageConnections, dimensions=PER_DETECTOR):
    """The diaSources of a detector and the three images they were found on.

    Dataset type names are those of current alert production.
    """

    diaSources = cT.Input(
        doc="diaSources detected on the difference image.",
        name="dia_source_unstandardized",
        storageClass="ArrowAstropy",
        dimensions=PER_DETECTOR,
    )
    science = cT.Input(
        doc="Calibrated science image the difference image was made from.",
        name="preliminary_visit_image",
        storageClass="VisitImage",
        dimensions=PER_DETECTOR,
    )
    template = cT.Input(
        doc="Template warped to the science image's detector.",
        name="template_detector",
        storageClass="VisitImage",
        dimensions=PER_DETECTOR,
    )
    difference = cT.Input(
        doc="Difference image (science minus PSF-matched template).",
        name="difference_image",
        storageClass="DifferenceImage",
        dimensions=PER_DETECTOR,
    )


class ModelConnections(pipeBase.PipelineTaskConnections, dimensions=()):
    """The real/bogus model as a prerequisite input, used when ``config.modelSource`` is ``butler``.

    The config must have ``modelSource``
    (`~lsst.meas.realbogus.sharedConfig.ModelSourceMixin`); otherwise the
    connection is removed and the model comes from a file.
    """

    model = cT.PrerequisiteInput(
        doc="Real/bogus model stored in the butler (used when config.modelSource is 'butler').",
        name="realbogus_model",
        storageClass="RealBogusModel",
        dimensions=(),
    )

    def __init__(self, *, config: Any = None) -> None:
        super().__init__(config=config)
        if config is None or config.modelSource != "butler":
            del self.model


class DesomConnections(pipeBase.PipelineTaskConnections, dimensions=()):
    """A DESOM and its prototype labelling as prerequisite inputs, used when DESOM flagging reads the butler.

    The config must have ``doDesom`` and ``desomSource``
    (`~lsst.meas.realbogus.sharedConfig.DesomSourceMixin`); otherwise the
    connections are removed and the DESOM comes from files.
    """

    desom = cT.PrerequisiteInput(
        doc="DESOM (autoencoder and map) stored in the butler (TrainDesomTask output).",
        name="realbogus_desom",
        storageClass="RealBogusDesom",
        dimensions=(),
    )
    desomLabels = cT.PrerequisiteInput(
        doc="Real/bogus labelling of the DESOM's prototypes (TrainDesomTask output, or an edited copy).",
        name="realbogus_desom_labels",
        storageClass="StructuredDataDict",
        dimensions=(),
    )

    def __init__(self, *, config: Any = None) -> None:
        super().__init__(config=config)
        if config is None or not config.doDesom or config.desomSource != "butler":
            del self.desom
            del self.desomLabels


class QualityModelConnections(pipeBase.PipelineTaskConnections, dimensions=()):
    """DESOM-1, DESOM-2 and the cell labels of exposure quality as prerequisite inputs.

    The config must have ``qualitySource``
    (`~lsst.meas.realbogus.sharedConfig.QualityModelSourceMixin`); unless it
    is ``butler`` the connections are removed and the models come from files.
    """

    desom1 = cT.PrerequisiteInput(
        doc="DESOM-1: the map of source thumbnails (TrainExposureQualityTask output).",
        name="realbogus_quality_desom1",
        storageClass="RealBogusDesom",
        dimensions=(),
    )
    desom2 = cT.PrerequisiteInput(
        doc="DESOM-2: the map of exposures' prototype histograms (TrainExposureQualityTask output).",
        name="realbogus_quality_desom2",
        storageClass="RealBogusDesom",
        dimensions=(),
    )
    cellLabels = cT.PrerequisiteInput(
        doc="Quality label of each DESOM-2 cell (TrainExposureQualityTask output, or an edited copy).",
        name="realbogus_quality_cell_labels",
        storageClass="StructuredDataDict",
        dimensions=(),
    )

    def __init__(self, *, config: Any = None) -> None:
        super().__init__(config=config)
        if config is None or config.qualitySource != "butler":
            del self.desom1
            del self.desom2
            del self.cellLabels


class TripletTrainingConnections(pipeBase.PipelineTaskConnections, dimensions=()):
    """The labelled triplets of every detector of the data query, read block by block, to train on.

    A training quantum with no triplets fails (`FileNotFoundError`) instead
    of being skipped as `~lsst.pipe.base.NoWorkFound`: the user asked for a
    model, and a run that silently writes none would hide the mistake.  That
    happens when every BuildTrainingSetTask quantum of the graph found
    nothing to keep.
    """

    triplets = cT.Input(
        doc="Labelled triplets of every detector and visit to train on (read block by block).",
        name="realbogus_triplets",
        storageClass="RealBogusTriplets",
        dimensions=PER_DETECTOR,
        multiple=True,
        deferLoad=True,
    )

    def adjustQuantum(self, inputs: dict, outputs: dict, label: str, data_id: Any) -> tuple[dict, dict]:
        connection, refs = inputs["triplets"]
        if not refs:
            raise FileNotFoundError(
                f"{label}: no {connection.name} datasets to train on for {data_id}: the data query selects "
                "none, or every BuildTrainingSetTask quantum found nothing to keep"
            )
        return super().adjustQuantum(inputs, outputs, label, data_id)


def connect_to(kind: type[cT.BaseConnection], connection: cT.BaseConnection, doc: str, **options: Any) -> Any:
    """A connection of ``kind`` to the dataset type of ``connection`` (name, storage class, dimensions).

    The dataset type is declared once, by the task that writes it; the tasks
    that read it connect to that declaration.

    Parameters
    ----------
    kind : `type`
        ``cT.Input``, ``cT.PrerequisiteInput`` or ``cT.Output``.
    connection : `lsst.pipe.base.connectionTypes.DimensionedConnection`
        The declaring connection (a class attribute of its connections class).
    doc : `str`
        What the dataset is to this task.
    **options
        Other arguments of ``kind`` (``multiple``, ``deferLoad``...).
    """
    return kind(
        doc=doc,
        name=connection.name,
        storageClass=connection.storageClass,
        dimensions=connection.dimensions,
        **options,
    )


def for_every_detector(connection: cT.BaseConnection, doc: str) -> cT.Input:
    """An input of the dataset type of ``connection`` for every detector of the data query at once.

    For a task with no dimensions: ``multiple=True`` and ``deferLoad=True``
    (the task gets deferred handles and reads each dataset when it needs it).
    """
    return connect_to(cT.Input, connection, doc, multiple=True, deferLoad=True)


def plot_output(name: str, what: str) -> cT.Output:
    """An output figure ``realbogus_{name}_plot`` (storage class ``Plot``, a PNG; no dimensions)."""
    return cT.Output(doc=f"{what} (PNG).", name=f"realbogus_{name}_plot", storageClass="Plot", dimensions=())
