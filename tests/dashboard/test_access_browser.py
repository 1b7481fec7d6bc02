"""Who sees what, in a real headless Chromium, logged in through the real login page.

Two managers of two districts of the demo region each see their district only: its area on
the map, its KPIs (the region total is their district's total), its customers and leads on
the map, its hexagons; figures are compared with SQL run as the owner, restricted to the
district by hand. Logging out, locking an account, hostile names (rendered as text), and the
Content-Security-Policy (no violation in the console, the map and chart drawn) are checked
on the way. Users are added to the shared demo database and removed at the end; names are
changed only for the hostile-names test and restored after it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import xarray as xr
from sqlalchemy import Connection, text

from dashboard import create_app
from dashboard.panels import kpi_cards
from gcrm.access import MAX_FAILED_LOGINS, add_user
from gcrm.areas import read_region
from gcrm.core import Settings
from gcrm.cube import build_region_cube, save_cube

pytestmark = pytest.mark.browser
T = TypeVar("T")

PASSWORD = "browser test passphrase"
AREA_PATHS = "path.gcrm-area"
#: Marker colours of single (unclustered) points, from dashboard/assets/gcrm.js.
POINT_FILL = {"customers": "#6a3d9a", "leads": "#e6550d"}
HOSTILE = '<img src=x onerror="window.__gcrmXss=1"><script>window.__gcrmXss=2</script>'


@dataclass(frozen=True)
class Manager:
    name: str
    code: str
    district: str


@dataclass(frozen=True)
class Site:
    settings: Settings
    managers: tuple[Manager, Manager]


def _delete_users(conn: Connection) -> None:
    conn.execute(text("DELETE FROM gcrm.users WHERE name LIKE 'browser-%'"))


@pytest.fixture(scope="module")
def site(demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:  # type: ignore[no-untyped-def]
    """The demo region's cube in a data directory of this module (scoped cubes are built
    beside it), and two managers of the two districts with the most customers."""
    data_dir = tmp_path_factory.mktemp("access-browser")
    shutil.copytree(demo.cube_path, data_dir / "cube.zarr")
    settings = demo.settings.model_copy(update={"data_dir": data_dir})
    with demo.engine.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT a.code, a.name FROM gcrm.customers c JOIN gcrm.areas a "
                "ON a.level = 'district' AND a.code = c.area_codes ->> 'district' "
                "GROUP BY a.code, a.name ORDER BY count(*) DESC, a.code LIMIT 2"
            )
        ).all()
        first, second = (Manager(f"browser-mgr-{r.code.lower()}", r.code, r.name) for r in rows)
        for m in (first, second):
            add_user(conn, m.name, role="manager", scopes=[f"district:{m.code}"], password=PASSWORD)
        add_user(conn, "browser-lockme", role="viewer", scopes=["all"], password=PASSWORD)
    try:
        yield Site(settings, (first, second))
    finally:
        with demo.engine.begin() as conn:
            _delete_users(conn)


def _wait_for(read: Callable[[], T], expected: T, *, what: str, timeout: float = 20) -> None:
    """Poll ``read()`` until it equals ``expected``; fail saying what was seen last."""
    deadline = time.monotonic() + timeout
    seen = read()
    while seen != expected and time.monotonic() < deadline:
        time.sleep(0.25)
        seen = read()
    assert seen == expected, f"{what}: saw {seen!r}, expected {expected!r}"


def _open(dash_duo, app) -> str:  # type: ignore[no-untyped-def]
    dash_duo.start_server(app, navigate=False)
    return str(dash_duo.server.url).rstrip("/")


def _log_in(dash_duo, base: str, name: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    """Type into the real login page and submit it."""
    driver = dash_duo.driver
    driver.get(f"{base}/login")
    dash_duo.wait_for_element("#login-form", timeout=10)
    driver.find_element("css selector", "#username").send_keys(name)
    driver.find_element("css selector", "#password").send_keys(password)
    driver.find_element("css selector", "#login-submit").click()


def _csp_violations(logs: list[dict[str, str]]) -> list[str]:
    return [e["message"] for e in logs if "Content Security Policy" in e["message"]]


def _point_count(dash_duo, kind: str) -> int:  # type: ignore[no-untyped-def]
    """Points of a layer on the map: the counts on its clusters plus its single markers
    (read in one script, as Leaflet redraws them while it runs)."""
    script = """
        var n = 0;
        document.querySelectorAll('.gcrm-cluster-' + arguments[0] + ' span[data-count]').forEach(
            function (s) { n += parseInt(s.getAttribute('data-count'), 10); });
        var singles = "path.leaflet-interactive:not(.gcrm-area)[fill='" + arguments[1] + "']";
        return n + document.querySelectorAll(singles).length;
    """
    return int(dash_duo.driver.execute_script(script, kind, POINT_FILL[kind]))


def _expected_kpis(conn: Connection, code: str) -> dict[str, str]:
    """The KPI cards of a district's whole range, from SQL as the owner."""
    row = (
        conn.execute(
            text(
                """
                WITH mine AS (
                    SELECT * FROM gcrm.customers WHERE area_codes ->> 'district' = :code
                ), span AS (
                    SELECT date_trunc('month', max(o.order_date)) + interval '1 month' AS stop
                    FROM gcrm.orders o JOIN mine ON mine.external_id = o.customer_external_id
                )
                SELECT
                    (SELECT count(*) FROM mine, span WHERE signup_date < stop) AS customers,
                    (SELECT count(*) FROM mine, span WHERE signup_date < stop
                       AND (churn_date IS NULL OR churn_date >= stop)) AS active,
                    (SELECT sum(o.amount) FROM gcrm.orders o
                       JOIN mine ON mine.external_id = o.customer_external_id) AS revenue,
                    (SELECT value FROM gcrm.area_stats WHERE level = 'district'
                       AND code = :code AND measure = 'households') AS households
                """
            ),
            {"code": code},
        )
        .mappings()
        .one()
    )
    values = {
        "customers": float(row["customers"]),
        "active": float(row["active"]),
        "revenue": float(row["revenue"]),
        "penetration": float(row["active"]) / float(row["households"]),
    }
    # Money in the region's own currency (gcrm region set; the demo's is EUR).
    region = xr.Dataset(attrs={"currency": read_region(conn).currency or ""})
    return {key: shown for key, _label, shown in kpi_cards(values, ds=region)}


