"""PostgreSQL registries: checks made before a repository is created in one, and clean-up after.

daf_butler keeps each repository's registry tables in one schema ("namespace") of a PostgreSQL
database. These helpers let a repository builder fail before writing anything when the server
is down or the schema is taken, and remove the schema again when a build fails halfway.
"""

from __future__ import annotations

__all__ = ["RegistryDatabaseError", "check_registry_database", "drop_namespace", "describe_url"]

import re

import sqlalchemy

_NAMESPACE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RegistryDatabaseError(RuntimeError):
    """A registry database that cannot be used; the message names the connection."""


def describe_url(url: str) -> str:
    """Return a database URL with any password hidden, for messages."""
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def _engine(url: str, connect_timeout: float) -> sqlalchemy.engine.Engine:
    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError as err:
        raise RegistryDatabaseError(f"{url!r} is not a database URL: {err}") from None
    if parsed.get_backend_name() != "postgresql":
        raise RegistryDatabaseError(f"{describe_url(url)} is not a PostgreSQL URL (postgresql://...).")
    return sqlalchemy.create_engine(
        parsed, poolclass=sqlalchemy.pool.NullPool, connect_args={"connect_timeout": int(connect_timeout)}
    )


def check_registry_database(
    url: str, namespace: str, *, allow_existing: bool = False, connect_timeout: float = 10.0
) -> None:
    """Check that a new butler registry can be created in a PostgreSQL schema.

    Parameters
    ----------
    url : `str`
        SQLAlchemy URL of the database, ``postgresql://user@host:port/dbname``.
    namespace : `str`
        Schema that will hold the registry tables.
    allow_existing : `bool`
        Accept a schema that already has tables (it is about to be replaced).
    connect_timeout : `float`
        Seconds to wait for the server.

    Raises
    ------
    RegistryDatabaseError
        If the server cannot be reached, the database lacks the ``btree_gist``
        extension daf_butler needs, the schema name is not a plain lower-case
        identifier, or the schema already holds tables. The message names the
        connection (password hidden).
    """
    if not _NAMESPACE.match(namespace):
        raise RegistryDatabaseError(
            f"registry namespace {namespace!r} must be a lower-case identifier (letters, digits, _)."
        )
    where = describe_url(url)
    engine = _engine(url, connect_timeout)
    try:
        with engine.connect() as connection:
            has_gist = connection.execute(
                sqlalchemy.text("SELECT COUNT(*) FROM pg_extension WHERE extname = 'btree_gist'")
            ).scalar()
            tables = connection.execute(
                sqlalchemy.text("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = :s"),
                {"s": namespace},
            ).scalar()
    except sqlalchemy.exc.OperationalError as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig is not None else str(err)
        raise RegistryDatabaseError(f"cannot connect to the registry database {where}: {reason}") from None
    finally:
        engine.dispose()
    if not has_gist:
        raise RegistryDatabaseError(
            f"the registry database {where} lacks the btree_gist extension daf_butler needs; "
            "a database administrator must run 'CREATE EXTENSION btree_gist;' in it."
        )
    if tables and not allow_existing:
        raise RegistryDatabaseError(
            f"schema {namespace!r} of {where} already holds {tables} tables; "
            "choose another --registry-namespace or pass --overwrite."
        )


def drop_namespace(url: str, namespace: str, *, connect_timeout: float = 10.0) -> None:
    """Drop a registry's schema and everything in it, if it exists."""
    if not _NAMESPACE.match(namespace):
        raise RegistryDatabaseError(f"registry namespace {namespace!r} is not a plain identifier.")
    engine = _engine(url, connect_timeout)
    try:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{namespace}" CASCADE'))
    except sqlalchemy.exc.OperationalError as err:
        raise RegistryDatabaseError(
            f"cannot drop schema {namespace!r} of {describe_url(url)}: {err.orig}"
        ) from None
    finally:
        engine.dispose()
