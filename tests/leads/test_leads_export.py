from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from geopandas.testing import assert_geodataframe_equal
from openpyxl import load_workbook

from gcrm.cli import cli
from gcrm.core import Settings, ValidationError
from gcrm.leads import Origin, export_leads


@pytest.fixture
def ranked() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "rank": [1, 2],
            "external_id": ["L1", "L2"],
            "name": ["Kahvila Yksi, a rather long café name", "Ravintola"],
            "category": ["cafe", "restaurant"],
            "distance_m": [12.5, 1234.0],
            "area_district": ["D01", None],
        },
        geometry=gpd.points_from_xy([24.93, 24.95], [60.16, 60.17]),
        crs="EPSG:4326",
    )


def test_csv_has_lon_lat_and_no_geometry(ranked: gpd.GeoDataFrame, tmp_path: Path) -> None:
    out = export_leads(ranked, tmp_path / "a" / "leads.csv")
    table = pd.read_csv(out)
    assert list(table.columns) == [*ranked.columns.drop("geometry"), "lon", "lat"]
    assert table["lon"].tolist() == [24.93, 24.95] and table["lat"].tolist() == [60.16, 60.17]
    assert "POINT" not in out.read_text(encoding="utf-8")


def test_xlsx_has_bold_frozen_header_and_widths(ranked: gpd.GeoDataFrame, tmp_path: Path) -> None:
    ws = load_workbook(export_leads(ranked, tmp_path / "leads.xlsx"))["Leads"]
    assert [c.value for c in ws[1]] == [*ranked.columns.drop("geometry"), "lon", "lat"]
    assert all(c.font.bold for c in ws[1]) and ws.freeze_panes == "A2"
    assert ws["C2"].value.startswith("Kahvila") and ws["E3"].value == 1234.0
    assert ws.column_dimensions["C"].width > ws.column_dimensions["A"].width


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_vector_formats_round_trip(ranked: gpd.GeoDataFrame, tmp_path: Path, suffix: str) -> None:
    out = export_leads(ranked, tmp_path / f"leads{suffix}")
    export_leads(ranked, out)  # replaced, not appended
    back = pyogrio.read_dataframe(out)
    assert len(back) == 2
    assert_geodataframe_equal(
        back[ranked.columns], ranked, check_dtype=False, check_less_precise=True
    )


def test_unknown_extension_names_the_allowed_ones(ranked: gpd.GeoDataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"'.shp'.*use one of .csv, .xlsx, .geojson, .gpkg"):
        export_leads(ranked, tmp_path / "leads.shp")


def _env(settings: Settings) -> dict[str, str]:
    return {"GCRM_DATABASE_URL": settings.database_url, "GCRM_DATA_DIR": str(settings.data_dir)}


def test_cli_near_coordinates_prints_table_and_exports(seeded: Settings, tmp_path: Path) -> None:
    out = tmp_path / "calls.xlsx"
    result = CliRunner().invoke(
        cli,
        [
            "leads",
            "near",
            "--lon",
            "24.93",
            "--lat",
            "60.165",
            "--radius-m",
            "2000",
            "-o",
            str(out),
        ],
        env=_env(seeded),
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("2 leads within 2000 m of 60.16500, 24.93000")
    assert lines[1].split() == ["rank", "name", "category", "distance_m", "address"]
    assert "Kahvila Yksi" in lines[2] and "Ravintola Kaksi" in lines[3]
    ws = load_workbook(out)["Leads"]
    assert [ws.cell(row=r, column=2).value for r in (2, 3)] == ["L1", "L2"]


def test_cli_near_customer_with_filter(seeded: Settings) -> None:
    result = CliRunner().invoke(
        cli, ["leads", "near", "--customer", "C3", "--category", "restaurant"], env=_env(seeded)
    )
    assert result.exit_code == 0, result.output
    assert "1 leads within 1000 m of customer C3 (Cafe Corp)" in result.output
    assert "Ravintola Kaksi" in result.output and "Kahvila" not in result.output


def test_cli_near_needs_one_origin(seeded: Settings) -> None:
    result = CliRunner().invoke(cli, ["leads", "near"], env=_env(seeded))
    assert isinstance(result.exception, ValidationError)
    assert "exactly one origin" in str(result.exception)


ADDRESS_ORIGIN = Origin(
    24.94,
    60.17,
    "Mannerheimintie 10, 00100 Helsinki",
    "interpolated",
    matched_address="Mannerheimintie 10 (between 8 and 12), 00100",
)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".geojson"])
def test_exports_from_an_address_carry_origin_precision(
    ranked: gpd.GeoDataFrame, tmp_path: Path, suffix: str
) -> None:
    out = export_leads(ranked, tmp_path / f"leads{suffix}", origin=ADDRESS_ORIGIN)
    if suffix == ".csv":
        back = pd.read_csv(out)
    elif suffix == ".xlsx":
        back = pd.read_excel(out)
    else:
        back = pyogrio.read_dataframe(out)
    assert back["origin_precision"].tolist() == ["interpolated", "interpolated"]
    assert back["origin_matched_address"].tolist() == [ADDRESS_ORIGIN.matched_address] * 2
    assert "origin_precision" not in ranked  # the caller's frame is left alone


def test_exports_from_coordinates_have_no_origin_columns(
    ranked: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    origin = Origin(24.94, 60.17, "60.17000, 24.94000", "coordinates")
    table = pd.read_csv(export_leads(ranked, tmp_path / "leads.csv", origin=origin))
    assert "origin_precision" not in table and "origin_matched_address" not in table


def test_lead_personal_fields_are_stated_once_in_gcrm_leads() -> None:
    import ast
    import inspect

    import gcrm.api.blueprint as blueprint
    import gcrm.leads
    from dashboard.prospecting import data as prospecting_data
    from gcrm.leads.query import LEAD_COLUMNS

    assert "LEAD_PERSONAL_FIELDS" in gcrm.leads.__all__
    fields = gcrm.leads.LEAD_PERSONAL_FIELDS
    assert set(fields) <= set(LEAD_COLUMNS), "each one a column a lead list carries"
    assert {"name", "phone"} <= set(fields)
    # The API and the Prospecting page audit the same fields, imported from gcrm.leads: the
    # dashboard does not reach into the API for them.
    assert blueprint.LEAD_PERSONAL_FIELDS is fields
    assert prospecting_data.LEAD_PERSONAL_FIELDS is fields
    for module in (blueprint, prospecting_data):
        tree = ast.parse(inspect.getsource(module))
        sources = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and any(a.name == "LEAD_PERSONAL_FIELDS" for a in node.names)
        }
        assert sources == {"gcrm.leads"}, module.__name__
