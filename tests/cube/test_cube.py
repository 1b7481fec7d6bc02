"""The cube against the database it was built from, on the demo region."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from sqlalchemy import Connection, text

from gcrm.core import NotFoundError, ValidationError
from gcrm.cube import (
    MEASURES,
    build_region_cube,
    children,
    load_cube,
    periods,
    rollup_period,
    save_cube,
    select_measure,
    time_series,
)


@pytest.fixture(scope="module")
def cube(demo) -> xr.Dataset:  # type: ignore[no-untyped-def]
    return load_cube(demo.cube_path)


def _levels(cube: xr.Dataset) -> list[str]:
    return sorted(set(cube["level"].values))


def test_revenue_and_orders_per_level_equal_the_database(
    cube: xr.Dataset, demo_conn: Connection
) -> None:
    for level in _levels(cube):
        revenue = select_measure(cube, "revenue", level=level).sum()
        orders = select_measure(cube, "orders", level=level).sum()
        db_revenue, db_orders = demo_conn.execute(
            text(
                "SELECT sum(o.amount)::float8, count(*) FROM gcrm.orders o "
                "JOIN gcrm.customers c ON c.external_id = o.customer_external_id "
                "WHERE c.area_codes ? :level"
            ),
            {"level": level},
        ).one()
        assert revenue == pytest.approx(db_revenue, abs=0.01), level
        assert orders == db_orders, level
    assert db_orders > 1000


def test_active_customers_at_each_year_end_equal_the_database(
    cube: xr.Dataset, demo_conn: Connection
) -> None:
    for year in ("2023", "2024", "2025"):
        for segment in ["all", *map(str, cube["segment"].values)]:
            active = select_measure(
                cube, "active", level="district", period=year, segment=segment
            ).sum()
            db_active = demo_conn.execute(
                text(
                    "SELECT count(*) FROM gcrm.customers WHERE area_codes ? 'district' "
                    "AND signup_date < make_date(:y + 1, 1, 1) "
                    "AND (churn_date IS NULL OR churn_date >= make_date(:y + 1, 1, 1)) "
                    "AND (:segment = 'all' OR segment = :segment)"
                ),
                {"y": int(year), "segment": segment},
            ).scalar_one()
            assert active == db_active, (year, segment)


def test_new_and_churned_in_a_quarter_equal_the_database(
    cube: xr.Dataset, demo_conn: Connection
) -> None:
    new = select_measure(cube, "new", level="postcode", period="2024-Q2").sum()
    churned = select_measure(cube, "churned", level="postcode", period="2024-Q2").sum()
    db_new, db_churned = demo_conn.execute(
        text(
            "SELECT count(*) FILTER (WHERE signup_date BETWEEN '2024-04-01' AND '2024-06-30'), "
            "count(*) FILTER (WHERE churn_date BETWEEN '2024-04-01' AND '2024-06-30') "
            "FROM gcrm.customers WHERE area_codes ? 'postcode'"
        )
    ).one()
    assert (new, churned) == (db_new, db_churned)


def test_static_measures_equal_the_database(cube: xr.Dataset, demo_conn: Connection) -> None:
    households = select_measure(cube, "households", level="district")
    db = dict(
        demo_conn.execute(
            text(
                "SELECT 'district:' || code, value FROM gcrm.area_stats WHERE level = 'district' AND measure = 'households'"
            )
        ).all()
    )
    assert households.to_dict() == pytest.approx(db)
    leads = select_measure(cube, "leads", level="district").sum()
    db_leads = demo_conn.execute(
        text("SELECT count(*) FROM gcrm.leads WHERE area_codes ? 'district'")
    ).scalar_one()
    assert leads == db_leads


def test_penetration_is_recomputed_not_summed(cube: xr.Dataset) -> None:
    active = select_measure(cube, "active", level="district", period="2025")
    households = select_measure(cube, "households", level="district")
    penetration = select_measure(cube, "penetration", level="district", period="2025")
    pd.testing.assert_series_equal(penetration, (active / households).rename("penetration"))
    region = time_series(cube, "penetration")
    assert region.iloc[-1] == pytest.approx(active.sum() / households.sum())


def test_drill_down_children_sum_to_no_more_than_parent(cube: xr.Dataset) -> None:
    district = str(select_measure(cube, "active", level="district").idxmax())
    kids = children(cube, district)
    assert kids and all(k.startswith("hex:") for k in kids)
    per_hex = select_measure(cube, "active", level="hex", parent=district)
    assert sorted(per_hex.index) == sorted(kids)
    # Hexes take their parent by centroid, so they can hold a few customers of a neighbour.
    total = select_measure(cube, "active", level="district")[district]
    assert per_hex.sum() == pytest.approx(total, rel=0.25)


def test_rollup_to_years_sums_flows_and_keeps_last_stock(cube: xr.Dataset) -> None:
    years = rollup_period(cube, "year")
    assert years.sizes["month"] == 3
    np.testing.assert_allclose(years["revenue"].sum(), cube["revenue"].sum())
    np.testing.assert_array_equal(years["active"].isel(month=-1), cube["active"].isel(month=-1))


def test_save_and_load_round_trip(cube: xr.Dataset, tmp_path: Path) -> None:
    path = save_cube(cube, tmp_path / "c.zarr")
    xr.testing.assert_identical(load_cube(path), cube)


def test_periods_and_errors_name_the_fix(cube: xr.Dataset) -> None:
    labels = periods(cube)
    assert labels[:3] == ["2023", "2024", "2025"] and "2025-Q4" in labels and "2025-12" in labels
    with pytest.raises(ValidationError, match="measure 'sales' unknown; expected one of"):
        select_measure(cube, "sales", level="district")
    with pytest.raises(ValidationError, match="use YYYY, YYYY-Qn or YYYY-MM"):
        select_measure(cube, "revenue", level="district", period="last year")
    with pytest.raises(ValidationError, match="outside the cube"):
        select_measure(cube, "revenue", level="district", period="2019")
    with pytest.raises(ValidationError, match="level 'county' unknown"):
        select_measure(cube, "revenue", level="county")
    with pytest.raises(NotFoundError, match="gcrm cube build"):
        load_cube(Path("/nonexistent/cube.zarr"))
    assert set(MEASURES) >= {
        "customers",
        "active",
        "churned",
        "revenue",
        "orders",
        "leads",
        "population",
        "households",
        "penetration",
    }


def test_precision_counts_cover_every_placed_customer(
    cube: xr.Dataset, demo_conn: Connection
) -> None:
    counts = cube["customers_by_precision"].where(cube["level"] == "district").sum("area")
    db = dict(
        demo_conn.execute(
            text(
                "SELECT geocode_precision, count(*) FROM gcrm.customers WHERE area_codes ? 'district' GROUP BY 1"
            )
        ).all()
    )
    assert {
        str(p): int(v) for p, v in zip(counts["precision"].values, counts.values, strict=True) if v
    } == db


def test_empty_database_cannot_build_a_cube(conn: Connection) -> None:
    with pytest.raises(NotFoundError, match="gcrm import areas"):
        build_region_cube(conn)


def test_area_profiles_are_in_the_cube(cube: xr.Dataset, demo_conn: Connection) -> None:
    from gcrm.areas import area_profiles

    profile = area_profiles(demo_conn, level="district").set_index("code")
    roads = select_measure(cube, "road_km", level="district")
    assert roads.rename(lambda a: a.split(":", 1)[1]).to_dict() == pytest.approx(
        profile["road_km"].to_dict()
    )
    share = select_measure(cube, "zoning_residential_share", level="district")
    assert ((share >= 0) & (share <= 1)).all()
    # Shares are not additive: the region's value is the area-weighted mean.
    region = time_series(cube, "zoning_residential_share").iloc[-1]
    area = select_measure(cube, "area_km2", level="district")
    assert region == pytest.approx(float((share * area).sum() / area.sum()))
