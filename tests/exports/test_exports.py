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


def _scores_of_one_lead_and_one_customer(conn: Connection) -> tuple[str, str]:
    """On ``conn`` (rolled back): one lead and one customer scored, every other score gone."""
    lead = conn.execute(text("SELECT min(external_id) FROM gcrm.leads")).scalar_one()
    customer = conn.execute(
        text("SELECT min(external_id) FROM gcrm.customers WHERE status = 'active'")
    ).scalar_one()
    conn.execute(text("DELETE FROM gcrm.lead_scores"))
    conn.execute(text("DELETE FROM gcrm.customer_scores"))
    runs = {
        kind: conn.execute(
            text("INSERT INTO gcrm.score_runs (kind, model) VALUES (:k, 'test') RETURNING id"),
            {"k": kind},
        ).scalar_one()
        for kind in ("lead", "churn", "value")
    }
    reasons = json.dumps(
        [
            {"feature": "category", "effect": 0.5, "text": "a cafe, like 40 customers"},
            {"feature": "branch", "effect": -0.2, "text": "8 min from branch B03"},
        ]
    )
    conn.execute(
        text(
            "INSERT INTO gcrm.lead_scores (external_id, run_id, score, percentile, reasons) "
            "VALUES (:id, :run, 0.875, 97.5, CAST(:reasons AS jsonb))"
        ),
        {"id": lead, "run": runs["lead"], "reasons": reasons},
    )
    conn.execute(
        text(
            "INSERT INTO gcrm.customer_scores (external_id, churn_run_id, churn_risk, "
            "churn_reasons, revenue_12m, value_run_id, expected_value_12m, expected_orders_12m, "
            "value_reasons) VALUES (:id, :churn, 0.25, CAST(:reasons AS jsonb), 100, :value, "
            "1234.5, 3, '[]')"
        ),
        {"id": customer, "churn": runs["churn"], "value": runs["value"], "reasons": reasons},
    )
    return str(lead), str(customer)


def _empty(cells: pd.DataFrame) -> bool:
    """Every cell empty, as a CSV ("") or a workbook (no value) leaves it."""
    return bool(cells.replace("", None).isna().all().all())


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_exports_carry_the_scores_where_scored(
    demo_conn: Connection, tmp_path: Path, suffix: str
) -> None:
    lead, customer = _scores_of_one_lead_and_one_customer(demo_conn)
    text_reasons = "a cafe, like 40 customers; 8 min from branch B03"
    leads = _read(export_points(demo_conn, entity="leads", path=tmp_path / f"leads{suffix}"))
    assert list(leads.columns[-5:-2]) == ["score", "percentile", "reasons"]  # then lon, lat
    row = leads.set_index("external_id").loc[lead]
    assert float(row["score"]) == 0.875 and float(row["percentile"]) == 97.5
    assert row["reasons"] == text_reasons
    others = leads[leads["external_id"] != lead]
    assert len(others) > 0 and _empty(others[["score", "percentile", "reasons"]])
    path = export_points(demo_conn, entity="customers", path=tmp_path / f"customers{suffix}")
    table = _read(path)
    scores = ["churn_risk", "churn_reasons", "expected_value_12m"]
    assert list(table.columns[-5:-2]) == scores
    row = table.set_index("external_id").loc[customer]
    assert float(row["churn_risk"]) == 0.25 and float(row["expected_value_12m"]) == 1234.5
    assert row["churn_reasons"] == text_reasons
    others = table[table["external_id"] != customer]
    assert len(others) > 0 and _empty(others[scores])


def test_exports_before_any_scoring_have_empty_score_columns(
    demo_conn: Connection, tmp_path: Path
) -> None:
    demo_conn.execute(text("DELETE FROM gcrm.lead_scores"))
    demo_conn.execute(text("DELETE FROM gcrm.customer_scores"))
    for entity, columns in (
        ("leads", ["score", "percentile", "reasons"]),
        ("customers", ["churn_risk", "churn_reasons", "expected_value_12m"]),
    ):
        table = _read(export_points(demo_conn, entity=entity, path=tmp_path / f"{entity}.csv"))
        assert len(table) > 0 and _empty(table[columns])
