"""End to end on the demo region (built once per session by tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import text

from gcrm.cli import cli
from gcrm.maps import external_references
from tests.conftest import Demo


def test_territories_report_on_demo(demo: Demo, tmp_path: Path) -> None:
    env = {
        "GCRM_DATABASE_URL": demo.settings.database_url,
        "GCRM_DATA_DIR": str(demo.settings.data_dir),
    }
    result = CliRunner().invoke(
        cli, ["territories", "report", "--level", "district", "-o", str(tmp_path)], env=env
    )
    assert result.exit_code == 0, result.output
    with demo.engine.connect() as conn:
        names = list(
            conn.execute(
                text("SELECT name FROM gcrm.areas WHERE level = 'district' ORDER BY code")
            ).scalars()
        )
        revenue = conn.execute(
            text(
                "SELECT sum(o.amount)::float8 FROM gcrm.orders o JOIN gcrm.customers c "
                "ON c.external_id = o.customer_external_id WHERE c.area_codes ? 'district'"
            )
        ).scalar_one()
    wb = load_workbook(tmp_path / "territories_district.xlsx")
    assert len(wb.sheetnames) == len(names) + 2 and wb.sheetnames[-1] == "Sources"
    assert "sources:\nPopulation: " in result.output
    summary = wb["Summary"]
    header = [c.value for c in summary[1]]
    total = [c.value for c in summary[len(names) + 2]]
    assert total[0] == "Total"
    # The districts' revenue adds up to the orders of every customer placed in a district.
    assert total[header.index("Revenue")] == pytest.approx(revenue, rel=1e-9) and revenue > 0
    page = (tmp_path / "territories_district.html").read_text(encoding="utf-8")
    assert external_references(page) == []
    assert all(name.replace("&", "&amp;") in page for name in names)


def test_the_demo_designs_its_plan_once(demo: Demo) -> None:
    from gcrm.demo.run import DEMO_PLAN, REGIONS, _demo_plan
    from gcrm.territories import list_plans, read_plan

    with demo.engine.connect() as conn:
        plan = read_plan(conn, f"{DEMO_PLAN}@1")
        hexes = conn.exec_driver_sql("SELECT count(*) FROM gcrm.areas WHERE level = 'hex'").scalar()
    assert (plan.name, plan.version, plan.level, plan.k) == (DEMO_PLAN, 1, "hex", 4)
    assert len(plan.assignment) == hexes and set(plan.assignment) == {1, 2, 3, 4}
    assert plan.figures["contiguous"] is True
    assert "kept" in _demo_plan(demo.engine, REGIONS["helsinki"])
    with demo.engine.connect() as conn:
        assert (list_plans(conn)["name"] == DEMO_PLAN).sum() == 1
