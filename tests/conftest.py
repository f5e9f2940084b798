"""Shared fixtures: simulated data (a tiny butler repository, in-memory detector-visits), models.

Tests take these as fixtures; no test imports this module.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import numpy as np
import pytest
from lsst.meas.realbogus.simulation.config import PRESETS, SimulationConfig
from lsst.meas.realbogus.simulation.repo import build_repo, make_images, plan_work
from lsst.meas.realbogus.simulation.simulator import DetectorSimulator

TINY_SEED = 7
PIPELINES = Path(__file__).parents[1] / "pipelines"
SUPPORT = Path(__file__).parent / "support"


def _makefile_default(name: str) -> str:
    """The default of a ``NAME ?= value`` variable of the package's Makefile."""
    text = (Path(__file__).parents[1] / "Makefile").read_text()
    match = re.search(rf"^{name} \?= (\S+)$", text, re.MULTILINE)
    assert match, f"Makefile has no '{name} ?=' line"
    return match.group(1)


@pytest.fixture(scope="session")
def shipped_model_version() -> str:
    """The version of the shipped real/bogus model: the Makefile's ``MODEL_VERSION``, which rebuilds it."""
    return _makefile_default("MODEL_VERSION")


@pytest.fixture(scope="session")
def shipped_desom_version() -> str:
    """The version of the shipped DESOM: the Makefile's ``DESOM_VERSION``."""
    return _makefile_default("DESOM_VERSION")


def _tiny_config() -> SimulationConfig:
    config = SimulationConfig()
    PRESETS["tiny"][0](config)
    return config


@pytest.fixture
def tiny_config() -> SimulationConfig:
    """A fresh configuration of the ``tiny`` preset."""
    return _tiny_config()


@pytest.fixture(scope="session")
def tiny_seed() -> int:
    """The seed of the session's tiny repository."""
    return TINY_SEED


@pytest.fixture(scope="session")
def tiny_repo(tmp_path_factory):
    """A tiny simulated repository (built once per test session) and its build summary."""
    path = tmp_path_factory.mktemp("repos") / "tiny"
    summary = build_repo(path, _tiny_config(), TINY_SEED, processes=2)
    return path, summary


@pytest.fixture(scope="session")
def detector_visit():
    """One tiny simulated detector-visit: its simulator product and its `lsst.images` images."""
    config = _tiny_config()
    camera, tracts, visits = plan_work(config, seed=2)
    product = DetectorSimulator(config, camera, tracts[0], 0, 0, "r", seed=2).simulate(visits[0])
    return product, make_images(config, camera, {t.id: t.fields for t in tracts}, product)


@pytest.fixture(scope="session")
def detector_inputs(detector_visit):
    """The inputs of the per-detector tasks: diaSources, science, template and difference."""
    product, images = detector_visit
    return {"diaSources": product.dia_sources, **images}


@pytest.fixture(scope="session")
def statistics_config() -> SimulationConfig:
    """Mid-size detectors with many transients, for statistical tests in a few seconds."""
    config = SimulationConfig()
    config.detectorSize = 512
    config.nDetectors = 3
    config.visitsPerField = 4
    config.tracts = [3080]
    config.nHostTransients = 8
    config.nOffsetTransients = 8
    config.nHostlessTransients = 12
    config.nVariableStars = 4
    config.nCosmicRays = 60
    config.nHotPixels = 40
    config.streakProbability = 0.5
    return config


@pytest.fixture(scope="session")
def simulated_visits(statistics_config):
    """In-memory products of every visit and detector of ``statistics_config`` (seed 3)."""
    config = statistics_config
    camera, tracts, visits = plan_work(config, seed=3)
    products = []
    for detector in range(config.nDetectors):
        sim = DetectorSimulator(config, camera, tracts[0], 0, detector, "r", seed=3)
        products.extend(sim.simulate(v) for v in visits)
    return config, products


