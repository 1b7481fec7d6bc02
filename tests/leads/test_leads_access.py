"""Drive time on stored access legs (migration 0021), the customer test, scores and sorting,
and the GeoJSON built by PostgreSQL for every search, on the demo region."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from sqlalchemy import Connection, text

import gcrm.leads.filtered as filtered
from gcrm.api import leads_collection
from gcrm.core import ValidationError
from gcrm.enrich import compute_road_access
from gcrm.leads import (
    Origin,
    drive_time_geojson,
    find_leads_by_drive_time,
    find_leads_within,
    find_nearby_leads,
    format_lead_table,
    nearby_geojson,
    within_geojson,
)
from gcrm.routing import ACCESS_SPEED_KMH, read_road_graph

MINUTES = 4.0


def _origin(conn: Connection) -> Origin:
    lon, lat = conn.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM gcrm.branches ORDER BY code LIMIT 1")
    ).one()
    return Origin(float(lon), float(lat), "first branch", "coordinates")


def _state(conn: Connection) -> bool:
    return bool(conn.execute(text("SELECT complete FROM gcrm.lead_road_access_state")).scalar())


def _stale(conn: Connection) -> None:
    conn.execute(text("UPDATE gcrm.lead_road_access_state SET complete = false"))


@pytest.mark.parametrize("options", [{}, {"limit": 3}, {"sort": "distance", "limit": 20}])
def test_stored_legs_give_what_snapping_in_python_gives(
    demo_conn: Connection, monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]
) -> None:
    origin = _origin(demo_conn)
    assert _state(demo_conn), "the demo's enrichment stores every lead's access leg"
    # Rounds of 4 nodes: the search must stop early or go on exactly as one full round.
    monkeypatch.setattr(filtered, "_first_round", lambda state, limit: 4)
    stored = find_leads_by_drive_time(demo_conn, origin, minutes=MINUTES, **options)
    monkeypatch.setattr(filtered, "_first_round", lambda state, limit: 10**9)
    one_round = find_leads_by_drive_time(demo_conn, origin, minutes=MINUTES, **options)
    _stale(demo_conn)
    snapped = find_leads_by_drive_time(demo_conn, origin, minutes=MINUTES, **options)
    assert len(stored) > 2
    assert_geodataframe_equal(stored, one_round)
    assert_geodataframe_equal(stored, snapped)


def test_moving_or_adding_a_lead_makes_the_legs_stale_until_enriched(
    demo_conn: Connection,
) -> None:
    lead = demo_conn.execute(
        text("SELECT external_id FROM gcrm.lead_records ORDER BY external_id LIMIT 1")
    ).scalar_one()
    demo_conn.execute(
        text("UPDATE gcrm.lead_records SET name = name || ' Oy' WHERE external_id = :id"),
        {"id": lead},
    )
    assert _state(demo_conn), "a new name does not move the lead"
    demo_conn.execute(
        text(
            "UPDATE gcrm.lead_records SET geom = ST_Translate(geom, 0.002, 0.001) "
            "WHERE external_id = :id"
        ),
        {"id": lead},
    )
    assert not _state(demo_conn)
    # The search still answers, snapping in Python: the moved lead at its new place.
    origin = _origin(demo_conn)
    before = find_leads_by_drive_time(demo_conn, origin, minutes=MINUTES, customers="include")
    assert compute_road_access(demo_conn) > 0
    assert _state(demo_conn)
    after = find_leads_by_drive_time(demo_conn, origin, minutes=MINUTES, customers="include")
    assert_geodataframe_equal(before, after)
    node, access_s = demo_conn.execute(
        text(
            "SELECT a.node_id, a.access_s FROM gcrm.lead_road_access a "
            "JOIN gcrm.lead_records r USING (external_id) "
            "WHERE external_id = :id AND a.geom = r.geom"
        ),
        {"id": lead},
    ).one()
    lonlat = demo_conn.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM gcrm.lead_records WHERE external_id = :id"),
        {"id": lead},
    ).one()
    nodes, metres = read_road_graph(demo_conn, store=False).snap(np.array([lonlat]))
    assert node == nodes[0] and access_s == pytest.approx(metres[0] / (ACCESS_SPEED_KMH / 3.6))
    demo_conn.execute(
        text(
            "INSERT INTO gcrm.lead_records (external_id, name, category_group, category, "
            "source, geom) SELECT 'NEW1', 'Uusi', 'food', 'cafe', 'test', geom "
            "FROM gcrm.lead_records WHERE external_id = :id"
        ),
        {"id": lead},
    )
    assert not _state(demo_conn)


def test_customers_excluded_kept_or_both(demo_conn: Connection) -> None:
    origin = _origin(demo_conn)
    both = find_leads_by_drive_time(demo_conn, origin, minutes=MINUTES, customers="include")
    only = find_leads_by_drive_time(demo_conn, origin, minutes=MINUTES, customers="only")
    rest = find_leads_by_drive_time(demo_conn, origin, minutes=MINUTES)
    marked = set(
        demo_conn.execute(
            text("SELECT external_id FROM gcrm.customer_lead_ids(:ids)"),
            {"ids": list(both["external_id"])},
        ).scalars()
    )
    assert marked and set(only["external_id"]) == marked
    assert set(rest["external_id"]) == set(both["external_id"]) - marked
    assert list(rest["rank"]) == list(range(1, len(rest) + 1))
    with pytest.raises(ValidationError, match=r"customers='all' is not one of"):
        find_nearby_leads(demo_conn, lon=origin.lon, lat=origin.lat, customers="all")


def test_a_customer_of_the_same_name_within_50_m_is_the_lead(demo_conn: Connection) -> None:
    origin = _origin(demo_conn)
    nearby = find_nearby_leads(demo_conn, lon=origin.lon, lat=origin.lat, radius_m=3000, limit=200)
    lead = nearby.iloc[-1]
    metres_per_degree = 111_320.0

    def customer_at(metres_north: float, name: str) -> None:
        demo_conn.execute(
            text(
                "INSERT INTO gcrm.customer_records (external_id, name, segment, status, "
                "signup_date, geom, geocode_precision, geocode_score, geocode_source) VALUES "
                "(:id, :name, 'smb', 'active', '2025-01-01', "
                "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'address', 1, 'test')"
            ),
            {
                "id": f"T{metres_north:g}",
                "name": name,
                "lon": lead.geometry.x,
                "lat": lead.geometry.y + metres_north / metres_per_degree,
            },
        )

    def is_customer() -> bool:
        found = demo_conn.execute(
            text("SELECT count(*) FROM gcrm.customer_lead_ids(ARRAY[:id])"),
            {"id": lead["external_id"]},
        )
        return bool(found.scalar_one())

    assert not is_customer()
    customer_at(60, lead["name"])
    assert not is_customer(), "60 m away is another place"
    customer_at(40, f"  {lead['name'].upper()}!")
    assert is_customer(), "the same name, case and punctuation aside, 40 m away"
    again = find_nearby_leads(demo_conn, lon=origin.lon, lat=origin.lat, radius_m=3000, limit=200)
    assert lead["external_id"] not in set(again["external_id"])
    assert len(again) == 200, "the next nearest lead takes its place"


@pytest.fixture
def scored(demo_conn: Connection) -> pd.Series:
    """Scores for every other lead near the first branch, with reasons."""
    origin = _origin(demo_conn)
    nearby = find_leads_by_drive_time(
        demo_conn, origin, minutes=MINUTES, customers="include", limit=10_000
    )
    ids = list(nearby["external_id"].iloc[::2])
    scores = np.linspace(0.05, 0.95, len(ids))
    # The demo run scores every lead: these scores replace them (rolled back after the test).
    demo_conn.execute(text("DELETE FROM gcrm.lead_scores"))
    run = demo_conn.execute(
        text("INSERT INTO gcrm.score_runs (kind, model) VALUES ('lead', 'test') RETURNING id")
    ).scalar_one()
    for lead, score in zip(ids, scores, strict=True):
        reasons = [
            {"feature": "category", "effect": 0.2, "text": f"category of {lead}"},
            {"feature": "branch", "effect": -0.1, "text": "far from a branch"},
        ]
        demo_conn.execute(
            text(
                "INSERT INTO gcrm.lead_scores (external_id, run_id, score, percentile, reasons) "
                "VALUES (:id, :run, :score, :pct, CAST(:reasons AS jsonb))"
            ),
            {
                "id": lead,
                "run": run,
                "score": float(score),
                "pct": round(float(score) * 100, 1),
                "reasons": json.dumps(reasons),
            },
        )
    return pd.Series(scores, index=ids)


def test_min_score_and_sort_by_score(demo_conn: Connection, scored: pd.Series) -> None:
    origin = _origin(demo_conn)
    best = find_leads_by_drive_time(
        demo_conn, origin, minutes=MINUTES, customers="include", min_score=0.5
    )
    expected = scored[scored >= 0.5].sort_values(ascending=False)
    assert list(best["external_id"]) == list(expected.index)
    assert best["score"].tolist() == pytest.approx(expected.tolist())
    first = best.iloc[0]
    assert first["reasons"] == [f"category of {first['external_id']}", "far from a branch"]
    assert first["percentile"] == round(first["score"] * 100, 1)
    quickest = find_leads_by_drive_time(demo_conn, origin, minutes=MINUTES, customers="include")
    assert quickest["score"].isna().any() and quickest["reasons"].isna().any()
    table = format_lead_table(best.head(3))
    assert "score" in table and "far from a branch" in table and "; " in table
    by_score = find_nearby_leads(
        demo_conn, lon=origin.lon, lat=origin.lat, radius_m=3000, sort="score", limit=5
    )
    assert by_score["score"].is_monotonic_decreasing and by_score["score"].notna().all()
    with pytest.raises(ValidationError, match=r"sort='drive_time' is not an order"):
        find_nearby_leads(demo_conn, lon=origin.lon, lat=origin.lat, sort="drive_time")
    with pytest.raises(ValidationError, match=r"min_score=2 must be a number from 0 to 1"):
        find_leads_within(demo_conn, area="district:D01", min_score=2)


def _same(body: str, gdf: Any, origin: Origin | None) -> None:
    fast = json.loads(body)
    slow = json.loads(json.dumps(leads_collection(gdf, origin=origin)))
    if origin is None:
        slow["origin"] = None
    # leads_collection orders by distance; the searches by their own sort (rank).
    slow["features"].sort(key=lambda f: f["properties"]["rank"])
    assert fast == slow
    assert fast["features"], "an empty answer would prove nothing"


@pytest.mark.parametrize(
    "options",
    [{}, {"min_score": 0.3}, {"customers": "only"}, {"sort": "score", "limit": 7}],
)
def test_geojson_of_every_search_is_the_geodataframe_shaped(
    demo_conn: Connection, scored: pd.Series, options: dict[str, Any]
) -> None:
    origin = _origin(demo_conn)
    radius = {"radius_m": 2500, "limit": 100} | options
    _same(
        nearby_geojson(demo_conn, origin, **radius).body,
        find_nearby_leads(demo_conn, lon=origin.lon, lat=origin.lat, **radius),
        origin,
    )
    drive = {"minutes": MINUTES, "limit": 100} | options
    _same(
        drive_time_geojson(demo_conn, origin, **drive).body,
        find_leads_by_drive_time(demo_conn, origin, **drive),
        origin,
    )
    d = 0.01
    box = shapely.box(origin.lon - d, origin.lat - d, origin.lon + d, origin.lat + d)
    within = {"polygon": box, "limit": 100} | options
    _same(within_geojson(demo_conn, **within).body, find_leads_within(demo_conn, **within), None)


def test_drive_time_keeps_to_the_scope(demo_conn: Connection) -> None:
    origin = _origin(demo_conn)
    everyone = find_leads_by_drive_time(demo_conn, origin, minutes=MINUTES, customers="include")
    district = everyone["area_district"].value_counts().index[0]
    user = demo_conn.execute(
        text("INSERT INTO gcrm.users (name, role) VALUES ('scoped-rep', 'prospector') RETURNING id")
    ).scalar_one()
    demo_conn.execute(
        text("INSERT INTO gcrm.user_scopes (user_id, level, code) VALUES (:u, 'district', :c)"),
        {"u": user, "c": district},
    )
    demo_conn.execute(text("SET LOCAL ROLE gcrm_app"))
    demo_conn.execute(text("SELECT set_config('gcrm.user_id', :u, true)"), {"u": str(user)})
    assert _state(demo_conn)
    mine = find_leads_by_drive_time(demo_conn, origin, minutes=MINUTES, customers="include")
    expected = everyone[everyone["area_district"] == district]
    assert 0 < len(mine) < len(everyone)
    assert list(mine["external_id"]) == list(expected["external_id"])
    demo_conn.execute(text("RESET ROLE"))
