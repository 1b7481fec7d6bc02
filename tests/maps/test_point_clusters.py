"""The points of a map view (gcrm.maps.sources.points_in_view) on a real PostGIS: clusters
counted in the database for the view's box, single points when few, the segment and period
filters, nothing personal in either payload, and row-level security through the scoped
engine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from gcrm.access import Principal, act_as, add_user, principal_by_name, scoped_engine
from gcrm.core import NotFoundError, Settings, ValidationError
from gcrm.maps.sources import MAX_CELLS_ACROSS, point_name, points_in_view
from gcrm.store import create_db_engine

#: A 20 x 20 grid of customers, 0.001 degrees apart, from (24.90, 60.15): 400 points.
GRID = 20
WEST, SOUTH, STEP = 24.90, 60.15, 0.001
REGION = (24.89, 60.14, 24.93, 60.18)
#: Columns that must never reach the browser in a view's payload.
PERSONAL = {"name", "email", "phone", "street", "housenumber", "postcode", "city"}

CUSTOMERS_SQL = """
INSERT INTO gcrm.customer_records (external_id, name, email, phone, segment, status,
    signup_date, churn_date, geom, geocode_precision, geocode_score, geocode_source)
SELECT format('G%s-%s', i, j), format('Person %s %s', i, j), format('p%s.%s@example.org', i, j),
       '+358 40 000', CASE WHEN (i + j) % 4 = 0 THEN 'business' ELSE 'retail' END,
       CASE WHEN i < 5 THEN 'churned' ELSE 'active' END,
       -- rows i < 10 signed up in 2024, the others in 2025; rows i < 5 churned in 2024-06
       CASE WHEN i < 10 THEN DATE '2024-01-15' ELSE DATE '2025-02-01' END,
       CASE WHEN i < 5 THEN DATE '2024-06-10' END,
       ST_SetSRID(ST_MakePoint(:west + i * :step, :south + j * :step), 4326),
       'rooftop', 1, 'test'
FROM generate_series(0, :n - 1) i, generate_series(0, :n - 1) j
"""
LEADS_SQL = """
INSERT INTO gcrm.lead_records (external_id, name, category_group, category, phone, source, geom)
SELECT format('LG%s', i), format('Shop %s', i), 'retail', 'kiosk', '+358 9 000', 'test',
       ST_SetSRID(ST_MakePoint(:west + i * :step, :south), 4326)