@pytest.fixture(scope="session")
def thumbnails():
    """Synthetic eq.-9-like 32x32 thumbnails of three kinds: blobs (real), lines and dipoles (bogus).

    Returns the thumbnails ``(N, 1, 32, 32)`` and the kind of each (0, 1, 2).
    """
    rng = np.random.default_rng(0)
    n = 900
    yy, xx = np.mgrid[:32, :32] - 15.5
    kind = rng.integers(0, 3, n)
    x = 0.5 + 0.04 * rng.normal(size=(n, 1, 32, 32))
    for i in range(n):
        if kind[i] == 0:
            x[i, 0] += 0.45 * np.exp(-(xx**2 + yy**2) / (2 * rng.uniform(1.2, 2.5) ** 2))
        elif kind[i] == 1:
            a = rng.uniform(0, np.pi)
            x[i, 0] += 0.4 * np.exp(-((xx * np.sin(a) - yy * np.cos(a)) ** 2) / 2)
        else:
            x[i, 0] += 0.4 * (np.exp(-((xx + 2) ** 2 + yy**2) / 4) - np.exp(-((xx - 2) ** 2 + yy**2) / 4))
    return np.clip(x, 0, 1).astype(np.float32), kind


@pytest.fixture(scope="session")
def pipetask():
    """Run ``pipetask run`` as a user does: ``pipetask(repo, pipeline, inputs, output, *extra)``.

    ``pipeline`` is a file name in ``pipelines/``; the result is the completed
    process (pass ``ok=False`` to expect a failure). ``pipetask.command(...)``,
    with the same arguments, gives the command line alone (``-j 1`` unless
    ``extra`` says otherwise), for tests that start it themselves.
    """

    def command(repo, pipeline: str, inputs: str, output: str, *extra: str) -> list[str]:
        cmd = ["pipetask", "run", "-b", str(repo), "-i", inputs, "-o", output]
        cmd += ["-p", str(PIPELINES / pipeline), "--register-dataset-types"]
        return cmd + (list(extra) if "-j" in extra else ["-j", "1", *extra])

    def run(repo, pipeline: str, inputs: str, output: str, *extra: str, ok: bool = True):
        cmd = command(repo, pipeline, inputs, output, *extra)
        result = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), timeout=900)
        assert (result.returncode == 0) == ok, result.stderr[-3000:]
        return result

    run.command = command
    return run


@pytest.fixture(scope="session")
def scored_tiny_repo(tiny_repo, pipetask):
    """The tiny repository scored by ``pipetask`` with RealBogus.yaml and the shipped model.

    Returns the repository path and the output collection.
    """
    repo, _ = tiny_repo
    pipetask(repo, "RealBogus.yaml", "RBSimCam/sim", "u/test/realbogus")
    return repo, "u/test/realbogus"


@pytest.fixture(scope="session")
def quality_images():
    """Small science images of visits of every quality class, in memory.

    Returns a list of ``(visit, detector, VisitImage, quality)`` over two tracts (3080 first).
    """
    config = SimulationConfig()
    config.detectorSize = 384
    config.nDetectors = 1
    config.visitsPerField = 12
    config.starDensity, config.galaxyDensity = 100000.0, 240000.0
    config.nHostTransients = config.nOffsetTransients = config.nHostlessTransients = 1
    config.seeingRange = [0.6, 1.0]
    config.templatePsfFwhm = 0.55
    config.canvasMargin = 64
    config.qualityRates = {"tracking": 0.15, "severe_tracking": 0.15, "focus": 0.15, "background": 0.2}
    camera, tracts, visits = plan_work(config, seed=4)
    fields = {t.id: t.fields for t in tracts}
    out = []
    for tract in tracts:
        sim = DetectorSimulator(config, camera, tract, 0, 0, "r", seed=4)
        for visit in (v for v in visits if v.tract == tract.id):
            product = sim.simulate(visit)
            science = make_images(config, camera, fields, product)["science"]
            out.append((visit.visit, 0, science, visit.quality.quality))
    return out


@pytest.fixture(scope="session")
def quality_models(quality_images, tmp_path_factory):
    """DESOM-1, DESOM-2 and cell labels trained by TrainExposureQualityTask on ``quality_images``' tract 3080.

    Returns the three paths and the task's result.
    """
    import astropy.table
    from lsst.meas.realbogus.trainExposureQualityTask import (
        TrainExposureQualityConfig,
        TrainExposureQualityTask,
    )

    path = tmp_path_factory.mktemp("quality")
    config = TrainExposureQualityConfig()
    config.desom1Rows = config.desom1Cols = 4
    config.desom1LatentSize = 16
    config.desom2Rows, config.desom2Cols, config.desom2LatentSize = 3, 3, 4
    config.desom1AutoencoderEpochs, config.desom1CombinedEpochs = 1, 1
    config.desom2AutoencoderEpochs, config.desom2CombinedEpochs = 5, 5
    config.minSources = 5
    config.modelVersion = "qunit"
    config.desom1File = str(path / "d1.pt")
    config.desom2File = str(path / "d2.pt")
    config.cellLabelsFile = str(path / "labels.yaml")
    train = [q for q in quality_images if q[0] < 20000]
    known = [astropy.table.Table({"visit": [v], "quality": [q]}) for v, _, _, q in train]
    result = TrainExposureQualityTask(config=config).run([q[:3] for q in train], known)
    return (config.desom1File, config.desom2File, config.cellLabelsFile), result