def _points_in(conn: Connection, view: str, code: str) -> int:
    return int(
        conn.execute(
            text(f"SELECT count(*) FROM gcrm.{view} WHERE area_codes ->> 'district' = :code"),
            {"code": code},
        ).scalar_one()
    )


def _hexes_of(conn: Connection, code: str) -> set[str]:
    """Hexagons of a district: its children, and those whose point on surface lies in it."""
    return set(
        conn.execute(
            text(
                "SELECT h.code FROM gcrm.areas h JOIN gcrm.areas d "
                "ON d.level = 'district' AND d.code = :code WHERE h.level = 'hex' "
                "AND (h.parent_code = d.code OR ST_Contains(d.geom, ST_PointOnSurface(h.geom)))"
            ),
            {"code": code},
        ).scalars()
    )


def _drawn_codes(dash_duo) -> set[str]:  # type: ignore[no-untyped-def]
    """Codes of the areas drawn on the map (their paths' ``gcrm-area-<code>`` class)."""
    classes = dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]),"
        " function (p) { return p.getAttribute('class') || ''; });",
        AREA_PATHS,
    )
    return {
        name.removeprefix("gcrm-area-")
        for value in classes
        for name in value.split()
        if name.startswith("gcrm-area-")
    }


def _check_manager_sees_own_district_only(  # type: ignore[no-untyped-def]
    dash_duo, base: str, me: Manager, other: Manager, conn: Connection
) -> None:
    _log_in(dash_duo, base, me.name)
    dash_duo.wait_for_text_to_equal("#account-name", me.name, timeout=30)
    assert dash_duo.find_element("#account-role").text == "manager"
    assert dash_duo.find_element("#account-scope").text == f"district:{me.code}"

    # The map: one district, theirs.
    _wait_for(lambda: _drawn_codes(dash_duo), {me.code}, what=f"{me.name}: districts drawn")
    # KPIs of the whole view are the district's own totals.
    expected = _expected_kpis(conn, me.code)
    for key, shown in expected.items():
        dash_duo.wait_for_text_to_equal(f"#kpi-{key}", shown, timeout=20)
    assert {e.text for e in dash_duo.find_elements(".kpi-scope")} == {me.district}
    # The table ranks their district alone.
    rows = dash_duo.find_elements("#top-areas tbody tr")
    assert len(rows) == 1 and me.district in rows[0].text
    # Customers on the map: exactly the district's.
    customers = _points_in(conn, "customers", me.code)
    _wait_for(lambda: _point_count(dash_duo, "customers"), customers, what=f"{me.name}: customers")
    # Leads likewise, once the layer is on.
    dash_duo.find_element("#point-layers input[value='leads']").click()
    leads = _points_in(conn, "leads", me.code)
    _wait_for(lambda: _point_count(dash_duo, "leads"), leads, what=f"{me.name}: leads")
    # One level down: the district's hexagons, no others.
    dash_duo.select_dcc_dropdown("#level", value="H3 hexagon (res 9)")
    hexes = _hexes_of(conn, me.code)
    _wait_for(lambda: _drawn_codes(dash_duo), hexes, what=f"{me.name}: hexagons drawn")
    # Nothing of the other district anywhere in the page, its scripts' data included.
    assert other.district not in dash_duo.driver.page_source
    assert other.district not in dash_duo.driver.find_element("css selector", "body").text

    # Log out: back to the login page, and the dashboard asks for a login again.
    dash_duo.find_element("#logout").click()
    dash_duo.wait_for_text_to_equal("#login-notice", "You are logged out.", timeout=10)
    dash_duo.driver.get(f"{base}/")
    dash_duo.wait_for_element("#login-form", timeout=10)
    assert "/login?next=" in dash_duo.driver.current_url


