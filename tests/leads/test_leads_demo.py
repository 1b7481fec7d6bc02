"""End to end on the demo region (built once per session by tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pyogrio
from click.testing import CliRunner
from sqlalchemy import text

from gcrm.cli import cli
from tests.conftest import Demo


def test_leads_near_first_branch_on_demo(demo: Demo, tmp_path: Path) -> None:
    with demo.engine.connect() as conn:
        lon, lat = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM gcrm.branches ORDER BY code LIMIT 1")
        ).one()
    env = {
        "GCRM_DATABASE_URL": demo.settings.database_url,
        "GCRM_DATA_DIR": str(demo.settings.data_dir),
    }
    out = tmp_path / "near.gpkg"
    args = ["leads", "near", "--lon", str(lon), "--lat", str(lat), "--radius-m", "800"]
    result = CliRunner().invoke(cli, [*args, "--limit", "25", "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    leads = pyogrio.read_dataframe(out)
    assert 0 < len(leads) <= 25
    assert leads["distance_m"].is_monotonic_increasing and leads["distance_m"].max() <= 800
    assert list(leads["rank"]) == list(range(1, len(leads) + 1))
    assert "area_district" in leads.columns and leads["area_district"].notna().any()
    assert leads["name"].iloc[0] in result.output
