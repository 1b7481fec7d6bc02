"""Exports of the dashboard's view (issue 11): the table as CSV and XLSX, the map as offline
HTML and as PNG, each of what the panels show, on the small cube and its areas in PostGIS."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import openpyxl
import pandas as pd
import pytest
import shapely
import xarray as xr
from PIL import Image
from sqlalchemy import Connection

from dashboard import panels as p
from dashboard.cache import DashboardData
from dashboard.callbacks import LINKED_CONTROLS
from dashboard.export import describe_view, export_file, file_name, view_areas, view_table
from dashboard.link import CONTROLS
from gcrm.areas import read_area_levels
from gcrm.core import ValidationError
from gcrm.maps import area_geojson, external_references
from gcrm.maps.png import PNG_SIZE, map_frame, pixel_geometry, render_map_png

NOW = datetime(2024, 7, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def data(area_conn: Connection, cube: xr.Dataset) -> DashboardData:
    """Dashboard data of the small cube whose levels and geometry were read from PostGIS
    on the test's connection (rolled back after the test)."""
    return DashboardData(
        engine=area_conn.engine,
        cube=cube,
        region_name="Testland",
        _levels=read_area_levels(area_conn),
        _geometry={lv: area_geojson(area_conn, level=lv) for lv in ("district", "hex")},
    )


def _controls(**changes: object) -> dict[str, object]:
    return {**{k: CONTROLS[k] for k in LINKED_CONTROLS}, **changes}


def test_table_holds_every_area_of_the_view_with_the_dashboards_values(
    data: DashboardData,
) -> None:
    view = {"level": "hex", "parent": None, "selected": None}
    controls = _controls(measure="revenue", period="2024-Q2")
    table, level, parent = view_table(data, view, controls)
    assert (level, parent) == ("hex", None)
    assert list(table.index) == ["hex:h3", "hex:h2", "hex:h1"]  # 100 > 30 > 10, all three
    values = p.view_values(data.cube, view, measure="revenue", period="2024-Q2", segment="all")
    pd.testing.assert_series_equal(
        table.iloc[:, 3], values.reindex(table.index).rename(table.columns[3]), check_names=False
    )
    assert table["Share"].sum() == pytest.approx(1.0)
    # The screen's top rows read the same numbers.
    _, _, rows = p.table_rows(
        data.cube, view, data.levels, measure="revenue", period="2024-Q2", segment="all"
    )
    assert [r["area"] for r in rows] == list(table.index)
    assert [r["share"] for r in rows] == [f"{s:.1%}" for s in table["Share"]]
    assert list(table["Code"]) == ["h3", "h2", "h1"]
    assert list(table["Rank"]) == [1, 2, 3]


def test_table_with_a_comparison_has_base_and_change(data: DashboardData) -> None:
    view = {"level": "district", "parent": None, "selected": None}
    table, _, _ = view_table(data, view, _controls(period="2024-Q2", compare="previous"))
    assert list(table.columns) == [
        "Rank",
        "Code",
        "Area",
        "Revenue, Q2 2024",
        "Share",
        "Revenue, Q1 2024",
        "Change",
        "Change %",
    ]
    # Revenue grows with the month number: Q2 (4+5+6) over Q1 (1+2+3) is +150% everywhere.
    assert table["Change %"].tolist() == pytest.approx([1.5, 1.5])


def test_csv_and_xlsx_open_with_the_rows_and_the_view(data: DashboardData) -> None:
    view = {"level": "hex", "parent": "district:a", "selected": None}
    export = describe_view(data, view, _controls(segment="business"), now=NOW)
    csv, name = export_file(data, export, "csv")
    assert name == "gcrm-revenue-hex-in-a-business-20240701-0930.csv"
    frame = pd.read_csv(io.BytesIO(csv), dtype={"Code": str})
    assert list(frame["Code"]) == ["h2", "h1"]  # only district a's hexagons
    assert list(frame.columns[:3]) == ["Rank", "Code", "Area"]

    xlsx, name = export_file(data, export, "xlsx")
    assert name.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    assert book.sheetnames == ["Areas", "View"]
    areas = book["Areas"]
    assert areas.freeze_panes == "A2" and areas["A1"].font.bold
    assert [c.value for c in areas["B"]][1:] == ["h2", "h1"]
    filters = {row[0]: row[1] for row in book["View"].iter_rows(min_row=2, values_only=True)}
    assert filters["Region"] == "Testland"
    assert filters["Within"] == "Testland › Alppila"
    assert filters["Segment"] == "Business"
    assert filters["Measure"] == "Revenue"
    assert filters["Exported"] == "2024-07-01 09:30 UTC"


