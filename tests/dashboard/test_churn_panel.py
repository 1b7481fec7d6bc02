"""Customers at risk on the regional dashboard (issue 12): the pure parts (backtest line,
sort, summary, rows, file), then the panel in a real headless Chromium on the demo region,
its rows checked against gcrm.scoring.read_churn_list run as the owner."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import Connection, text

from dashboard import create_app
from dashboard.risk import (
    DEFAULT_SORT,
    NO_SCORES,
    RISK_LIMIT,
    AtRisk,
    at_risk_frame,
    churn_backtest_note,
    export_at_risk,
    next_sort,
    risk_rows,
    risk_summary,
)
from gcrm.access import add_user
from gcrm.core import ValidationError
from gcrm.cube import load_cube
from gcrm.scoring import read_churn_list

ROWS = "#risk-list tbody tr"
PASSWORD = "churn panel passphrase"
VIEWER = "browser-churn-viewer"

BACKTEST = {
    "auc": 0.6761,
    "precision_top10": 0.1327,
    "horizon_months": 6,
    "baselines": {"random": {"auc": 0.4967}, "recency": {"auc": 0.6260}},
}


# ------------------------------------------------------------------ pure functions


def test_backtest_line_states_auc_against_its_baselines() -> None:
    line = churn_backtest_note({"backtest": BACKTEST})
    assert line == (
        "Churn risk ranked the last 6 months' churners with AUC 0.68 "
        "(13 % of its top 10 % churned); recency alone 0.63, random 0.50."
    )
    # Stored as JSON text by some readers: the same line.
    assert churn_backtest_note({"backtest": json.dumps(BACKTEST)}) == line


def test_backtest_line_claims_no_skill_it_does_not_show() -> None:
    beaten = BACKTEST | {"auc": 0.60}
    assert churn_backtest_note({"backtest": beaten}).endswith(
        "It ranks no better than recency here."
    )
    for run in (None, {"backtest": None}, {"backtest": {"auc": None}}):
        assert "run `gcrm customers churn-risk --backtest`" in churn_backtest_note(run)


def test_a_heading_sorts_by_its_column_then_the_other_way() -> None:
    assert next_sort(DEFAULT_SORT, "churn_risk") == {"by": "churn_risk", "desc": False}
    assert next_sort(DEFAULT_SORT, "expected_value_12m") == {
        "by": "expected_value_12m",
        "desc": True,
    }
    assert next_sort(DEFAULT_SORT, "area") == {"by": "area", "desc": False}
    with pytest.raises(ValidationError, match="column='reasons' cannot be sorted on"):
        next_sort(DEFAULT_SORT, "reasons")


def _row(i: int, **kw: Any) -> dict[str, Any]:
    return {
        "id": f"C{i:03d}",
        "name": f"Name {i}",
        "segment": "smb",
        "churn_risk": 0.5 / i,
        "revenue_12m": 1000.0 * i,
        "revenue_at_risk": 500.0,
        "expected_value_12m": None,
        "reasons": [{"text": "no order for 200 days"}, {"text": "segment smb"}],
        "area_code": "a",
        "total": 7,
    } | kw


def test_summary_says_how_many_of_how_many_and_in_what_order() -> None:
    found = AtRisk(rows=[_row(1), _row(2)], total=7, names=True)
    assert risk_summary(found, where="Alppila") == (
        "Showing 2 of 7 active customers in Alppila, riskiest first"
    )
    by_value = {"by": "expected_value_12m", "desc": False}
    assert risk_summary(found, where="X", sort=by_value).endswith(
        "by expected value 12 m, smallest first"
    )
    # No name to sort by without names: the default order, and the summary says so.
    anonymous = AtRisk(rows=[_row(1)], total=1, names=False)
    assert risk_summary(anonymous, where="X", sort={"by": "name"}).endswith("riskiest first")
    assert risk_summary(AtRisk([], 0, names=True, scored=False), where="X") == NO_SCORES
    assert risk_summary(AtRisk([], 0, names=True), where="Hex 1") == (
        "No scored active customer in Hex 1."
    )


def test_rows_and_file_carry_names_only_when_allowed(cube) -> None:  # type: ignore[no-untyped-def]
    named = AtRisk(rows=[_row(1), _row(2, area_code=None)], total=2, names=True)
    rows = risk_rows(named, cube, show_level="district")
    assert [(r["name"], r["area"], r["churn_risk"]) for r in rows] == [
        ("Name 1", "Alppila", "50.0%"),
        ("Name 2", "–", "25.0%"),
    ]
    assert rows[0]["reasons"] == "no order for 200 days; segment smb"
    assert rows[0]["expected_value_12m"] == "–"
    frame = at_risk_frame(named, cube, show_level="district")
    assert list(frame["name"]) == ["Name 1", "Name 2"]
    assert list(frame["area_name"]) == ["Alppila", ""]
    back = pd.read_csv(io.BytesIO(export_at_risk(frame, "csv")), dtype={"customer_id": str})
    assert list(back["customer_id"]) == ["C001", "C002"]
    sheet = openpyxl.load_workbook(io.BytesIO(export_at_risk(frame, "xlsx"))).active
    assert sheet is not None and sheet["A2"].value == "C001"
    anonymous = AtRisk(rows=[_row(1, name=None)], total=1, names=False)
    assert "name" not in at_risk_frame(anonymous, cube, show_level="district")
    assert risk_rows(anonymous, cube, show_level="district")[0]["name"] == ""
    with pytest.raises(ValidationError, match="format='pdf' is not a list export"):
        export_at_risk(frame, "pdf")


# ------------------------------------------------------------------ in the browser


def _until(dash_duo, condition: Callable[[Any], Any], *, msg: str, timeout: float = 30) -> Any:  # type: ignore[no-untyped-def]
    wait = WebDriverWait(
        dash_duo.driver, timeout, ignored_exceptions=[StaleElementReferenceException]
    )
    return wait.until(condition, message=msg)


def _shown_ids(dash_duo) -> list[str]:  # type: ignore[no-untyped-def]
    script = "return Array.from(document.querySelectorAll(arguments[0]), r => r.dataset.customer);"
    return [str(i) for i in dash_duo.driver.execute_script(script, ROWS)]


def _wait_for_ids(dash_duo, expected: list[str], *, what: str) -> None:  # type: ignore[no-untyped-def]
    _until(
        dash_duo,
        lambda _d: _shown_ids(dash_duo) == expected,
        msg=f"{what}: the list shows {_shown_ids(dash_duo)[:5]}..., expected {expected[:5]}...; "
        f"summary {dash_duo.find_element('#risk-summary').text!r}",
    )


def _open_risk_tab(dash_duo) -> None:  # type: ignore[no-untyped-def]
    dash_duo.wait_for_element("#panel-tab", timeout=20)
    dash_duo.find_element("#panel-tab input[value='risk']").click()
    dash_duo.wait_for_element(ROWS, timeout=30)


def _download(dash_duo, button: str, suffix: str) -> Path:  # type: ignore[no-untyped-def]
    folder = Path(dash_duo.download_path)
    dash_duo.find_element(f"#{button}").click()

    def done(_driver: object) -> Path | bool:
        new = sorted(folder.glob(f"customers_at_risk*{suffix}"))
        return new[0] if new and new[0].stat().st_size > 0 else False

    found = _until(dash_duo, done, msg=f"{button}: no {suffix} file downloaded")
    assert isinstance(found, Path)
    return found


def _expected(conn: Connection, area: tuple[str, str] | None, *, limit: int) -> list[dict]:
    return list(json.loads(read_churn_list(conn, area=area, limit=limit, names=True).body))


def _audits(conn: Connection, action: str) -> list[Any]:
    return conn.execute(
        text("SELECT actor, rows, fields FROM gcrm.audit_log WHERE action = :a ORDER BY id"),
        {"a": action},
    ).all()


def _busiest_district(conn: Connection) -> str:
    return str(
        conn.execute(
            text(
                "SELECT c.area_codes ->> 'district' FROM gcrm.customer_scores s "
                "JOIN gcrm.customers c USING (external_id) WHERE s.churn_risk IS NOT NULL "
                "AND c.churn_date IS NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
            )
        ).scalar_one()
    )


@pytest.mark.browser
def test_customers_at_risk_of_a_selected_area_sorted_and_downloaded(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    load_cube(demo.cube_path)  # zarr's I/O thread older than the server
    with demo.engine.connect() as conn:
        code = _busiest_district(conn)
        region = _expected(conn, None, limit=RISK_LIMIT)
        total = int(
            conn.execute(
                text(
                    "SELECT count(*) FROM gcrm.customer_scores s JOIN gcrm.customers c "
                    "USING (external_id) WHERE s.churn_risk IS NOT NULL AND c.churn_date IS NULL"
                )
            ).scalar_one()
        )
        every = _expected(conn, ("district", code), limit=100_000)
        district = every[:RISK_LIMIT]
        exports_before = len(_audits(conn, "dashboard customers at risk export csv"))
    assert total > RISK_LIMIT, "the demo should have more scored customers than the list shows"
    app = create_app(demo.settings.model_copy(update={"auth": "off"}))
    dash_duo.driver.set_window_size(1440, 1400)
    dash_duo.start_server(app)

    # The whole region: capped, riskiest first, with the model's backtest line.
    _open_risk_tab(dash_duo)
    _wait_for_ids(dash_duo, [r["id"] for r in region], what="whole region")
    assert dash_duo.find_element("#risk-summary").text.startswith(
        f"Showing {RISK_LIMIT} of {total:,} active customers in "
    )
    assert "churners with AUC" in dash_duo.find_element("#risk-note").text

    # A selected district (the link's area): its customers only, names shown to an admin.
    dash_duo.driver.get(f"{dash_duo.server_url}/?level=district&area=district:{code}")
    _open_risk_tab(dash_duo)
    ids = [r["id"] for r in district]
    _wait_for_ids(dash_duo, ids, what=f"district {code}")
    risks = [r["churn_risk"] for r in district]
    assert risks == sorted(risks, reverse=True)
    first = dash_duo.find_element(ROWS).text
    assert str(district[0]["name"]) in first
    assert dash_duo.find_element("#risk-list thead").text.upper().startswith("# CUSTOMER ID")

    # A click on "Churn risk" turns the order round: least risky first.
    dash_duo.find_element("#risk-list th button[id*='churn_risk']").click()
    _wait_for_ids(
        dash_duo,
        [r["id"] for r in sorted(every, key=lambda r: (r["churn_risk"], r["id"]))[:RISK_LIMIT]],
        what="sorted by risk, ascending",
    )

    # The download: the area's whole list (not only the rows shown) as sorted, names
    # included, and the read is in the audit log.
    csv = pd.read_csv(_download(dash_duo, "risk-export-csv", ".csv"), dtype=str)
    ascending = [r["id"] for r in sorted(every, key=lambda r: (r["churn_risk"], r["id"]))]
    assert list(csv["customer_id"]) == ascending
    assert list(csv["customer_id"])[:RISK_LIMIT] == _shown_ids(dash_duo)
    assert set(csv["area_code"]) == {code}
    assert "name" in csv.columns
    with demo.engine.connect() as conn:
        audits = _audits(conn, "dashboard customers at risk export csv")
    assert len(audits) == exports_before + 1
    assert audits[-1].rows == len(csv) and "name" in audits[-1].fields


@pytest.fixture
def viewer(demo) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A viewer of the whole region (no ``read_customers``), removed after the test."""
    with demo.engine.begin() as conn:
        add_user(conn, VIEWER, role="viewer", scopes=["all"], password=PASSWORD)
    try:
        yield VIEWER
    finally:
        with demo.engine.begin() as conn:
            conn.execute(text("DELETE FROM gcrm.users WHERE name = :n"), {"n": VIEWER})


