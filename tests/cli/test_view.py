"""``gcrm view`` on the demo region: the dashboard's view as a table or a map file."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from gcrm.cli import cli
from gcrm.cube import load_cube
from gcrm.maps import external_references
from gcrm.maps.png import PNG_SIZE
from tests.conftest import Demo


def _run(demo: Demo, *args: str) -> Result:
    settings = demo.settings
    env = {"GCRM_DATABASE_URL": settings.database_url, "GCRM_DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(cli, list(args), env=env)


def test_view_writes_the_table_and_the_map_of_a_drilled_view(demo: Demo, tmp_path: Path) -> None:
    ds = load_cube(demo.cube_path)
    district = str(ds["area"].values[ds["level"].values == "district"][0])
    name = str(ds["name"].sel(area=district).item())
    hexes = int((ds["parent"].values == district).sum())
    view = ["--level", "hex", "--parent", district, "--measure", "orders", "--period", "2025-Q2"]
    view += ["--compare", "yoy"]

    done = _run(demo, "view", *view, "-o", str(tmp_path / "v.xlsx"))
    assert done.exit_code == 0, done.output
    assert "Orders · Q2 2025 · % change vs Q2 2024" in done.output
    book = openpyxl.load_workbook(tmp_path / "v.xlsx")
    assert book["Areas"].max_row == hexes + 1
    assert [c.value for c in book["Areas"][1]][-3:] == ["Orders, Q2 2024", "Change", "Change %"]
    filters = {r[0]: r[1] for r in book["View"].iter_rows(min_row=2, values_only=True)}
    assert filters["Within"].endswith(name)

    done = _run(demo, "view", *view, "-o", str(tmp_path / "v.png"))
    assert done.exit_code == 0, done.output
    assert Image.open(tmp_path / "v.png").size == PNG_SIZE
    done = _run(demo, "view", *view, "-o", str(tmp_path / "v.html"))
    assert done.exit_code == 0, done.output
    assert external_references((tmp_path / "v.html").read_text(encoding="utf-8")) == []


def test_view_names_a_wrong_suffix_and_area(demo: Demo, tmp_path: Path) -> None:
    done = _run(demo, "view", "-o", str(tmp_path / "v.pdf"))
    assert done.exit_code != 0 and "--out=" in str(done.exception)
    assert "use one of .csv, .xlsx, .html, .png" in str(done.exception)
    done = _run(demo, "view", "--area", "district:nowhere", "-o", str(tmp_path / "v.csv"))
    assert done.exit_code != 0 and "--area='district:nowhere'" in str(done.exception)
    assert not (tmp_path / "v.csv").exists()


def test_view_of_one_channel_holds_that_channels_revenue(demo: Demo, tmp_path: Path) -> None:
    ds = load_cube(demo.cube_path)
    channel = str(ds["channel"].values[0])
    done = _run(
        demo, "view", "--level", "district", "--channel", channel, "-o", str(tmp_path / "v.csv")
    )
    assert done.exit_code == 0, done.output
    table = pd.read_csv(tmp_path / "v.csv", dtype={"Code": str})
    value = next(c for c in table.columns if c.startswith("Revenue"))
    districts = ds["level"].values == "district"
    by_channel = ds["revenue_by_channel"].sel(channel=channel).isel(area=districts)
    expected = by_channel.sum(["month", "segment"]).to_series()
    expected.index = [a.split(":", 1)[1] for a in expected.index]
    got = table.set_index("Code")[value]
    assert got.sum() == pytest.approx(expected.sum())
    assert got.sum() < float(ds["revenue"].isel(area=districts).sum())
    done = _run(demo, "view", "--channel", "fax", "-o", str(tmp_path / "w.csv"))
    assert done.exit_code != 0 and "'fax'" in str(done.exception)
