"""The map's campaign layer (issue 12): the pure parts (options, colours, tooltips, the link),
then a campaign made and answered on the demo region, chosen in a real headless Chromium:
its areas coloured by response rate and uplift, the legend and tooltips reading the figures
gcrm.campaigns.campaign_results gives as the owner."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.wait import WebDriverWait

from dashboard import create_app
from dashboard.campaign_layer import (
    NO_CAMPAIGN,
    campaign_layer,
    campaign_options,
    campaign_tooltip,
)
from dashboard.link import CONTROLS, query_of_state, state_of_query
from gcrm.areas import AreaLevel
from gcrm.campaigns import OVERALL, RESULT_COLUMNS, campaign_results
from gcrm.core import ValidationError
from gcrm.cube import load_cube
from gcrm.maps import format_value
from gcrm.maps.style import DIVERGING_PALETTE, NO_DATA_COLOUR
from tests.dashboard.conftest import DEMO_CAMPAIGN

LEVELS = [
    AreaLevel("district", None, 1, "District"),
    AreaLevel("postcode", None, 1, "Postcode"),
    AreaLevel("hex", "district", 2, "Hexagon"),
]


def _results() -> pd.DataFrame:
    """Results at the district level of the small cube: a has 100 targets (20 responded)
    and 20 controls (2), b 50 targets (5) and no controls; then the overall row."""
    rows = [
        ("district:a", "a", "Alppila", 100, 20, 20, 2),
        ("district:b", "b", "Bulevardi", 50, 0, 5, 0),
        (OVERALL, None, "All areas", 150, 20, 25, 2),
    ]
    frame = pd.DataFrame(
        [
            {
                "area": area,
                "code": code,
                "name": name,
                "targets": t,
                "controls": c,
                "target_responders": tr,
                "control_responders": cr,
                "target_rate": tr / t,
                "control_rate": cr / c if c else np.nan,
                "uplift": tr / t - cr / c if c else np.nan,
                "uplift_low": tr / t - cr / c - 0.1 if c else np.nan,
                "uplift_high": tr / t - cr / c + 0.1 if c else np.nan,
            }
            for area, code, name, t, c, tr, cr in rows
        ]
    ).reindex(columns=list(RESULT_COLUMNS))
    frame.attrs.update(campaign="Spring", level="district", confidence=0.95)
    return frame


def test_options_list_campaigns_with_members_in_scope() -> None:
    listed = pd.DataFrame(
        {"id": [3, 2, 1], "name": ["C", "B", "A"], "targets": [90, 0, 1200], "controls": [10, 0, 0]}
    )
    assert campaign_options(listed) == [
        {"label": "None", "value": NO_CAMPAIGN},
        {"label": "C (90 targets)", "value": "3"},
        {"label": "A (1,200 targets)", "value": "1"},
    ]


def test_rate_colours_areas_and_the_tooltip_reads_both_groups(cube: xr.Dataset) -> None:
    layer = campaign_layer(_results(), cube, ["district:a", "district:b"], of="rate")
    assert set(layer.colours) == {"district:a", "district:b"}
    assert len(set(layer.colours.values())) == 2  # 20 % and 10 %: two classes
    assert layer.title == "Campaign Spring · response rate of targets"
    assert layer.note.startswith(
        "All areas: targets 16.7% of 150, controls 10.0% of 20, uplift +6.7% (95%: "
    )
    assert layer.tooltips["district:a"] == (
        "Alppila\nTargets: 100 (20 responded, 20.0%)\nControls: 20 (2 responded, 10.0%)\n"
        "Uplift: +10.0% (95%: +0.0% to +20.0%)"
    )
    assert "Controls: 0 (0 responded, –)" in layer.tooltips["district:b"]


def test_uplift_is_diverging_and_areas_without_controls_have_no_colour(
    cube: xr.Dataset,
) -> None:
    layer = campaign_layer(_results(), cube, ["district:a", "district:b"], of="uplift")
    assert layer.colours["district:b"] == NO_DATA_COLOUR
    assert layer.colours["district:a"] in DIVERGING_PALETTE
    assert layer.classes.breaks[0] == pytest.approx(-layer.classes.breaks[-1])
    assert "uplift" in layer.title


def test_areas_of_the_view_without_members_say_so(cube: xr.Dataset) -> None:
    layer = campaign_layer(_results(), cube, ["hex:h1"], of="rate")
    assert layer.colours == {"hex:h1": NO_DATA_COLOUR}
    assert layer.tooltips == {"hex:h1": campaign_tooltip("Hex 1", None)}
    assert campaign_tooltip("Hex 1", None) == "Hex 1\nNo campaign member here"
    with pytest.raises(ValidationError, match="of='revenue' is not what a campaign colours by"):
        campaign_layer(_results(), cube, ["district:a"], of="revenue")


def test_the_link_keeps_a_campaign_the_user_may_choose(cube: xr.Dataset) -> None:
    view = {"level": "district", "parent": None, "selected": None}
    controls = CONTROLS | {"campaign": "7", "campaign_by": "uplift"}
    query = query_of_state(view, controls)
    assert query == "?level=district&campaign=7&campaign_by=uplift"
    assert state_of_query(query, levels=LEVELS, ds=cube, campaigns=["7"]) == (view, controls)
    # A campaign the user does not see (or no longer exists): none.
    _, kept = state_of_query(query, levels=LEVELS, ds=cube, campaigns=["8"])
    assert kept["campaign"] == NO_CAMPAIGN and kept["campaign_by"] == "uplift"


# ------------------------------------------------------------------ in the browser

PROP = """
    var state = window.store.getState();
    var path = state.paths.strs[arguments[0]];
    if (!path) { return null; }
    var node = state.layout;
    for (var i = 0; i < path.length; i++) { node = node[path[i]]; }
    var value = node.props[arguments[1]];
    return value === undefined ? null : JSON.stringify(value);
