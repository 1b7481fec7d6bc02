"""The Prospecting page's plain functions (dashboard.prospecting.model, .callbacks.shown)
and the app picking the page by path, without a browser."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import Point, box, mapping, shape

from dashboard.prospecting import model as pm
from dashboard.prospecting.callbacks import shown
from gcrm.core import ValidationError

ORIGIN = {"lon": 24.9469, "lat": 60.1690}


def _controls(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "origin_kind": "address",
        "origin_text": "Aleksanterinkatu 11",
        "branch": None,
        "click": None,
        "mode": "radius",
        "radius_m": 500,
        "minutes": 5,
        "area": None,
        "drawn": None,
        "categories": None,
        "zoning": None,
        "min_score": None,
        "customers": None,
    }
    return base | changes


def _drawn(*polygons: Any) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": mapping(p), "properties": {}} for p in polygons
        ],
    }


def test_search_of_controls_reads_only_what_the_mode_needs() -> None:
    search = pm.search_of_controls(**_controls(categories=["cafe"], zoning=["commercial"]))
    assert search["origin"] == {"kind": "address", "value": "Aleksanterinkatu 11"}
    assert (search["radius_m"], search["minutes"], search["polygon"]) == (500.0, None, None)
    assert search["categories"] == ["cafe"] and search["zoning"] == ["commercial"]
    assert search["customers"] == "exclude"  # as gcrm.leads: customers are not prospects
    drive = pm.search_of_controls(**_controls(mode="drive", minutes="7.5"))
    assert (drive["radius_m"], drive["minutes"]) == (None, 7.5)
    clicked = pm.search_of_controls(**_controls(origin_kind="click", click=ORIGIN))
    assert clicked["origin"]["value"] == [ORIGIN["lon"], ORIGIN["lat"]]
    branch = pm.search_of_controls(**_controls(origin_kind="branch", branch="B01"))
    assert branch["origin"] == {"kind": "branch", "value": "B01"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"origin_text": "  "}, "needs an origin: type an address"),
        ({"origin_kind": "click"}, "needs an origin: click on the map"),
        ({"origin_kind": "branch", "mode": "drive"}, "drive time search needs an origin"),
        ({"radius_m": -5}, "radius=-5 must be a positive number"),
        ({"mode": "drive", "minutes": "soon"}, "minutes='soon' must be a positive number"),
        ({"mode": "area"}, "needs an area"),
        ({"mode": "polygon"}, "needs a polygon: draw one"),
        ({"min_score": 3}, "min score=3 must be a number from 0 to 1"),
        ({"customers": "maybe"}, "customers='maybe' must be one of"),
        ({"mode": "walk"}, "mode='walk' is not a way to search"),
    ],
)
def test_search_of_controls_says_what_to_set(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        pm.search_of_controls(**_controls(**changes))


def test_polygon_and_area_searches_need_no_origin() -> None:
    square = box(24.94, 60.16, 24.95, 60.17)
    search = pm.search_of_controls(
        **_controls(origin_text="", mode="polygon", drawn=_drawn(square))
    )
    assert search["origin"]["value"] is None
    assert shape(search["polygon"]).equals(square)
    area = pm.search_of_controls(**_controls(origin_text=None, mode="area", area="district:D05"))
    assert area["area"] == "district:D05"


def test_drawn_polygon_is_the_union_of_the_shapes_drawn() -> None:
    a, b = box(0, 0, 2, 2), box(1, 1, 3, 3)
    union = pm.drawn_polygon(_drawn(a, b))
    assert union is not None and union.area == pytest.approx(7.0)
    line = {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}
    assert pm.drawn_polygon({"features": [line]}) is None
    assert pm.drawn_polygon(None) is None


def test_circle_is_geodesic_radius_around_origin() -> None:
    circle = pm.circle_geojson(ORIGIN["lon"], ORIGIN["lat"], 750.0)
    ring = np.asarray(circle["coordinates"][0])
    assert ring[0].tolist() == ring[-1].tolist()
    _, _, metres = Geod(ellps="WGS84").inv(
        np.full(len(ring), ORIGIN["lon"]), np.full(len(ring), ORIGIN["lat"]), ring[:, 0], ring[:, 1]
    )
    assert np.allclose(metres, 750.0, atol=0.01)


def _leads(**extra: list[Any]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(
        {
            "rank": [1, 2],
            "external_id": ["osm:1", "osm:2"],
            "name": ["Cafe <b>One</b>", None],
            "category": ["cafe", "pub"],
            "zoning_class": ["commercial", None],
            "distance_m": [12.4, 480.6],
            **extra,
        }
    )
    return gpd.GeoDataFrame(
        frame, geometry=[Point(24.94, 60.16), Point(24.95, 60.17)], crs="EPSG:4326"
    )


def test_rows_and_columns_without_a_score_say_how_to_score() -> None:
    leads = _leads()
    ids = [c["id"] for c in pm.result_columns(leads)]
    assert ids == ["rank", "name", "category", "zoning_class", "distance_m", "score"]
    rows = pm.result_rows(leads)
    assert rows[0] == {
        "id": "osm:1",
        "rank": 1,
        "name": "Cafe <b>One</b>",
        "category": "cafe",
        "zoning_class": "commercial",
        "distance_m": 12.0,
        "score": pm.NOT_SCORED,
    }
    assert rows[1]["name"] == "" and rows[1]["zoning_class"] == ""
    assert "gcrm leads score" in pm.score_note(leads, None)


def test_rows_with_score_drive_time_and_reasons() -> None:
    leads = _leads(
        drive_time_s=[95.0, 300.0],
        score=[0.8123, 0.1],
        percentile=[97.0, 12.0],
        reasons=[["8 min from branch B03", "a cafe like 40 customers"], None],
    )
    ids = [c["id"] for c in pm.result_columns(leads)]
    assert ids[-5:] == ["drive_min", "distance_m", "score", "percentile", "reasons"]
    first, second = pm.result_rows(leads)
    assert (first["drive_min"], first["score"], first["percentile"]) == (1.6, 0.812, 97.0)
    assert first["reasons"] == "8 min from branch B03; a cafe like 40 customers"
    assert second["reasons"] == ""


def test_backtest_note_states_the_figures_against_baselines() -> None:
    backtest = {
        "auc": 0.7412,
        "recall_top10": 0.31,
        "baselines": {"random": {"auc": 0.5}, "distance": {"auc": 0.61}},
    }
    note = pm.score_note(_leads(score=[0.5, 0.4]), backtest)
    assert note == (
        "This score ranked last year's new customers with AUC 0.74 (top 10 % found 31 % of "
        "them); random 0.50, distance 0.61."
    )
    worse = backtest | {"auc": 0.6, "recall_top10": None}
    assert pm.backtest_note(worse) == (
        "This score ranked last year's new customers with AUC 0.60; random 0.50, distance "
        "0.61. It ranks no better than distance here."
    )
    assert "No backtest" in pm.backtest_note(None)
    assert "No backtest" in pm.backtest_note({"auc": None, "baselines": {}})


def test_lead_features_mark_the_selected_and_carry_text_tooltips() -> None:
    layer = pm.lead_features(_leads(), selected=["osm:2"])
    first, second = layer["features"]
    assert first["geometry"]["coordinates"] == [24.94, 60.16]
    assert first["properties"] == {
        "id": "osm:1",
        "rank": 1,
        "tooltip": "1. Cafe <b>One</b>",
        "selected": False,
    }
    assert second["properties"]["selected"] is True


def test_with_distance_from_ranks_by_geodesic_distance() -> None:
    leads = _leads().iloc[::-1].reset_index(drop=True)
    ranked = pm.with_distance_from(leads, 24.95, 60.17)
    assert ranked["external_id"].tolist() == ["osm:2", "osm:1"]
    assert ranked["rank"].tolist() == [1, 2]
    assert ranked["distance_m"].iloc[0] == pytest.approx(0.0, abs=1e-6)
    assert ranked["distance_m"].iloc[1] == pytest.approx(1241.0, abs=5.0)


def test_route_rows_in_visit_order() -> None:
    plan = pd.DataFrame(
        {
            "stop": [1, 2],
            "external_id": ["osm:2", "osm:1"],
            "name": ["Pub", "Cafe"],
            "arrival": pd.to_datetime(["2026-12-01 08:04", "2026-12-01 08:31"]),
            "drive_time_s": [240.0, 90.0],
        }
    )
    assert pm.route_rows(plan) == [
        {"stop": 1, "id": "osm:2", "name": "Pub", "arrival": "08:04", "drive_min": 4.0},
        {"stop": 2, "id": "osm:1", "name": "Cafe", "arrival": "08:31", "drive_min": 1.5},
    ]


def test_link_round_trip() -> None:
    search = pm.search_of_controls(
        **_controls(mode="drive", minutes=12, categories=["cafe", "pub"], zoning=["mixed"])
    )
    query = pm.query_of_search(search)
    assert query.startswith("?origin=address&at=Aleksanterinkatu+11&mode=drive&minutes=12")
    assert pm.search_of_query(query) == {
        "origin_kind": "address",
        "origin_text": "Aleksanterinkatu 11",
        "mode": "drive",
        "minutes": 12.0,
        "categories": ["cafe", "pub"],
        "zoning": ["mixed"],
    }
    clicked = pm.search_of_controls(**_controls(origin_kind="click", click=ORIGIN))
    back = pm.search_of_query(pm.query_of_search(clicked))
    assert back["click"] == pytest.approx(ORIGIN) and back["radius_m"] == 500.0
    assert "min_score" not in back and "customers" not in back  # defaults stay out
    scored = pm.search_of_controls(**_controls(min_score=0.7, customers="include"))
    query = pm.query_of_search(scored)
    assert query.endswith("&min_score=0.7&customers=include")
    back = pm.search_of_query(query)
    assert back["min_score"] == 0.7 and back["customers"] == "include"
    assert pm.search_of_query("?min_score=3&customers=everyone") == {}


def test_a_link_runs_only_a_whole_search() -> None:
    def runs(query: str) -> bool:
        return pm.link_runs(pm.search_of_query(query))

    assert runs("?origin=branch&at=B01&mode=drive&minutes=5")
    assert runs("?origin=address&mode=area&area=district:D05")
    assert not runs("?origin=address&mode=radius&category=cafe")  # no origin yet
    assert not runs("?origin=address&mode=polygon")  # a polygon is drawn, never linked
    assert not runs("?origin=click&at=24.9,60.1")  # no mode


def test_a_wrong_link_falls_back_to_the_defaults() -> None:
    assert pm.search_of_query("?origin=moon&mode=teleport&radius=-1&minutes=x") == {}
    assert pm.search_of_query("?origin=click&at=999,1") == {"origin_kind": "click"}
    assert pm.search_of_query(None) == {}


def test_controls_shown_follow_origin_and_mode() -> None:
    visible = {k for k, style in shown("branch", "area").items() if not style}
    assert visible == {"pr-branch-control", "pr-area-control"}
    visible = {k for k, style in shown(None, None).items() if not style}
    assert visible == {"pr-origin-text-control", "pr-radius-control"}


def test_sort_rows_numbers_as_numbers_text_folded_empty_last() -> None:
    rows = [
        {"id": "a", "name": "beta", "score": 0.2},
        {"id": "b", "name": "Alpha", "score": None},
        {"id": "c", "name": "", "score": 0.9},
        {"id": "d", "name": "gamma", "score": 0.25},
    ]
    assert [r["id"] for r in pm.sort_rows(rows, by=None)] == ["a", "b", "c", "d"]
    assert [r["id"] for r in pm.sort_rows(rows, by="score")] == ["a", "d", "c", "b"]
    assert [r["id"] for r in pm.sort_rows(rows, by="score", descending=True)] == [
        "c",
        "d",
        "a",
        "b",
    ]
    assert [r["id"] for r in pm.sort_rows(rows, by="name")] == ["b", "a", "d", "c"]


def test_next_sort_and_toggle() -> None:
    first = pm.next_sort(None, "score")
    assert first == {"by": "score", "desc": False}
    assert pm.next_sort(first, "score") == {"by": "score", "desc": True}
    assert pm.next_sort({"by": "score", "desc": True}, "name") == {"by": "name", "desc": False}
    assert pm.toggle(["a"], "b") == ["a", "b"]
    assert pm.toggle(["a", "b"], "a") == ["b"]


def test_lead_table_marks_sort_and_selection() -> None:
    from dashboard.prospecting.layout import lead_table

    columns = [{"id": "rank", "name": "#"}, {"id": "name", "name": "Name"}]
    rows = [
        {"id": "osm:1", "rank": 1, "name": "<b>x</b>"},
        {"id": "osm:2", "rank": 2, "name": None},
    ]
    table = lead_table(columns, rows, sort={"by": "name", "desc": True}, selected=["osm:2"])
    head, body = table.children
    buttons = [th.children for th in head.children.children[1:]]
    assert [b.children for b in buttons] == ["#", "Name ▼"]
    first, second = body.children
    assert first.className == "pr-row" and second.className == "pr-row selected"
    assert first.children[0].children == "☐" and second.children[0].children == "☑"
    assert first.children[2].children == "<b>x</b>"  # text: Dash never parses it as markup
    assert second.children[2].children == ""


def test_page_of_clamps_to_the_pages_there_are() -> None:
    rows = [{"id": str(i)} for i in range(120)]
    first, page, pages = pm.page_of(rows, None)
    assert (len(first), page, pages) == (pm.PAGE_SIZE, 0, 3)
    last, page, _ = pm.page_of(rows, 7)
    assert (page, [r["id"] for r in last]) == (2, [str(i) for i in range(100, 120)])
    assert pm.page_of([], 3) == ([], 0, 1)
