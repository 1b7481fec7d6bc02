"""The view in the page's link (dashboard.link), on the small cube."""

from __future__ import annotations

import xarray as xr

from dashboard.link import CONTROLS, query_of_state, state_of_query
from dashboard.view import click_area
from gcrm.areas import AreaLevel

LEVELS = [
    AreaLevel("district", None, 1, "District"),
    AreaLevel("postcode", None, 1, "Postcode"),
    AreaLevel("hex", "district", 2, "Hexagon"),
]


def test_round_trip_of_a_view_and_its_controls(cube: xr.Dataset) -> None:
    view = {"level": "hex", "parent": "district:a", "selected": "hex:h2"}
    controls = CONTROLS | {
        "measure": "active",
        "period": "2024-Q2",
        "compare": "previous",
        "segment": "business",
        "points": ["customers", "leads"],
        "hotspots": True,
        "method": "moran",
    }
    query = query_of_state(view, controls)
    assert query == (
        "?level=hex&parent=district:a&area=hex:h2&measure=active&period=2024-Q2"
        "&compare=previous&segment=business&points=customers,leads&hotspots=on&method=moran"
    )
    assert state_of_query(query, levels=LEVELS, ds=cube) == (view, controls)


def test_defaults_are_left_out_and_no_points_is_said(cube: xr.Dataset) -> None:
    view = {"level": "district", "parent": None, "selected": None}
    assert query_of_state(view, CONTROLS) == "?level=district"
    query = query_of_state(view, CONTROLS | {"points": []})
    assert query == "?level=district&points=none"
    assert state_of_query(query, levels=LEVELS, ds=cube)[1]["points"] == []
    assert state_of_query("", levels=LEVELS, ds=cube) == (view, CONTROLS)


def test_invalid_values_fall_back_to_defaults(cube: xr.Dataset) -> None:
    # An unknown level: the whole default view.
    view, controls = state_of_query(
        "?level=county&measure=x&period=1999&compare=lastweek&segment=&scheme=y&hotspots=1"
        "&method=lisa",
        levels=LEVELS,
        ds=cube,
    )
    assert view == {"level": "district", "parent": None, "selected": None}
    assert controls == CONTROLS
    # A parent of the wrong level, and an area outside it, are dropped one by one.
    view, _ = state_of_query("?level=hex&parent=hex:h1&area=hex:h3", levels=LEVELS, ds=cube)
    assert view == {"level": "hex", "parent": None, "selected": "hex:h3"}
    view, _ = state_of_query("?level=hex&parent=district:a&area=hex:h3", levels=LEVELS, ds=cube)
    assert view == {"level": "hex", "parent": "district:a", "selected": None}


def test_a_click_selects_and_a_second_click_drills_in() -> None:
    view = {"level": "district", "parent": None, "selected": None}
    once = click_area(view, "district:a", LEVELS)
    assert once == {"level": "district", "parent": None, "selected": "district:a"}
    assert click_area(once, "district:b", LEVELS)["selected"] == "district:b"
    assert click_area(once, "district:a", LEVELS) == {
        "level": "hex",
        "parent": "district:a",
        "selected": None,
    }
    postcode = {"level": "postcode", "parent": None, "selected": "postcode:00100"}
    assert click_area(postcode, "postcode:00100", LEVELS) == postcode  # nothing below


def test_map_layers_and_the_heat_round_trip_in_checklist_order(cube: xr.Dataset) -> None:
    view = {"level": "district", "parent": None, "selected": None}
    controls = CONTROLS | {"layers": ["catchments", "branches", "heat"], "heat": "revenue"}
    query = query_of_state(view, controls)
    assert query == "?level=district&layers=branches,heat,catchments&heat=revenue"
    expected = controls | {"layers": ["branches", "heat", "catchments"]}
    assert state_of_query(query, levels=LEVELS, ds=cube) == (view, expected)
    # No layer is the default, and left out; unknown layers and heats are dropped.
    assert query_of_state(view, CONTROLS | {"layers": []}) == "?level=district"
    _, asked = state_of_query(
        "?level=district&layers=branches,tiles&heat=profit", levels=LEVELS, ds=cube
    )
    assert asked["layers"] == ["branches"]
    assert asked["heat"] == "customers"


def test_channel_and_branch_ride_in_the_link(cube: xr.Dataset) -> None:
    view = {"level": "district", "parent": None, "selected": None}
    controls = CONTROLS | {"channel": "web"}
    query = query_of_state(view, controls)
    assert query == "?level=district&channel=web"
    assert state_of_query(query, levels=LEVELS, ds=cube) == (view, controls)
    by_branch = CONTROLS | {"branch": "B01"}
    assert state_of_query(query_of_state(view, by_branch), levels=LEVELS, ds=cube)[1] == by_branch
    # A channel or branch the cube does not have: every one.
    _, controls = state_of_query("?level=district&channel=fax&branch=B99", levels=LEVELS, ds=cube)
    assert controls["channel"] == "all" and controls["branch"] == "all"