"""


def _prop(dash_duo, cid: str, prop: str) -> Any:  # type: ignore[no-untyped-def]
    found = dash_duo.driver.execute_script(PROP, cid, prop)
    return None if found is None else json.loads(found)


def _until(dash_duo, condition: Callable[[Any], Any], *, msg: str, timeout: float = 30) -> Any:  # type: ignore[no-untyped-def]
    wait = WebDriverWait(
        dash_duo.driver, timeout, ignored_exceptions=[StaleElementReferenceException]
    )
    return wait.until(condition, message=msg)


def _legend_title(dash_duo) -> str:  # type: ignore[no-untyped-def]
    found = dash_duo.find_elements("#legend-title")
    return found[0].text if found else ""


@pytest.mark.browser
def test_a_campaign_colours_the_map_by_its_rates(dash_duo, demo, demo_campaign) -> None:  # type: ignore[no-untyped-def]
    load_cube(demo.cube_path)  # zarr's I/O thread older than the server
    with demo.engine.connect() as conn:
        expected = campaign_results(conn, demo_campaign.id, level="district")
    per_area = expected[expected["area"] != OVERALL].set_index("area")
    overall = expected[expected["area"] == OVERALL].iloc[0]
    assert overall["target_responders"] > 0 and overall["control_responders"] > 0
    assert len(per_area) > 1
    app = create_app(demo.settings.model_copy(update={"auth": "off"}))
    dash_duo.driver.set_window_size(1440, 1300)
    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#legend-title", "Revenue · whole range", timeout=20)

    # Choose the campaign in the sidebar: the areas take its response rates.
    dash_duo.select_dcc_dropdown(
        "#campaign", f"{DEMO_CAMPAIGN} ({demo_campaign.targets:,} targets)"
    )
    title = f"Campaign {DEMO_CAMPAIGN} · response rate of targets"
    _until(dash_duo, lambda _d: _legend_title(dash_duo) == title, msg="no campaign legend")
    note = dash_duo.find_element("#legend-note").text
    assert note.startswith(
        f"All areas: targets {format_value(overall['target_rate'], unit='share')} of "
        f"{int(overall['targets']):,}, controls "
        f"{format_value(overall['control_rate'], unit='share')} of {int(overall['controls']):,}"
    )
    hideout = _prop(dash_duo, "areas", "hideout")
    for area, row in per_area.iterrows():
        assert hideout["colors"][area] != NO_DATA_COLOUR, area
        tip = hideout["tooltips"][area].splitlines()
        assert tip[1] == (
            f"Targets: {int(row['targets']):,} ({int(row['target_responders']):,} responded, "
            f"{format_value(row['target_rate'], unit='share')})"
        )
    # Areas with higher rates are not lighter: the legend's classes follow the rates.
    rates = per_area["target_rate"].astype(float)
    assert len({hideout["colors"][a] for a in per_area.index}) > 1 or rates.nunique() == 1
    fills = {p.get_attribute("fill") for p in dash_duo.find_elements("path.gcrm-area")}
    assert fills & {hideout["colors"][a] for a in per_area.index}

    # Uplift instead: diverging colours, and the link says so.
    dash_duo.find_element("#campaign-by input[value='uplift']").click()
    _until(
        dash_duo,
        lambda _d: _legend_title(dash_duo).endswith("uplift (targets' rate - controls')"),
        msg="the legend did not turn to uplift",
    )
    colours = _prop(dash_duo, "areas", "hideout")["colors"]
    with_uplift = per_area.index[np.isfinite(per_area["uplift"].astype(float))]
    assert {colours[a] for a in with_uplift} <= set(DIVERGING_PALETTE)
    query = parse_qs(urlsplit(dash_duo.driver.current_url).query)
    assert query["campaign"] == [str(demo_campaign.id)] and query["campaign_by"] == ["uplift"]

    # The link opens on the same layer; "None" brings the measure back.
    dash_duo.driver.get(dash_duo.driver.current_url)
    _until(
        dash_duo,
        lambda _d: _legend_title(dash_duo).startswith(f"Campaign {DEMO_CAMPAIGN}"),
        msg="the link did not open on the campaign layer",
    )
    dash_duo.select_dcc_dropdown("#campaign", "None")
    dash_duo.wait_for_text_to_equal("#legend-title", "Revenue · whole range", timeout=20)
