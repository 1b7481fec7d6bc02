"""Leads by drive time and inside a polygon or an area, on the demo region (Helsinki)."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from scipy.spatial import cKDTree
from sqlalchemy import Connection, text

from gcrm.core import ValidationError
from gcrm.leads import (
    Origin,
    find_leads_by_drive_time,
    find_leads_within,
    find_nearby_leads,
    read_polygon,
)
from gcrm.routing import ACCESS_SPEED_KMH

MINUTES = 4.0


def _branch_origin(conn: Connection) -> Origin:
    lon, lat = conn.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM gcrm.branches ORDER BY code LIMIT 1")
    ).one()
    return Origin(float(lon), float(lat), "first branch", "coordinates")


def _all_leads(conn: Connection) -> pd.DataFrame:
    rows = conn.execute(
        text(
            "SELECT external_id, ST_X(geom) AS lon, ST_Y(geom) AS lat, area_codes "
            "FROM gcrm.leads WHERE geom IS NOT NULL"
        )
    )
    return pd.DataFrame(rows.fetchall(), columns=["external_id", "lon", "lat", "area_codes"])


def _networkx_times(conn: Connection, origin: Origin, leads: pd.DataFrame) -> pd.Series:
    """Drive seconds origin -> lead computed independently: networkx over the stored graph."""
    crs = conn.execute(text("SELECT crs FROM gcrm.road_graph_state")).scalar_one()
    nodes = pd.DataFrame(
        conn.execute(text("SELECT node_id, x_m, y_m, snap FROM gcrm.road_nodes")).fetchall(),
        columns=["node_id", "x_m", "y_m", "snap"],
    )
    edges = conn.execute(text("SELECT source, target, cost_s FROM gcrm.road_edges")).fetchall()
    graph = nx.DiGraph()
    for u, v, cost in edges:
        if not graph.has_edge(u, v) or graph[u][v]["weight"] > cost:
            graph.add_edge(u, v, weight=cost)
    snap = nodes[nodes["snap"]]
    tree = cKDTree(snap[["x_m", "y_m"]].to_numpy())
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    speed = ACCESS_SPEED_KMH / 3.6

    def join(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dist, idx = tree.query(np.column_stack(to_metric.transform(lon, lat)))
        return snap["node_id"].to_numpy()[idx], dist / speed

    (start,), (start_s,) = join(np.array([origin.lon]), np.array([origin.lat]))
    lengths = nx.single_source_dijkstra_path_length(graph, int(start), weight="weight")
    node, access = join(leads["lon"].to_numpy(), leads["lat"].to_numpy())
    network = np.array([lengths.get(int(n), np.inf) for n in node])
    return pd.Series(start_s + network + access, index=leads["external_id"].to_numpy())


def test_drive_time_leads_match_an_independent_search(demo_conn: Connection) -> None:
    origin = _branch_origin(demo_conn)
    found = find_leads_by_drive_time(demo_conn, origin, minutes=MINUTES, customers="include")
    assert len(found) > 5
    assert (found["drive_time_s"] <= MINUTES * 60).all()
    assert found["drive_time_s"].is_monotonic_increasing
    assert list(found["rank"]) == list(range(1, len(found) + 1))
    assert found["distance_m"].gt(0).all() and "area_district" in found.columns
    # Every lead, found or not, against networkx on the graph as stored in PostGIS.
    expected = _networkx_times(demo_conn, origin, _all_leads(demo_conn))
    inside = expected[expected <= MINUTES * 60]
    assert set(found["external_id"]) == set(inside.index)
    np.testing.assert_allclose(
        found["drive_time_s"].to_numpy(), expected[found["external_id"]].to_numpy(), rtol=1e-9
    )
    # A lead just outside the limit (the quickest one beyond it) is excluded, and comes in
    # when the limit reaches it.
    outside = expected[expected > MINUTES * 60].sort_values()
    lead, seconds = outside.index[0], float(outside.iloc[0])
    assert lead not in set(found["external_id"])
    wider = find_leads_by_drive_time(
        demo_conn, origin, minutes=seconds / 60 + 1e-6, customers="include"
    )
    assert lead in set(wider["external_id"])


def test_drive_time_filters_and_limit(demo_conn: Connection) -> None:
    origin = _branch_origin(demo_conn)
    everything = find_leads_by_drive_time(demo_conn, origin, minutes=MINUTES)
    category = everything["category"].mode().iloc[0]
    cafes = find_leads_by_drive_time(demo_conn, origin, minutes=MINUTES, categories=[category])
    assert set(cafes["external_id"]) == set(
        everything.loc[everything["category"] == category, "external_id"]
    )
    first = find_leads_by_drive_time(demo_conn, origin, minutes=MINUTES, limit=3)
    assert list(first["external_id"]) == list(everything["external_id"].head(3))
    district = everything["area_district"].dropna().iloc[0]
    in_district = find_leads_by_drive_time(
        demo_conn, origin, minutes=MINUTES, area=f"district:{district}"
    )
    assert set(in_district["external_id"]) == set(
        everything.loc[everything["area_district"] == district, "external_id"]
    )


def test_within_polygon_equals_shapely_contains(demo_conn: Connection) -> None:
    origin = _branch_origin(demo_conn)
    # A concave polygon (an L) around the branch, about 1.5 km across.
    d = 0.012
    x, y = origin.lon, origin.lat
    shape = shapely.Polygon(
        [(x - d, y - d), (x + d, y - d), (x + d, y), (x, y), (x, y + d / 2), (x - d, y + d / 2)]
    )
    found = find_leads_within(demo_conn, polygon=shape, customers="include")
    leads = _all_leads(demo_conn)
    points = shapely.points(leads["lon"].to_numpy(), leads["lat"].to_numpy())
    expected = set(leads.loc[shapely.contains(shape, points), "external_id"])
    assert len(expected) > 5
    assert set(found["external_id"]) == expected
    assert found["external_id"].is_monotonic_increasing
    assert found.crs == "EPSG:4326" and found["distance_m"].isna().all()


def test_within_area_equals_enrichment_codes(demo_conn: Connection) -> None:
    leads = _all_leads(demo_conn)
    district = leads["area_codes"].map(lambda c: (c or {}).get("district")).dropna()
    code = district.mode().iloc[0]
    found = find_leads_within(demo_conn, area=f"district:{code}", customers="include")
    assert set(found["external_id"]) == set(
        leads.loc[district.index[district == code], "external_id"]
    )
    assert (found["area_district"] == code).all()
    both = find_leads_within(demo_conn, area=("district", code), limit=2, customers="include")
    assert list(both["external_id"]) == list(found["external_id"].head(2))


def test_errors_name_the_fix(demo_conn: Connection, tmp_path) -> None:  # type: ignore[no-untyped-def]
    origin = _branch_origin(demo_conn)
    for minutes in (0, -5, 181, float("nan")):
        with pytest.raises(ValidationError, match=r"minutes=.*at most 180, e\.g\. 15"):
            find_leads_by_drive_time(demo_conn, origin, minutes=minutes)
    with pytest.raises(ValidationError, match=r"area=district:NOPE .*check the code"):
        find_leads_within(demo_conn, area="district:NOPE")
    with pytest.raises(ValidationError, match=r"unknown level"):
        find_leads_within(demo_conn, area=("planet", "earth"))
    with pytest.raises(ValidationError, match=r"give polygon="):
        find_leads_within(demo_conn)
    with pytest.raises(ValidationError, match=r"not a Polygon"):
        find_leads_within(demo_conn, polygon=shapely.Point(origin.lon, origin.lat))
    points = tmp_path / "points.geojson"
    points.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "Point", "coordinates": [origin.lon, origin.lat]},
                    }
                ],
            }
        )
    )
    with pytest.raises(ValidationError, match=r"holds no polygon \(found Point\)"):
        read_polygon(points)
    # No roads: the message names the import. Rolled back with the test's transaction.
    demo_conn.execute(text("DELETE FROM gcrm.roads"))
    with pytest.raises(ValidationError, match=r"`gcrm import roads"):
        find_leads_by_drive_time(demo_conn, origin, minutes=5)


def test_radius_search_is_unchanged(demo_conn: Connection) -> None:
    origin = _branch_origin(demo_conn)
    near = find_nearby_leads(demo_conn, lon=origin.lon, lat=origin.lat, radius_m=500)
    assert "drive_time_s" not in near.columns
