"""The dashboard's data shaping, as plain functions on a small cube and a real PostGIS."""

from __future__ import annotations

import math

import pytest
import xarray as xr
from sqlalchemy import Connection, text

from dashboard import panels as p
from dashboard import view as v
from dashboard.cache import filter_features
from dashboard.callbacks import MAX_ZOOM, zoom_in
from gcrm.areas import AreaLevel
from gcrm.core import NotFoundError, ValidationError
from gcrm.maps import area_geojson, point_geojson
from gcrm.maps.style import CUSTOMER_COLOUR

LEVELS = [
    AreaLevel("district", None, 1, "District"),
    AreaLevel("postcode", None, 1, "Postcode"),
    AreaLevel("hex", "district", 2, "Hexagon"),
]


# ------------------------------------------------------------------ view state


def test_view_transitions_drill_down_and_back_up(cube: xr.Dataset) -> None:
    view = v.initial_view(LEVELS, cube)
    assert view == {"level": "district", "parent": None, "selected": None}
    assert v.drill_down(view, LEVELS) == view  # nothing selected: nothing to drill into
    view = v.select_area(view, "district:a")
    assert v.scope_area(view) == "district:a"
    down = v.drill_down(view, LEVELS)
    assert down == {"level": "hex", "parent": "district:a", "selected": None}
    assert v.scope_area(down) == "district:a"
    assert v.breadcrumb(down, cube, region_name="Region") == [
        (None, "Region"),
        ("district:a", "Alppila"),
    ]
    assert v.go_up(down, cube) == view
    assert v.go_up(view, cube) == view  # already at the top
    # The breadcrumb: the region goes back to the top level with the district selected;
    # the district itself (the view's parent) is where the view already is.
    hex_selected = v.select_area(down, "hex:h2")
    assert v.go_to_crumb(hex_selected, cube, None) == view
    assert v.go_to_crumb(hex_selected, cube, "district:a") == hex_selected
    assert v.go_to_crumb(hex_selected, cube, "district:b") == hex_selected  # not on the path


def test_postcode_has_no_level_below() -> None:
    view = v.select_area(v.view_for_level("postcode"), "postcode:00100")
    assert v.child_level(LEVELS, "postcode") is None
    assert v.drill_down(view, LEVELS) == view


def test_unknown_area_names_the_argument(cube: xr.Dataset) -> None:
    with pytest.raises(NotFoundError, match="area='district:zz'"):
        v.area_label(cube, "district:zz", region_name="Region")


def test_options_come_from_levels_cube_and_measures(cube: xr.Dataset) -> None:
    assert [o["value"] for o in v.level_options(LEVELS, cube)] == ["district", "postcode", "hex"]
    assert [o["value"] for o in p.segment_options(cube)] == ["all", "business", "consumer"]
    periods = [o["value"] for o in p.period_options(cube)]
    assert periods[:2] == ["all", "2024"]
    assert "2024-Q2" in periods and "2024-06" in periods
    assert {"revenue", "customers", "penetration"} <= {o["value"] for o in p.measure_options()}


# ------------------------------------------------------------------ geometry from PostGIS


