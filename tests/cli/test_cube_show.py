"""``gcrm cube show``: comparisons, shares, running totals, pivots and the files it writes,
on the small hand-written cube of tests/cube/small.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook

from gcrm.cli import cli
from gcrm.core import Settings
from gcrm.cube import save_cube
from tests.cube.small import small_cube


@pytest.fixture
def show(settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    store = save_cube(small_cube(), tmp_path / "small.zarr")
    env = {"GCRM_DATABASE_URL": settings.database_url, "GCRM_DATA_DIR": str(settings.data_dir)}

    def run(*args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(cli, ["cube", "show", "--cube", str(store), *args], env=env)
        assert result.exit_code == code, result.output
        return result

    return run


def _rows(output: str) -> dict[str, list[str]]:
    """Table lines by their first cell."""
    return {line.split()[0]: line.split()[1:] for line in output.splitlines() if line.strip()}


def test_compare_prints_value_base_change_and_percent(show) -> None:  # type: ignore[no-untyped-def]
    out = show("--measure", "revenue", "--period", "2025-03", "--compare", "previous").output
    lines = out.splitlines()
    assert lines[0] == "Revenue by district, 2025-03 against 2025-02 (previous), segment all"
    assert lines[1].split() == ["area", "name", "value", "base", "change", "%", "change"]
    rows = _rows(out)
    # B first (660 > 495); its base is 0: no % change ("-").
    assert rows["district:B"] == ["Beta", "660", "0", "660", "-"]
    assert rows["district:A"] == ["Alpha", "495", "462", "33", "7.143"]


def test_compare_year_on_year_with_shares_written_to_xlsx(show, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "yoy.xlsx"
    result = show(
        "--level", "hex", "--measure", "revenue", "--period", "2025-Q1",
        "--compare", "yoy", "--shares", "--top", "1", "-o", str(out),
    )  # fmt: skip
    assert "2025-Q1 against 2024-Q1 (yoy)" in result.output
    assert "3 rows written to" in result.output
    assert [k for k in _rows(result.output) if k.startswith("hex:")] == ["hex:b1"]  # --top 1
    wb = load_workbook(out)
    cells = [[c.value for c in row] for row in wb.active.iter_rows()]
    assert cells[0] == [
        "area", "name", "value", "base", "change", "% change", "% of parent", "% of region"
    ]  # fmt: skip
    # a1 in 2025-Q1: 11 x (13 + 14 + 15) = 462; 2024-Q1: 11 x (1 + 2 + 3) = 66.
    a1 = next(r for r in cells if r[0] == "hex:a1")
    assert a1[2:5] == [462, 66, 396]
    assert a1[5] == pytest.approx(600) and a1[6] == pytest.approx(100 / 3)


def test_pivot_area_by_segment_to_csv(show, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "pivot.csv"
    result = show(
        "--measure", "revenue", "--period", "2025-03", "--pivot", "area,segment", "-o", str(out)
    )
    assert _rows(result.output)["district:A"] == ["45", "450"]
    table = pd.read_csv(out)
    assert table.columns.tolist() == ["area", "smb", "consumer"]
    assert table.set_index("area").loc["district:B"].tolist() == [60, 600]


def test_running_total_by_quarter(show) -> None:  # type: ignore[no-untyped-def]
    out = show("--measure", "orders", "--by", "quarter", "--running-total").output
    # 6 orders a month in the region (3 hexes x 2 segments): 18, 36, ... at quarter ends.
    assert _rows(out)["2024Q1"] == ["18"] and _rows(out)["2025Q1"] == ["90"]


# Usage errors exit with 2; the library's ValidationError goes up to the console script's
# handler (which prints "gcrm: error: ..." and exits with 2), so the runner holds it (exit 1).
@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--compare", "previous"], 2, "--compare previous needs one --period"),
        (["--period", "2025-03", "--compare", "yoy", "--by", "month"], 2, "work on a slice"),
        (["--running-total"], 2, "--running-total needs a time series"),
        (["--pivot", "area,region"], 2, "e.g. area,segment or segment,channel"),
        (["--pivot", "area,channel"], 1, "channel and branch split order measures"),
        (["--period", "2025-03", "-o", "x.json"], 1, "--out='x.json' has extension '.json'"),
        (["--period", "2024-06", "--compare", "yoy"], 1, "(it covers 2024-01 to 2025-03)"),
    ],
)
def test_errors_name_the_option_and_the_fix(
    show, args: list[str], code: int, fragment: str
) -> None:  # type: ignore[no-untyped-def]
    result = show(*args, code=code)
    assert fragment in result.output + str(result.exception)


def test_help_shows_examples(show) -> None:  # type: ignore[no-untyped-def]
    out = " ".join(show("--help").output.split())
    assert "--compare previous" in out and "--pivot area,segment" in out
    assert "--channel" in out and "segment,channel" in out
