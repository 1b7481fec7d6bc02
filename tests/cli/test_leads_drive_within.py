"""`gcrm leads near --minutes` and `gcrm leads within`, writing files, on the demo region."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyogrio
from click.testing import CliRunner, Result
from sqlalchemy import text

from gcrm.access import add_user
from gcrm.cli import cli
from gcrm.core import Settings
from gcrm.store import create_db_engine
from tests.conftest import Demo


def _run(demo: Demo, *args: str) -> Result:
    env = {
        "GCRM_DATABASE_URL": demo.settings.database_url,
        "GCRM_DATA_DIR": str(demo.settings.data_dir),
    }
    return CliRunner().invoke(cli, list(args), env=env)


def _said(result: Result) -> str:
    """What a failed command told the user (``main`` prints a GcrmError as one line)."""
    return result.output + str(result.exception)


def _branch(demo: Demo) -> tuple[float, float]:
    with demo.engine.connect() as conn:
        lon, lat = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM gcrm.branches ORDER BY code LIMIT 1")
        ).one()
    return float(lon), float(lat)


def test_near_minutes_writes_drive_times(demo: Demo, tmp_path: Path) -> None:
    lon, lat = _branch(demo)
    out = tmp_path / "drive.xlsx"
    origin = ["leads", "near", "--lon", str(lon), "--lat", str(lat)]
    result = _run(demo, *origin, "--minutes", "4", "--limit", "500", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "min drive" in result.output and "drive_time_s" in result.output
    rows = pd.read_excel(out)
    assert len(rows) > 5
    assert rows["drive_time_s"].is_monotonic_increasing and rows["drive_time_s"].max() <= 240
    both = _run(demo, *origin, "--minutes", "4", "--radius-m", "500")
    assert both.exit_code != 0
    assert "mutually exclusive" in _said(both)
    help_text = " ".join(_run(demo, "leads", "near", "--help").output.split())
    assert "Not with --radius-m" in help_text and "Not with --minutes" in help_text
    too_long = _run(demo, *origin, "--minutes", "500")
    assert too_long.exit_code != 0 and "at most 180" in _said(too_long)


def test_within_file_and_area_write_files(demo: Demo, tmp_path: Path) -> None:
    lon, lat = _branch(demo)
    d = 0.01
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
    drawn = tmp_path / "drawn.geojson"
    drawn.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
                    }
                ],
            }
        )
    )
    out = tmp_path / "inside.gpkg"
    result = _run(demo, "leads", "within", str(drawn), "-o", str(out))
    assert result.exit_code == 0, result.output
    inside = pyogrio.read_dataframe(out)
    assert len(inside) > 0
    bounds = inside.total_bounds
    assert bounds[0] > lon - d and bounds[2] < lon + d and bounds[1] > lat - d
    assert bounds[3] < lat + d
    district = inside["area_district"].dropna().iloc[0]
    csv = tmp_path / "area.csv"
    result = _run(demo, "leads", "within", "--area", f"district:{district}", "-o", str(csv))
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(csv, dtype={"area_district": str})
    assert len(rows) > 0 and (rows["area_district"] == str(district)).all()
    missing = _run(demo, "leads", "within")
    assert missing.exit_code != 0 and "--area LEVEL:CODE" in _said(missing)
    unknown = _run(demo, "leads", "within", "--area", "district:NOPE")
    assert unknown.exit_code != 0 and "check the code" in _said(unknown)


def test_within_holds_the_users_scope(seeded: Settings, tmp_path: Path) -> None:
    """Over the tiny region (tests/maps/seed.py): anna manages D01, which holds lead L1 only."""
    engine = create_db_engine(seeded.database_url)
    try:
        with engine.begin() as conn:
            add_user(conn, "anna", role="manager", scopes=["district:D01"])
    finally:
        engine.dispose()
    env = {"GCRM_DATABASE_URL": seeded.database_url, "GCRM_DATA_DIR": str(seeded.data_dir)}
    everywhere = tmp_path / "everywhere.geojson"
    ring = [[20.0, 59.0], [30.0, 59.0], [30.0, 62.0], [20.0, 62.0], [20.0, 59.0]]
    everywhere.write_text(json.dumps({"type": "Polygon", "coordinates": [ring]}), encoding="utf-8")
    seen = {}
    for who in ([], ["--as", "anna"]):
        out = tmp_path / f"within{len(who)}.csv"
        args = [*who, "leads", "within", str(everywhere), "-o", str(out)]
        done = CliRunner().invoke(cli, args, env=env)
        assert done.exit_code == 0, done.output
        seen[bool(who)] = sorted(pd.read_csv(out)["external_id"])
    assert seen == {False: ["L1", "L2"], True: ["L1"]}
    # Another manager's district is not an area anna can see: the message offers hers.
    args = ["--as", "anna", "leads", "within", "--area", "district:D02"]
    done = CliRunner().invoke(cli, args, env=env)
    assert done.exit_code != 0
    assert "you can see; check the code, e.g. district:D01" in _said(done)
