"""The dashboard's basemap in a real Chromium on the demo region: gcrm's own tiles, from the
app's own origin, loaded; nothing the page asks for leaves the machine."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.wait import WebDriverWait

from dashboard import create_app
from gcrm.cube import load_cube

pytestmark = pytest.mark.browser

#: Every tile image Leaflet made: src, whether loaded, and its width as decoded.
_TILES = """
return Array.from(document.querySelectorAll('img.leaflet-tile')).map(function (img) {
  return [img.src, img.complete, img.naturalWidth];
});
"""
#: How many tile images hold more than one colour (same origin: the canvas may read them).
_DRAWN = """
var canvas = document.createElement('canvas');
canvas.width = 256; canvas.height = 256;
var context = canvas.getContext('2d');
return Array.from(document.querySelectorAll('img.leaflet-tile')).filter(function (img) {
  context.drawImage(img, 0, 0);
  var px = context.getImageData(0, 0, 256, 256).data;
  for (var i = 4; i < px.length; i += 4) {
    if (px[i] !== px[0] || px[i + 1] !== px[1] || px[i + 2] !== px[2]) { return true; }
  }
  return false;
}).length;
"""
#: Every resource the page fetched (scripts, styles, callbacks, tiles).
_RESOURCES = "return performance.getEntriesByType('resource').map(function (e) { return e.name; });"


def test_the_map_draws_gcrm_s_own_tiles_from_its_own_origin(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    # Read the cube before the server starts, as the other browser tests do: zarr's I/O
    # threads must be older than dash's server, which stops every thread started after it.
    load_cube(demo.cube_path)
    app = create_app(demo.settings.model_copy(update={"auth": "off"}))
    dash_duo.start_server(app)
    origin = dash_duo.server_url.rstrip("/") + "/"
    dash_duo.wait_for_element("path.gcrm-area", timeout=15)

    def loaded(driver) -> bool:  # type: ignore[no-untyped-def]
        tiles = driver.execute_script(_TILES)
        return bool(tiles) and all(done and width > 0 for _, done, width in tiles)

    WebDriverWait(dash_duo.driver, 20, ignored_exceptions=[StaleElementReferenceException]).until(
        loaded, message="the basemap's tiles did not load"
    )

    tiles = dash_duo.driver.execute_script(_TILES)
    assert len(tiles) >= 4  # the map is wider and taller than one tile
    for src, _, width in tiles:
        assert src.startswith(f"{origin}tiles/basemap/"), src
        assert width == 256, src
    # Drawn, not blank: some tiles show the demo's streets (more than one colour).
    assert dash_duo.driver.execute_script(_DRAWN) > 0
    outside = [
        name for name in dash_duo.driver.execute_script(_RESOURCES) if not name.startswith(origin)
    ]
    assert outside == []
    assert dash_duo.get_logs() == []  # no console errors (CSP included)
