"""The dashboard's extra map layers (gcrm.maps.layers) on a real PostGIS: the heat of a view
counted in the database (cells sum to the customers in the box, filters and the user's scope
apply, a sample when many), revenue weighted by the cube, the branches, and the drive-time
catchments (or the note naming the import that makes them possible)."""

from __future__ import annotations

from typing import Any

import pytest
import xarray as xr
from sqlalchemy import Connection, Engine, text

from gcrm.access import Principal, act_as
from gcrm.core import NotFoundError, Settings, ValidationError
from gcrm.cube import load_cube
from gcrm.maps import (
    branch_geojson,
    catchment_geojson,
    catchment_inputs,
    heat_in_view,
    revenue_per_customer,
)
from tests.maps.test_point_clusters import (  # noqa: F401 (fixtures)
    REGION,
    _count_in,
    grid,
    scoped,
)

#: Both districts of the seeded region (tests/maps/seed.py).
SEEDED_BOX = (24.90, 60.15, 24.98, 60.18)


def _total(heat: dict[str, Any]) -> float:
    return sum(f["properties"]["value"] for f in heat["features"])


def _cell_of(feature: dict[str, Any]) -> tuple[float, float, float, float]:
    ring = feature["geometry"]["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def test_heat_cells_sum_to_the_customers_in_the_box(grid: Connection) -> None:  # noqa: F811
    box = (24.905, 60.155, 24.915, 60.165)  # part of the grid
    heat = heat_in_view(grid, bbox=box, zoom=15)
    assert heat["sampled"] == 1
    assert len(heat["features"]) > 1
    assert _total(heat) == heat["total"] == _count_in(grid, box) > 0
    # Each cell is a square of the view's grid, coloured, with the legend's classes.
    west, south, east, north = _cell_of(heat["features"][0])
    assert west < east and south < north
    assert {f["properties"]["colour"] for f in heat["features"]} <= {c for c, _ in heat["legend"]}
    assert heat["title"].startswith("Customers per cell of ~")
    assert heat["cell_m"] > 0


def test_a_finer_zoom_makes_smaller_cells_with_the_same_total(grid: Connection) -> None:  # noqa: F811
    coarse = heat_in_view(grid, bbox=REGION, zoom=13)
    fine = heat_in_view(grid, bbox=REGION, zoom=16)
    assert fine["cell_m"] < coarse["cell_m"]
    assert len(fine["features"]) > len(coarse["features"])
    assert _total(fine) == _total(coarse) == _count_in(grid, REGION) == 400


def test_heat_follows_the_segment_and_period(grid: Connection) -> None:  # noqa: F811
    business = heat_in_view(grid, bbox=REGION, zoom=15, segment="business")
    assert _total(business) == _count_in(grid, REGION, "segment = 'business'") == 100
    # 2025: the 2025 sign-ups and those of 2024 not churned (rows i >= 5): 15 of 20 rows.
    in_2025 = heat_in_view(grid, bbox=REGION, zoom=15, period="2025")
    assert _total(in_2025) == 15 * 20


def test_a_view_of_many_customers_is_counted_on_a_sample(grid: Connection) -> None:  # noqa: F811
    grid.execute(text("ANALYZE gcrm.customer_records"))
    rows = grid.execute(
        text("SELECT reltuples FROM pg_class WHERE oid = 'gcrm.customer_records'::regclass")
    ).scalar_one()
    assert rows >= 400  # the planner counted the grid, so a sample has a size to aim at
    heat = heat_in_view(grid, bbox=REGION, zoom=15, exact_rows=300, sample_rows=100)
    assert heat["sampled"] == pytest.approx(100 / rows)
    assert "sample" in heat["title"]
    # Counts were scaled up by the share sampled; exact again when the view holds few.
    assert all(f["properties"]["value"] >= 1 / heat["sampled"] - 1 for f in heat["features"])
    assert heat_in_view(grid, bbox=REGION, zoom=15, exact_rows=400)["sampled"] == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"of": "profit"}, "of='profit' is not a heat"),
        ({"of": "revenue"}, "needs cube="),
        ({"bbox": (1, 2, 0, 3)}, "is not a box"),
        ({"period": "someday"}, "someday"),
    ],
)
def test_bad_heat_arguments_name_the_fix(
    conn: Connection, kwargs: dict[str, Any], match: str
) -> None:
    args: dict[str, Any] = {"bbox": REGION, "zoom": 14} | kwargs
    with pytest.raises(ValidationError, match=match):
        heat_in_view(conn, **args)


def test_revenue_heat_weights_customers_by_their_areas_revenue(region: xr.Dataset) -> None:
    per = revenue_per_customer(region, level="district", period="2025")
    # D01: 220.00 of C1 and C2 (churned in 2025, still on the books in it); D02: C3 alone.
    assert per.to_dict() == pytest.approx({"D01": 110.0, "D02": 750.5})