def test_every_linked_control_is_written_on_the_export(data: DashboardData) -> None:
    view = {"level": "district", "parent": None, "selected": None}
    # A control another part of the page adds to the link (a filter unknown here) is listed.
    export = describe_view(data, view, _controls(sales_team="north"), now=NOW)
    assert ("Sales team", "north") in export.filters
    assert "north" in file_name(export, "csv")
    assert not any(k == "Points" for k, _ in export.filters)  # not drawn in an export


def test_html_map_is_offline_with_each_area_the_legend_and_filters(data: DashboardData) -> None:
    view = {"level": "hex", "parent": None, "selected": "hex:h2"}
    export = describe_view(data, view, _controls(period="2024-Q2", compare="yoy"), now=NOW)
    # Q2 2023 is before the cube: no comparison, said so, the plain classes drawn.
    assert export.notes and "No comparison" in export.notes[0]
    page = export_file(data, export, "html")[0].decode("utf-8")
    assert external_references(page) == []
    urls = set(re.findall(r"https?://[^\s\"'<>)\\]+", page))
    # Only names in Leaflet's comments and attribution, the SVG namespace: no tile or CDN.
    assert all(
        re.match(r"https?://(www\.w3\.org|leafletjs\.com|bugs\.chromium|bugzilla\.mozilla)", u)
        for u in urls
    ), urls
    assert "L.tileLayer(" not in page  # folium's tile layer: none
    for name in ("Hex 1", "Hex 2", "Hex 3"):
        assert name in page
    assert "Revenue · Q2 2024" in page  # the title and the legend
    assert "Compare with: Same period last year" in page
    assert "Exported 2024-07-01 09:30 UTC" in page
    for colour in export.colours.values():
        assert colour in page


def test_png_is_of_the_size_with_area_colours_and_a_title(data: DashboardData) -> None:
    view = {"level": "hex", "parent": None, "selected": None}
    export = describe_view(data, view, _controls(period="2024-Q2"), now=NOW)
    png, name = export_file(data, export, "png")
    assert name.endswith(".png") and png[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == PNG_SIZE
    areas = view_areas(data, export)
    frame = map_frame(export.title_lines())
    inside = shapely.point_on_surface(pixel_geometry(areas, frame.box))
    for area_id, point in zip(areas["area_id"], inside, strict=True):
        expected = tuple(int(export.colours[area_id][i : i + 2], 16) for i in (1, 3, 5))
        assert image.getpixel((round(point.x), round(point.y))) == expected, area_id
    assert len(set(export.colours.values())) == 3  # three classes: the check tells them apart
    title_band = image.crop((0, 0, PNG_SIZE[0], frame.title_height))
    assert len(title_band.getcolors(maxcolors=100_000) or []) > 2  # text, not a blank band


def test_png_rejects_areas_without_ids_and_small_sizes(data: DashboardData) -> None:
    view = {"level": "hex", "parent": None, "selected": None}
    export = describe_view(data, view, _controls(), now=NOW)
    areas = view_areas(data, export)
    with pytest.raises(ValidationError, match="size="):
        render_map_png(areas, fill={}, legend=[], title_lines=["t"], size=(100, 100))
    with pytest.raises(ValidationError, match="area_id"):
        render_map_png(areas.drop(columns="area_id"), fill={}, legend=[], title_lines=["t"])
    with pytest.raises(ValidationError, match="fmt='pdf'"):
        export_file(data, export, "pdf")
