"""The Bay Area region pack, built small and run through the whole pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from gcrm.core import Settings
from gcrm.cube import load_cube, select_measure
from gcrm.demo.run import region_settings, run_demo
from gcrm.store import create_db_engine, drop_database
from tests.databases import new_database

# Builds the Bay Area pack from activitysim's data and runs the whole pipeline on it.
pytestmark = pytest.mark.slow


@pytest.fixture
def base_url() -> Iterator[str]:
    """The user's database, empty: a name of its own, so the region's (its name + "_bayarea",
    made and migrated by the demo run) is new too."""
    with new_database(schema=False) as url:
        yield url


def test_bayarea_demo_builds_and_runs(base_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=base_url, data_dir=tmp_path)
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
