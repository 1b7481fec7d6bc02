"""``gcrm hotspots`` on a committed grid of areas: the file, the summary, the map, --as."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from gcrm.cli import cli
from gcrm.core import Settings
from gcrm.maps import external_references
from tests.cube.test_hotspots import saved_grid


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A database of its own holding the grid (level ``cell``), with its cube saved."""
    with saved_grid(tmp_path_factory.mktemp("grid")) as settings:
        yield settings


def _run(settings: Settings, *args: str) -> Result:
    env = {"GCRM_DATABASE_URL": settings.database_url, "GCRM_DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(cli, list(args), env=env)


def test_hotspots_writes_the_areas_and_a_summary(grid: Settings, tmp_path: Path) -> None:
    out = tmp_path / "hot.gpkg"
    page = tmp_path / "hot.html"
    done = _run(
        grid, "hotspots", "--level", "cell", "--measure", "leads", "-o", str(out),
        "--html", str(page),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "Getis-Ord Gi* of leads by cell" in done.output
    assert "hot spots" in done.output and "alpha 0.05" in done.output
    assert "Benjamini-Hochberg" in done.output and "1 joined to the nearest area" in done.output
    written = gpd.read_file(out, layer="hotspots")
    assert len(written) == 101 and written.crs.to_epsg() == 4326
    assert written.set_index("code").loc["r1c1", "cluster"] == "hot spot"
    html = page.read_text(encoding="utf-8")
    assert external_references(html) == [] and "hot spot" in html
    assert "Benjamini-Hochberg false discovery rate" in html


def test_hotspots_as_a_table_with_moran_and_bonferroni(grid: Settings, tmp_path: Path) -> None:
    out = tmp_path / "lisa.csv"
    done = _run(
        grid, "hotspots", "--level", "cell", "--measure", "leads", "--method", "moran",
        "--correction", "bonferroni", "--permutations", "99", "--seed", "3", "-o", str(out),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "local Moran's I" in done.output and "Bonferroni over 101 areas" in done.output
    assert "use at least 4039 permutations" in done.output
    table = pd.read_csv(out)
    assert {
        "area_id",
        "value",
        "statistic",
        "p_value",
        "p_adjusted",
        "cluster",
        "lon",
        "lat",
    } <= set(table.columns)
    assert (table["cluster"] == "not significant").all()


def test_a_bad_measure_names_the_choices(grid: Settings, tmp_path: Path) -> None:
    done = _run(
        grid, "hotspots", "--level", "cell", "--measure", "nope", "-o", str(tmp_path / "x.csv")
    )
    assert done.exit_code == 2 and "'nope' is not one of" in done.output


def test_help_gives_an_example() -> None:
    text = CliRunner().invoke(cli, ["hotspots", "--help"]).output
    assert "gcrm hotspots --level hex --measure revenue" in text
    assert "--correction [fdr|bonferroni|none]" in text and "--html" in text
