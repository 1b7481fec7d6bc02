"""The map layers the dashboard reads (dashboard.cache): branches and heat per scope, and the
catchments computed once per server and again only when the roads or branches change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from dashboard.cache import CatchmentCache, DashboardData
from gcrm.core import NotFoundError, Settings
from gcrm.cube import load_cube
from gcrm.store import create_db_engine
from tests.maps.test_map_layers import ROADS_SQL, SEEDED_BOX


@pytest.fixture
def owner(seeded: Settings) -> Iterator[Engine]:
    engine = create_db_engine(seeded.database_url)
    yield engine
    with engine.begin() as conn:  # the roads of a test go with it
        conn.execute(text("DELETE FROM gcrm.roads"))
    engine.dispose()


def test_catchments_are_computed_once_and_again_when_their_inputs_change(
    owner: Engine,
) -> None:
    cache = CatchmentCache()
    with pytest.raises(NotFoundError, match="gcrm import roads"):
        cache.get(owner)
    with owner.begin() as conn:
        conn.execute(text(ROADS_SQL))
    first = cache.get(owner)
    assert [f["properties"]["minutes"] for f in first["features"]] == [30.0, 20.0, 10.0]
    assert cache.get(owner) is first  # nothing changed: the same answer, not computed again
    with owner.begin() as conn:
        conn.execute(text("UPDATE gcrm.branches SET name = 'Main branch'"))
    moved = cache.get(owner)
    assert moved is not first
    assert {f["properties"]["name"] for f in moved["features"]} == {"Main branch"}


def test_branches_and_heat_of_a_scope(owner: Engine, seeded: Settings) -> None:
    data = DashboardData(engine=owner, cube=load_cube(seeded.cube_path))
    assert [f["id"] for f in data.branches()["features"]] == ["B1"]
    heat = data.heat(bbox=SEEDED_BOX, zoom=14, of="customers", segment="all", period="all")
    assert heat["total"] == 3  # C1, C2, C3 (C4 has no place)
    assert data.heat(bbox=SEEDED_BOX, zoom=14, of="customers", segment="all", period="all") is heat
    revenue = data.heat(bbox=SEEDED_BOX, zoom=14, of="revenue", segment="all", period="all")
    assert revenue["total"] == pytest.approx(970.5)
