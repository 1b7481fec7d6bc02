"""Codes from float fields, end to end: real Shapefiles whose codes are floats (as public data
portals publish tracts and community areas), imported, enriched, built into a cube and
exported; every output writes the codes as people write them (``17031839000``, never
``17031839000.0`` or ``1.7031839e+10``), with leading zeros back where ``--code-width`` says.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner, Result
from shapely.geometry import Point, box
from sqlalchemy import Connection, text

from gcrm.cli import cli
from gcrm.core import Settings, ValidationError
from gcrm.ingest import ColumnMapping, import_customers, parse_code_widths
from gcrm.store import create_db_engine
from tests.databases import new_database

#: Illinois East State Plane (US feet), the CRS Chicago's portal publishes in.
STATE_PLANE = "EPSG:3435"
#: Two tracts side by side in Chicago, and the county around them (EPSG:4326).
WEST, EAST = box(-87.64, 41.83, -87.62, 41.85), box(-87.62, 41.83, -87.60, 41.85)
COUNTY = box(-87.65, 41.82, -87.59, 41.86)
#: What an export must never show: a float's ".0" or an exponent.
FLOAT_TEXT = re.compile(r"^\d+\.0+$|\d[eE][+-]?\d")


def _shapefile(path: Path, columns: dict[str, list[object]], geometry: list[object]) -> Path:
    """Write ``columns`` as a Shapefile in State Plane; floats stay float (Real) fields."""
    gdf = gpd.GeoDataFrame(columns, geometry=geometry, crs="EPSG:4326").to_crs(STATE_PLANE)
    gdf.to_file(path, engine="pyogrio")
    return path


def _write_inputs(folder: Path) -> dict[str, Path]:
    counties = _shapefile(
        folder / "counties.shp",
        {"COUNTYFP": [31.0], "NAME": ["Cook"]},
        [COUNTY],
    )
    tracts = _shapefile(
        folder / "tracts.shp",
        {
            "GEOID10": [17031839000.0, 17031839100.0],
            "NAME10": [839000.0, 839100.0],  # the tract "names" of the portal, floats too
            "COUNTYFP": [31.0, 31.0],
        },
        [WEST, EAST],
    )
    communities = _shapefile(
        folder / "communities.shp",
        {"AREA_NUMBE": [35.0, 36.0], "COMMUNITY": ["DOUGLAS", "OAKLAND"]},
        [WEST, EAST],
    )
    branches = _shapefile(
        folder / "branches.shp",
        {"code": [7.0], "name": ["South Loop"], "postcode": [60616.0]},
        [Point(-87.625, 41.84)],
    )
    leads = _shapefile(
        folder / "leads.shp",
        {
            "ext": [501.0, 502.0],
            "name": ["Corner Cafe", "Lake Bakery"],
            "zip": [60616.0, 60653.0],
            "employees": [12.0, 3.5],
        },
        [Point(-87.63, 41.84), Point(-87.61, 41.84)],
    )
    stats = folder / "acs.csv"
    # A wide table written by pandas from float columns: the key reads "17031839000.0".
    pd.DataFrame({"GEOID": [17031839000.0, 17031839100.0], "population": [3200.0, 2100.0]}).to_csv(
        stats, index=False
    )
    addresses = folder / "addresses.csv"
    addresses.write_text(
        "ref,street,housenumber,postcode,city,lon,lat\n"
        "a1,S State St,3300,60616.0,Chicago,-87.63,41.835\n"
        "a2,S Cottage Grove Ave,3900,60653.0,Chicago,-87.61,41.845\n",
        encoding="utf-8",
    )
    customers = folder / "customers.csv"
    customers.write_text(
        "customer_id,name,street,house_number,postcode,city,segment,status,signup_date\n"
        "1.0,Ada,S State St,3300,60616.0,Chicago,retail,active,2025-01-10\n"
        "2.0,Bo,S Cottage Grove Ave,3900,60653.0,Chicago,retail,active,2025-02-10\n",
        encoding="utf-8",
    )
    orders = folder / "orders.csv"
    orders.write_text(
        "order_id,customer_id,order_date,amount,branch_code\n"
        "100.0,1.0,2025-01-20,50,7.0\n200.0,2.0,2025-02-20,70,7.0\n",
        encoding="utf-8",
    )
    return {
        "counties": counties,
        "tracts": tracts,
        "communities": communities,
        "branches": branches,
        "leads": leads,
        "stats": stats,
        "addresses": addresses,
        "customers": customers,
        "orders": orders,
    }


def _gcrm(settings: Settings, *args: str) -> Result:
    env = {"GCRM_DATABASE_URL": settings.database_url, "GCRM_DATA_DIR": str(settings.data_dir)}
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def chicago(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Path]]:
    """The float-coded files imported, enriched and built into a cube, through the CLI."""
    folder = tmp_path_factory.mktemp("chicago")
    files = {k: str(v) for k, v in _write_inputs(folder).items()}
    with new_database() as url:
        settings = Settings(database_url=url, data_dir=folder / "data")
        steps = [
            ["import", "areas", files["counties"], "--level", "county", "--map", "code=COUNTYFP",
             "--code-width", "3"],
            ["import", "areas", files["tracts"], "--level", "tract", "--parent-level", "county",
             "--map", "code=GEOID10", "--map", "name=NAME10", "--map", "parent=COUNTYFP",
             "--code-width", "parent_code=3"],
            ["import", "areas", files["communities"], "--level", "community",
             "--map", "code=AREA_NUMBE", "--map", "name=COMMUNITY"],
            ["import", "area-stats", files["stats"], "--level", "tract", "--key", "GEOID",
             "--source", "ACS 5-year", "--vintage", "2022"],
            ["import", "addresses", files["addresses"]],
            ["import", "branches", files["branches"]],
            ["import", "leads", files["leads"], "--map", "external_id=ext", "--map", "postcode=zip"],
            ["import", "customers", files["customers"]],
            ["import", "orders", files["orders"]],
            ["enrich"],
            ["cube", "build"],
        ]  # fmt: skip
        for step in steps:
            _gcrm(settings, *step)
        yield settings, folder


def _no_float_text(frame: pd.DataFrame, columns: list[str]) -> None:
    for col in columns:
        bad = frame[col].astype(str).str.contains(FLOAT_TEXT)
        assert not bad.any(), f"{col}: {frame.loc[bad, col].tolist()}"


def test_stored_codes_are_integers_and_padded_where_told(
    chicago: tuple[Settings, Path],
) -> None:
    settings, _ = chicago
    engine = create_db_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            areas = conn.execute(
                text("SELECT level, code, name, parent_code FROM gcrm.areas ORDER BY level, code")
            ).all()
            stats = conn.execute(text("SELECT code FROM gcrm.area_stats ORDER BY code")).all()
            orders = conn.execute(
                text(
                    "SELECT order_id, customer_external_id, branch_code FROM gcrm.orders "
                    "ORDER BY order_id"
                )
            ).all()
            codes = conn.execute(
                text("SELECT area_codes FROM gcrm.customers ORDER BY external_id")
            ).scalars()
            customer_codes = list(codes)
    finally:
        engine.dispose()
    assert areas == [
        ("community", "35", "DOUGLAS", None),
        ("community", "36", "OAKLAND", None),
        ("county", "031", "Cook", None),
        ("tract", "17031839000", "839000", "031"),
        ("tract", "17031839100", "839100", "031"),
    ]
    assert stats == [("17031839000",), ("17031839100",)]
    assert orders == [("100", "1", "7"), ("200", "2", "7")]
    assert customer_codes == [
        {"county": "031", "tract": "17031839000", "community": "35"},
        {"county": "031", "tract": "17031839100", "community": "36"},
    ]


def test_exports_write_integer_codes(chicago: tuple[Settings, Path]) -> None:
    settings, folder = chicago
    out = folder / "out"
    _gcrm(settings, "customers", "export", "-o", str(out / "customers.csv"))
    _gcrm(settings, "leads", "export", "-o", str(out / "leads.csv"))
    _gcrm(settings, "leads", "export", "-o", str(out / "leads.gpkg"))
    _gcrm(settings, "profiles", "--level", "tract", "-o", str(out / "tracts.csv"))
    customers = pd.read_csv(out / "customers.csv", dtype=str, keep_default_na=False)
    assert customers["external_id"].tolist() == ["1", "2"]
    assert customers["postcode"].tolist() == ["60616", "60653"]
    assert customers["area_tract"].tolist() == ["17031839000", "17031839100"]
    assert customers["area_tract_name"].tolist() == ["839000", "839100"]
    assert customers["area_county"].tolist() == ["031", "031"]
    assert customers["area_community"].tolist() == ["35", "36"]
    leads = pd.read_csv(out / "leads.csv", dtype=str, keep_default_na=False)
    assert leads["external_id"].tolist() == ["501", "502"]
    assert leads["postcode"].tolist() == ["60616", "60653"]
    assert leads["employees"].tolist() == ["12", "3.5"]  # an attribute: a number as written
    assert leads["area_tract"].tolist() == ["17031839000", "17031839100"]
    from_gpkg = pyogrio.read_dataframe(out / "leads.gpkg")
    assert from_gpkg["area_tract"].tolist() == ["17031839000", "17031839100"]
    profiles = pd.read_csv(out / "tracts.csv", dtype=str, keep_default_na=False)
    assert sorted(profiles["code"]) == ["17031839000", "17031839100"]
    assert sorted(profiles["name"]) == ["839000", "839100"]
    codes = [f"area_{lv}{n}" for lv in ("community", "county", "tract") for n in ("", "_name")]
    for frame in (customers, leads):
        _no_float_text(frame, ["external_id", "postcode", *codes])
    _no_float_text(profiles, ["code", "name"])


def test_cube_show_names_areas_by_integer_codes(chicago: tuple[Settings, Path]) -> None:
    settings, _ = chicago
    shown = _gcrm(settings, "cube", "show", "--level", "tract", "--measure", "active").output
    assert "tract:17031839000 839000" in shown and "tract:17031839100 839100" in shown
    by_community = _gcrm(settings, "cube", "show", "--level", "community").output
    assert "community:35 DOUGLAS" in by_community and "community:36 OAKLAND" in by_community
    for output in (shown, by_community):
        assert not re.search(r"\d\.0+\b|\d[eE][+-]?\d", output), output


def test_code_width_options() -> None:
    assert parse_code_widths(("6",), default_field="code") == {"code": 6}
    assert parse_code_widths(("postcode=5", "parent=3"), default_field="code") == {
        "postcode": 5,
        "parent_code": 3,
    }
    with pytest.raises(
        ValidationError, match=r"--code-width .postcode=x. is not N or FIELD=N.*\(for customer_id\)"
    ):
        parse_code_widths(("postcode=x",), default_field="customer_id")


def test_workbook_number_cells_and_a_width(
    conn: Connection, reference: Path, tmp_path: Path
) -> None:
    """A workbook whose ids and postcodes are number cells (Excel dropped the zeros of
    00100): integers, and the postcode padded back with a width."""
    path = tmp_path / "crm.xlsx"
    pd.DataFrame(
        {
            "customer_id": [1.0, 2.0],
            "name": ["Aino", "Eero"],
            "street": ["Mannerheimintie", "Fabianinkatu"],
            "house_number": [10.0, 5.0],
            "postcode": [100.0, 130.0],
            "city": ["Helsinki", "Helsinki"],
            "segment": ["retail", "retail"],
            "status": ["active", "active"],
            "signup_date": ["2024-01-01", "2024-01-01"],
        }
    ).to_excel(path, index=False)
    report = import_customers(conn, path, mapping=ColumnMapping(widths={"postcode": 5}))
    assert report.inserted == 2
    rows = conn.execute(
        text(
            "SELECT external_id, housenumber, postcode, geocode_precision FROM gcrm.customers "
            "ORDER BY 1"
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("1", "10", "00100", "rooftop"),
        ("2", "5", "00130", "rooftop"),
    ]
