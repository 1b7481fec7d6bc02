"""Area profiles against hand-computed answers on a tiny world, and against the demo's totals."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, text

from gcrm.areas import PROFILE_MEASURES, area_profiles, profile_measures
from gcrm.cli.areas import profiles_command
from gcrm.cli.context import Context
from gcrm.core import NotFoundError, Settings
from gcrm.ingest import import_area_stats, import_buildings
from tests.areas.world import build_world

#: Areas and lengths are measured on the spheroid, the world is drawn in EPSG:3067 (scale
#: factor ~0.9996 here): hand figures in grid metres hold to a few parts in ten thousand.
REL = 2e-3


@pytest.fixture
def world(conn: Connection, tmp_path: Path) -> pd.DataFrame:
    build_world(conn, tmp_path)
    return pd.DataFrame(area_profiles(conn, level="zone")).set_index("code")


def test_housing_comes_from_area_stats_where_present(world: pd.DataFrame) -> None:
    z1, z2 = world.loc["Z1"], world.loc["Z2"]
    assert (z1["population"], z1["households"], z1["dwellings"]) == (1000, 500, 550)
    assert math.isnan(z2["households"]) and math.isnan(z2["dwellings"])
    assert world["area_km2"].tolist() == pytest.approx([1.0, 1.0], rel=REL)


def test_buildings_counted_once_by_centroid(world: pd.DataFrame) -> None:
    assert world["buildings"].tolist() == [2, 2]
    assert world["building_density_per_km2"].tolist() == pytest.approx([2.0, 2.0], rel=REL)
    # Z1: b1 20x20 m x 4 levels residential, b2 10x10 m x (unknown: 1) level.
    # Z2: b3 30x30 m x 2 levels industrial, b4 10x10 m x 3 levels residential.
    assert world.loc["Z1", "residential_floor_share"] == pytest.approx(1600 / 1700, rel=REL)
    assert world.loc["Z2", "residential_floor_share"] == pytest.approx(300 / 2100, rel=REL)


def test_road_length_by_class_is_clipped_to_the_area(world: pd.DataFrame) -> None:
    assert world.loc["Z1", "road_km_residential"] == pytest.approx(0.9, rel=REL)
    assert world.loc["Z2", "road_km_residential"] == pytest.approx(0.6, rel=REL)
    assert world.loc["Z1", "road_km_primary"] == 0.0
    assert world.loc["Z2", "road_km_primary"] == pytest.approx(0.8, rel=REL)
    assert world["road_km"].tolist() == pytest.approx([0.9, 1.4], rel=REL)


def test_zoning_mix_is_the_share_of_the_area(world: pd.DataFrame) -> None:
    z1, z2 = world.loc["Z1"], world.loc["Z2"]
    assert z1["zoning_residential_share"] == pytest.approx(0.5, rel=REL)
    assert z1["zoning_commercial_share"] == pytest.approx(0.2, rel=REL)
    assert z2["zoning_commercial_share"] == pytest.approx(0.2, rel=REL)
    assert z2["zoning_industrial_share"] == pytest.approx(0.375, rel=REL)  # overlap once
    assert z1["zoning_industrial_share"] == 0.0
    assert (world[["zoning_mixed_share", "zoning_other_share"]] == 0.0).all().all()


def test_customers_leads_and_penetration(world: pd.DataFrame) -> None:
    assert world["customers"].tolist() == [3, 1]
    assert world["active_customers"].tolist() == [2, 1]
    assert world["leads"].tolist() == [2, 1]
    assert world["businesses"].tolist() == [2, 1]  # no businesses stat: the lead count
    assert world.loc["Z1", "penetration"] == pytest.approx(2 / 500)
    assert math.isnan(world.loc["Z2", "penetration"])  # no households figure
    assert world.loc["Z1", "market_share_approx"] == pytest.approx(2 / 502)


def test_profile_measures_are_long_and_cover_every_level(conn: Connection, tmp_path: Path) -> None:
    build_world(conn, tmp_path)
    long = profile_measures(conn)
    assert list(long.columns) == ["level", "code", "measure", "value"]
    measures = set(long["measure"])
    assert set(PROFILE_MEASURES) <= measures
    assert {"road_km_residential", "road_km_primary"} <= measures
    assert len(long) == 2 * len(measures)
    got = long.set_index(["code", "measure"])["value"]
    assert got["Z1", "buildings"] == 2.0
    assert got["Z2", "zoning_industrial_share"] == pytest.approx(0.375, rel=REL)


def test_unknown_level_names_the_known_ones(conn: Connection, tmp_path: Path) -> None:
    build_world(conn, tmp_path)
    with pytest.raises(NotFoundError, match=r"level 'county' is not an area level.*\['zone'\]"):
        area_profiles(conn, level="county")


def test_demo_sums_equal_the_tables(demo_conn: Connection, demo) -> None:  # noqa: ANN001
    import_buildings(
        demo_conn,
        demo.region_dir / "buildings.gpkg",
        rejects_path=Path(demo.settings.data_dir) / "b.rejects.csv",
    )
    for level in ("district", "hex", "postcode"):
        profile = area_profiles(demo_conn, level=level)
        stats = demo_conn.execute(
            text("SELECT measure, sum(value) FROM gcrm.area_stats WHERE level = :l GROUP BY 1"),
            {"l": level},
        ).all()
        for measure, total in stats:
            if measure in profile:
                assert profile[measure].sum() == pytest.approx(total), (level, measure)
        counts = demo_conn.execute(
            text(
                """
                SELECT (SELECT count(*) FROM gcrm.customers WHERE area_codes ? :l),
                       (SELECT count(*) FROM gcrm.customers
                        WHERE area_codes ? :l AND status = 'active'),
                       (SELECT count(*) FROM gcrm.leads WHERE area_codes ? :l),
                       (SELECT count(DISTINCT b.ref) FROM gcrm.buildings b JOIN gcrm.areas a
                        ON a.level = :l AND ST_Intersects(a.geom, ST_Centroid(b.geom)))
                """
            ),
            {"l": level},
        ).one()
        got = (
            profile["customers"].sum(),
            profile["active_customers"].sum(),
            profile["leads"].sum(),
            profile["buildings"].sum(),
        )
        assert got == tuple(counts), level
        assert counts[0] > 0 and counts[3] > 400
        assert profile["residential_floor_share"].dropna().between(0, 1).all()
        assert profile.filter(like="zoning_").sum(axis=1).le(1 + 1e-6).all()


def test_cli_writes_each_format(demo, tmp_path: Path) -> None:  # noqa: ANN001
    import pyogrio
    from openpyxl import load_workbook

    runner = CliRunner()
    obj = Context(Settings(database_url=demo.settings.database_url, data_dir=tmp_path))
    for suffix in (".csv", ".gpkg", ".xlsx"):
        out = tmp_path / f"profiles{suffix}"
        result = runner.invoke(profiles_command, ["--level", "district", "-o", str(out)], obj=obj)
        assert result.exit_code == 0, result.output
        assert "6 areas" in result.output
    assert len(pd.read_csv(tmp_path / "profiles.csv")) == 6
    assert len(pyogrio.read_dataframe(tmp_path / "profiles.gpkg")) == 6
    ws = load_workbook(tmp_path / "profiles.xlsx").active
    assert ws.max_row == 7 and ws["A1"].font.bold and ws.freeze_panes == "A2"
    bad = runner.invoke(
        profiles_command, ["--level", "district", "-o", str(tmp_path / "p.txt")], obj=obj
    )
    assert bad.exit_code != 0


def test_vintages_side_by_side_latest_unless_chosen(conn: Connection, tmp_path: Path) -> None:
    build_world(conn, tmp_path)
    older = tmp_path / "older.csv"
    older.write_text(
        "level,code,measure,value,source,vintage\n"
        "zone,Z1,population,900,census,2019\nzone,Z2,jobs,12,census,2019\n"
    )
    assert import_area_stats(conn, older).inserted == 2
    latest = pd.DataFrame(area_profiles(conn, level="zone")).set_index("code")
    assert latest.loc["Z1", "population"] == 1000  # 2025 beats 2019
    assert latest.loc["Z2", "jobs"] == 12  # any other statistic is a column of its own
    assert latest.loc["Z1", "sources"].startswith("population, households, dwellings: hand (2025)")
    chosen = pd.DataFrame(area_profiles(conn, level="zone", vintage="2019")).set_index("code")
    assert chosen.loc["Z1", "population"] == 900
    assert chosen.loc["Z1", "households"] == 500  # no 2019 households: the latest, and said so
    assert "population: census (2019)" in chosen.loc["Z1", "sources"]
    assert "households, dwellings: hand (2025)" in chosen.loc["Z1", "sources"]
    with pytest.raises(NotFoundError, match=r"--vintage '2020'.*\['2019', '2025'\]"):
        area_profiles(conn, level="zone", vintage="2020")