FROM generate_series(0, 9) i
"""


@pytest.fixture
def grid(conn: Connection) -> Connection:
    """``conn`` with the grid of customers and a row of 10 leads (rolled back after)."""
    params = {"west": WEST, "south": SOUTH, "step": STEP, "n": GRID}
    conn.execute(text(CUSTOMERS_SQL), params)
    conn.execute(text(LEADS_SQL), params)
    return conn


def _count_in(conn: Connection, bbox: tuple[float, ...], where: str = "true") -> int:
    sql = (
        "SELECT count(*) FROM gcrm.customers WHERE geom && "
        f"ST_MakeEnvelope(:w, :s, :e, :n, 4326) AND {where}"
    )
    west, south, east, north = bbox
    return int(conn.execute(text(sql), {"w": west, "s": south, "e": east, "n": north}).scalar())


def _ids(collection: dict[str, Any]) -> set[str]:
    return {f["properties"]["id"] for f in collection["features"]}


def _total(collection: dict[str, Any]) -> int:
    return sum(f["properties"]["count"] for f in collection["features"])


def _keys(collection: dict[str, Any]) -> set[str]:
    return {k for f in collection["features"] for k in f["properties"]}


def test_many_points_in_view_come_as_clusters_that_sum_to_the_points_in_the_box(
    grid: Connection,
) -> None:
    # The south-west half of the grid: the box cuts it, the clusters count what is inside.
    bbox = (24.895, 60.145, 24.9095, 60.1695)
    view = points_in_view(grid, kind="customers", bbox=bbox, zoom=15, max_points=50)
    expected = _count_in(grid, bbox)
    assert expected == 10 * 20
    assert view["clustered"] is True
    assert 1 < len(view["features"]) < expected
    assert _total(view) == expected
    assert _keys(view) == {"count"}
    for feature in view["features"]:  # drawn at the mean of its points: inside the box
        lon, lat = feature["geometry"]["coordinates"]
        assert bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]


def test_a_coarser_zoom_makes_fewer_and_larger_clusters(grid: Connection) -> None:
    fine = points_in_view(grid, kind="customers", bbox=REGION, zoom=16, max_points=50)
    coarse = points_in_view(grid, kind="customers", bbox=REGION, zoom=13, max_points=50)
    assert len(coarse["features"]) < len(fine["features"])
    assert _total(coarse) == _total(fine) == GRID * GRID


def test_a_view_larger_than_a_screen_is_still_a_bounded_number_of_cells(
    grid: Connection,
) -> None:
    # The whole world at zoom 18 would be billions of cells; the grid coarsens instead.
    view = points_in_view(grid, kind="customers", bbox=(-180, -85, 180, 85), zoom=18, max_points=5)
    assert view["clustered"] is True
    assert len(view["features"]) <= MAX_CELLS_ACROSS**2
    assert _total(view) == GRID * GRID


def test_few_points_in_view_come_one_by_one_without_names(grid: Connection) -> None:
    bbox = (24.8995, 60.1495, 24.9035, 60.1525)  # 4 x 3 points of the grid
    view = points_in_view(grid, kind="customers", bbox=bbox, zoom=18, max_points=50)
    assert view["clustered"] is False
    assert _ids(view) == {f"G{i}-{j}" for i in range(4) for j in range(3)}
    assert _keys(view) == {"id", "segment", "geocode_precision"}
    text_sent = json.dumps(view)
    assert "Person" not in text_sent and "example.org" not in text_sent


def test_the_threshold_switches_between_points_and_clusters(grid: Connection) -> None:
    bbox = (24.8995, 60.1495, 24.9035, 60.1525)  # 12 points
    assert (
        points_in_view(grid, kind="customers", bbox=bbox, zoom=18, max_points=12)["clustered"]
        is False
    )
    clustered = points_in_view(grid, kind="customers", bbox=bbox, zoom=18, max_points=11)
    assert clustered["clustered"] is True and _total(clustered) == 12


def test_segment_filter_applies_to_points_and_clusters(grid: Connection) -> None:
    business = _count_in(grid, REGION, "segment = 'business'")
    assert 0 < business < GRID * GRID
    clusters = points_in_view(
        grid, kind="customers", bbox=REGION, zoom=15, segment="business", max_points=10
    )
    assert clusters["clustered"] and _total(clusters) == business
    points = points_in_view(
        grid, kind="customers", bbox=REGION, zoom=15, segment="business", max_points=1000
    )
    assert len(points["features"]) == business
    assert {f["properties"]["segment"] for f in points["features"]} == {"business"}
    everyone = points_in_view(grid, kind="customers", bbox=REGION, zoom=15, segment="all")
    assert len(everyone["features"]) == GRID * GRID


@pytest.mark.parametrize(
    ("period", "columns"),
    [
        # 2025: the 2025 sign-ups (i >= 10) and the 2024 ones still on the books (5 <= i < 10).
        ("2025", range(5, GRID)),
        # June 2024: rows churned that month (i < 5) and the other 2024 sign-ups.
        ("2024-06", range(10)),
        # Q3 2024: the churned rows are gone, the 2025 sign-ups not yet there.
        ("2024-Q3", range(5, 10)),
        ("all", range(GRID)),
    ],
)
def test_period_keeps_the_customers_on_the_books_in_it(
    grid: Connection, period: str, columns: range
) -> None:
    view = points_in_view(grid, kind="customers", bbox=REGION, zoom=18, period=period)
    assert _ids(view) == {f"G{i}-{j}" for i in columns for j in range(GRID)}
    clusters = points_in_view(
        grid, kind="customers", bbox=REGION, zoom=18, period=period, max_points=1
    )
    assert _total(clusters) == len(columns) * GRID


def test_leads_in_view_carry_id_and_category_only(grid: Connection) -> None:
    view = points_in_view(grid, kind="leads", bbox=REGION, zoom=18, segment="business")
    assert _ids(view) == {f"LG{i}" for i in range(10)}  # segment is the customers' filter
    assert _keys(view) == {"id", "category"}
    assert "Shop" not in json.dumps(view)
    clusters = points_in_view(grid, kind="leads", bbox=REGION, zoom=12, max_points=3)
    assert clusters["clustered"] and _total(clusters) == 10


def test_one_name_is_read_when_asked_for(grid: Connection) -> None:
    assert point_name(grid, kind="customers", point_id="G3-4") == "Person 3 4"
    assert point_name(grid, kind="leads", point_id="LG2") == "Shop 2"
    with pytest.raises(NotFoundError, match="customers 'nobody' is not there"):
        point_name(grid, kind="customers", point_id="nobody")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "shops"}, "kind='shops' is not a point layer"),
        ({"bbox": (25.0, 60.0, 24.0, 61.0)}, "west < east and south < north"),
        ({"bbox": (24.0, 60.0, 25.0)}, "is not a box"),
        ({"period": "spring"}, "period 'spring' is not a period"),
    ],
)
def test_bad_arguments_name_the_fix(conn: Connection, kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"kind": "customers", "bbox": REGION, "zoom": 14} | kwargs
    with pytest.raises(ValidationError, match=match):
        points_in_view(conn, **args)


@pytest.fixture(scope="module")
def scoped(seeded: Settings) -> Iterator[tuple[Engine, dict[str, Principal]]]:
    """The tiny seeded region (C1, C2 and L1 in D01; C3 and L2 in D02), a manager of each
    district, and the application's engine on it."""
    owner = create_db_engine(seeded.database_url)
    with owner.begin() as conn:
        add_user(conn, "maija", role="manager", scopes=["district:D01"])
        add_user(conn, "olli", role="manager", scopes=["district:D02"])
        people = {name: principal_by_name(conn, name) for name in ("maija", "olli")}
    owner.dispose()
    engine = scoped_engine(seeded.database_url)
    yield engine, people
    engine.dispose()


