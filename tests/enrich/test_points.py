"""Enrichment on a hand-made world where every answer is known."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box
from sqlalchemy import Connection, text

from gcrm.enrich import enrich_points
from gcrm.ingest import import_areas, import_leads, import_roads, import_zones


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
            "enriched_at IS NOT NULL FROM gcrm.leads ORDER BY 1"
        )
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def test_each_column_matches_the_hand_computed_answer(conn: Connection, world: None) -> None:
    report = enrich_points(conn, entities=("leads",))
    assert report.counts == {"leads": 3}
    got = _leads(conn)
    assert got["L1"][:4] == ({"district": "W", "block": "W1"}, "industrial", "primary", "Main")
    # 0.001 degree of latitude at 60 N is 111.41 m on the WGS84 spheroid.
    assert got["L1"][4] == pytest.approx(111.4, abs=0.3)
    assert got["L2"][:4] == ({"district": "E"}, "residential", "residential", "Side")
    assert got["L2"][4] == pytest.approx(222.8, abs=0.5)
    assert got["L3"][0] == {} and got["L3"][1] is None
    assert all(row[5] for row in got.values())


def test_rerun_touches_only_new_points(conn: Connection, world: None) -> None:
    enrich_points(conn, entities=("leads",))
    assert enrich_points(conn, entities=("leads",)).counts == {"leads": 0}
    assert enrich_points(conn, entities=("leads",), full=True).counts == {"leads": 3}
