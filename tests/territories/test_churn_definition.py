"""One churn rate: the cube's, the territory report's and the words of both, checked against
the customers in the database (churned in the period / active at its start)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import xarray as xr
from sqlalchemy import Connection, text

from gcrm.core import parse_period
from gcrm.cube import MEASURES, select_measure
from gcrm.territories import KPIS, build_territory_report
from gcrm.territories.kpis import totals

# The definition in SQL, on the customers themselves: the cube must agree with it.
CHURN_SQL = """
SELECT c.area_codes ->> 'district' AS code,
       count(*) FILTER (WHERE c.churn_date >= :start AND c.churn_date < :stop) AS churned,
       count(*) FILTER (WHERE c.signup_date < :start
                          AND (c.churn_date IS NULL OR c.churn_date >= :start)) AS at_start
FROM gcrm.customers c
WHERE c.area_codes ? 'district'
GROUP BY 1 ORDER BY 1
"""


def _from_database(conn: Connection, period: str) -> dict[str, tuple[int, int]]:
    span = parse_period(period)
    rows = conn.execute(text(CHURN_SQL), {"start": span.start, "stop": span.stop})
    return {code: (churned, at_start) for code, churned, at_start in rows}


@pytest.mark.parametrize("period", ["2025-01", "2025-02", "2025-03", "2025-Q1", "2025"])
def test_report_and_cube_churn_rate_equal_the_database(
    conn: Connection, region: xr.Dataset, tmp_path: Path, period: str
) -> None:
    report = build_territory_report(
        conn, cube=region, level="district", out_dir=tmp_path, period=period
    )
    summary = report.summary.set_index("area_id")
    cube = select_measure(region, "churn_rate", level="district", period=period)
    database = _from_database(conn, period)
    for area, row in summary.iterrows():
        churned, at_start = database.get(row["code"], (0, 0))
        assert (row["churned"], row["active_at_start"]) == (churned, at_start), (period, area)
        expected = churned / at_start if at_start else math.nan
        assert row["churn_rate"] == pytest.approx(expected, nan_ok=True), (period, area)
        assert cube[area] == pytest.approx(expected, nan_ok=True), (period, area)
    total = totals(report.summary)
    churned, at_start = (sum(v[i] for v in database.values()) for i in (0, 1))
    expected = churned / at_start if at_start else math.nan
    assert total["churn_rate"] == pytest.approx(expected, nan_ok=True), period


def test_february_by_hand(conn: Connection, region: xr.Dataset, tmp_path: Path) -> None:
    # D01: C1 and C2 active on 1 February, C2 churned on 20 February: 1 / 2.
    # D02: C3 signed up on 1 February, so nobody was active at the start: no rate.
    report = build_territory_report(
        conn, cube=region, level="district", out_dir=tmp_path, period="2025-02"
    )
    s = report.summary.set_index("code")
    assert s.loc["D01", "churn_rate"] == pytest.approx(0.5)
    assert math.isnan(s.loc["D02", "churn_rate"])
    assert totals(report.summary)["churn_rate"] == pytest.approx(0.5)


def test_one_label_for_the_churn_rate(conn: Connection, region: xr.Dataset, tmp_path: Path) -> None:
    label = MEASURES["churn_rate"].label
    assert "churned in the period" in label and "active customers at its start" in label
    assert KPIS["churn_rate"].label == label
    report = build_territory_report(conn, cube=region, level="district", out_dir=tmp_path)
    assert label in report.html.read_text(encoding="utf-8")
