"""Lead and prospect lists as they come: a name and an address, coordinates, or a geometry;
no id, no category; columns of their own, kept and exported again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from shapely.geometry import Point, Polygon
from sqlalchemy import Connection, text

from gcrm.cli import cli
from gcrm.core import Settings, ValidationError
from gcrm.ingest import import_frame, import_leads
from gcrm.ingest.leads import LEAD_ID_PREFIX
from tests.ingest.committed import reference_settings

# A purchased prospect list: a name and one address column, nothing else.
NAME_AND_ADDRESS = """Name,Address
Kahvila Aino,"Mannerheimintie 10, 00100 Helsinki"
Ravintola Eero,"Fabianinkatu 5, Helsinki"
Kirjakauppa Liisa,Bulevardi 2 00120 Helsinki
"""


def _leads(conn: Connection) -> pd.DataFrame:
    rows = conn.execute(
        text(
            "SELECT external_id, name, category_group, category, street, housenumber, postcode, "
            "city, geocode_precision, geocode_source, matched_address, attributes, "
            "ST_X(geom) AS lon, ST_Y(geom) AS lat FROM gcrm.leads ORDER BY name"
        )
    )
    return pd.DataFrame(rows.fetchall(), columns=list(rows.keys())).set_index("name")


def _write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_name_and_one_address_column_import_and_geocode(
    conn: Connection, reference: Path, tmp_path: Path
) -> None:
    report = import_leads(conn, _write(tmp_path, "prospects.csv", NAME_AND_ADDRESS))
    assert (report.rows_read, report.inserted, report.rejected) == (3, 3, 0)
    assert report.details["geocoded by precision"] == {"rooftop": 3}
    assert report.details["ids derived from name and location"] == 3
    leads = _leads(conn)
    aino = leads.loc["Kahvila Aino"]
    assert (aino["lon"], aino["lat"]) == pytest.approx((24.9402, 60.1692))
    assert aino["street"] == "Mannerheimintie" and aino["housenumber"] == "10"
    assert aino["postcode"] == "00100" and aino["city"] == "Helsinki"
    assert aino["geocode_precision"] == "rooftop" and aino["matched_address"]
    assert aino["category"] == "" and aino["category_group"] == ""
    assert aino["attributes"] == {}
    assert all(
        i.startswith(LEAD_ID_PREFIX) and len(i) == len(LEAD_ID_PREFIX) + 16
        for i in leads["external_id"]
    )


def test_derived_ids_are_stable_and_a_rerun_changes_nothing(
    conn: Connection, reference: Path, tmp_path: Path
) -> None:
    path = _write(tmp_path, "prospects.csv", NAME_AND_ADDRESS)
    import_leads(conn, path)
    before = _leads(conn)
    again = import_leads(conn, path)
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 0)
    pd.testing.assert_frame_equal(_leads(conn), before)
    # The same rows in another order, with other spacing and case, are the same leads.
    shuffled = _write(
        tmp_path,
        "shuffled.csv",
        "Address,Name\nBulevardi 2   00120 helsinki,KIRJAKAUPPA  Liisa\n"
        '"Mannerheimintie 10, 00100 Helsinki",Kahvila Aino\n',
    )
    report = import_leads(conn, shuffled)
    assert report.inserted == 0 and report.rejected == 0
    assert len(_leads(conn)) == 3


def test_extra_columns_are_kept_and_a_changed_one_updates_the_lead(
    conn: Connection, reference: Path, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "list.csv",
        "Company,Street address,Employees,Owner,category\n"
        "Kahvila Aino,Mannerheimintie 10 Helsinki,12,Ville,cafe\n"
        "Ravintola Eero,Fabianinkatu 5 Helsinki,,Maija,\n",
    )
    mapping = {"name": "Company", "address": "Street address"}
    report = import_leads(conn, path, mapping=mapping)
    assert report.inserted == 2
    assert report.details["columns kept as attributes"] == ["Employees", "Owner"]
    leads = _leads(conn)
    assert leads.loc["Kahvila Aino", "attributes"] == {"Employees": "12", "Owner": "Ville"}
    assert leads.loc["Ravintola Eero", "attributes"] == {"Owner": "Maija"}
    assert leads.loc["Kahvila Aino", "category"] == "cafe"
    path.write_text(path.read_text(encoding="utf-8").replace("12,Ville", "14,Ville"), "utf-8")
    again = import_leads(conn, path, mapping=mapping)
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 1)
    assert _leads(conn).loc["Kahvila Aino", "attributes"]["Employees"] == "14"


def test_rows_in_are_rows_loaded_plus_rejected_with_reasons(
    conn: Connection, reference: Path, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "mixed.csv",
        "name,address,lon,lat,external_id\n"
        "Given point,,24.95,60.17,P1\n"  # row 2: coordinates, no address
        "Both,Fabianinkatu 5 Helsinki,24.90,60.20,P2\n"  # row 3: coordinates win
        ",Bulevardi 2 Helsinki,,,P3\n"  # row 4: no name
        "Nowhere,,,,P4\n"  # row 5: no location
        "Bad lon,,east,60.1,P5\n"  # row 6: not a number
        "Lost,Olematonkatu 1 Tuntematon,,,P6\n"  # row 7: nothing in the reference
        ",,,,\n"  # row 8: empty
        "Given point,,24.95,60.17,P1\n",  # row 9: the same id again
    )
    report = import_leads(conn, path)
    assert report.rows_read == 8
    assert report.loaded + report.rejected == report.rows_read
    assert (report.inserted, report.rejected) == (2, 6)
    rejects = pd.read_csv(report.rejects_path, dtype=str, keep_default_na=False)
    reasons = dict(zip(rejects["row"].astype(int), rejects["reason"], strict=True))
    assert reasons[4] == "name is empty"
    assert reasons[5] == "no location: the row has neither coordinates nor an address"
    assert "lon 'east' and lat '60.1' are not both numbers" in reasons[6]
    assert "could not be placed" in reasons[7] and "give lon and lat" in reasons[7]
    assert reasons[8] == "row is empty"
    assert "duplicate external_id" in reasons[9]
    leads = _leads(conn)
    assert (leads.loc["Both", "lon"], leads.loc["Both", "lat"]) == pytest.approx((24.90, 60.20))
    assert leads.loc["Both", "geocode_precision"] is None  # the file gave its location


def test_same_name_and_place_twice_is_one_lead(
    conn: Connection, reference: Path, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "twice.csv",
        "name,address\nKahvila Aino,Mannerheimintie 10 Helsinki\n"
        "Kahvila Aino,mannerheimintie  10 helsinki\n",
    )
    report = import_leads(conn, path)
    assert (report.inserted, report.rejected) == (1, 1)
    rejects = pd.read_csv(report.rejects_path, dtype=str, keep_default_na=False)
    assert rejects["reason"].tolist() == [
        "same name and location as row 2 (one lead; this row is left out)"
    ]


def test_a_file_without_location_or_name_is_an_error(
    conn: Connection, reference: Path, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError, match="has no location: give a geometry"):
        import_leads(conn, _write(tmp_path, "a.csv", "name,phone\nX,123\n"))
    with pytest.raises(ValidationError, match=r"\['name'\] missing.*--map name=COLUMN"):
        import_leads(conn, _write(tmp_path, "b.csv", "company,address\nX,Bulevardi 2\n"))


def test_spatial_file_leads_keep_their_geometry_and_attributes(
    conn: Connection, reference: Path, tmp_path: Path
) -> None:
    gdf = gpd.GeoDataFrame(
        {"name": ["Shop", "Mall"], "Floors": [2.0, 3.0], "Brand": ["A", None]},
        geometry=[Point(24.95, 60.17), Polygon([(24.94, 60.16), (24.95, 60.16), (24.95, 60.17)])],
        crs="EPSG:4326",
    )
    path = tmp_path / "shops.gpkg"
    gdf.to_file(path, engine="pyogrio")
    report = import_leads(conn, path)
    assert (report.inserted, report.rejected) == (2, 0)
    leads = _leads(conn)
    assert leads.loc["Shop", "attributes"] == {"Floors": "2", "Brand": "A"}
    assert leads.loc["Mall", "attributes"] == {"Floors": "3"}
    assert leads.loc["Shop", "geocode_precision"] is None


def test_in_memory_leads_load_as_before(conn: Connection, tmp_path: Path) -> None:
    """OSM leads (gcrm.ingest.import_frame) keep their ids and categories."""
    gdf = gpd.GeoDataFrame(
        {"external_id": ["osm:n1"], "name": ["Cafe"], "category_group": ["amenity"],
         "category": ["cafe"], "source": ["OpenStreetMap"]},
        geometry=[Point(24.95, 60.17)],
        crs="EPSG:4326",
    )  # fmt: skip
    report = import_frame(
        conn, "leads", gdf, source="x.osm.pbf#leads", rejects_path=tmp_path / "r.csv"
    )
    assert report.inserted == 1
    row = conn.execute(
        text("SELECT external_id, category_group, category, source, attributes FROM gcrm.leads")
    ).one()
    assert tuple(row) == ("osm:n1", "amenity", "cafe", "OpenStreetMap", {})


@pytest.fixture(scope="module")
def ref_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with reference_settings(tmp_path_factory.mktemp("ref")) as settings:
        yield settings


def _gcrm(settings: Settings, *args: str) -> Result:
    env = {"GCRM_DATABASE_URL": settings.database_url, "GCRM_DATA_DIR": str(settings.data_dir)}
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result


def test_cli_imports_geocodes_and_exports_a_name_and_address_list(
    ref_settings: Settings, tmp_path: Path
) -> None:
    """Done when: a lead file with only a name and an address (one column) imports,
    geocodes and exports, with the file's other columns written again."""
    path = _write(
        tmp_path,
        "prospects.csv",
        "Yritys,Osoite,Puhelin\n"
        'Kahvila Aino,"Mannerheimintie 10, 00100 Helsinki",09 123\n'
        "Ravintola Eero,Fabianinkatu 5 Helsinki,\n",
    )
    command = ("import", "leads", str(path), "--map", "name=Yritys", "--map", "address=Osoite")
    out = _gcrm(ref_settings, *command).output
    assert (
        "2 inserted" in out
        and "rooftop" in out
        and "columns kept as attributes: ['Puhelin']" in out
    )
    for suffix in (".csv", ".geojson"):
        export = tmp_path / f"leads{suffix}"
        _gcrm(ref_settings, "leads", "export", "-o", str(export))
        if suffix == ".csv":
            frame = pd.read_csv(export, dtype=str, keep_default_na=False).set_index("name")
        else:
            frame = (
                pd.DataFrame([f["properties"] for f in json.loads(export.read_text())["features"]])
                .set_index("name")
                .fillna("")
            )
        assert frame.loc["Kahvila Aino", "geocode_precision"] == "rooftop"
        assert frame.loc["Kahvila Aino", "street"] == "Mannerheimintie"
        assert frame.loc["Kahvila Aino", "Puhelin"] == "09 123"
        assert frame.loc["Ravintola Eero", "Puhelin"] == ""
        assert frame.loc["Ravintola Eero", "external_id"].startswith(LEAD_ID_PREFIX)
    again = _gcrm(ref_settings, *command).output
    assert "0 inserted, 0 updated, 2 unchanged, 0 rejected" in again