@pytest.mark.parametrize(
    ("user", "customers", "leads", "hidden"),
    [("maija", {"C1", "C2"}, {"L1"}, "C3"), ("olli", {"C3"}, {"L2"}, "C1")],
)
def test_a_manager_sees_the_points_of_their_district_only(
    scoped: tuple[Engine, dict[str, Principal]],
    user: str,
    customers: set[str],
    leads: set[str],
    hidden: str,
) -> None:
    engine, people = scoped
    box = (24.90, 60.15, 24.98, 60.18)  # both districts
    with act_as(people[user]), engine.connect() as conn:
        assert _ids(points_in_view(conn, kind="customers", bbox=box, zoom=14)) == customers
        assert _ids(points_in_view(conn, kind="leads", bbox=box, zoom=14)) == leads
        clusters = points_in_view(conn, kind="customers", bbox=box, zoom=14, max_points=0)
        assert _total(clusters) == len(customers)
        with pytest.raises(NotFoundError):
            point_name(conn, kind="customers", point_id=hidden)


def test_without_a_principal_the_scoped_engine_shows_no_point(
    scoped: tuple[Engine, dict[str, Principal]],
) -> None:
    engine, _ = scoped
    with engine.connect() as conn:
        view = points_in_view(conn, kind="customers", bbox=(24.90, 60.15, 24.98, 60.18), zoom=14)
    assert view["features"] == []
