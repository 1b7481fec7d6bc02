"""``gcrm areas hexes`` on a committed database, then ``gcrm enrich`` and ``gcrm cube
build``: the cube drills from a district down to its hexagons."""

from __future__ import annotations

import h3
import pytest
from sqlalchemy import text

from gcrm.cli import main
from gcrm.core import Settings
from gcrm.cube import children, load_cube, select_measure
from gcrm.store import create_db_engine


def test_hexes_then_enrich_and_cube_build_drill_district_to_hexagons(
    seeded: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GCRM_DATABASE_URL", seeded.database_url)
    args = ["--data-dir", str(seeded.data_dir)]

    assert main([*args, "areas", "hexes", "--resolution", "9,8"]) == 0
    printed = capsys.readouterr().out
    assert "h3_r8: " in printed and "hexagons (H3 res 8) under district" in printed
    assert "h3_r9: " in printed and "(H3 res 9) under h3_r8" in printed
    assert "0 rejected" in printed
    assert main([*args, "enrich"]) == 0
    assert main([*args, "cube", "build"]) == 0
    capsys.readouterr()

    ds = load_cube(seeded.cube_path)
    r8 = children(ds, "district:D01")
    assert r8 and all(a.startswith("h3_r8:") for a in r8)
    r9 = [a for p in r8 for a in children(ds, p)]
    assert r9 and all(a.startswith("h3_r9:") for a in r9)
    # Customers C1, C2 (D01) and C3 (D02) stand in the res-9 cells of their locations.
    customers = select_measure(ds, "customers", level="h3_r9")
    engine = create_db_engine(seeded.database_url)
    try:
        with engine.connect() as conn:
            places = conn.execute(
                text("SELECT ST_Y(geom), ST_X(geom) FROM gcrm.customers WHERE geom IS NOT NULL")
            ).all()
    finally:
        engine.dispose()
    expected = sorted(f"h3_r9:{h3.latlng_to_cell(lat, lng, 9)}" for lat, lng in places)
    assert (
        sorted(customers[customers > 0].index.repeat(customers[customers > 0].astype(int)))
        == expected
    )


def test_hexes_name_the_level_they_need(
    seeded: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GCRM_DATABASE_URL", seeded.database_url)
    args = ["--data-dir", str(seeded.data_dir)]
    assert main([*args, "areas", "hexes", "--resolution", "8", "--under", "county"]) == 2
    assert "--under 'county' is not an area level" in capsys.readouterr().err
    assert main([*args, "areas", "hexes", "--resolution", "8,x"]) == 2
    assert "'x' is not an H3 resolution" in capsys.readouterr().err
