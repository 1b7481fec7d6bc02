"""The geocoding ladder rung by rung, the normaliser's rule tables, one-line parsing, the cache."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Connection, text

from gcrm.geocode import geocode_address, geocode_frame, parse_one_line
from gcrm.geocode.normalize import load_rules, normalize_housenumber, normalize_street
from gcrm.ingest import import_addresses


def _one(conn: Connection, **fields: str | None) -> pd.Series:
    frame = pd.DataFrame([fields], dtype="string")
    return geocode_frame(conn, frame, use_cache=False).iloc[0]


@pytest.fixture
def street_with_gaps(conn: Connection, reference: Path, tmp_path: Path) -> None:
    """Annankatu 2, 4 and 10 (even side; 4 to 10 is 100 m) and 3 (odd side)."""
    path = tmp_path / "annankatu.csv"
    path.write_text(
        "ref,street,housenumber,postcode,city,lon,lat\n"
        "b2,Annankatu,2,00120,Helsinki,24.9360,60.1650\n"
        "b4,Annankatu,4,00120,Helsinki,24.9360,60.1655\n"
        "b10,Annankatu,10,00120,Helsinki,24.9360,60.1664\n"
        "b3,Annankatu,3,00120,Helsinki,24.9364,60.1652\n"
        # The same address in two places more than 100 m apart, in two cities.
        "d1,Rantatie,1,02100,Espoo,24.80,60.18\n"
        "d2,Rantatie,1,04400,Järvenpää,25.09,60.47\n"
    )
    import_addresses(conn, path)


def test_rung_exact(conn: Connection, reference: Path) -> None:
    r = _one(conn, street="Mannerheimintie", housenumber="10", postcode="00100", city="Helsinki")
    assert (r["precision"], r["source"], r["score"]) == ("rooftop", "reference:exact", 1.0)
    assert r["matched_address"] == "Mannerheimintie 10, 00100 Helsinki"


def test_rung_fuzzy_street(conn: Connection, reference: Path) -> None:
    r = _one(conn, street="Manerheimnitie", housenumber="12", postcode="00100", city="Helsinki")
    assert (r["precision"], r["source"]) == ("rooftop", "reference:fuzzy")
    assert (r["lon"], r["lat"]) == pytest.approx((24.9398, 60.1697))
    assert 0.5 < r["score"] < 0.9


def test_rung_interpolated_on_the_same_side(conn: Connection, street_with_gaps: None) -> None:
    r = _one(conn, street="Annankatu", housenumber="7", postcode="00120", city="Helsinki")
    assert r["precision"] == "street"  # odd side has only number 3: nothing to interpolate between
    r = _one(conn, street="Annankatu", housenumber="6", postcode="00120", city="Helsinki")
    assert (r["precision"], r["source"]) == ("interpolated", "reference:interpolated")
    # Number 6 lies a third of the way from 4 to 10.
    assert r["lat"] == pytest.approx(60.1655 + (60.1664 - 60.1655) / 3, abs=1e-6)
    assert r["lon"] == pytest.approx(24.9360)
    assert "between 4 and 10" in r["matched_address"]


def test_rung_street_postcode_locality_none(conn: Connection, street_with_gaps: None) -> None:
    street = _one(conn, street="Annankatu", housenumber=None, postcode="00120", city="Helsinki")
    assert street["precision"] == "street" and street["source"] == "reference:street"
    postcode = _one(
        conn, street="Olematon katu", housenumber="1", postcode="00170", city="Helsinki"
    )
    assert postcode["precision"] == "postcode"
    locality = _one(conn, street=None, housenumber=None, postcode=None, city="HELSINKI")
    assert locality["precision"] == "locality"
    nothing = _one(conn, street="Olematon katu", housenumber="1", postcode="99999", city="Atlantis")
    assert (nothing["precision"], nothing["score"]) == ("none", 0.0) and pd.isna(nothing["lon"])


def test_ambiguous_exact_match_steps_down(conn: Connection, street_with_gaps: None) -> None:
    # Rantatie 1 exists in Espoo and in Järvenpää, 35 km apart: never a guess at rooftop level.
    ambiguous = _one(conn, street="Rantatie", housenumber="1", postcode=None, city=None)
    assert ambiguous["precision"] != "rooftop"
    espoo = _one(conn, street="Rantatie", housenumber="1", postcode=None, city="Espoo")
    assert espoo["precision"] == "rooftop" and espoo["lon"] == pytest.approx(24.80)


def test_rule_tables_per_locale() -> None:
    streets = pd.Series(
        [
            "Fabianink.",
            "MANNERHEIMINT.",
            "Ruusukj.",
            "Drottningg.",
            "Mannerheimv.",
            "12 Main St",
            "Sunset Blvd",
            "N Park Ave",
        ]
    )
    assert normalize_street(streets).tolist() == [
        "fabianinkatu",
        "mannerheimintie",
        "ruusukuja",
        "drottninggatan",
        "mannerheimvagen",
        "12 main street",
        "sunset boulevard",
        "north park avenue",
    ]
    rules = load_rules(("fi",))
    assert rules.suffix["k."] == "katu" and "st" not in rules.word
    with pytest.raises(ValueError, match="locale 'xx' has no rule table"):
        load_rules(("xx",))


def test_diacritics_units_ranges() -> None:
    assert normalize_street(pd.Series(["Yrjönkatu", "Yrjonkatu", "Åkervägen"])).tolist() == [
        "yrjonkatu",
        "yrjonkatu",
        "akervagen",
    ]
    hn = normalize_housenumber(pd.Series(["12 B 5", "12-14", "12a", "Apt 4", "3 as 12"]))
    assert hn["housenumber_norm"].tolist()[:3] == ["12b", "12-14", "12a"]
    assert hn["unit"].tolist()[0] == "5" and hn["unit"].tolist()[4] == "12"


def test_one_line_addresses_in_any_order() -> None:
    want = {
        "street": "Mannerheimintie",
        "housenumber": "10 B 5",
        "postcode": "00100",
        "city": "Helsinki",
    }
    assert parse_one_line("Mannerheimintie 10 B 5, 00100 Helsinki") == want
    assert parse_one_line("00100 Helsinki, Mannerheimintie 10 B 5") == want
    assert parse_one_line("10 Main St, Springfield") == {
        "street": "Main St",
        "housenumber": "10",
        "postcode": None,
        "city": "Springfield",
    }


def test_single_address_and_the_cache(conn: Connection, reference: Path) -> None:
    first = geocode_address(conn, "Fabianinkatu 5, 00130 Helsinki")
    assert first.precision == "rooftop"
    cached = conn.execute(text("SELECT count(*) FROM gcrm.geocode_cache")).scalar_one()
    assert cached == 1
    # Remove the point behind the reference's back: the cache still answers...
    conn.execute(text("DELETE FROM gcrm.address_points WHERE ref = 'a3'"))
    again = geocode_address(conn, "Fabianinkatu 5, 00130 Helsinki")
    assert (again.lon, again.lat, again.precision) == (first.lon, first.lat, "rooftop")
    # ...while without it the ladder no longer finds the number.
    assert (
        _one(conn, street="Fabianinkatu", housenumber="5", postcode="00130", city="Helsinki")[
            "precision"
        ]
        != "rooftop"
    )


def test_reimporting_the_reference_empties_the_cache(
    conn: Connection, reference: Path, tmp_path: Path
) -> None:
    geocode_address(conn, "Fabianinkatu 5, 00130 Helsinki")
    more = tmp_path / "more.csv"
    more.write_text(
        "ref,street,housenumber,postcode,city,lon,lat\nx1,Uusi katu,1,00100,Helsinki,24.94,60.17\n"
    )
    import_addresses(conn, more)
    assert conn.execute(text("SELECT count(*) FROM gcrm.geocode_cache")).scalar_one() == 0
