"""Names that carry HTML and script render as text in the HTML maps and the territory report.

The tiny region of tests/maps/seed.py, with an area, a customer, a lead and a branch renamed
to markup that runs script if it is ever parsed as HTML. Each page is opened in Debian's
Chromium; every tooltip and popup of every Leaflet map is opened (clustered markers too), and
the page must show the names as text, with no image element made and no script run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from sqlalchemy import Connection, text

from gcrm.areas import origin_destination_flows
from gcrm.cube import build_region_cube
from gcrm.maps import make_flow_map, make_region_map
from gcrm.territories import build_territory_report
from tests.chromium import CHROMEDRIVER, NO_NETWORK, chromium_options
from tests.maps.seed import seed_region

pytestmark = pytest.mark.browser

#: Runs script when parsed as HTML: an image that fails to load, and a script element.
IMG = '<img src="x" onerror="window.__xss=(window.__xss||0)+1">'
SCRIPT = "<script>window.__xss=(window.__xss||0)+1</script>"
HOSTILE = {
    "area": f"Kamppi {IMG}",
    "customer": f"Aino {IMG}{SCRIPT}",
    "lead": f"Kahvila {IMG}",
    "branch": f"Central {SCRIPT}{IMG}",
}

#: Renders the content of every tooltip and popup of every Leaflet map on the page into the
#: document, as Leaflet does when one opens (``innerHTML`` of a string, or the result of the
#: content function for the layer), markers inside clusters too; returns the texts shown.
OPEN_ALL = """
const texts = [];
const sink = document.createElement("div");
document.body.appendChild(sink);
function render(overlay, layer) {
    let content = overlay._content;
    if (typeof content === "function") content = content(layer);
    const box = document.createElement("div");
    if (typeof content === "string") box.innerHTML = content;
    else if (content instanceof Node) box.appendChild(content.cloneNode(true));
    sink.appendChild(box);
    texts.push(box.innerText);
}
function visit(layer, owner) {
    if (layer.getLayers) {
        layer.getLayers().forEach((child) => visit(child, layer));
    } else if (layer.getTooltip && layer.getTooltip()) {
        render(layer.getTooltip(), layer);
    } else if (owner && owner.getTooltip && owner.getTooltip()) {
        render(owner.getTooltip(), layer);
    }
    if (layer.getPopup && layer.getPopup()) render(layer.getPopup(), layer);
}
Object.values(window)
    .filter((v) => v instanceof L.Map)
    .forEach((m) => m.eachLayer((layer) => visit(layer, null)));
return texts;
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = chromium_options(NO_NETWORK, "--window-size=1200,900")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def hostile(conn: Connection) -> Connection:
    """The tiny region with hostile names, on the test's rolled-back connection."""
    seed_region(conn)
    for sql, name in (
        ("UPDATE gcrm.areas SET name = :n WHERE code = 'D01'", HOSTILE["area"]),
        (
            "UPDATE gcrm.customer_records SET name = :n WHERE external_id = 'C1'",
            HOSTILE["customer"],
        ),
        ("UPDATE gcrm.lead_records SET name = :n WHERE external_id = 'L1'", HOSTILE["lead"]),
        ("UPDATE gcrm.branches SET name = :n WHERE code = 'B1'", HOSTILE["branch"]),
        ("UPDATE gcrm.orders SET branch_code = 'B1' WHERE order_id <> :n", "O5"),
    ):
        conn.execute(text(sql), {"n": name})
    return conn


def _opened(browser: webdriver.Chrome, page: Path) -> tuple[str, list[str]]:
    """The page's visible text and the texts of all its tooltips and popups, once opened."""
    browser.get(page.resolve().as_uri())
    overlays = browser.execute_script(OPEN_ALL)
    return browser.find_element("tag name", "body").text, overlays


def _assert_inert(browser: webdriver.Chrome) -> None:
    assert browser.execute_script("return window.__xss") is None, "a name ran as script"
    assert browser.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0


def test_region_map_shows_names_as_text(
    hostile: Connection, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    cube = build_region_cube(hostile)
    page = make_region_map(hostile, cube=cube, level="district", out=tmp_path / "map.html")
    _, overlays = _opened(browser, page)
    shown = "\n".join(overlays)
    for name in (HOSTILE["area"], HOSTILE["customer"], HOSTILE["branch"]):
        assert name in shown, f"{name!r} not shown as text; overlays: {overlays}"
    _assert_inert(browser)


def test_flow_map_shows_names_as_text(
    hostile: Connection, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    flows = origin_destination_flows(hostile, level="district")
    page = make_flow_map(hostile, flows=flows, level="district", out=tmp_path / "flows.html")
    _, overlays = _opened(browser, page)
    shown = "\n".join(overlays)
    assert HOSTILE["area"] in shown and HOSTILE["branch"] in shown, overlays
    assert any(line.startswith("From") for line in overlays), "no flow line drawn"
    _assert_inert(browser)


def test_flow_map_without_flows_draws_areas_and_branches(conn: Connection, tmp_path: Path) -> None:
    seed_region(conn)  # no order names a branch
    flows = origin_destination_flows(conn, level="district")
    assert flows["branch_code"].isna().all()
    page = make_flow_map(conn, flows=flows, level="district", out=tmp_path / "none.html")
    assert "Kamppi" in page.read_text()


def test_territory_report_shows_names_as_text(
    hostile: Connection, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    cube = build_region_cube(hostile)
    report = build_territory_report(hostile, cube=cube, level="district", out_dir=tmp_path)
    body, overlays = _opened(browser, report.html)
    assert HOSTILE["area"] in body  # headings and tables
    assert HOSTILE["customer"] in body  # top customers
    assert HOSTILE["area"] in "\n".join(overlays)
    _assert_inert(browser)
