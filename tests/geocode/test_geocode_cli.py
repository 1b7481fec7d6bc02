"""``gcrm geocode`` and ``gcrm reverse-geocode`` on messy files: every row and column kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from gcrm.cli import cli
from gcrm.core import Settings, ValidationError
from gcrm.geocode.columns import detect_address_columns
from gcrm.geocode.user_tables import PROGRESS_CHUNK, precision_summary, progress_chunk_size
from gcrm.io import read_table
from tests.ingest.committed import reference_settings

# A CRM export as people make them: odd headers, padding, upper case, abbreviations, typos,
# leading zeros, commas inside quotes, a row with only a city, one with nothing at all.
MESSY = """Customer ID,Name,Street Name,Nr,ZIP,Town,Notes
C1,Aino Virtanen,Mannerheimintie,10,00100,Helsinki,"vip, call first"
C2,Eero Korhonen, MANNERHEIMINTIE ,12,,HELSINKI,
C3,Liisa Mäkinen,Fabianink.,5,00130,helsinki,0042
C4,Ville Nieminen,Bulevadri,2,00120,Helsinki,"  spaced  "
C5,Sanna Laine,Tuntematonkatu,99,00170,Helsinki,NA
C6,Jussi Heikkinen,,,,Helsinki,
C7,Maija Koskinen,,,,,
,,,,,,
"""
EXPECTED = {
    "C1": "rooftop",
    "C2": "rooftop",
    "C3": "rooftop",
    "C4": "rooftop",
    "C5": "postcode",
    "C6": "locality",
    "C7": "none",
    "": "none",
}
APPENDED = [
    "gcrm_lon",
    "gcrm_lat",
    "gcrm_precision",
    "gcrm_score",
    "gcrm_source",
    "gcrm_matched_address",
]


@pytest.fixture(scope="module")
def ref_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with reference_settings(tmp_path_factory.mktemp("ref")) as settings:
        yield settings


def _run(settings: Settings, *args: str) -> Result:
    env = {"GCRM_DATABASE_URL": settings.database_url, "GCRM_DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(cli, list(args), env=env)


def _raw(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_geocode_messy_csv_keeps_every_row_and_column(
    ref_settings: Settings, tmp_path: Path
) -> None:
    src = tmp_path / "crm.csv"
    src.write_text(MESSY, encoding="utf-8")
    out = tmp_path / "crm_geo.csv"
    result = _run(ref_settings, "geocode", str(src), "-o", str(out))
    assert result.exit_code == 0, result.output
    before, after = _raw(src), _raw(out)
    assert len(after) == len(before) == 8
    assert list(after.columns) == [*before.columns, *APPENDED]
    # Input values come back as text exactly as read: zeros, padding, "NA", empty cells.
    pd.testing.assert_frame_equal(after[list(before.columns)], before)
    assert after.loc[2, "Notes"] == "0042" and after.loc[4, "Notes"] == "NA"
    assert after.loc[3, "Notes"] == "  spaced  " and after.loc[1, "ZIP"] == ""
    assert dict(zip(after["Customer ID"], after["gcrm_precision"], strict=True)) == EXPECTED
    c1 = after.iloc[0]
    assert (float(c1["gcrm_lon"]), float(c1["gcrm_lat"])) == pytest.approx((24.9402, 60.1692))
    assert c1["gcrm_matched_address"] == "Mannerheimintie 10, 00100 Helsinki"
    assert c1["gcrm_source"] == "reference:exact" and float(c1["gcrm_score"]) == 1.0
    assert after.loc[6, "gcrm_lon"] == "" and after.loc[6, "gcrm_source"] == "none"
    # What was detected, and the summary by precision.
    assert (
        "street='Street Name' (detected), housenumber='Nr' (detected), postcode='ZIP' "
        "(detected), city='Town' (detected)" in result.output
    )
    summary = {
        line.split()[0]: line.split()[1:]
        for line in result.output.splitlines()
        if line.split() and line.split()[0] in {"rooftop", "postcode", "locality", "none", "total"}
    }
    assert summary["rooftop"] == ["4", "50.0%"] and summary["none"] == ["2", "25.0%"]
    assert summary["total"] == ["8", "100.0%"]
    assert f"8 rows written to {out}" in result.output


def test_geocode_xlsx_one_line_addresses_given_by_option(
    ref_settings: Settings, tmp_path: Path
) -> None:
    src = tmp_path / "leads.xlsx"
    table = pd.DataFrame(
        {
            "id": ["1", "2", "3"],
            "Where": ["Fabianinkatu 5, 00130 Helsinki", "00170 Helsinki", ""],
            "street": ["ignored", "because", "--address wins"],
        }
    )
    table.to_excel(src, index=False)
    out = tmp_path / "leads_geo.xlsx"
    result = _run(ref_settings, "geocode", str(src), "-o", str(out), "--address", "Where")
    assert result.exit_code == 0, result.output
    assert "address='Where' (given)" in result.output and "street=" not in result.output
    back = pd.read_excel(out, dtype=str, keep_default_na=False)
    assert list(back.columns) == [*table.columns, *APPENDED]
    assert back["gcrm_precision"].tolist() == ["rooftop", "postcode", "none"]
    assert back["id"].tolist() == ["1", "2", "3"]


def test_geocode_semicolon_cp1252_csv_with_address_and_town_columns(
    ref_settings: Settings, tmp_path: Path
) -> None:
    src = tmp_path / "export.csv"
    src.write_bytes(
        "Asiakas;Address;Postinumero;Kaupunki\nÅke;Yrjönkatu 3 B;00120;Helsinki\n".encode("cp1252")
    )
    out = tmp_path / "export_geo.csv"
    result = _run(ref_settings, "geocode", str(src), "-o", str(out), "--no-cache", "--workers", "1")
    assert result.exit_code == 0, result.output
    back = _raw(out)
    assert back.loc[0, "Asiakas"] == "Åke"
    assert back.loc[0, "gcrm_precision"] == "rooftop"


def test_geocode_errors_name_the_option(ref_settings: Settings, tmp_path: Path) -> None:
    src = tmp_path / "crm.csv"
    src.write_text(MESSY, encoding="utf-8")
    result = _run(
        ref_settings, "geocode", str(src), "-o", str(tmp_path / "x.csv"), "--street", "Katu"
    )
    assert isinstance(result.exception, ValidationError)
    assert "--street 'Katu' is not a column of IN" in str(result.exception)
    result = _run(ref_settings, "geocode", str(src), "-o", str(tmp_path / "x.json"))
    assert "--out" in str(result.exception) and ".json" in str(result.exception)
    result = _run(
        ref_settings, "geocode", str(src), "-o", str(tmp_path / "x.csv"), "--user-agent", "me"
    )
    assert "--user-agent is only used with --online" in str(result.exception)
    result = _run(
        ref_settings, "geocode", str(src), "-o", str(tmp_path / "x.csv"), "--online", "nominatim"
    )
    assert "user agent" in str(result.exception)
    assert not (tmp_path / "x.csv").exists()


def test_geocode_refuses_its_own_output_as_input(ref_settings: Settings, tmp_path: Path) -> None:
    src = tmp_path / "crm.csv"
    src.write_text(MESSY, encoding="utf-8")
    out = tmp_path / "once.csv"
    assert _run(ref_settings, "geocode", str(src), "-o", str(out)).exit_code == 0
    result = _run(ref_settings, "geocode", str(out), "-o", str(tmp_path / "twice.csv"))
    assert "already has columns ['gcrm_lon'" in str(result.exception)


def test_detect_address_columns_by_common_names() -> None:
    found = detect_address_columns(["ID", "Katu", "House-Number", "Postal Code", "Kaupunki"])
    assert found.parts == {
        "address": None,
        "street": "Katu",
        "housenumber": "House-Number",
        "postcode": "Postal Code",
        "city": "Kaupunki",
        "address2": None,
        "unit": None,
    }
    one_line = detect_address_columns(["full_address", "zip"])
    assert one_line.parts["address"] == "full_address" and one_line.parts["postcode"] == "zip"
    frame = one_line.frame(
        pd.DataFrame({"full_address": ["Bulevardi 2", ""], "zip": ["00120", ""]})
    )
    assert frame["address"].tolist()[0] == "Bulevardi 2, 00120" and pd.isna(frame["address"][1])
    with pytest.raises(ValidationError, match="no address column found among"):
        detect_address_columns(["id", "name"])
    with pytest.raises(ValidationError, match="no address column found among"):
        detect_address_columns(["id", "Address line 2", "Apt"])


def test_a_second_line_and_a_unit_column_join_the_address() -> None:
    split = detect_address_columns(["Street", "No", "Address line 2", "Apt", "Zip", "City"])
    assert (split.parts["address2"], split.parts["unit"]) == ("Address line 2", "Apt")
    frame = split.frame(
        pd.DataFrame(
            {
                "Street": ["Mannerheimintie", "Annankatu", ""],
                "No": ["10", "5", ""],
                "Address line 2": ["c/o Firm Oy", "", ""],
                "Apt": ["B 12", "", "5"],
                "Zip": ["00100", "00120", "00130"],
                "City": ["Helsinki", "Helsinki", "Helsinki"],
            }
        )
    )
    assert frame["street"].tolist()[:2] == ["Mannerheimintie\nc/o Firm Oy", "Annankatu"]
    assert frame["housenumber"].tolist()[:2] == ["10 B 12", "5"]
    assert pd.isna(frame["street"][2]) and pd.isna(frame["housenumber"][2])  # a unit alone
    one_line = detect_address_columns(["Address", "Address2", "Apartment", "zip"])
    lines = one_line.frame(
        pd.DataFrame(
            {
                "Address": ["Mannerheimintie 10", "Annankatu 5"],
                "Address2": ["Building 3", ""],
                "Apartment": ["12", "as. 4"],
                "zip": ["00100", "00120"],
            }
        )
    )["address"].tolist()
    assert lines == ["Mannerheimintie 10, #12, Building 3, 00100", "Annankatu 5, as. 4, 00120"]


def test_precision_summary_counts_and_shares() -> None:
    table = precision_summary(pd.Series(["rooftop", "rooftop", "street", "none"]))
    assert table["count"].to_dict() == {
        "rooftop": 2,
        "interpolated": 0,
        "street": 1,
        "postcode": 0,
        "locality": 0,
        "none": 1,
        "total": 4,
    }
    assert table.loc["rooftop", "share"] == 0.5 and table.loc["total", "share"] == 1.0


def test_big_files_go_in_progress_sized_chunks() -> None:
    assert progress_chunk_size(100) is None
    assert progress_chunk_size(50_000) == PROGRESS_CHUNK


def test_reverse_geocode_csv(ref_settings: Settings, tmp_path: Path) -> None:
    src = tmp_path / "visits.csv"
    src.write_text(
        "visit,Longitude,Latitude\n"
        "v1,24.9402,60.1690\n"  # 0.0002 degrees south of Mannerheimintie 10
        "v2,25.5,60.5\n"  # far from every address
        "v3,,\n"
        "v4,east,north\n"
        'v5,"24,9510","60,1660"\n',  # decimal commas: exactly at Fabianinkatu 5
        encoding="utf-8",
    )
    out = tmp_path / "visits_out.csv"
    result = _run(
        ref_settings, "reverse-geocode", str(src), "-o", str(out), "--max-distance-m", "100"
    )
    assert result.exit_code == 0, result.output
    assert "lon='Longitude', lat='Latitude'" in result.output
    back = _raw(out)
    assert len(back) == 5
    assert list(back.columns) == [
        "visit",
        "Longitude",
        "Latitude",
        "gcrm_address",
        "gcrm_address_ref",
        "gcrm_distance_m",
    ]
    assert back["gcrm_address_ref"].tolist() == ["a1", "", "", "", "a3"]
    assert back.loc[0, "gcrm_address"] == "Mannerheimintie 10, 00100 Helsinki"
    assert float(back.loc[0, "gcrm_distance_m"]) == pytest.approx(22.3, abs=0.15)
    assert float(back.loc[4, "gcrm_distance_m"]) == 0.0
    assert back.loc[4, "Longitude"] == "24,9510"  # kept as read
    assert "address found within 100 m: 2" in result.output
    assert "missing or invalid coordinates:  2" in result.output


def test_reverse_geocode_needs_coordinates(ref_settings: Settings, tmp_path: Path) -> None:
    src = tmp_path / "no_coords.csv"
    src.write_text("a,b\n1,2\n", encoding="utf-8")
    result = _run(ref_settings, "reverse-geocode", str(src), "-o", str(tmp_path / "o.csv"))
    assert "no lon column found among ['a', 'b']; name it with --lon COL" in str(result.exception)


def test_read_table_keeps_text(tmp_path: Path) -> None:
    src = tmp_path / "t.csv"
    src.write_text("\ufeffA,B\n007,\n", encoding="utf-8")
    table = read_table(src)
    assert list(table.columns) == ["A", "B"] and table.iloc[0].tolist() == ["007", ""]


def test_online_fallback_of_the_command_sends_only_coarse_rows(
    ref_settings: Settings, tmp_path: Path
) -> None:
    from geopy.location import Location

    from gcrm.geocode.providers import GeopyProvider
    from gcrm.geocode.user_tables import geocode_rows, refine_rows_online
    from gcrm.store import create_db_engine

    class Fake:
        def __init__(self) -> None:
            self.queries: list[str] = []

        def geocode(self, query: str) -> Location | None:
            self.queries.append(query)
            raw = {"address": {"house_number": "99", "road": "Tuntematonkatu"}}
            return Location("Tuntematonkatu 99, Helsinki", (60.17, 24.95), raw)

    frame = detect_address_columns(["street", "nr", "zip", "town"]).frame(
        pd.DataFrame(
            {
                "street": ["Mannerheimintie", "Tuntematonkatu"],
                "nr": ["10", "99"],
                "zip": ["00100", "00170"],
                "town": ["Helsinki", "Helsinki"],
            }
        )
    )
    engine = create_db_engine(ref_settings.database_url)
    try:
        results = geocode_rows(engine, frame, workers=1, use_cache=True)
        assert results["precision"].tolist() == ["rooftop", "postcode"]
        fake = Fake()
        provider = GeopyProvider(fake, name="fake", min_delay_s=0)
        refined = refine_rows_online(engine, frame, results, provider=provider)
        assert fake.queries == ["Tuntematonkatu 99, 00170 Helsinki"]
        assert refined["precision"].tolist() == ["rooftop", "rooftop"]
        assert refined["source"].tolist() == ["reference:exact", "geopy:fake"]
        # Committed per chunk: a new run (new provider) is answered from the cache.
        again = GeopyProvider(fake, name="fake", min_delay_s=0)
        refine_rows_online(
            engine,
            frame,
            geocode_rows(engine, frame, workers=1, use_cache=True),
            provider=again,
        )
        assert again.calls == 0 and len(fake.queries) == 1
    finally:
        engine.dispose()
