"""Shared connections: declared once, composed into the tasks' connections."""

from __future__ import annotations

import lsst.pipe.base.connectionTypes as cT
import pytest
from lsst.meas.realbogus import BuildTrainingSetConfig, LabelDetectionsConfig, RealBogusConfig
from lsst.meas.realbogus.evaluateRealBogusTask import EvaluateRealBogusConfig
from lsst.meas.realbogus.filterByRealBogusTask import FilterByRealBogusConfig
from lsst.meas.realbogus.sharedConnections import (
    PER_DETECTOR,
    DetectorInputConnections,
    ModelConnections,
    connect_to,
    for_every_detector,
)
from lsst.meas.realbogus.trainRealBogusTask import TrainRealBogusConfig

IMAGE_INPUTS = {"diaSources", "science", "template", "difference"}


def _connections(config_class, **values):
    config = config_class()
    for key, value in values.items():
        setattr(config, key, value)
    return config_class.ConnectionsClass(config=config)


def test_per_detector_tasks_share_the_four_inputs():
    for config_class in (RealBogusConfig, BuildTrainingSetConfig):
        connections = _connections(config_class)
        assert IMAGE_INPUTS <= connections.inputs and connections.dimensions == set(PER_DETECTOR)
        for name in IMAGE_INPUTS:
            assert getattr(connections, name).name == getattr(DetectorInputConnections, name).name


def test_renamed_inputs_follow_the_config():
    connections = _connections(RealBogusConfig)
    config = RealBogusConfig()
    config.connections.science = "calexp"
    assert RealBogusConfig.ConnectionsClass(config=config).science.name == "calexp"
    assert connections.science.name == "preliminary_visit_image"


def test_model_prerequisite_only_with_a_butler_model():
    for config_class in (RealBogusConfig, EvaluateRealBogusConfig):
        assert "model" not in _connections(config_class).prerequisiteInputs
        assert "model" in _connections(config_class, modelSource="butler").prerequisiteInputs
    assert _connections(TrainRealBogusConfig).model.name == ModelConnections.model.name


def test_one_declaration_per_dataset_type():
    """Each dataset type's storage class and dimensions agree between its writer and its readers."""
    declared = {}
    for config_class, values in (
        (RealBogusConfig, {"modelSource": "butler"}),
        (LabelDetectionsConfig, {}),
        (BuildTrainingSetConfig, {}),
        (TrainRealBogusConfig, {}),
        (EvaluateRealBogusConfig, {"modelSource": "butler"}),
    ):
        connections = _connections(config_class, **values)
        for name in connections.inputs | connections.prerequisiteInputs | connections.outputs:
            c = getattr(connections, name)
            declared.setdefault(c.name, set()).add((c.storageClass, tuple(c.dimensions)))
    assert all(len(kinds) == 1 for kinds in declared.values()), declared


def test_helpers():
    source = DetectorInputConnections.science
    every = for_every_detector(source, "doc")
    assert isinstance(every, cT.Input) and every.multiple and every.deferLoad and every.name == source.name
    output = connect_to(cT.Output, source, "an output")
    assert isinstance(output, cT.Output) and output.storageClass == "VisitImage" and output.doc == "an output"


@pytest.mark.parametrize(
    "config_class", [RealBogusConfig, BuildTrainingSetConfig, LabelDetectionsConfig, FilterByRealBogusConfig]
)
def test_dia_sources_storage_class_follows_the_config(config_class):
    """ArrowAstropy (Parquet, here) by default; AstropyTable reads Rubin's afw SourceCatalogs."""
    from lsst.daf.butler import StorageClassFactory

    config = config_class()
    assert config.connections.ConnectionsClass(config=config).diaSources.storageClass == "ArrowAstropy"
    config.diaSourceStorageClass = "AstropyTable"
    connection = config.connections.ConnectionsClass(config=config).diaSources
    assert connection.storageClass == "AstropyTable" and connection.name == "dia_source_unstandardized"
    # What makes AstropyTable the one for afw repositories: daf_butler's converter from afw catalogs,
    # which ArrowAstropy lacks (and AstropyTable lacks Parquet's). The conversion itself needs afw.
    factory = StorageClassFactory()
    assert "lsst.afw.table.Catalog" in factory.getStorageClass("AstropyTable").converters
    assert "lsst.afw.table.Catalog" not in factory.getStorageClass("ArrowAstropy").converters
    assert "pyarrow.Table" not in factory.getStorageClass("AstropyTable").converters


def test_pipeline_parameter_sets_the_dia_source_storage_class():
    from lsst.pipe.base import Pipeline

    pipeline = Pipeline.from_uri("resource://lsst.meas.realbogus/pipelines/RealBogusFilter.yaml")
    pipeline.addConfigOverride("parameters", "diaSourceStorageClass", "AstropyTable")
    graph = pipeline.to_graph()
    for label in ("realBogus", "filterByRealBogus"):
        assert graph.tasks[label].inputs["diaSources"].storage_class_name == "AstropyTable"
