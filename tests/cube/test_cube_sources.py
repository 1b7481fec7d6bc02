"""The cube's statistics: vintages side by side, the latest by default, and where each
figure comes from (on the tiny seeded region of tests/maps/seed.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr
from sqlalchemy import Connection, text

from gcrm.core import NotFoundError
from gcrm.cube import (
    MEASURES,
    build_region_cube,
    describe_sources,
    load_cube,
    measure_sources,
    save_cube,
    select_measure,
)

OLDER = (
    "INSERT INTO gcrm.area_stats (level, code, measure, value, source, vintage, method) VALUES "
    "('district', 'D01', 'population', 900, 'census', '2019', 'count'), "
    "('district', 'D02', 'population', 450, 'census', '2019', 'count'), "
    "('district', 'D01', 'households', 380, 'census', 'not stated', NULL)"
)


def test_latest_vintage_by_default_and_chosen_with_vintage(
    conn: Connection, region: xr.Dataset
) -> None:
    conn.execute(text(OLDER))
    latest = build_region_cube(conn)
    assert latest.attrs["statistics_vintage"] == "latest"
    # 2025 beats 2019, and a vintage naming no year comes last.
    assert select_measure(latest, "population", level="district").tolist() == [1000, 500]
    assert select_measure(latest, "households", level="district").tolist() == [400, 250]
    older = build_region_cube(conn, vintage="2019")
    assert older.attrs["statistics_vintage"] == "2019"
    assert select_measure(older, "population", level="district").tolist() == [900, 450]
    # Households have no 2019 figure: they keep their latest, and their source says so.
    assert select_measure(older, "households", level="district").tolist() == [400, 250]
    assert describe_sources(older, "population") == "census, 2019"
    assert describe_sources(older, "penetration") == "test, 2025"
    with pytest.raises(NotFoundError, match=r"--vintage '2031'.*'not stated'"):
        build_region_cube(conn, vintage="2031")


def test_sources_per_area_survive_zarr(
    conn: Connection, region: xr.Dataset, tmp_path: Path
) -> None:
    rows = measure_sources(region, "population")
    assert rows.to_dict("records") == [
        {"source": "test", "vintage": "2025", "method": "", "areas": 2}
    ]
    assert measure_sources(region, "revenue").empty  # gcrm's own count: no source
    assert describe_sources(region, "households", areas=["district:D02"]) == "test, 2025"
    cube = load_cube(save_cube(region, tmp_path / "c.zarr"))
    xr.testing.assert_identical(cube, region)
    assert cube["statistic_source"].sel(area="district:D01", statistic="population") == "test"
    # Businesses fall back to the lead count, and say so.
    assert "gcrm count of leads" in describe_sources(cube, "businesses")


def test_housing_measures_are_cube_measures(region: xr.Dataset) -> None:
    for name in (
        "dwellings_detached",
        "dwellings_terraced",
        "dwellings_apartment",
        "buildings_apartment_share",
        "buildings_high_share",
        "mean_levels",
    ):
        assert name in MEASURES and name in region, name
    assert MEASURES["dwellings_apartment"].kind == "static"
    assert MEASURES["buildings_apartment_share"].kind == "ratio"
