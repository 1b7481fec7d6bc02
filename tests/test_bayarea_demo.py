"""The Bay Area region pack, built small and run through the whole pipeline."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from gcrm.core import DEFAULT_DATABASE_URL, Settings
from gcrm.cube import load_cube, select_measure
from gcrm.demo.run import region_settings, run_demo
from gcrm.store import create_db_engine, drop_database


def test_bayarea_demo_builds_and_runs(tmp_path: Path) -> None:
    import os

    server = os.environ.get("GCRM_DATABASE_URL", DEFAULT_DATABASE_URL)
    base = (
        make_url(server)
        .set(database=f"gcrm_test_{uuid.uuid4().hex[:8]}")
        .render_as_string(hide_password=False)
    )
    settings = Settings(database_url=base, data_dir=tmp_path)
    own = region_settings(settings, "bayarea")
    assert make_url(own.database_url).database.endswith("_bayarea")
    try:
        result = run_demo(settings, region="bayarea", customers=200, seed=3, progress=False)
        engine = create_db_engine(own.database_url)
        with engine.connect() as conn:
            levels = dict(
                conn.execute(text("SELECT level, count(*) FROM gcrm.areas GROUP BY 1")).all()
            )
            precision = dict(
                conn.execute(
                    text("SELECT geocode_precision, count(*) FROM gcrm.customers GROUP BY 1")
                ).all()
            )
            nested = dict(conn.execute(text("SELECT level, nested FROM gcrm.area_levels")).all())
            revenue = conn.execute(
                text(
                    "SELECT sum(o.amount)::float8 FROM gcrm.orders o JOIN gcrm.customers c ON c.external_id = o.customer_external_id WHERE c.area_codes ? 'county'"
                )
            ).scalar()
        engine.dispose()
        assert levels == {"county": 9, "superdistrict": 34, "zone": 1454}
        assert nested == {"county": False, "superdistrict": True, "zone": True}
        # No street-level reference in this region: customers are placed at their ZIP.
        assert precision["postcode"] >= 0.8 * sum(precision.values())
        assert "rooftop" not in precision
        cube = load_cube(result.cube_path)
        assert select_measure(cube, "revenue", level="county").sum() == pytest.approx(
            revenue, abs=0.01
        )
        assert select_measure(cube, "population", level="county").sum() == pytest.approx(
            select_measure(cube, "population", level="zone").sum()
        )
        assert result.map_path is not None and result.map_path.exists()
        assert result.report_paths[0].name == "territories_superdistrict.xlsx"
    finally:
        drop_database(own.database_url)
