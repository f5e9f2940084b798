"""Build a simulated DC2-like butler repository."""

from __future__ import annotations

__all__ = (
    "DATASET_TYPES",
    "INPUT_COLLECTION",
    "VISIT_QUALITY_DATASET",
    "RepoExistsError",
    "build_repo",
    "make_images",
    "plan_work",
    "visit_quality_table",
)

import logging
import multiprocessing
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import astropy.table
import yaml
from astropy.time import Time

from lsst.daf.butler import Butler, CollectionType, Config, DatasetType, Timespan
from lsst.pipe.base.script import register_instrument
from lsst.utils.introspection import get_full_type_name

from ..butler.postgresql import RegistryDatabaseError, check_registry_database, describe_url, drop_namespace
from .camera import CameraGeometry
from .config import SimulationConfig
from .images import EXPOSURE_TIME, make_observation_info, make_visit_image
from .instrument import RBSimCam
from .simulator import DetectorSimulator, DetectorVisit, VisitConditions, plan_visits
from .skymap import TractInfo, make_tracts, skymap_records

_LOG = logging.getLogger(__name__)

DATASET_TYPES = {
    "science": ("preliminary_visit_image", "VisitImage"),
    "template": ("template_detector", "VisitImage"),
    "difference": ("difference_image", "DifferenceImage"),
    "diaSources": ("dia_source_unstandardized", "ArrowAstropy"),
    "truth": ("realbogus_sim_truth", "ArrowAstropy"),
}
"""Role: (dataset type name, storage class), all with dimensions (instrument, visit, detector)."""

VISIT_QUALITY_DATASET = ("realbogus_sim_visit_quality", "ArrowAstropy")
"""Name and storage class of the per-visit truth of its quality (dimensions instrument, visit)."""

INPUT_COLLECTION = "RBSimCam/sim"
"""Chained collection holding everything the simulator writes."""

RUN_COLLECTION = "RBSimCam/sim/run"


class RepoExistsError(FileExistsError):
    """Raised when the target of a build already exists and is not empty."""


def plan_work(
    config: SimulationConfig, seed: int
) -> tuple[CameraGeometry, list[TractInfo], list[VisitConditions]]:
    """The camera, tracts and visits of a simulated repository."""
    camera = CameraGeometry(
        config.instrument, config.nDetectors, config.detectorSize, config.detectorGap, config.pixelScale
    )
    radius_deg = camera.field_radius * config.pixelScale / 3600.0
    tracts = make_tracts(list(config.tracts), config.fieldsPerTract, radius_deg)
    return camera, tracts, plan_visits(config, tracts, seed)


def _groups(config: SimulationConfig, tracts: list[TractInfo], visits: list[VisitConditions]):
    """Units of work sharing a static sky and template: (tract, field, band, detector) with its visits."""
    by_tract = {t.id: t for t in tracts}
    for tract in tracts:
        for field in range(config.fieldsPerTract):
            for band in config.bands:
                group = [v for v in visits if v.tract == tract.id and v.field == field and v.band == band]
                for detector in range(config.nDetectors):
                    yield by_tract[tract.id], field, band, detector, group


class _GroupWriter:
    """Simulates groups of detector-visits and writes them to the repository.

    One instance lives in each process doing the work, each with its own
    `~lsst.daf.butler.Butler`, as ``pipetask`` workers do, so several
    processes can write to the same SQLite registry.
    """

    _instance: _GroupWriter | None = None

    def __init__(
        self, repo: str, config: SimulationConfig, camera: CameraGeometry, tracts, seed: int
    ) -> None:
        self.butler = Butler.from_config(repo, writeable=True, run=RUN_COLLECTION)
        self.config = config
        self.camera = camera
        self.fields = {t.id: t.fields for t in tracts}
        self.seed = seed

    @classmethod
    def initialize(cls, *args) -> None:
        cls._instance = cls(*args)

    @classmethod
    def run_group(cls, group) -> tuple[int, int, Counter, int]:
        """Simulate and write one group.

        Returns
        -------
        counts : `tuple`
            Detector-visits, diaSources, truth entries by kind, and diaSources
            matching a real transient.
        """
        assert cls._instance is not None, "initialize() first"
        return cls._instance(group)

    def __call__(self, group) -> tuple[int, int, Counter, int]:
        tract, field, band, detector, visits = group
        sim = DetectorSimulator(self.config, self.camera, tract, field, detector, band, self.seed)
        n_dia, n_real = 0, 0
        kinds: Counter[str] = Counter()
        for visit in visits:
            product = sim.simulate(visit)
            _put(self.butler, self.config, self.camera, self.fields, product)
            n_dia += len(product.dia_sources)
            n_real += _count_real_detections(product)
            kinds.update(str(k) for k in product.truth["kind"])
        return len(visits), n_dia, kinds, n_real


