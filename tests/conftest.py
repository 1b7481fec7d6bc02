"""Shared fixtures: a throw-away PostGIS database per test session, real files, real browser.

- ``database_url``: a database created for this session on the server of GCRM_DATABASE_URL
  (default: the local PostGIS of ``make test``), with the schema migrated; dropped at the end.
- ``engine`` / ``conn``: a connection per test, rolled back at the end of the test.
- ``demo``: the demo region built small and run through the whole pipeline once per session
  (import, enrich, cube) into its own database; tests read from it and must not change it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url

from gcrm.core import DEFAULT_DATABASE_URL, Settings
from gcrm.store import create_db_engine, drop_database, ensure_database, init_schema

DEMO_CUSTOMERS = 600
DEMO_SEED = 7


def _server_url() -> str:
    return os.environ.get("GCRM_DATABASE_URL", DEFAULT_DATABASE_URL)


def _new_database() -> str:
    name = f"gcrm_test_{uuid.uuid4().hex[:10]}"
    url = make_url(_server_url()).set(database=name).render_as_string(hide_password=False)
    ensure_database(url)
    return url


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = _new_database()
    engine = create_db_engine(url)
    init_schema(engine)
    engine.dispose()
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = create_db_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        trans = connection.begin()
        try:
            yield connection
        finally:
            trans.rollback()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data")


@dataclass(frozen=True)
class Demo:
    """The demo region, built once per session and run through the pipeline."""

    settings: Settings
    engine: Engine
    region_dir: Path
    cube_path: Path


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    from gcrm.demo.run import run_demo

    url = _new_database()
    data_dir = tmp_path_factory.mktemp("demo-data")
    demo_settings = Settings(database_url=url, data_dir=data_dir)
    run_demo(demo_settings, customers=DEMO_CUSTOMERS, seed=DEMO_SEED, progress=False)
    eng = create_db_engine(url)
    yield Demo(demo_settings, eng, demo_settings.region_dir, demo_settings.cube_path)
    eng.dispose()
    drop_database(url)


@pytest.fixture
def demo_conn(demo: Demo) -> Iterator[Connection]:
    """A connection to the demo database, rolled back after the test."""
    with demo.engine.connect() as connection:
        trans = connection.begin()
        try:
            yield connection
        finally:
            trans.rollback()
