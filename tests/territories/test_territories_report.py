from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import xarray as xr
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Connection, text

from gcrm.cli import cli
from gcrm.core import NotFoundError, Settings, ValidationError
from gcrm.cube import MEASURES, build_region_cube
from gcrm.maps import external_references
from gcrm.territories import build_territory_report
from gcrm.territories.xlsx import sheet_titles
from tests.maps.seed import browser_dom


def test_summary_kpis_over_the_whole_range(
    conn: Connection, region: xr.Dataset, tmp_path: Path
) -> None:
    report = build_territory_report(conn, cube=region, level="district", out_dir=tmp_path)
    s = report.summary.set_index("code")
    assert list(s.index) == ["D01", "D02"]
    d1, d2 = s.loc["D01"], s.loc["D02"]
    assert (d1.customers, d1.active, d1.churned, d1.orders, d1.leads) == (2, 1, 1, 3, 1)
    assert d1.revenue == pytest.approx(220.0) and d2.revenue == pytest.approx(750.5)
    # Nobody was active before the range's first month: no churn rate over the whole range.
    assert (d1.active_at_start, d2.active_at_start) == (0, 0)
    assert math.isnan(d1.churn_rate) and math.isnan(d2.churn_rate)
    assert d1.penetration == pytest.approx(1 / 400) and d2.penetration == pytest.approx(1 / 250)
    assert (d2.population, d2.households) == (500, 250)


def test_period_restricts_flows_stocks_and_top_customers(
    conn: Connection, region: xr.Dataset, tmp_path: Path
) -> None:
    report = build_territory_report(
        conn, cube=region, level="district", out_dir=tmp_path, period="2025-01"
    )
    s = report.summary.set_index("code")
    assert s.loc["D01", "revenue"] == pytest.approx(170.0) and s.loc["D01", "active"] == 2
    assert s.loc["D02", "customers"] == 0 and math.isnan(s.loc["D02", "churn_rate"])
    ws = load_workbook(report.xlsx)["D01 Kamppi"]
    values = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    assert "Aino Active" in values and "Bo Churned" in values
    assert "Period: 2025-01" in values


def test_workbook_layout(conn: Connection, region: xr.Dataset, tmp_path: Path) -> None:
    report = build_territory_report(conn, cube=region, level="district", out_dir=tmp_path / "out")
    assert report.xlsx == tmp_path / "out" / "territories_district.xlsx"
    wb = load_workbook(report.xlsx)
    assert wb.sheetnames == ["Summary", "D01 Kamppi", "D02 Kluuvi & <Co>", "Sources"]
    sources = [[c.value for c in row] for row in wb["Sources"].iter_rows()]
    assert sources == [
        ["KPI", "Source", "Vintage", "Method", "Areas"],
        ["Population", "test", "2025", None, 2],
        ["Households", "test", "2025", None, 2],
    ]
    summary = wb["Summary"]
    header = [c.value for c in summary[1]]
    assert header[:5] == ["code", "name", "Customers", "Active", "Revenue"]
    assert all(c.font.bold for c in summary[1])
    total = [c.value for c in summary[4]]
    assert total[0] == "Total" and total[header.index("Revenue")] == pytest.approx(970.5)
    assert total[header.index(MEASURES["churn_rate"].label)] is None  # 1 churned / 0 at start
    assert summary.cell(row=2, column=header.index("Revenue") + 1).number_format == "#,##0.00"
    assert summary.cell(row=4, column=header.index("Penetration") + 1).number_format == "0.0%"
    sheet = wb["D02 Kluuvi & <Co>"]
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    months = [r for r in cells if r[0] is not None and hasattr(r[0], "month")]
    assert [(m[0].month, m[1], m[2]) for m in months] == [(1, 0, 0), (2, 500, 1), (3, 250.5, 1)]
    assert next(r for r in cells if r[0] == "Rank")[:3] == ["Rank", "Customer id", "Name"]
    top = next(r for r in cells if r[1] == "C3")
    assert top[:7] == [1, "C3", "Cafe Corp", "business", "active", 750.5, 2]


def test_vintages_side_by_side_latest_by_default_or_chosen(
    conn: Connection, region: xr.Dataset, tmp_path: Path
) -> None:
    conn.execute(
        text(
            "INSERT INTO gcrm.area_stats (level, code, measure, value, source, vintage, method) "
            "VALUES ('district', 'D01', 'households', 800, 'census', '2019', 'count'), "
            "('district', 'D02', 'households', 500, 'census', '2019', 'count')"
        )
    )
    cube = build_region_cube(conn)
    assert cube.attrs["statistics_vintage"] == "latest"
    latest = build_territory_report(conn, cube=cube, level="district", out_dir=tmp_path / "a")
    assert latest.summary["households"].tolist() == [400, 250]
    assert latest.sources[["measure", "source", "vintage"]].values.tolist() == [
        ["population", "test", "2025"],
        ["households", "test", "2025"],
    ]
    older = build_territory_report(
        conn, cube=cube, level="district", out_dir=tmp_path / "b", vintage="2019"
    )
    s = older.summary.set_index("code")
    assert s["households"].tolist() == [800, 500]
    assert s.loc["D01", "penetration"] == pytest.approx(1 / 800)
    # Population has no 2019 figure: it stays at its latest, and the sources say so.
    assert s["population"].tolist() == [1000, 500]
    assert set(map(tuple, older.sources[["measure", "vintage"]].values)) == {
        ("households", "2019"),
        ("population", "2025"),
    }
    page = older.html.read_text(encoding="utf-8")
    assert "<h3>Sources</h3>" in page and "Households: census, 2019 (count) [2 area(s)]" in page
    with pytest.raises(NotFoundError, match=r"--vintage '1990'.*\['2019', '2025'\]"):
        build_territory_report(conn, cube=cube, level="district", out_dir=tmp_path, vintage="1990")


