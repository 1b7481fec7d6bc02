"""Nearby leads as GeoJSON built by PostgreSQL: the same content as the GeoDataFrame path."""

from __future__ import annotations

import json
from typing import Any

import pytest
import xarray as xr
from sqlalchemy import Connection, text

from gcrm.api import leads_collection
from gcrm.core import ValidationError
from gcrm.leads import Origin, find_nearby_leads, nearby_geojson, resolve_origin


def _both(conn: Connection, origin: Origin, **options: Any) -> tuple[dict[str, Any], Any]:
    fast = nearby_geojson(conn, origin, **options)
    body = json.loads(fast.body)
    assert fast.features == len(body["features"])
    slow = leads_collection(
        find_nearby_leads(conn, lon=origin.lon, lat=origin.lat, **options), origin=origin
    )
    # Through JSON text, as a client reads the old response.
    return body, json.loads(json.dumps(slow))


@pytest.mark.parametrize(
    "options",
    [
        {"radius_m": 5000, "limit": 10},
        {"radius_m": 5000, "limit": 1},
        {"radius_m": 5000, "limit": 10, "categories": ["restaurant"]},
        {"radius_m": 5000, "limit": 10, "zoning_classes": ["commercial"]},
        {"radius_m": 10, "limit": 10},  # none
    ],
)
def test_same_collection_as_the_geodataframe_path(
    conn: Connection, region: xr.Dataset, options: dict[str, Any]
) -> None:
    origin = resolve_origin(conn, lon=24.94, lat=60.165)
    fast, slow = _both(conn, origin, **options)
    assert fast == slow


def test_area_keys_beyond_the_levels_and_missing_codes(
    conn: Connection, region: xr.Dataset
) -> None:
    conn.execute(
        text(
            "INSERT INTO gcrm.lead_records (external_id, name, category_group, category, source, "
            "phone, geom) VALUES ('L3', 'Baari <b>', 'food', 'bar', 'test', '+358 1', "
            "ST_SetSRID(ST_MakePoint(24.941, 60.165), 4326)), ('L4', 'Ei aluetta', 'food', "
            "'bar', 'test', NULL, ST_SetSRID(ST_MakePoint(24.942, 60.165), 4326))"
        )
    )
    conn.execute(
        text(
            "INSERT INTO gcrm.lead_enrichment (external_id, geom, area_codes, road_distance_m) "
            'SELECT external_id, geom, \'{"zz": "Z9", "hex": "8a"}\', 12.345678901234 '
            "FROM gcrm.lead_records WHERE external_id = 'L3'"
        )
    )
    origin = resolve_origin(conn, lon=24.94, lat=60.165)
    fast, slow = _both(conn, origin, radius_m=5000, limit=10)
    assert fast == slow
    by_id = {f["properties"]["external_id"]: f["properties"] for f in fast["features"]}
    assert by_id["L3"]["area_hex"] == "8a" and by_id["L3"]["area_zz"] == "Z9"
    assert by_id["L3"]["area_district"] is None and by_id["L4"]["area_zz"] is None
    assert by_id["L3"]["road_distance_m"] == 12.345678901234
    assert [f["properties"]["rank"] for f in fast["features"]] == [1, 2, 3, 4]


def test_checks_its_options(conn: Connection, region: xr.Dataset) -> None:
    origin = resolve_origin(conn, lon=24.94, lat=60.165)
    with pytest.raises(ValidationError, match="limit=0 must be an integer"):
        nearby_geojson(conn, origin, limit=0)


def test_demo_region_collections_match(demo_conn: Connection) -> None:
    points = demo_conn.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM gcrm.branches ORDER BY code")
    ).all()
    for lon, lat in points:
        origin = resolve_origin(demo_conn, lon=lon, lat=lat)
        fast, slow = _both(demo_conn, origin, radius_m=1500, limit=100)
        assert fast == slow and len(fast["features"]) > 0