def test_revenue_heat_of_the_seeded_region(conn: Connection, region: xr.Dataset) -> None:
    heat = heat_in_view(conn, bbox=SEEDED_BOX, zoom=14, of="revenue", period="2025", cube=region)
    assert heat["of"] == "revenue"
    # C1 and C2 at 110.00 each (in one cell or two), C3 at 750.50: the cube's 2025 revenue.
    values = sorted(f["properties"]["value"] for f in heat["features"])
    assert values[-1] == pytest.approx(750.5)
    assert sum(values) == pytest.approx(970.5) == float(region["revenue"].sum())
    assert heat["title"].startswith("Revenue per cell of ~")


def test_branches_as_points_with_code_and_name(conn: Connection, region: xr.Dataset) -> None:
    branches = branch_geojson(conn)
    assert branches["features"] == [
        {
            "type": "Feature",
            "id": "B1",
            "geometry": {"type": "Point", "coordinates": [24.941, 60.169]},
            "properties": {"code": "B1", "name": "Central branch"},
        }
    ]


def test_catchments_without_roads_name_the_import(conn: Connection, region: xr.Dataset) -> None:
    with pytest.raises(NotFoundError, match="gcrm import roads"):
        catchment_geojson(conn)


#: A small street grid around the seeded branch (24.941, 60.169): 9 x 9 streets 200 m apart.
ROADS_SQL = """
INSERT INTO gcrm.roads (ref, class, speed_kmh, name, oneway, geom)
SELECT format('R%s-%s', d, i), 'residential', 30, NULL, false,
       CASE WHEN d = 0
            THEN ST_MakeLine(ST_SetSRID(ST_MakePoint(24.925, 60.161 + i * 0.0018), 4326),
                             ST_SetSRID(ST_MakePoint(24.957, 60.161 + i * 0.0018), 4326))
            ELSE ST_MakeLine(ST_SetSRID(ST_MakePoint(24.925 + i * 0.0036, 60.161), 4326),
                             ST_SetSRID(ST_MakePoint(24.925 + i * 0.0036, 60.1754), 4326)) END
FROM generate_series(0, 1) d, generate_series(0, 8) i
"""


def test_catchments_of_the_branches_on_the_roads(conn: Connection, region: xr.Dataset) -> None:
    before = catchment_inputs(conn)
    conn.execute(text(ROADS_SQL))
    assert catchment_inputs(conn) != before  # roads changed: computed again
    found = catchment_geojson(conn, minutes=(1, 2))
    assert [f["properties"]["minutes"] for f in found["features"]] == [2.0, 1.0]
    assert {f["properties"]["code"] for f in found["features"]} == {"B1"}
    assert all(f["geometry"]["type"] in {"Polygon", "MultiPolygon"} for f in found["features"])
    assert [text for _, text in found["legend"]] == ["≤ 1 min", "≤ 2 min"]
    # A branch that moves changes the stamp too.
    stamp = catchment_inputs(conn)
    conn.execute(
        text("UPDATE gcrm.branches SET geom = ST_SetSRID(ST_MakePoint(24.94, 60.17), 4326)")
    )
    assert catchment_inputs(conn) != stamp


@pytest.mark.parametrize(
    ("user", "customers", "revenue"), [("maija", 2, 220.0), ("olli", 1, 750.5)]
)
def test_a_manager_gets_the_heat_of_their_district_only(
    scoped: tuple[Engine, dict[str, Principal]],  # noqa: F811
    seeded: Settings,
    user: str,
    customers: int,
    revenue: float,
) -> None:
    engine, people = scoped
    cube = load_cube(seeded.cube_path)
    with act_as(people[user]), engine.connect() as conn:
        assert _total(heat_in_view(conn, bbox=SEEDED_BOX, zoom=14)) == customers
        # Their district's customers only, weighted by its revenue per customer.
        heat = heat_in_view(conn, bbox=SEEDED_BOX, zoom=14, of="revenue", cube=cube)
        assert _total(heat) == pytest.approx(revenue)
        # Branches are not scoped: every user sees them.
        assert len(branch_geojson(conn)["features"]) == 1


def test_without_a_principal_the_heat_is_empty(
    scoped: tuple[Engine, dict[str, Principal]],  # noqa: F811
) -> None:
    engine, _ = scoped
    with engine.connect() as conn:
        assert heat_in_view(conn, bbox=SEEDED_BOX, zoom=14)["features"] == []


def test_a_cell_centred_outside_every_area_takes_the_nearest(
    conn: Connection, region: xr.Dataset
) -> None:
    # At zoom 9 a cell is ~3.6 km wide: the seeded districts (2 x 1 km) fall in cells centred
    # outside both, whose customers still count, at the nearest district's revenue per
    # customer.
    args: dict[str, Any] = {"bbox": SEEDED_BOX, "zoom": 9, "period": "2025"}
    customers = {
        _cell_of(f): f["properties"]["value"] for f in heat_in_view(conn, **args)["features"]
    }
    revenue = heat_in_view(conn, of="revenue", cube=region, **args)
    assert sum(customers.values()) == 3
    for feature in revenue["features"]:
        per_customer = feature["properties"]["value"] / customers[_cell_of(feature)]
        assert round(per_customer, 2) in {110.0, 750.5}
    assert len(revenue["features"]) == len(customers)
