"""Branch flows (origin area to branch) on the demo region (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, text

from gcrm.areas import origin_destination_flows
from gcrm.cli import cli
from gcrm.core import NotFoundError, ValidationError, period_bounds
from gcrm.maps import external_references, read_areas, read_branches
from gcrm.maps.flow_map import build_flow_map
from gcrm.maps.offline import render_offline
from tests.conftest import Demo


def _env(demo: Demo) -> dict[str, str]:
    return {
        "GCRM_DATABASE_URL": demo.settings.database_url,
        "GCRM_DATA_DIR": str(demo.settings.data_dir),
    }


def _order_totals(conn: Connection, period: str | None) -> tuple[int, float, pd.Series]:
    start, stop = period_bounds(period)
    where = "WHERE order_date >= :start AND order_date < :stop" if start else ""
    params = {"start": start, "stop": stop}
    orders, revenue = conn.execute(
        text(f"SELECT count(*), coalesce(sum(amount), 0) FROM gcrm.orders {where}"), params
    ).one()
    per_branch = pd.read_sql_query(
        text(
            "SELECT branch_code, count(DISTINCT customer_external_id) AS customers "
            f"FROM gcrm.orders {where} GROUP BY 1"
        ),
        conn,
        params=params,
    )
    return orders, float(revenue), per_branch.set_index("branch_code")["customers"]


@pytest.mark.parametrize("period", [None, "2025", "2024-Q2"])
def test_flow_totals_equal_order_totals(demo_conn: Connection, period: str | None) -> None:
    flows = origin_destination_flows(demo_conn, level="district", period=period)
    orders, revenue, customers = _order_totals(demo_conn, period)
    assert orders > 0
    assert flows["orders"].sum() == orders
    assert flows["revenue"].sum() == pytest.approx(revenue, abs=0.005)
    by_branch = flows.groupby("branch_code", dropna=False)["customers"].sum()
    pd.testing.assert_series_equal(
        by_branch.sort_index(), customers.sort_index(), check_names=False, check_dtype=False
    )
    districts = set(read_areas(demo_conn, level="district")["code"])
    assert set(flows["origin_code"].dropna()) <= districts
    located = flows.loc[flows["origin_code"].notna(), "orders"].sum()
    assert located >= 0.9 * orders


def test_flows_reject_bad_level_and_period(demo_conn: Connection) -> None:
    with pytest.raises(NotFoundError, match="level 'galaxy'"):
        origin_destination_flows(demo_conn, level="galaxy")
    with pytest.raises(ValidationError, match="YYYY-Qn"):
        origin_destination_flows(demo_conn, level="district", period="Q3 2025")


def test_flow_map_is_offline(demo_conn: Connection) -> None:
    flows = origin_destination_flows(demo_conn, level="district", period="2025")
    page = render_offline(
        build_flow_map(
            flows,
            areas=read_areas(demo_conn, level="district"),
            branches=read_branches(demo_conn),
            weight="revenue",
        )
    )
    assert external_references(page) == []
    assert "OpenStreetMap contributors, ODbL" in page
    assert "Flow by revenue" in page
    lines = page.count('"type": "LineString"')
    assert lines == int(((flows["revenue"] > 0) & flows["origin_code"].notna()).sum()) > 0


def test_flows_command(demo: Demo, tmp_path: Path) -> None:
    out, page = tmp_path / "flows.csv", tmp_path / "flows.html"
    result = CliRunner().invoke(
        cli,
        [
            "flows",
            "--level",
            "district",
            "--period",
            "2025",
            "--weight",
            "revenue",
            "-o",
            str(out),
            "--html",
            str(page),
        ],
        env=_env(demo),
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    with demo.engine.connect() as conn:
        orders, revenue, _ = _order_totals(conn, "2025")
    assert table["orders"].sum() == orders
    assert table["revenue"].sum() == pytest.approx(revenue, abs=0.01)
    html = page.read_text(encoding="utf-8")
    assert external_references(html) == [] and "Customer flows to branches by district" in html


def test_flows_command_writes_xlsx(demo: Demo, tmp_path: Path) -> None:
    out = tmp_path / "flows.xlsx"
    result = CliRunner().invoke(cli, ["flows", "-o", str(out)], env=_env(demo))
    assert result.exit_code == 0, result.output
    assert set(pd.read_excel(out).columns) >= {"origin_code", "branch_code", "revenue"}