def _run_groups(
    repo: str,
    config: SimulationConfig,
    camera: CameraGeometry,
    tracts: list[TractInfo],
    visits: list[VisitConditions],
    seed: int,
    processes: int,
) -> Iterator[tuple[int, int, Counter, int]]:
    """Simulate and write every group in ``processes`` processes; yield each group's counts."""
    groups = list(_groups(config, tracts, visits))
    init = (repo, config, camera, tracts, seed)
    if processes <= 1:
        _GroupWriter.initialize(*init)
        try:
            for group in groups:
                yield _GroupWriter.run_group(group)
        finally:
            _GroupWriter._instance = None
        return
    # Spawn, not fork: the parent holds threads (FFT workers, the butler's) that fork would copy unsafely.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=processes, mp_context=context, initializer=_GroupWriter.initialize, initargs=init
    ) as pool:
        futures = [pool.submit(_GroupWriter.run_group, group) for group in groups]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            # Interrupted or failed: leaving the pool waits for the running groups, not the queued.
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _register(butler: Butler, repo: str, config: SimulationConfig, camera, tracts, visits) -> None:
    """Register the instrument, skymap, visits and dataset types."""
    # The same call as `butler register-instrument REPO <class>`.
    register_instrument(repo, [get_full_type_name(RBSimCam)])
    registry = butler.registry
    for element, records in skymap_records(config.skymap, tracts).items():
        registry.insertDimensionData(element, *records)
    fields = {t.id: t.fields for t in tracts}
    day_obs = sorted({_day_obs(v.mjd) for v in visits})
    registry.insertDimensionData("day_obs", *({"instrument": config.instrument, "id": d} for d in day_obs))
    visit_records, vdr_records = [], []
    for v in visits:
        ra, dec = fields[v.tract][v.field]
        begin = Time(v.mjd, format="mjd", scale="tai")
        visit_records.append(
            {
                "instrument": config.instrument,
                "id": v.visit,
                "name": f"sim{v.visit}",
                "physical_filter": f"sim_{v.band}",
                "day_obs": _day_obs(v.mjd),
                "seq_num": v.epoch,
                "exposure_time": EXPOSURE_TIME,
                "target_name": f"tract{v.tract}_field{v.field}",
                "observation_reason": "science",
                "science_program": "realbogus_sim",
                "region": camera.field_polygon(ra, dec),
                "timespan": Timespan(begin, Time(v.mjd + EXPOSURE_TIME / 86400.0, format="mjd", scale="tai")),
            }
        )
        for detector in range(config.nDetectors):
            vdr_records.append(
                {
                    "instrument": config.instrument,
                    "visit": v.visit,
                    "detector": detector,
                    "region": camera.sky_polygon(detector, ra, dec),
                }
            )
    registry.insertDimensionData("visit", *visit_records)
    registry.insertDimensionData("visit_detector_region", *vdr_records)
    dimensions = butler.dimensions.conform(["instrument", "visit", "detector"])
    for name, storage_class in DATASET_TYPES.values():
        registry.registerDatasetType(DatasetType(name, dimensions, storage_class))
    name, storage_class = VISIT_QUALITY_DATASET
    registry.registerDatasetType(
        DatasetType(name, butler.dimensions.conform(["instrument", "visit"]), storage_class)
    )


