"""PostgreSQL registries: the checks made before a repository is built in one, and the pipelines on one.

The server is Debian's PostgreSQL, started on loopback for the session by pytest-postgresql
(``postgresql_server`` in conftest.py).
"""

from __future__ import annotations

import socket
import subprocess

import numpy as np
import pytest
import sqlalchemy
from lsst.daf.butler import Butler
from lsst.meas.realbogus.butler.postgresql import (
    RegistryDatabaseError,
    check_registry_database,
    describe_url,
    drop_namespace,
)
from lsst.meas.realbogus.simulation.repo import build_repo


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tables(url: str, namespace: str) -> int:
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(
                sqlalchemy.text("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = :s"),
                {"s": namespace},
            ).scalar()
    finally:
        engine.dispose()


def _small(config):
    """The tiny preset cut to one tract, for tests that only need a registry."""
    config.tracts = [3080]
    config.nDetectors = 1
    return config


def test_describe_url_hides_password():
    assert describe_url("postgresql://rb:secret@db.example.org:5432/butler") == (
        "postgresql://rb:***@db.example.org:5432/butler"
    )


def test_check_rejects_bad_urls_and_namespaces():
    with pytest.raises(RegistryDatabaseError, match="not a PostgreSQL URL"):
        check_registry_database("sqlite:///x.sqlite3", "repo")
    with pytest.raises(RegistryDatabaseError, match="not a database URL"):
        check_registry_database("no url", "repo")
    with pytest.raises(RegistryDatabaseError, match="lower-case identifier"):
        check_registry_database("postgresql://localhost/db", "Repo; DROP")


def test_server_down_names_the_connection_and_writes_nothing(tmp_path, tiny_config):
    port = _free_port()
    url = f"postgresql://rb:secret@127.0.0.1:{port}/butler"
    with pytest.raises(RegistryDatabaseError, match=f"rb:\\*\\*\\*@127.0.0.1:{port}/butler") as info:
        build_repo(tmp_path / "repo", _small(tiny_config), 1, registry_db=url)
    assert "secret" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_database_without_btree_gist(postgresql_server):
    from pytest_postgresql.janitor import DatabaseJanitor

    server = postgresql_server
    with DatabaseJanitor(user=server.user, host=server.host, port=server.port, dbname="rb_nogist"):
        url = f"postgresql://{server.user}@{server.host}:{server.port}/rb_nogist"
        with pytest.raises(RegistryDatabaseError, match="btree_gist"):
            check_registry_database(url, "repo")


def test_repository_in_postgresql(postgresql_url, tmp_path, tiny_config):
    """A repository with its registry in a PostgreSQL schema; the schema cannot be taken twice."""
    config = _small(tiny_config)
    summary = build_repo(tmp_path / "My-Repo", config, 1, registry_db=postgresql_url)
    assert summary["registry"].endswith("(schema my_repo)")
    n = summary["detector_visits"]
    with Butler.from_config(str(tmp_path / "My-Repo")) as butler:
        assert len(butler.query_datasets("dia_source_unstandardized", "RBSimCam/sim")) == n
    assert _tables(postgresql_url, "my_repo") > 10
    # Another directory, the same schema: refused before anything is written.
    with pytest.raises(RegistryDatabaseError, match="'my_repo' .* already holds"):
        build_repo(tmp_path / "other", config, 1, registry_db=postgresql_url, registry_namespace="my_repo")
    assert not (tmp_path / "other").exists()
    # --overwrite replaces both the directory and the schema.
    build_repo(tmp_path / "My-Repo", config, 2, registry_db=postgresql_url, overwrite=True)
    with Butler.from_config(str(tmp_path / "My-Repo")) as butler:
        assert len(butler.query_datasets("dia_source_unstandardized", "RBSimCam/sim")) == n
    drop_namespace(postgresql_url, "my_repo")
    assert _tables(postgresql_url, "my_repo") == 0


def test_interrupted_build_leaves_no_schema(postgresql_url, tmp_path, tiny_config):
    """Ctrl-C halfway through a build: no directory and no registry tables remain."""

    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_repo(tmp_path / "repo", _small(tiny_config), 1, registry_db=postgresql_url, progress=interrupt)
    assert list(tmp_path.iterdir()) == []
    assert _tables(postgresql_url, "repo") == 0


def _scores(repo, collection):
    with Butler.from_config(str(repo), collections=[collection]) as butler:
        refs = butler.query_datasets("dia_source_realbogus", limit=None)
        return {(ref.dataId["visit"], ref.dataId["detector"]): butler.get(ref) for ref in refs}


def _assert_same_scores(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key]["diaSourceId"], b[key]["diaSourceId"])
        assert np.array_equal(a[key]["score"], b[key]["score"]), key


@pytest.mark.slow
def test_realbogus_on_postgresql_matches_sqlite(
    postgresql_url, scored_tiny_repo, tiny_config, tiny_seed, tmp_path, pipetask
):
    """The same simulated repository with an SQLite and a PostgreSQL registry: identical scores."""
    repo = tmp_path / "pg"
    build_repo(repo, tiny_config, tiny_seed, processes=2, registry_db=postgresql_url)
    pipetask(repo, "RealBogus.yaml", "RBSimCam/sim", "u/test/realbogus")
    sqlite_repo, collection = scored_tiny_repo
    _assert_same_scores(_scores(repo, "u/test/realbogus"), _scores(sqlite_repo, collection))


@pytest.mark.slow
def test_two_pipelines_at_once_on_postgresql(
    postgresql_url, scored_tiny_repo, tiny_config, tiny_seed, tmp_path, pipetask
):
    """RealBogus and BuildTrainingSet started together on one PostgreSQL repository: nothing lost."""
    repo = tmp_path / "pg"
    build_repo(repo, tiny_config, tiny_seed, processes=2, registry_db=postgresql_url)
    runs = {
        "u/c/scores": ("RealBogus.yaml", "-j", "2"),
        "u/c/triplets": ("BuildTrainingSet.yaml", "-j", "1"),
    }
    procs = {
        output: subprocess.Popen(
            pipetask.command(repo, pipeline, "RBSimCam/sim", output, *extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for output, (pipeline, *extra) in runs.items()
    }
    for output, proc in procs.items():
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, f"{output}: {err[-3000:]}"
    sqlite_repo, collection = scored_tiny_repo
    _assert_same_scores(_scores(repo, "u/c/scores"), _scores(sqlite_repo, collection))
    with Butler.from_config(str(repo), collections=["u/c/triplets"]) as butler:
        n_detectors = len(butler.query_datasets("dia_source_unstandardized", limit=None))
        for name in ("dia_source_realbogus_label", "realbogus_triplets"):
            assert len(butler.query_datasets(name, limit=None)) == n_detectors, name


def test_pipetask_with_the_server_down(tmp_path, pipetask):
    """pipetask on a repository whose PostgreSQL server is down: an error naming it, nothing written."""
    port = _free_port()
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "butler.yaml").write_text(
        f"registry:\n  db: postgresql://rb@127.0.0.1:{port}/butler\n  namespace: rbsim\n"
    )
    result = pipetask(tmp_path / "repo", "RealBogus.yaml", "RBSimCam/sim", "u/down", ok=False)
    assert "127.0.0.1" in result.stderr and str(port) in result.stderr
    assert sorted(p.name for p in (tmp_path / "repo").iterdir()) == ["butler.yaml"]