def test_read_area_geojson_gives_ids_and_names(area_conn: Connection, cube: xr.Dataset) -> None:
    collection = area_geojson(area_conn, level="hex")
    assert [f["id"] for f in collection["features"]] == ["hex:h1", "hex:h2", "hex:h3"]
    assert collection["features"][0]["properties"]["name"] == "Hex 1"
    assert collection["features"][0]["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    children = filter_features(collection, v.areas_in_view(cube, level="hex", parent="district:a"))
    assert [f["id"] for f in children["features"]] == ["hex:h1", "hex:h2"]


def test_read_area_geojson_unknown_level(area_conn: Connection) -> None:
    with pytest.raises(NotFoundError, match="level 'county' has no areas"):
        area_geojson(area_conn, level="county")


def test_points_geojson_rejects_unknown_kind(conn: Connection) -> None:
    with pytest.raises(ValidationError, match="kind='shops'"):
        point_geojson(conn, kind="shops")


# ------------------------------------------------------------------ panels from the cube


def test_measure_values_follow_the_view(cube: xr.Dataset) -> None:
    top = p.view_values(
        cube, v.view_for_level("district"), measure="revenue", period=None, segment="all"
    )
    # revenue = base x month number x segment factor; whole range sums months 1..6, segments 1+3.
    assert top.to_dict() == {"district:a": 40 * 21 * 4, "district:b": 100 * 21 * 4}
    view = {"level": "hex", "parent": "district:a", "selected": None}
    children = p.view_values(cube, view, measure="revenue", period="2024-06", segment="business")
    assert children.to_dict() == {"hex:h1": 10 * 6 * 1, "hex:h2": 30 * 6 * 1}


def test_table_rows_rank_children_of_the_selected_area(cube: xr.Dataset) -> None:
    view = v.select_area(v.view_for_level("district"), "district:a")
    level, parent, rows = p.table_rows(
        cube, view, LEVELS, measure="revenue", period=None, segment=None
    )
    assert (level, parent) == ("hex", "district:a")
    assert [r["name"] for r in rows] == ["Hex 2", "Hex 1"]
    assert rows[0]["share"] == "75.0%"


def test_table_rows_keep_the_selected_area_outside_the_top(cube: xr.Dataset) -> None:
    view = v.select_area(v.view_for_level("district"), "district:a")
    view = v.select_area(v.view_for_level("postcode"), "postcode:00100")
    _, _, rows = p.table_rows(
        cube, view, LEVELS, measure="revenue", period=None, segment=None, limit=1
    )
    assert [r["area"] for r in rows] == ["postcode:00100"]


def test_kpis_of_region_and_of_an_area(cube: xr.Dataset) -> None:
    region = p.kpi_values(cube, v.view_for_level("district"), period=None, segment=None)
    # customers is a stock: the last month (6), both segments (1 + 3).
    assert region["customers"] == (6 + 6) * 6 * 4
    assert region["revenue"] == 140 * 21 * 4
    assert region["penetration"] == pytest.approx((4 + 5) * 6 * 4 / 300)
    area = p.kpi_values(
        cube, v.select_area(v.view_for_level("district"), "district:b"), period=None, segment=None
    )
    assert area["active"] == 5 * 6 * 4
    assert area["penetration"] == pytest.approx(5 * 6 * 4 / 150)


def test_series_figure_is_titled_by_scope(cube: xr.Dataset) -> None:
    view = v.select_area(v.view_for_level("district"), "district:b")
    title, fig = p.series_figure(cube, view, measure="revenue", segment=None, region_name="Region")
    assert title.endswith("· Bulevardi")
    assert list(fig.data[0].y) == [100 * m * 4 for m in range(1, 7)]
    title, fig = p.series_figure(
        cube, v.view_for_level("district"), measure="revenue", segment=None, region_name="Region"
    )
    assert title.endswith("· Region")
    assert list(fig.data[0].y) == [140 * m * 4 for m in range(1, 7)]


# ------------------------------------------------------------------ geocode precision


def test_approximate_values_of_region_and_of_an_area(cube: xr.Dataset) -> None:
    region = p.approximate_values(cube, v.view_for_level("district"))
    assert region == {"approximate": 3.0, "approximate_share": pytest.approx(3 / 14)}
    a = p.approximate_values(cube, v.select_area(v.view_for_level("district"), "district:a"))
    assert a == {"approximate": 3.0, "approximate_share": pytest.approx(3 / 9)}
    drilled = {"level": "hex", "parent": "district:a", "selected": "hex:h2"}
    assert p.approximate_values(cube, drilled)["approximate_share"] == pytest.approx(2 / 4)
    old = cube.drop_vars("customers_by_precision")
    assert math.isnan(p.approximate_values(old, v.view_for_level("district"))["approximate"])


def test_kpi_card_placed_approximately(cube: xr.Dataset) -> None:
    values = p.kpi_values(cube, v.view_for_level("district"), period=None, segment=None)
    cards = {key: (label, text) for key, label, text in p.kpi_cards(values)}
    assert cards["approximate"] == ("Placed approximately", "3 customers (21.4%)")
    assert list(cards)[-1] == "approximate"
    b = p.kpi_values(
        cube, v.select_area(v.view_for_level("district"), "district:b"), period=None, segment=None
    )
    assert dict((k, t) for k, _, t in p.kpi_cards(b))["approximate"] == "0 customers (0.0%)"
    nan = {"approximate": float("nan"), "approximate_share": float("nan")}
    assert p.kpi_cards(nan) == [("approximate", "Placed approximately", "–")]


def test_approximate_share_on_the_choropleth(cube: xr.Dataset) -> None:
    assert "approximate_share" in [o["value"] for o in p.measure_options()]
    values = p.view_values(
        cube, v.view_for_level("district"), measure="approximate_share", period=None, segment=None
    )
    assert values.to_dict() == {"district:a": pytest.approx(1 / 3), "district:b": 0.0}
    items = p.legend_items(p.choropleth_classes(values), measure="approximate_share")
    assert items[0][1] == "0.0% – 16.7%" and items[-2][1] == "16.7% – 33.3%"
    title, fig = p.series_figure(
        cube,
        v.view_for_level("district"),
        measure="approximate_share",
        segment=None,
        region_name="Region",
    )
    assert title.startswith("Share of customers placed approximately")
    assert list(fig.data[0].y) == pytest.approx([3 / 14] * 6)


def test_point_colouring_by_precision() -> None:
    hideout = p.point_hideout("precision")
    assert hideout["kind"] == "customers" and hideout["colourBy"] == "precision"
    assert hideout["colors"]["rooftop"] == "#1a9850" and hideout["colors"]["none"] == "#a50026"
    assert p.point_hideout("none")["colors"] == {}
    assert [label for _, label in p.point_legend_items("precision")] == [
        "rooftop",
        "interpolated",
        "street",
        "postcode",
        "locality",
    ]
    assert p.point_legend_items("none") == [(CUSTOMER_COLOUR, "customer")]
    assert [o["value"] for o in p.point_colour_options()] == ["none", "precision"]
    with pytest.raises(ValidationError, match="colour_by='status' is not a point colouring"):
        p.point_hideout("status")


def test_customer_points_carry_geocode_precision(conn: Connection) -> None:
    conn.execute(
        text(
            "INSERT INTO gcrm.customer_records (external_id, name, segment, status, signup_date, geom, "
            "geocode_precision, geocode_score, geocode_source) VALUES "
            "('P1', 'Secret Name', 'retail', 'active', '2025-01-01', "
            " ST_SetSRID(ST_MakePoint(24.93, 60.16), 4326), 'interpolated', 0.6, 't')"
        )
    )
    collection = point_geojson(conn, kind="customers")
    props = collection["features"][0]["properties"]
    assert props == {"segment": "retail", "status": "active", "geocode_precision": "interpolated"}


def test_point_legend_component() -> None:
    from dashboard import layout as lay

    children = lay.point_legend("precision")
    assert children[0].children == "Customers by geocode precision"
    assert len(children) == 6


def test_map_bounds_become_the_view_box_and_clusters_zoom_in() -> None:
    # dash-leaflet reports [[south, west], [north, east]]; the library takes (w, s, e, n).
    assert v.map_bbox([[60.1, 24.9], [60.2, 25.0]]) == (24.9, 60.1, 25.0, 60.2)
    assert v.map_bbox(None) is None
    assert zoom_in(13.25) == 15.25
    assert zoom_in(18.5) == MAX_ZOOM