def visit_quality_table(visit: VisitConditions) -> astropy.table.Table:
    """The one-row truth table of a visit's quality (`VISIT_QUALITY_DATASET`)."""
    q = visit.quality
    return astropy.table.Table(
        {
            "visit": [visit.visit],
            "tract": [visit.tract],
            "quality": [q.quality],
            "problem": [q.problem],
            "strength": [q.strength],
            "seeing": [visit.seeing],
            "skySigma": [visit.sky_sigma],
            "psfFamily": [visit.psf_family.family],
        }
    )


def _put_visit_quality(butler: Butler, config: SimulationConfig, visits: list[VisitConditions]) -> None:
    for v in visits:
        butler.put(
            visit_quality_table(v),
            VISIT_QUALITY_DATASET[0],
            {"instrument": config.instrument, "visit": v.visit},
        )


def _day_obs(mjd: float) -> int:
    return int(Time(mjd - 0.5, format="mjd", scale="tai").strftime("%Y%m%d"))


def make_images(config: SimulationConfig, camera: CameraGeometry, fields, product: DetectorVisit) -> dict:
    """The `lsst.images` objects of one simulated detector-visit.

    Returns
    -------
    images : `dict`
        ``science`` and ``template`` (`~lsst.images.VisitImage`) and
        ``difference`` (`~lsst.images.DifferenceImage`).
    """
    v = product.visit
    ra, dec = fields[v.tract][v.field]
    wcs = camera.wcs(product.detector, ra, dec)
    detector = camera.detector(product.detector, visit=v.visit)
    obs_info = make_observation_info(config.instrument, v.visit, product.detector, v.band, v.mjd)
    return {
        "science": make_visit_image(
            product.science,
            product.science_variance,
            product.science_masks,
            product.science_psf_sigma,
            wcs,
            detector,
            obs_info,
            v.band,
            metadata=product.metadata,
        ),
        "template": make_visit_image(
            product.template,
            product.template_variance,
            product.template_masks,
            product.template_psf_sigma,
            wcs,
            detector,
            obs_info,
            v.band,
        ),
        "difference": make_visit_image(
            product.difference,
            product.difference_variance,
            product.difference_masks,
            product.difference_psf_sigma or product.science_psf_sigma,
            wcs,
            detector,
            obs_info,
            v.band,
            difference=True,
            metadata=product.metadata,
        ),
    }


def _put(butler: Butler, config: SimulationConfig, camera: CameraGeometry, fields, product: DetectorVisit):
    v = product.visit
    data_id = {"instrument": config.instrument, "visit": v.visit, "detector": product.detector}
    for role, obj in make_images(config, camera, fields, product).items():
        butler.put(obj, DATASET_TYPES[role][0], data_id)
    butler.put(product.dia_sources, DATASET_TYPES["diaSources"][0], data_id)
    butler.put(product.truth, DATASET_TYPES["truth"][0], data_id)