def _find_pg_ctl() -> str | None:
    found = shutil.which("pg_ctl")
    if found is None:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        found = candidates[-1] if candidates else None
    return found


@pytest.fixture(scope="session")
def postgresql_server():
    """A PostgreSQL server on loopback for the session, run by pytest-postgresql's executor.

    PostgreSQL refuses to run as root; as root, ``tests/support/pg_ctl`` runs it
    as the ``postgres`` user. Skips (saying why) only when PostgreSQL is not installed.
    """
    from port_for import get_port
    from pytest_postgresql.executors import PostgreSQLExecutor

    pg_ctl = _find_pg_ctl()
    if pg_ctl is None:
        pytest.skip("PostgreSQL is not installed (no pg_ctl); apt install postgresql")
    os.environ["REALBOGUS_PG_CTL"] = pg_ctl
    base = Path(tempfile.mkdtemp(prefix="realbogus_pg_"))
    if os.getuid() == 0:
        shutil.chown(base, "postgres")
    executor = PostgreSQLExecutor(
        executable=str(SUPPORT / "pg_ctl"),
        host="127.0.0.1",
        port=get_port(None),
        datadir=str(base / "data"),
        unixsocketdir=str(base),
        logfile=str(base / "server.log"),
        startparams="-w",
        dbname="postgres",
        user="postgres",
    )
    with executor:
        executor.wait_for_postgres()
        yield executor
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgresql_url(postgresql_server):
    """URL of a new, empty database (with btree_gist) on the session's server; dropped afterwards."""
    from pytest_postgresql.janitor import DatabaseJanitor

    server = postgresql_server
    dbname = "rb_" + uuid.uuid4().hex[:12]
    with DatabaseJanitor(user=server.user, host=server.host, port=server.port, dbname=dbname) as janitor:
        with janitor.cursor(dbname=dbname) as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        yield f"postgresql://{server.user}@{server.host}:{server.port}/{dbname}"


@pytest.fixture(scope="session")
def simulated_metrics():
    """``metrics(seed, glints_above=0, nuclear_above=0, shift=3.0, glints=100)``: the metrics.json of an
    evaluation (`~lsst.meas.realbogus.evaluation.report.evaluate_scores`, through JSON) of simulated
    scores."""
    from lsst.meas.realbogus.evaluation import evaluate_scores

    def metrics(
        seed: int, *, glints_above: int = 0, nuclear_above: int = 0, shift: float = 3.0, glints: int = 100
    ) -> dict:
        """evaluate_scores of a simulated test: 2,000 real, 2,000 bogus cosmic rays, ``glints`` glints
        and 100 nuclear residuals, with ``glints_above`` and ``nuclear_above`` of them scored 0.995."""
        rng = np.random.default_rng(seed)
        n_real, n_cr = 2000, 2000
        logits = np.concatenate([rng.normal(shift, 1, n_real), rng.normal(-shift, 1, n_cr + glints + 100)])
        scores = 1 / (1 + np.exp(-logits))
        scores[n_real + n_cr :] = np.minimum(scores[n_real + n_cr :], 0.9)
        scores[n_real + n_cr : n_real + n_cr + glints_above] = 0.995
        nuclear = n_real + n_cr + glints
        scores[nuclear : nuclear + nuclear_above] = 0.995
        kind = np.array(
            ["hostless"] * n_real + ["cosmic_ray"] * n_cr + ["glint"] * glints + ["nuclear_residual"] * 100
        )
        is_real = kind == "hostless"
        snr = rng.uniform(3, 50, len(scores))
        result, _ = evaluate_scores(scores, is_real, kind, snr, 0.5)
        return json.loads(json.dumps(result))  # as read back from metrics.json

    return metrics
