"""Shared fixtures: throw-away PostGIS databases, real files, real browser.

Every database is made by tests/databases.py (``gcrm.store.scratch_database``, prefix
``gcrm_test``) and dropped at the end of its fixture's scope.

- ``database_url``: a database for this session with the schema migrated.
- ``engine`` / ``conn``: a connection per test, rolled back at the end of the test.
- ``demo``: the demo region built small and run through the whole pipeline once per session
  (import, enrich, cube) into its own database; tests read from it and must not change it.
- ``reference``: the 8-address reference (tests/ingest/committed.py) imported on ``conn``;
  for the importer's and the geocoder's tests.
- ``region`` / ``seeded``: the tiny region of tests/maps/seed.py, on ``conn`` with its cube,
  or committed in a database of its own with the cube saved; for maps, leads, territories.

Tests marked ``browser`` or using ``demo`` are marked ``slow`` here as well (see
``pytest_collection_modifyitems``); ``make test-fast`` runs the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import xarray as xr
from sqlalchemy import Connection, Engine

from gcrm.core import Settings
from gcrm.cube import build_region_cube
from gcrm.ingest import import_addresses
from gcrm.store import create_db_engine
from tests.databases import new_database
from tests.ingest.committed import write_reference
from tests.maps.seed import seed_region, seeded_settings

DEMO_CUSTOMERS = 600
DEMO_SEED = 7


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` what drives a browser or needs the session's demo region.

    The Bay Area modules (tests/demo/test_bayarea*.py) mark themselves.
    """
    for item in items:
        uses_demo = "demo" in getattr(item, "fixturenames", ())
        if uses_demo or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with new_database() as url:
        yield url


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

    # No schema: the demo run migrates the new database itself, as `gcrm demo` does.
    with new_database(schema=False) as url:
        data_dir = tmp_path_factory.mktemp("demo-data")
        demo_settings = Settings(database_url=url, data_dir=data_dir)
        run_demo(demo_settings, customers=DEMO_CUSTOMERS, seed=DEMO_SEED, progress=False)
        eng = create_db_engine(url)
        try:
            yield Demo(demo_settings, eng, demo_settings.region_dir, demo_settings.cube_path)
        finally:
            eng.dispose()


@pytest.fixture
def demo_conn(demo: Demo) -> Iterator[Connection]:
    """A connection to the demo database, rolled back after the test."""
    with demo.engine.connect() as connection:
        trans = connection.begin()
        try:
            yield connection
        finally:
            trans.rollback()


@pytest.fixture
def reference(conn: Connection, tmp_path: Path) -> Path:
    """The small address reference, imported on ``conn`` through the real importer."""
    path = write_reference(tmp_path)
    report = import_addresses(conn, path)
    assert report.inserted == 8
    return path


@pytest.fixture
def region(conn: Connection) -> xr.Dataset:
    """The tiny seeded region, and its cube built by gcrm.cube from the database."""
    seed_region(conn)
    return build_region_cube(conn)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of a committed database holding the tiny region, with its cube saved."""
    with seeded_settings(tmp_path_factory.mktemp("seeded")) as settings:
        yield settings
