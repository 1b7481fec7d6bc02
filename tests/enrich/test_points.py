"""Enrichment on a hand-made world where every answer is known."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point, box
from sqlalchemy import Connection, text

from gcrm.enrich import enrich_points
from gcrm.ingest import import_areas, import_branches, import_leads, import_roads, import_zones
from gcrm.routing import ACCESS_SPEED_KMH


@pytest.fixture
def world(conn: Connection, tmp_path: Path) -> None:
    levels = tmp_path / "levels.csv"
    levels.write_text(
        "level,parent_level,rank,label,derivation\n"
        "district,,1,District,hand-made\n"
        "block,district,2,Block,hand-made\n"
    )
    areas = gpd.GeoDataFrame(
        {
            "level": ["district", "district", "block", "block"],
            "code": ["W", "E", "W1", "E1"],
            "name": ["West", "East", "West 1", "East 1"],
            "parent_code": [None, None, "W", "E"],
        },
        geometry=[
            box(24.0, 60.0, 24.01, 60.01),
            box(24.01, 60.0, 24.02, 60.01),
            box(24.0, 60.0, 24.005, 60.005),
            box(24.01, 60.0, 24.015, 60.005),
        ],
        crs="EPSG:4326",
    )
    areas.to_file(tmp_path / "areas.gpkg")
    import_areas(conn, tmp_path / "areas.gpkg", levels=levels)
    zones = gpd.GeoDataFrame(
        {
            "ref": ["z1", "z2"],
            "class": ["industrial", "residential"],
            "landuse": ["industrial", "residential"],
        },
        geometry=[box(24.0, 60.0, 24.004, 60.004), box(24.0, 60.0, 24.02, 60.01)],
        crs="EPSG:4326",
    )
    zones.to_file(tmp_path / "zones.gpkg")
    import_zones(conn, tmp_path / "zones.gpkg")
    roads = gpd.GeoDataFrame(
        {
            "ref": ["r1", "r2"],
            "class": ["primary", "residential"],
            "name": ["Main", "Side"],
            "speed_kmh": [50.0, 30.0],
            "oneway": [False, True],
        },
        geometry=[
            LineString([(24.0, 60.0), (24.02, 60.0)]),
            LineString([(24.0, 60.01), (24.02, 60.01)]),
        ],
        crs="EPSG:4326",
    )
    roads.to_file(tmp_path / "roads.gpkg")
    import_roads(conn, tmp_path / "roads.gpkg")
    leads = gpd.GeoDataFrame(
        {
            "external_id": ["L1", "L2", "L3"],
            "name": ["Cafe", "Shop", "Far"],
            "category_group": ["amenity", "shop", "shop"],
            "category": ["cafe", "bakery", "kiosk"],
        },
        # L1 in W/W1, industrial zone (the smaller one wins), 0.001 deg north of Main.
        # L2 in E but no block, residential, 0.002 deg south of Side.
        # L3 outside every area and zone.
        geometry=[Point(24.002, 60.001), Point(24.018, 60.008), Point(25.0, 61.0)],
        crs="EPSG:4326",
    )
    leads.to_file(tmp_path / "leads.gpkg")
    import_leads(conn, tmp_path / "leads.gpkg")


def _leads(conn: Connection) -> dict[str, tuple]:
    rows = conn.execute(
        text(
            "SELECT external_id, area_codes, zoning_class, road_class, road_name, road_distance_m, "
            "enriched_at IS NOT NULL, road_speed_kmh, business_park_distance_m FROM gcrm.leads ORDER BY 1"
        )
    )
    return {r[0]: tuple(r[1:]) for r in rows}


@pytest.mark.parametrize("how", ["sql", "vector"])
def test_each_column_matches_the_hand_computed_answer(
    conn: Connection, world: None, how: str
) -> None:
    report = enrich_points(conn, entities=("leads",), engine=how)  # type: ignore[arg-type]
    assert report.counts == {"leads": 3} and report.engines == {"leads": how}
    got = _leads(conn)
    assert got["L1"][:4] == ({"district": "W", "block": "W1"}, "industrial", "primary", "Main")
    # 0.001 degree of latitude at 60 N is 111.41 m on the WGS84 spheroid.
    assert got["L1"][4] == pytest.approx(111.4, abs=0.3)
    assert got["L1"][6:] == (50.0, 0.0)  # speed of Main; inside the industrial zone
    assert got["L2"][:4] == ({"district": "E"}, "residential", "residential", "Side")
    assert got["L2"][4] == pytest.approx(222.8, abs=0.5)
    # Nearest business park of L2: the industrial zone's corner (24.004, 60.004).
    corner_m = Geod(ellps="WGS84").inv(24.018, 60.008, 24.004, 60.004)[2]
    assert got["L2"][7] == pytest.approx(corner_m, rel=0.002)
    assert got["L3"][0] == {} and got["L3"][1] is None
    assert all(row[5] for row in got.values())


def test_rerun_touches_only_what_changed(conn: Connection, world: None, tmp_path: Path) -> None:
    enrich_points(conn, entities=("leads",))
    assert enrich_points(conn, entities=("leads",)).counts == {"leads": 0}
    assert enrich_points(conn, entities=("leads",), full=True).counts == {"leads": 3}
    # A renamed lead keeps its enrichment; a moved one is enriched again, alone.
    conn.execute(text("UPDATE gcrm.lead_records SET name = 'Renamed' WHERE external_id = 'L1'"))
    assert enrich_points(conn, entities=("leads",)).counts == {"leads": 0}
    conn.execute(
        text(
            "UPDATE gcrm.lead_records SET geom = ST_SetSRID(ST_MakePoint(24.002, 60.0012), 4326) "
            "WHERE external_id = 'L2'"
        )
    )
    assert _leads(conn)["L2"][5] is False  # enriched_at hidden while the location moved
    assert enrich_points(conn, entities=("leads",)).counts == {"leads": 1}
    assert _leads(conn)["L2"][:2] == ({"district": "W", "block": "W1"}, "industrial")
    # A deleted lead leaves no enrichment row behind.
    conn.execute(text("DELETE FROM gcrm.lead_records WHERE external_id = 'L3'"))
    assert enrich_points(conn, entities=("leads",)).counts == {"leads": 0}
    left = conn.execute(text("SELECT external_id FROM gcrm.lead_enrichment ORDER BY 1"))
    assert [r[0] for r in left] == ["L1", "L2"]
    # A re-imported layer invalidates every point.
    roads = gpd.GeoDataFrame(
        {"ref": ["r3"], "class": ["service"], "name": ["Back"]},
        geometry=[LineString([(24.0, 60.0011), (24.004, 60.0011)])],
        crs="EPSG:4326",
    )
    roads.to_file(tmp_path / "more_roads.gpkg")
    import_roads(conn, tmp_path / "more_roads.gpkg")
    assert enrich_points(conn, entities=("leads",)).counts == {"leads": 2}
    assert _leads(conn)["L1"][2:4] == ("service", "Back")


def _drive_times(conn: Connection) -> dict[str, tuple]:
    rows = conn.execute(
        text("SELECT external_id, drive_time_s, branch_reached FROM gcrm.leads ORDER BY 1")
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def test_enrich_fills_drive_times_when_there_are_branches(
    conn: Connection, world: None, tmp_path: Path
) -> None:
    # Without branches enrichment runs as before and leaves drive times empty.
    enrich_points(conn, entities=("leads",))
    assert set(_drive_times(conn).values()) == {(None, None)}
    # One branch on Main's west end (24.0, 60.0), a node of the only two-way road.
    (tmp_path / "branches.csv").write_text("code,name,lon,lat\nB1,West,24.0,60.0\n")
    import_branches(conn, tmp_path / "branches.csv")
    # A branches import re-runs every point.
    assert enrich_points(conn, entities=("leads",)).counts == {"leads": 3}
    got = _drive_times(conn)
    assert {branch for _, branch in got.values()} == {"B1"}
    # L1 walks straight to the branch's node: the access leg only.
    access_m = Geod(ellps="WGS84").inv(24.002, 60.001, 24.0, 60.0)[2]
    assert got["L1"][0] == pytest.approx(access_m / (ACCESS_SPEED_KMH / 3.6), rel=0.005)
    # L2 joins Main at its east end (24.02, 60.0) and drives 0.02 degrees west at 50 km/h.
    access_m = Geod(ellps="WGS84").inv(24.018, 60.008, 24.02, 60.0)[2]
    road_m = Geod(ellps="WGS84").inv(24.02, 60.0, 24.0, 60.0)[2]
    expected = access_m / (ACCESS_SPEED_KMH / 3.6) + road_m / (50 / 3.6)
    assert got["L2"][0] == pytest.approx(expected, rel=0.005)
    assert got["L3"][0] > got["L2"][0] > got["L1"][0]
    # Only the points enrichment re-runs get a new drive time.
    conn.execute(text("UPDATE gcrm.lead_enrichment SET drive_time_s = NULL, branch_reached = NULL"))
    conn.execute(
        text("UPDATE gcrm.lead_enrichment SET enriched_at = NULL WHERE external_id = 'L2'")
    )
    assert enrich_points(conn, entities=("leads",)).counts == {"leads": 1}
    again = _drive_times(conn)
    assert again["L2"][0] == pytest.approx(got["L2"][0]) and again["L2"][1] == "B1"
    assert again["L1"] == again["L3"] == (None, None)
