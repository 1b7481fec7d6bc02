"""Customer and lead exports with enrichment columns, on the demo database, every format."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Connection, text

from gcrm.cli.context import Context
from gcrm.cli.customers import customers
from gcrm.cli.leads import leads_export_command
from gcrm.core import Settings, ValidationError
from gcrm.exports import ENRICHMENT_COLUMNS, export_points, read_points

FORMATS = (".csv", ".xlsx", ".geojson", ".gpkg")
AREA_COLUMNS = [
    "area_district", "area_postcode", "area_hex",
    "area_district_name", "area_postcode_name", "area_hex_name",
]  # fmt: skip


def _count(conn: Connection, sql: str, **params: object) -> int:
    return int(conn.execute(text(sql), params).scalar_one())


def _read(path: Path) -> pd.DataFrame:
    """Open an export the way its users would."""
    suffix = path.suffix
    if suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if suffix == ".xlsx":
        ws = load_workbook(path).active
        assert all(cell.font.bold for cell in ws[1])
        assert ws.freeze_panes == "A2"
        rows = list(ws.iter_rows(values_only=True))
        return pd.DataFrame(rows[1:], columns=rows[0])
    if suffix == ".geojson":
        features = json.loads(path.read_text())["features"]
        return pd.DataFrame([f["properties"] for f in features])
    return pd.DataFrame(pyogrio.read_dataframe(path))


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("entity", ["customers", "leads"])
def test_every_format_opens_with_the_area_columns(
    demo_conn: Connection, tmp_path: Path, suffix: str, entity: str
) -> None:
    path = export_points(demo_conn, entity=entity, path=tmp_path / f"{entity}{suffix}")
    table = _read(path)
    assert len(table) == _count(demo_conn, f"SELECT count(*) FROM gcrm.{entity}")
    columns = list(table.columns)
    assert columns[: columns.index("area_district")][0] == "external_id"
    assert columns[columns.index("area_district") : columns.index("area_district") + 6] == (
        AREA_COLUMNS
    )
    assert set(ENRICHMENT_COLUMNS) <= set(columns)
    assert {"area_dwellings", "area_building_density_per_km2"} <= set(columns)
    if entity == "customers":
        assert {"geocode_precision", "geocode_score", "geocode_source", "matched_address"} <= set(
            columns
        )
    if suffix in (".csv", ".xlsx"):
        assert {"lon", "lat"} <= set(columns)


def test_area_columns_match_the_database(demo_conn: Connection) -> None:
    gdf = read_points(demo_conn, entity="customers")
    db = pd.read_sql_query(
        text(
            "SELECT c.external_id, c.area_codes ->> 'hex' AS hex, a.name "
            "FROM gcrm.customers c LEFT JOIN gcrm.areas a "
            "ON a.level = 'district' AND a.code = c.area_codes ->> 'district' "
            "ORDER BY c.external_id"
        ),
        demo_conn,
    )
    assert gdf["external_id"].tolist() == db["external_id"].tolist()
    assert gdf["area_hex"].fillna("").tolist() == db["hex"].fillna("").tolist()
    assert gdf["area_district_name"].fillna("").tolist() == db["name"].fillna("").tolist()
    located = gdf[gdf["area_hex"].notna()]
    assert located["area_dwellings"].notna().mean() > 0.9


def test_filters_keep_what_the_database_says(demo_conn: Connection) -> None:
    district = demo_conn.execute(
        text(
            "SELECT area_codes ->> 'district' FROM gcrm.customers WHERE area_codes ? 'district' "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        )
    ).scalar_one()
    got = read_points(
        demo_conn, segment=["SMB", "Consumer"], status=["active"], area=f"district:{district}"
    )
    want = _count(
        demo_conn,
        "SELECT count(*) FROM gcrm.customers WHERE segment IN ('smb', 'consumer') AND status = 'active' "
        "AND area_codes ->> 'district' = :d",
        d=district,
    )
    assert len(got) == want > 0
    assert set(got["area_district"]) == {district}
    precision = read_points(demo_conn, precision=["street", "postcode"])
    assert len(precision) == _count(
        demo_conn,
        "SELECT count(*) FROM gcrm.customers WHERE geocode_precision IN ('street', 'postcode')",
    )
    leads = read_points(demo_conn, entity="leads", category=["cafe"])
    assert len(leads) == _count(
        demo_conn, "SELECT count(*) FROM gcrm.leads WHERE category = 'cafe'"
    )


def test_bad_arguments_name_the_value(demo_conn: Connection, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"area='county:1' is not LEVEL:CODE"):
        read_points(demo_conn, area="county:1")
    with pytest.raises(ValidationError, match=r"\['segment'\] apply to customers only"):
        read_points(demo_conn, entity="leads", segment=["smb"])
    with pytest.raises(ValidationError, match="entity='orders' unknown"):
        read_points(demo_conn, entity="orders")
    with pytest.raises(ValidationError, match=r"extension '.txt'"):
        export_points(demo_conn, path=tmp_path / "x.txt")


def test_cli_exports_customers_and_leads(demo, tmp_path: Path) -> None:  # noqa: ANN001
    runner = CliRunner()
    obj = Context(Settings(database_url=demo.settings.database_url, data_dir=tmp_path))
    out = tmp_path / "active.csv"
    result = runner.invoke(customers, ["export", "-o", str(out), "--status", "active"], obj=obj)
    assert result.exit_code == 0, result.output
    with demo.engine.connect() as conn:
        active = _count(conn, "SELECT count(*) FROM gcrm.customers WHERE status = 'active'")
        leads = _count(conn, "SELECT count(*) FROM gcrm.leads")
    assert len(pd.read_csv(out)) == active
    out = tmp_path / "leads.gpkg"
    result = runner.invoke(leads_export_command, ["-o", str(out)], obj=obj)
    assert result.exit_code == 0, result.output
    assert len(pyogrio.read_dataframe(out)) == leads
    assert "gcrm customers export" in runner.invoke(customers, ["export", "--help"]).output
