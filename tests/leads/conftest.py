from __future__ import annotations

from collections.abc import Iterator

import pytest
import xarray as xr
from sqlalchemy import Connection

from gcrm.core import Settings
from gcrm.cube import build_region_cube
from tests.maps.seed import seed_region, seeded_settings


@pytest.fixture
def region(conn: Connection) -> xr.Dataset:
    """The tiny seeded region, and its cube built by gcrm.cube from the database."""
    seed_region(conn)
    return build_region_cube(conn)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of a committed database holding the tiny region, with its cube saved."""
    settings, drop = seeded_settings(tmp_path_factory.mktemp("seeded"))
    yield settings
    drop()
