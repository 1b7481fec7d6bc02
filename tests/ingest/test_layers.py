"""Layer importers on real files: mappings, CRS, broken geometry, duplicates, hierarchies."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Polygon, box
from sqlalchemy import Connection, text

from gcrm.core import CRSMismatchError, ValidationError
from gcrm.ingest import import_addresses, import_area_stats, import_areas, import_zones


def _tracts(tmp_path: Path, *, crs: str | None = "EPSG:3067") -> Path:
    # Two counties side by side, each split into two tracts (metres, ETRS-TM35FIN).
    x0, y0 = 385_000, 6_670_000
    counties = gpd.GeoDataFrame(
        {"FIPS": ["C1", "C2"], "CNAME": ["West County", "East County"]},
        geometry=[box(x0, y0, x0 + 2000, y0 + 2000), box(x0 + 2000, y0, x0 + 4000, y0 + 2000)],
        crs="EPSG:3067",
    )
    counties.to_file(tmp_path / "counties.gpkg")
    tracts = gpd.GeoDataFrame(
        {"GEOID": ["T1", "T2", "T3", "T3"], "NAME": ["One", "Two", "Three", "Three again"]},
        geometry=[
            box(x0, y0, x0 + 1000, y0 + 2000),
            box(x0 + 1000, y0, x0 + 2000, y0 + 2000),
            # A bow-tie: invalid, repaired by ST_MakeValid and counted.
            Polygon(
                [(x0 + 2000, y0), (x0 + 4000, y0 + 2000), (x0 + 4000, y0), (x0 + 2000, y0 + 2000)]
            ),
            box(x0 + 2000, y0, x0 + 3000, y0 + 1000),
        ],
        crs=crs,
    )
    path = tmp_path / "tracts.shp"
    tracts.to_file(path)
    return path


def test_areas_with_level_mapping_and_derived_parents(conn: Connection, tmp_path: Path) -> None:
    tracts = _tracts(tmp_path)
    import_areas(
        conn, tmp_path / "counties.gpkg", level="county", mapping={"code": "FIPS", "name": "CNAME"}
    )
    report = import_areas(
        conn,
        tracts,
        level="tract",
        parent_level="county",
        mapping={"code": "GEOID", "name": "NAME"},
    )
    assert (report.inserted, report.rejected) == (3, 1)
    rejects = pd.read_csv(report.rejects_path)
    assert rejects.loc[0, "row"] == 4 and "duplicate level+code" in rejects.loc[0, "reason"]
    assert report.details["invalid geometries repaired (ST_MakeValid)"] == 1
    assert report.details["parent codes derived by spatial nesting"] == 3
    parents = dict(
        conn.execute(text("SELECT code, parent_code FROM gcrm.areas WHERE level = 'tract'")).all()
    )
    assert parents == {"T1": "C1", "T2": "C1", "T3": "C2"}
    levels = dict(conn.execute(text("SELECT level, parent_level FROM gcrm.area_levels")).all())
    assert levels == {"county": None, "tract": "county"}
    # The repaired bow-tie covers only part of East County: a gap, reported.
    assert report.details["county: areas not fully covered by their children (gaps)"] == 1
    nested = dict(conn.execute(text("SELECT level, nested FROM gcrm.area_levels")).all())
    assert nested["tract"] is False


def test_file_without_crs_is_an_error_unless_stated(conn: Connection, tmp_path: Path) -> None:
    tracts = _tracts(tmp_path)
    tracts.with_suffix(".prj").unlink()
    with pytest.raises(CRSMismatchError, match="no coordinate reference system"):
        import_areas(conn, tracts, level="tract", mapping={"code": "GEOID", "name": "NAME"})
    report = import_areas(
        conn, tracts, level="tract", crs="EPSG:3067", mapping={"code": "GEOID", "name": "NAME"}
    )
    assert report.inserted == 3
    lon = conn.execute(
        text("SELECT ST_X(ST_Centroid(geom)) FROM gcrm.areas WHERE code = 'T1'")
    ).scalar()
    assert 24.0 < lon < 25.0  # reprojected from EPSG:3067, not read as degrees


def test_missing_column_and_bad_mapping_name_the_fix(conn: Connection, tmp_path: Path) -> None:
    tracts = _tracts(tmp_path)
    with pytest.raises(ValidationError, match=r"\['code'\] missing"):
        import_areas(conn, tracts, level="tract", mapping={"name": "NAME"})
    with pytest.raises(ValidationError, match="has no column 'GEOIDX'"):
        import_areas(conn, tracts, level="tract", mapping={"code": "GEOIDX"})


def test_wide_area_stats_keep_source_and_vintage(conn: Connection, tmp_path: Path) -> None:
    import_areas(conn, _tracts(tmp_path), level="tract", mapping={"code": "GEOID", "name": "NAME"})
    acs = tmp_path / "acs.csv"
    acs.write_text("GEOID,NAME,population,households\nT1,One,1200,500\nT2,Two,800,x\nT9,Nine,5,2\n")
    report = import_area_stats(
        conn, acs, level="tract", key="GEOID", source="ACS 5-year", vintage="2022"
    )
    assert (
        report.inserted == 3 and report.rejected == 3
    )  # T2 households 'x'; T9 twice (unknown area)
    rows = conn.execute(
        text("SELECT code, measure, value, source, vintage FROM gcrm.area_stats ORDER BY 1, 2")
    ).all()
    assert rows == [
        ("T1", "households", 500.0, "ACS 5-year", "2022"),
        ("T1", "population", 1200.0, "ACS 5-year", "2022"),
        ("T2", "population", 800.0, "ACS 5-year", "2022"),
    ]


def test_openaddresses_csv_loads_as_it_is(conn: Connection, tmp_path: Path) -> None:
    path = tmp_path / "oa.csv"
    path.write_text(
        "LON,LAT,NUMBER,STREET,UNIT,CITY,DISTRICT,REGION,POSTCODE,ID,HASH\n"
        "24.94,60.17,10,Mannerheimintie,,Helsinki,,,00100,,a1b2\n"
        "24.95,60.16,5 B,Fabianinkatu,,Helsinki,,,00130,,c3d4\n"
    )
    report = import_addresses(conn, path)
    assert report.inserted == 2
    refs = [r[0] for r in conn.execute(text("SELECT ref FROM gcrm.address_points ORDER BY ref"))]
    assert refs == ["oa:a1b2", "oa:c3d4"]
    assert import_addresses(conn, path).unchanged == 2


def test_zone_class_outside_the_list_is_rejected(conn: Connection, tmp_path: Path) -> None:
    zones = gpd.GeoDataFrame(
        {"id": ["z1", "z2"], "ZONE_TYPE": ["Industrial", "farm"]},
        geometry=[box(24.0, 60.0, 24.1, 60.1), box(24.1, 60.0, 24.2, 60.1)],
        crs="EPSG:4326",
    )
    zones.to_file(tmp_path / "zoning.geojson")
    report = import_zones(
        conn, tmp_path / "zoning.geojson", mapping={"ref": "id", "class": "ZONE_TYPE"}
    )
    assert (report.inserted, report.rejected) == (1, 1)
    assert "class 'farm' unknown" in pd.read_csv(report.rejects_path).loc[0, "reason"]


@pytest.mark.parametrize("suffix", [".zip", ".parquet", ".fgb", ".geojson"])
def test_every_vector_format_loads_the_same(conn: Connection, tmp_path: Path, suffix: str) -> None:
    import zipfile

    zones = gpd.GeoDataFrame(
        {"ref": ["z1"], "class": ["commercial"]},
        geometry=[box(24.0, 60.0, 24.1, 60.1)],
        crs="EPSG:4326",
    )
    if suffix == ".zip":
        zones.to_file(tmp_path / "zones.shp")
        path = tmp_path / "zones.zip"
        with zipfile.ZipFile(path, "w") as z:
            for part in tmp_path.glob("zones.*"):
                if part.suffix != ".zip":
                    z.write(part, part.name)
    elif suffix == ".parquet":
        path = tmp_path / "zones.parquet"
        zones.to_parquet(path)
    else:
        path = tmp_path / f"zones{suffix}"
        zones.to_file(path)
    assert import_zones(conn, path).inserted == 1
    area = conn.execute(
        text("SELECT round(ST_Area(geom)::numeric, 4) FROM gcrm.zones WHERE ref = 'z1'")
    ).scalar()
    assert float(area) == pytest.approx(0.01)
