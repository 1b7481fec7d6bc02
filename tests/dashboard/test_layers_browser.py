"""The map's extra layers in a real headless Chromium on the demo region: each box of the
sidebar's "Layers" draws its layer (branch markers, heat cells, catchment bands or the note
naming the fix), the heat follows "Heat of", and the link carries what is shown."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import text

from dashboard import create_app
from gcrm.cube import load_cube

pytestmark = pytest.mark.browser

BRANCHES = ".gcrm-branch"
HEAT_CELLS = "path.gcrm-heat-cell"
CATCHMENTS = "path.gcrm-catchment"


def _until(dash_duo, condition, *, msg: str, timeout: float = 60) -> Any:  # type: ignore[no-untyped-def]
    wait = WebDriverWait(
        dash_duo.driver, timeout, ignored_exceptions=[StaleElementReferenceException]
    )
    return wait.until(condition, message=msg)


def _toggle(dash_duo, layer: str) -> None:  # type: ignore[no-untyped-def]
    dash_duo.find_element(f"#map-layers input[value='{layer}']").click()


def test_each_layer_is_drawn_when_its_box_is_ticked(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    with demo.engine.connect() as conn:
        branches = conn.execute(text("SELECT count(*) FROM gcrm.branches")).scalar_one()
        roads = conn.execute(text("SELECT count(*) FROM gcrm.roads")).scalar_one()
    assert branches > 0
    # Read the cube before the server starts (zarr's threads, see test_points_browser).
    load_cube(demo.cube_path)
    app = create_app(demo.settings.model_copy(update={"auth": "off"}))
    dash_duo.driver.set_window_size(1440, 1300)
    dash_duo.start_server(app)
    _until(dash_duo, lambda _d: dash_duo.find_elements("path.gcrm-area"), msg="no areas")
    assert not dash_duo.find_elements(BRANCHES)
    assert not dash_duo.find_elements(HEAT_CELLS)

    _toggle(dash_duo, "branches")
    _until(
        dash_duo,
        lambda _d: len(dash_duo.find_elements(BRANCHES)) == branches,
        msg=f"not {branches} branch markers",
    )

    _toggle(dash_duo, "heat")
    _until(dash_duo, lambda _d: dash_duo.find_elements(HEAT_CELLS), msg="no heat cells")
    dash_duo.wait_for_contains_text("#heat-title", "Customers per cell of ~", timeout=30)
    dash_duo.find_element("#heat-of input[value='revenue']").click()
    dash_duo.wait_for_contains_text("#heat-title", "Revenue per cell of ~", timeout=30)
    assert dash_duo.find_elements(HEAT_CELLS)

    _toggle(dash_duo, "catchments")
    if roads:
        _until(
            dash_duo,
            lambda _d: dash_duo.find_elements(CATCHMENTS),
            msg="no catchment polygons",
            timeout=240,
        )
        dash_duo.wait_for_contains_text("#catchment-legend", "≤ 10 min", timeout=30)
    else:
        dash_duo.wait_for_contains_text("#catchment-note", "gcrm import roads", timeout=60)

    # The link says what is shown; unticking a layer takes it off the map.
    _until(
        dash_duo,
        lambda _d: (
            "layers=branches,heat,catchments&heat=revenue"
            in dash_duo.driver.execute_script("return window.location.search")
        ),
        msg="the layers are not in the link",
    )
    _toggle(dash_duo, "heat")
    _until(dash_duo, lambda _d: not dash_duo.find_elements(HEAT_CELLS), msg="heat still drawn")
    assert len(dash_duo.find_elements(BRANCHES)) == branches
    assert dash_duo.get_logs() == []
