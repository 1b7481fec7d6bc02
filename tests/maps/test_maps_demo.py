"""End to end on the demo region (built once per session by tests/conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from gcrm.cli import cli
from gcrm.maps import external_references
from tests.conftest import Demo
from tests.maps.seed import browser_dom


@pytest.mark.browser
def test_map_command_on_demo(demo: Demo, tmp_path: Path) -> None:
    env = {
        "GCRM_DATABASE_URL": demo.settings.database_url,
        "GCRM_DATA_DIR": str(demo.settings.data_dir),
    }
    out = tmp_path / "demo_map.html"
    result = CliRunner().invoke(
        cli, ["map", "--measure", "revenue", "--colour-by", "precision", "-o", str(out)], env=env
    )
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert external_references(page) == []
    with demo.engine.connect() as conn:
        districts = conn.execute(
            text("SELECT count(*) FROM gcrm.areas WHERE level = 'district'")
        ).scalar_one()
        located = conn.execute(
            text("SELECT count(*) FROM gcrm.customers WHERE geom IS NOT NULL")
        ).scalar_one()
    assert f"Customers ({located})" in page
    dom = browser_dom(out)
    drawn = re.findall(r'<path class="leaflet-interactive"[^>]*fill="#', dom)
    assert len(drawn) >= districts > 1
    assert re.search(r'class="[^"]*\bmarker-cluster\b', dom)
