"""The region's own name and currency: stored, validated, carried by the cube, set by the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection

from gcrm.areas import UNNAMED_REGION, RegionInfo, read_region, set_region
from gcrm.core import Settings, ValidationError
from gcrm.cube import build_region_cube, measure_unit
from gcrm.maps import format_value
from gcrm.store import create_db_engine
from tests.cli.test_cli import run_gcrm
from tests.databases import new_database


def test_unnamed_until_set_and_what_is_not_given_stays(conn: Connection) -> None:
    assert read_region(conn) == RegionInfo(UNNAMED_REGION, None)
    assert set_region(conn, name=" Uusimaa ", currency="eur") == RegionInfo("Uusimaa", "EUR")
    assert set_region(conn, currency="SEK") == RegionInfo("Uusimaa", "SEK")
    assert set_region(conn, name="Nyland") == RegionInfo("Nyland", "SEK")
    assert set_region(conn, currency="") == RegionInfo("Nyland", None)
    assert read_region(conn) == RegionInfo("Nyland", None)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"currency": "euro"}, ["currency 'euro'", "ISO 4217", "--currency EUR"]),
        ({"currency": "E1R"}, ["currency 'E1R'"]),
        ({"name": "   "}, ["region name ''", "1 to 200", "--name"]),
    ],
)
def test_bad_values_are_refused_with_the_fix(
    conn: Connection, kwargs: dict[str, str], words: list[str]
) -> None:
    with pytest.raises(ValidationError) as err:
        set_region(conn, **kwargs)
    assert all(w in str(err.value) for w in words), str(err.value)
    assert read_region(conn) == RegionInfo(UNNAMED_REGION, None)


def test_the_cube_carries_them(demo_conn: Connection) -> None:
    set_region(demo_conn, name="Test region", currency="USD")
    ds = build_region_cube(demo_conn)
    assert (ds.attrs["region_name"], ds.attrs["currency"]) == ("Test region", "USD")
    assert measure_unit(ds, "revenue") == "USD" and measure_unit(ds, "active") == "customers"
    assert format_value(1234.4, unit=measure_unit(ds, "revenue")) == "$1,234"
    set_region(demo_conn, currency="")
    bare = build_region_cube(demo_conn)
    assert bare.attrs["currency"] == "" and measure_unit(bare, "revenue") == ""
    assert format_value(1234.4, unit=measure_unit(bare, "revenue")) == "1,234"


@pytest.fixture
def empty_settings(tmp_path: Path) -> Iterator[Settings]:
    with new_database() as url:
        yield Settings(database_url=url, data_dir=tmp_path)


def test_region_set_and_show_from_the_command_line(empty_settings: Settings) -> None:
    assert "name: Region\ncurrency: (none)" in run_gcrm(empty_settings, "region").stdout
    out = run_gcrm(empty_settings, "region", "set", "--name", "Bay Area", "--currency", "usd")
    assert "region: Bay Area, currency USD" in out.stdout
    engine = create_db_engine(empty_settings.database_url)
    try:
        with engine.connect() as conn:
            assert read_region(conn) == RegionInfo("Bay Area", "USD")
    finally:
        engine.dispose()
    bad = run_gcrm(empty_settings, "region", "set", "--currency", "dollars", check=False)
    assert bad.returncode == 2 and "ISO 4217" in bad.stderr
    none = run_gcrm(empty_settings, "region", "set", check=False)
    assert none.returncode == 2 and "give --name, --currency or both" in none.stderr
