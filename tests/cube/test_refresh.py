"""Refreshing a built cube: only what changed is recomputed, and the result is what a full
build gives."""

from __future__ import annotations

import json

import pytest
import xarray as xr
from sqlalchemy import Connection, text

from gcrm.cube import build_region_cube, refresh_region_cube
from gcrm.cube.build import read_fingerprints

MEASURES = ("customers", "active", "new", "churned", "revenue", "orders", "leads")


def _same_cells(a: xr.Dataset, b: xr.Dataset) -> None:
    for name in (*MEASURES, "customers_by_precision"):
        xr.testing.assert_allclose(a[name], b[name])


@pytest.fixture
def built(demo_conn: Connection) -> xr.Dataset:
    return build_region_cube(demo_conn)


def _a_month_and_customer(conn: Connection) -> tuple[str, str]:
    row = conn.execute(
        text(
            "SELECT to_char(order_date, 'YYYY-MM-15'), customer_external_id FROM gcrm.orders "
            "ORDER BY order_date DESC, order_id LIMIT 1 OFFSET 200"
        )
    ).one()
    return str(row[0]), str(row[1])


def test_the_build_and_the_tables_tell_the_same_fingerprints(
    demo_conn: Connection, built: xr.Dataset
) -> None:
    """The build reads its fingerprints with its cells; a refresh reads them from the tables
    alone: the same numbers, or every refresh would recompute what did not change."""
    stored = json.loads(built.attrs["fingerprints"])
    assert stored == read_fingerprints(demo_conn)
    assert len(stored["orders"]) == built.sizes["month"]


def test_nothing_changed_recomputes_nothing(demo_conn: Connection, built: xr.Dataset) -> None:
    fresh, report = refresh_region_cube(demo_conn, built)
    assert not report.full and report.months == () and not report.customers
    assert "nothing had changed" in report.summary()
    _same_cells(fresh, built)


def test_new_orders_refresh_their_month_only(demo_conn: Connection, built: xr.Dataset) -> None:
    day, customer = _a_month_and_customer(demo_conn)
    demo_conn.execute(
        text(
            "INSERT INTO gcrm.orders (order_id, customer_external_id, order_date, amount) "
            "VALUES ('T-1', :c, :d, 1234.50), ('T-2', :c, :d, 10)"
        ),
        {"c": customer, "d": day},
    )
    fresh, report = refresh_region_cube(demo_conn, built)
    assert not report.full
    assert report.months == (day[:7],) and not report.customers
    _same_cells(fresh, build_region_cube(demo_conn))
    # Counted once at each level where the customer has an area; the cube given is as it was.
    levels = demo_conn.execute(
        text(
            "SELECT count(*) FROM gcrm.customers c, jsonb_object_keys(c.area_codes) "
            "WHERE c.external_id = :c"
        ),
        {"c": customer},
    ).scalar_one()
    added = float(fresh["revenue"].sum() - built["revenue"].sum())
    assert levels > 0 and added == pytest.approx(1244.5 * levels)


def test_a_customer_who_moves_refreshes_every_month(
    demo_conn: Connection, built: xr.Dataset
) -> None:
    _day, customer = _a_month_and_customer(demo_conn)
    demo_conn.execute(
        text(
            "UPDATE gcrm.customer_enrichment SET area_codes = "
            "(SELECT area_codes FROM gcrm.customer_enrichment WHERE external_id <> :c "
            " AND area_codes <> (SELECT area_codes FROM gcrm.customer_enrichment "
            "                    WHERE external_id = :c) LIMIT 1) "
            "WHERE external_id = :c"
        ),
        {"c": customer},
    )
    fresh, report = refresh_region_cube(demo_conn, built)
    assert not report.full and len(report.months) == built.sizes["month"] and report.customers
    _same_cells(fresh, build_region_cube(demo_conn))


def test_a_new_customer_refreshes_the_counts_and_every_month(
    demo_conn: Connection, built: xr.Dataset
) -> None:
    demo_conn.execute(
        text(
            "INSERT INTO gcrm.customer_records (external_id, name, segment, status, signup_date, "
            "geom, geocode_precision, geocode_score, geocode_source) "
            "SELECT 'T-NEW', 'Test', segment, 'active', signup_date, geom, geocode_precision, "
            "geocode_score, geocode_source FROM gcrm.customer_records "
            "WHERE external_id = (SELECT min(external_id) FROM gcrm.customer_records)"
        )
    )
    demo_conn.execute(
        text(
            "INSERT INTO gcrm.customer_enrichment (external_id, geom, area_codes) "
            "SELECT 'T-NEW', geom, area_codes FROM gcrm.customer_enrichment "
            "WHERE external_id = (SELECT min(external_id) FROM gcrm.customer_records)"
        )
    )
    fresh, report = refresh_region_cube(demo_conn, built)
    assert not report.full and len(report.months) == built.sizes["month"] and report.customers
    assert int(fresh["customers"].isel(month=-1).sum()) > int(
        built["customers"].isel(month=-1).sum()
    )
    _same_cells(fresh, build_region_cube(demo_conn))


def test_orders_beyond_the_cube_rebuild_it(demo_conn: Connection, built: xr.Dataset) -> None:
    _day, customer = _a_month_and_customer(demo_conn)
    demo_conn.execute(
        text(
            "INSERT INTO gcrm.orders (order_id, customer_external_id, order_date, amount) "
            "SELECT 'T-LATE', :c, max(order_date) + 62, 5 FROM gcrm.orders"
        ),
        {"c": customer},
    )
    fresh, report = refresh_region_cube(demo_conn, built)
    assert report.full and "the data now spans" in report.reason
    assert fresh.sizes["month"] > built.sizes["month"]


def test_a_cube_without_fingerprints_is_rebuilt(demo_conn: Connection, built: xr.Dataset) -> None:
    old = built.copy()
    del old.attrs["fingerprints"]
    _fresh, report = refresh_region_cube(demo_conn, old)
    assert report.full and "before incremental refreshes" in report.summary()