def build_repo(
    path: str | os.PathLike,
    config: SimulationConfig,
    seed: int,
    *,
    overwrite: bool = False,
    processes: int = 1,
    progress: Callable[[int, int], None] | None = None,
    registry_db: str | None = None,
    registry_namespace: str | None = None,
) -> dict:
    """Create a butler repository holding a simulated survey.

    The repository is built in a temporary directory beside ``path`` and moved
    into place only when complete, so a failure leaves nothing behind; with a
    PostgreSQL registry, the schema written so far is dropped as well.

    Parameters
    ----------
    path : `str` or `os.PathLike`
        Directory of the new repository.
    config : `SimulationConfig`
        What to simulate; validated here.
    seed : `int`
        Random seed: the same seed and config give the same repository.
    overwrite : `bool`
        Replace an existing repository at ``path``.
    processes : `int`
        Number of processes simulating and writing images.
    progress : callable, optional
        Called as ``progress(done, total)`` after each detector and visit.
    registry_db : `str`, optional
        SQLAlchemy URL of a PostgreSQL database for the registry
        (``postgresql://user@host:port/dbname``); by default the registry is
        an SQLite file in the repository.
    registry_namespace : `str`, optional
        PostgreSQL schema of the registry; by default the repository
        directory's name, lower-cased, with other characters than letters and
        digits replaced by ``_``.

    Returns
    -------
    summary : `dict`
        Counts of visits, images, diaSources and truth entries by kind.

    Raises
    ------
    RepoExistsError
        If ``path`` exists, is not empty and ``overwrite`` is false.
    lsst.meas.realbogus.butler.postgresql.RegistryDatabaseError
        If the PostgreSQL server cannot be reached or the schema is taken;
        raised before anything is written.
    """
    config.validate()
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    target = Path(path).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        if not overwrite:
            raise RepoExistsError(
                f"{target} already exists and is not empty; choose another path or pass --overwrite."
            )
    registry_config = None
    if registry_db is not None:
        if registry_namespace is None:
            registry_namespace = re.sub(r"[^a-z0-9_]", "_", target.name.lower()).lstrip("0123456789")
        check_registry_database(registry_db, registry_namespace, allow_existing=overwrite)
        registry_config = Config({"registry": {"db": registry_db, "namespace": registry_namespace}})
    target.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    work = Path(
        tempfile.mkdtemp(prefix="_building_" + target.name.replace(".", "_") + "_", dir=target.parent)
    )
    try:
        camera, tracts, visits = plan_work(config, seed)
        if registry_config is not None and overwrite:
            drop_namespace(registry_db, registry_namespace)
        Butler.makeRepo(str(work), config=registry_config)
        with Butler.from_config(str(work), writeable=True, run=RUN_COLLECTION) as butler:
            _register(butler, str(work), config, camera, tracts, visits)
            _put_visit_quality(butler, config, visits)
            butler.registry.registerCollection(INPUT_COLLECTION, CollectionType.CHAINED)
            butler.registry.setCollectionChain(INPUT_COLLECTION, [RUN_COLLECTION])
        total = len(visits) * config.nDetectors
        n_dia, n_real_detected, done = 0, 0, 0
        kinds: Counter[str] = Counter()
        for n_done, n, group_kinds, n_real in _run_groups(
            str(work), config, camera, tracts, visits, seed, processes
        ):
            done += n_done
            n_dia += n
            kinds.update(group_kinds)
            n_real_detected += n_real
            if progress is not None:
                progress(done, total)
        summary = {
            "seed": seed,
            "instrument": config.instrument,
            "skymap": config.skymap,
            "tracts": list(config.tracts),
            "collection": INPUT_COLLECTION,
            "visits": len(visits),
            "detectors": config.nDetectors,
            "detector_size": config.detectorSize,
            "registry": f"{describe_url(registry_db)} (schema {registry_namespace})"
            if registry_db
            else "sqlite",
            "detector_visits": total,
            "dia_sources": n_dia,
            "dia_sources_matching_real_transients": n_real_detected,
            "truth_by_kind": dict(sorted(kinds.items())),
            "build_seconds": round(time.monotonic() - start, 1),
        }
        config.save(str(work / "simulation_config.py"))
        with open(work / "simulation_summary.yaml", "w") as stream:
            yaml.safe_dump(summary, stream, sort_keys=False)
        if target.exists():
            shutil.rmtree(target)
        os.replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        if registry_db is not None:
            try:
                drop_namespace(registry_db, registry_namespace)
            except RegistryDatabaseError as err:
                _LOG.warning("The half-built registry may remain: %s", err)
        raise
    _LOG.info("Built %s in %.1f s: %d diaSources.", target, summary["build_seconds"], n_dia)
    return summary


def _count_real_detections(product: DetectorVisit, radius: float = 3.0) -> int:
    """Number of diaSources that are real by the truth (within ``radius`` pixels of a real transient)."""
    from ..evaluation.labels import label_detections

    is_real = label_detections(product.dia_sources, product.truth, radius).is_real
    return int(is_real.sum())