@pytest.mark.browser
def test_a_viewer_sees_ids_not_names(dash_duo, demo, viewer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    load_cube(demo.cube_path)
    with demo.engine.connect() as conn:
        region = _expected(conn, None, limit=RISK_LIMIT)
    # A data directory of its own (the session key is kept there), with the demo's cube.
    shutil.copytree(demo.cube_path, tmp_path / "cube.zarr")
    app = create_app(demo.settings.model_copy(update={"data_dir": tmp_path}))
    dash_duo.start_server(app, navigate=False)
    base = str(dash_duo.server.url).rstrip("/")
    dash_duo.driver.get(f"{base}/login")
    dash_duo.wait_for_element("#login-form", timeout=10)
    dash_duo.find_element("#username").send_keys(viewer)
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_text_to_equal("#account-role", "viewer", timeout=20)

    _open_risk_tab(dash_duo)
    _wait_for_ids(dash_duo, [r["id"] for r in region], what="viewer, whole region")
    page = dash_duo.find_element("#risk-list").text
    assert not dash_duo.find_elements("#risk-list th button[id*='name']")
    assert dash_duo.find_element("#risk-list thead").text.upper().startswith("# ID SEGMENT")
    assert not [r["name"] for r in region[:20] if r["name"] and str(r["name"]) in page]
    assert region[0]["id"] in page
    xlsx = _download(dash_duo, "risk-export-xlsx", ".xlsx")
    sheet = openpyxl.load_workbook(xlsx).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert "name" not in header and header[0] == "customer_id"
