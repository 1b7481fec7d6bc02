"""Engine and pool; creating and dropping databases on a server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from gcrm.core.errors import DatabaseError
from gcrm.store.migrate import init_schema

__all__ = ["create_db_engine", "drop_database", "ensure_database", "scratch_database"]

#: libpq settings of every connection: no JIT (gcrm's queries are short; JIT costs more than
#: it saves); an unreachable server is an error after 10 s, not a hang; the connections are
#: named ``gcrm`` in pg_stat_activity.
_CONNECT_DEFAULTS: dict[str, object] = {
    "options": "-c jit=off",
    "connect_timeout": 10,
    "application_name": "gcrm",
}


def create_db_engine(database_url: str, *, check: bool = True) -> Engine:
    """Create the SQLAlchemy engine for ``database_url``.

    Pooled connections are checked before use (``pool_pre_ping``), so the engine survives a
    restart of the server: during the outage a connection fails with ``OperationalError``
    (which the API answers with 503), and afterwards new connections replace the dead ones.

    Parameters
    ----------
    database_url
        A ``postgresql+psycopg://`` URL; its query settings (``?application_name=...``) win
        over gcrm's defaults.
    check
        Open one connection now so that a wrong URL fails here with a clear message.

    Raises
    ------
    DatabaseError
        When the server cannot be reached.
    """
    url = make_url(database_url)
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+psycopg")
    # A URL's own settings win over these defaults.
    connect_args = {key: value for key, value in _CONNECT_DEFAULTS.items() if key not in url.query}
    # pool_pre_ping: a pooled connection that died with the server (a restart, a failover)
    # is replaced before use, so the first request after an outage does not fail.
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    if check:
        try:
            with engine.connect() as conn:
                conn.execute(text("select 1"))
        except OperationalError as exc:
            safe = url.render_as_string(hide_password=True)
            msg = (
                f"cannot connect to the database at GCRM_DATABASE_URL={safe!r}: "
                f"{str(exc.orig).strip().splitlines()[0]}. Run `make demo` (it starts a local "
                "PostGIS) or set GCRM_DATABASE_URL to a reachable PostGIS."
            )
            raise DatabaseError(msg) from None
    return engine


def _admin_engine(database_url: str) -> Engine:
    url = make_url(database_url).set(drivername="postgresql+psycopg", database="postgres")
    return create_engine(url, isolation_level="AUTOCOMMIT")


def ensure_database(
    database_url: str, *, extensions: tuple[str, ...] = ("postgis", "pg_trgm", "fuzzystrmatch")
) -> None:
    """Create the database named in ``database_url`` if missing, with its extensions."""
    name = make_url(database_url).database
    admin = _admin_engine(database_url)
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("select 1 from pg_database where datname = :n"), {"n": name}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    engine = create_db_engine(database_url)
    try:
        with engine.begin() as conn:
            for ext in extensions:
                conn.execute(text(f"CREATE EXTENSION IF NOT EXISTS {ext}"))
    finally:
        engine.dispose()


def drop_database(database_url: str) -> None:
    """Drop the database named in ``database_url``, ending its sessions first."""
    name = make_url(database_url).database
    admin = _admin_engine(database_url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def scratch_database(
    server_url: str, *, prefix: str = "gcrm_scratch", schema: bool = True
) -> Iterator[str]:
    """A throw-away database on the server of ``server_url``, dropped on exit.

    Created with gcrm's extensions and, with ``schema``, migrated to the latest revision.
    The test suite and the benchmarks make every database of their own with this.

    Yields
    ------
    str
        The new database's URL.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    ensure_database(url)
    try:
        if schema:
            engine = create_db_engine(url)
            try:
                init_schema(engine)
            finally:
                engine.dispose()
        yield url
    finally:
        drop_database(url)