def test_html_page_is_offline_and_has_every_territory(
    conn: Connection, region: xr.Dataset, tmp_path: Path
) -> None:
    report = build_territory_report(
        conn, cube=region, level="district", out_dir=tmp_path, map_kpi="penetration"
    )
    page = report.html.read_text(encoding="utf-8")
    assert external_references(page) == []
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert "<h2>Kamppi <small>(D01)</small></h2>" in page
    assert "<h2>Kluuvi &amp; &lt;Co&gt; <small>(D02)</small></h2>" in page
    assert "Cafe Corp" in page and "970.50" in page and "Map: Penetration" in page


@pytest.mark.browser
def test_html_page_draws_the_territories_in_chromium(
    conn: Connection, region: xr.Dataset, tmp_path: Path
) -> None:
    report = build_territory_report(conn, cube=region, level="district", out_dir=tmp_path)
    dom = browser_dom(report.html)
    paths = re.findall(r'<path class="leaflet-interactive"[^>]*fill="(#[0-9a-f]{6})"', dom)
    assert len(paths) == 2 and len(set(paths)) == 2
    assert "Top customers by revenue" in dom and "© OpenStreetMap contributors, ODbL" in dom


def test_invalid_arguments(conn: Connection, region: xr.Dataset, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="map_kpi='profit' is not a territory KPI"):
        build_territory_report(
            conn, cube=region, level="district", out_dir=tmp_path, map_kpi="profit"
        )
    with pytest.raises(ValidationError, match="period"):
        build_territory_report(
            conn, cube=region, level="district", out_dir=tmp_path, period="March"
        )
    with pytest.raises(ValidationError, match="level 'ward'"):
        build_territory_report(conn, cube=region, level="ward", out_dir=tmp_path)


def test_sheet_titles_are_valid_and_unique() -> None:
    titles = sheet_titles(["A/B: c?", "x" * 40, "x" * 40, "Summary"])
    assert titles[0] == "A_B_ c_"
    assert titles[1] == "x" * 31 and titles[2] == "x" * 27 + " (2)"
    assert titles[3] == "Summary (2)"


def test_cli_report(seeded: Settings) -> None:
    env = {"GCRM_DATABASE_URL": seeded.database_url, "GCRM_DATA_DIR": str(seeded.data_dir)}
    result = CliRunner().invoke(cli, ["territories", "report", "--by", "district"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()  # the PDF's progress bar is on stderr
    assert lines[0].split()[:4] == ["code", "name", "Customers", "Active"]
    assert lines[1].split()[:2] == ["D01", "Kamppi"]
    assert "pdf: 100%" in result.stderr
    out = seeded.out_dir / "territories"
    for suffix in ("xlsx", "html", "pdf", "gpkg"):
        path = out / f"territories_district.{suffix}"
        assert f"{suffix} written to {path}" in result.output and path.stat().st_size > 0
    assert load_workbook(out / "territories_district.xlsx").sheetnames[0] == "Summary"
    assert "Kamppi" in (out / "territories_district.html").read_text(encoding="utf-8")


PRECISION_HEADERS = [
    "Precision: rooftop",
    "Precision: interpolated",
    "Precision: street",
    "Precision: postcode",
    "Precision: locality",
    "Precision: none",
]


def test_customers_by_precision_per_territory(
    conn: Connection, region: xr.Dataset, tmp_path: Path
) -> None:
    report = build_territory_report(conn, cube=region, level="district", out_dir=tmp_path)
    s = report.summary.set_index("code")
    # D01: C1 rooftop, C2 street; D02: C3 interpolated; C4 has no location (no territory).
    assert s.loc["D01", "precision_rooftop"] == 1 and s.loc["D01", "precision_street"] == 1
    assert s.loc["D02", "precision_interpolated"] == 1 and s.loc["D02", "precision_rooftop"] == 0
    assert (s[["precision_postcode", "precision_locality", "precision_none"]] == 0).all().all()

    summary = load_workbook(report.xlsx)["Summary"]
    header = [c.value for c in summary[1]]
    assert header[-6:] == PRECISION_HEADERS
    rows = {r[0]: r for r in summary.iter_rows(min_row=2, values_only=True)}
    at = {h: header.index(h) for h in PRECISION_HEADERS}
    assert rows["D01"][at["Precision: street"]] == 1
    assert rows["Total"][at["Precision: rooftop"]] == 1
    assert rows["Total"][at["Precision: interpolated"]] == 1

    page = report.html.read_text(encoding="utf-8")
    assert all(f"<th>{h}</th>" in page for h in PRECISION_HEADERS)
    assert "1 customer(s) could not be placed at all" in page