def test_two_managers_each_see_their_district_only(dash_duo, site: Site, demo) -> None:  # type: ignore[no-untyped-def]
    base = _open(dash_duo, create_app(site.settings))
    first, second = site.managers
    with demo.engine.connect() as conn:
        _check_manager_sees_own_district_only(dash_duo, base, first, second, conn)
        _check_manager_sees_own_district_only(dash_duo, base, second, first, conn)
    logs = dash_duo.get_logs()
    assert _csp_violations(logs) == [] and logs == []


def test_wrong_passwords_lock_the_account(dash_duo, site: Site) -> None:  # type: ignore[no-untyped-def]
    base = _open(dash_duo, create_app(site.settings))
    for _ in range(MAX_FAILED_LOGINS):
        _log_in(dash_duo, base, "browser-lockme", "not my password, sorry")
        dash_duo.wait_for_text_to_equal("#login-error", "Wrong user name or password.", timeout=10)
    _log_in(dash_duo, base, "browser-lockme")  # the right one, too late
    dash_duo.wait_for_contains_text(
        "#login-error", f"Account locked after {MAX_FAILED_LOGINS} failed logins", timeout=10
    )
    dash_duo.driver.get(f"{base}/")
    dash_duo.wait_for_element("#login-form", timeout=10)
    assert _csp_violations(dash_duo.get_logs()) == []


@pytest.fixture(scope="module")
def hostile_site(demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, str]]:  # type: ignore[no-untyped-def]
    """A district and a lead named with markup, the cube rebuilt from them, and an admin;
    the names are restored afterwards (the demo database is the session's)."""
    data_dir = Path(tmp_path_factory.mktemp("hostile-browser"))
    settings = demo.settings.model_copy(update={"data_dir": data_dir})
    with demo.engine.begin() as conn:
        code, name = conn.execute(
            text(
                "SELECT code, name FROM gcrm.areas WHERE level = 'district' "
                "ORDER BY ST_Area(geom) DESC LIMIT 1"  # the largest: easy to click
            )
        ).one()
        lead, lead_name = conn.execute(
            text("SELECT external_id, name FROM gcrm.lead_records ORDER BY external_id LIMIT 1")
        ).one()
        rename = "UPDATE gcrm.areas SET name = :n WHERE level = 'district' AND code = :c"
        conn.execute(text(rename), {"n": HOSTILE + name, "c": code})
        conn.execute(
            text("UPDATE gcrm.lead_records SET name = :n WHERE external_id = :id"),
            {"n": HOSTILE + str(lead_name), "id": lead},
        )
        save_cube(build_region_cube(conn), settings.cube_path)
        add_user(conn, "browser-admin", role="admin", scopes=["all"], password=PASSWORD)
    try:
        yield settings, code
    finally:
        with demo.engine.begin() as conn:
            conn.execute(text(rename), {"n": name, "c": code})
            conn.execute(
                text("UPDATE gcrm.lead_records SET name = :n WHERE external_id = :id"),
                {"n": lead_name, "id": lead},
            )
            _delete_users(conn)


def test_names_with_markup_render_as_text(dash_duo, hostile_site) -> None:  # type: ignore[no-untyped-def]
    settings, code = hostile_site
    base = _open(dash_duo, create_app(settings))
    _log_in(dash_duo, base, "browser-admin")
    dash_duo.wait_for_text_to_equal("#account-name", "browser-admin", timeout=30)
    dash_duo.wait_for_contains_text("#top-areas", HOSTILE, timeout=20)
    dash_duo.find_element("#point-layers input[value='customers']").click()  # clear the map
    dash_duo.find_element(f"path.gcrm-area-{code}").click()
    dash_duo.wait_for_contains_text("#selection-name", HOSTILE, timeout=20)
    dash_duo.wait_for_contains_text("#chart-title", HOSTILE, timeout=20)
    assert all(HOSTILE in e.text for e in dash_duo.find_elements(".kpi-scope"))
    # The leads layer (its tooltips carry the lead names) is drawn as well.
    dash_duo.find_element("#point-layers input[value='leads']").click()
    _wait_for(lambda: _point_count(dash_duo, "leads") > 0, True, what="leads drawn")
    # gcrm.js's tooltip of a lead named with markup, as Leaflet would show it.
    content = dash_duo.driver.execute_script(
        "var m = window.gcrm.pointToLayer({type: 'Feature', properties: {tooltip: arguments[0]}},"
        " L.latLng(60.17, 24.94), {hideout: {kind: 'leads'}});"
        "var c = m.getTooltip().getContent();"
        "return [c.textContent, c.querySelectorAll('img, script').length];",
        HOSTILE,
    )
    assert content == [HOSTILE, 0]
    # No markup was parsed, no script ran, and the policy had nothing to block.
    assert dash_duo.driver.execute_script("return window.__gcrmXss === undefined")
    assert not dash_duo.driver.find_elements("css selector", "img[src='x']")
    logs = dash_duo.get_logs()
    assert _csp_violations(logs) == [] and logs == []
