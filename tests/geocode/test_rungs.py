"""The ladder on addresses as people write them: the house without the staircase letter or
range the reference lacks, the street written with a second line, typos anywhere (first
letter, short names, two of them) with the postcode right, missing or wrong, and the
decisions that keep a typo from snapping to another real street."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Connection

from gcrm.geocode import geocode_frame, geocode_one
from gcrm.ingest import import_addresses

# Metres per degree here (60.17 N), for placing test points.
M_LAT = 1 / 111_320
M_LON = 1 / 55_400

REFERENCE = """ref,street,housenumber,postcode,city,lon,lat
k10,Kalevankatu,10,00100,Helsinki,24.9300,60.1600
k12a,Kalevankatu,12 A,00100,Helsinki,24.9302,60.1600
k12b,Kalevankatu,12 B,00100,Helsinki,24.9303,60.1600
k14,Kalevankatu,14-20,00100,Helsinki,24.9306,60.1600
k22,Kalevankatu,22,00100,Helsinki,24.9314,60.1600
k9,Kalevankatu,9,00100,Helsinki,24.9300,60.1598
s5,Simonkatu,5,00100,Helsinki,24.9350,60.1700
s7,Simonkatu,7,00100,Helsinki,24.9352,60.1700
m5,Mikonkatu,5,00100,Helsinki,24.9450,60.1700
m9,Mikonkatu,9,00100,Helsinki,24.9454,60.1700
kv5,Kluuvikatu,5,00100,Helsinki,24.9500,60.1690
kv7,Kluuvikatu,7,00100,Helsinki,24.9502,60.1690
kn1,Kluuvinkatu,1,00100,Helsinki,24.9510,60.1695
pm4,Pohjoinen Makasiinikatu,4,00130,Helsinki,24.9530,60.1660
em4,Eteläinen Makasiinikatu,4,00131,Helsinki,24.9520,60.1640
e2,Elielinaukio,2,00100,Helsinki,24.9400,60.1710
e2b,Elielinaukio,2,00100,Helsinki,24.9409,60.1710
r1,Rantatie,1,02100,Espoo,24.80,60.18
r2,Rantatie,1,04400,Järvenpää,25.09,60.47
"""


@pytest.fixture
def street_forms(conn: Connection, tmp_path: Path) -> None:
    path = tmp_path / "forms.csv"
    path.write_text(REFERENCE, encoding="utf-8")
    import_addresses(conn, path)


def _split(conn: Connection, street: str, number: str | None, postcode: str | None) -> pd.Series:
    frame = pd.DataFrame(
        [{"street": street, "housenumber": number, "postcode": postcode, "city": "Helsinki"}],
        dtype="string",
    )
    return geocode_frame(conn, frame, use_cache=False).iloc[0]


def _at(row: pd.Series, lon: float, lat: float, *, within_m: float = 1.0) -> bool:
    return abs(row["lon"] - lon) / M_LON <= within_m and abs(row["lat"] - lat) / M_LAT <= within_m


@pytest.mark.parametrize(
    ("number", "where", "tier"),
    [
        ("10 C 5", (24.9300, 60.1600), "a staircase letter the reference lacks: the number"),
        ("10c5", (24.9300, 60.1600), "written without spaces"),
        ("10 lgh 1102", (24.9300, 60.1600), "an apartment: the exact number"),
        ("10-12", (24.9300, 60.1600), "a range the reference lacks: its first number"),
        ("22-24", (24.9314, 60.1600), "... whatever the second one"),
        ("16", (24.9306, 60.1600), "a reference range holding it: 14-20"),
        ("14-20 B", (24.9306, 60.1600), "a letter on a range"),
        ("12 C", (24.9302, 60.1600), "another letter: 12 A (12 B is 5 m away)"),
    ],
)
def test_the_house_without_what_the_reference_lacks(
    conn: Connection, street_forms: None, number: str, where: tuple[float, float], tier: str
) -> None:
    r = _split(conn, "Kalevankatu", number, "00100")
    assert r["precision"] == "rooftop", tier
    assert _at(r, *where), (tier, r["lon"], r["lat"])
    if r["source"] != "reference:exact":
        assert r["source"] == "reference:house" and r["score"] < 1.0


def test_a_letter_never_jumps_to_the_other_side(conn: Connection, street_forms: None) -> None:
    # 11 is not in the reference: the odd side has only 9; no house, interpolation needs two.
    r = _split(conn, "Kalevankatu", "11 B", "00100")
    assert r["precision"] != "rooftop"


def test_twin_points_of_one_address_give_their_mean(conn: Connection, street_forms: None) -> None:
    # Elielinaukio 2 is mapped twice, 50 m apart: neither is the address more than the other.
    r = _split(conn, "Elielinaukio", "2", "00100")
    assert r["precision"] == "rooftop" and _at(r, 24.94045, 60.1710)
    # 35 km apart it is ambiguous, and steps down.
    r = _split(conn, "Rantatie", "1", None)
    assert r["precision"] != "rooftop"


@pytest.mark.parametrize(
    ("street", "postcode", "why"),
    [
        ("Jalevankatu", "00100", "the first letter"),
        ("alevankatu", "00100", "the first letter dropped"),
        ("aKlevankatu", "00100", "the first two letters swapped"),
        ("Kalevnakatu", "00100", "a transposition"),
        ("Kalevnkatuu", "00100", "two typos"),
        ("Kalevnakatu", None, "a typo, no postcode"),
        ("Kalevnakatu", "00530", "a typo and a wrong postcode"),
        ("Kalevnakatu", "99999", "a typo and a postcode the reference lacks"),
    ],
)
def test_typos_anywhere(
    conn: Connection, street_forms: None, street: str, postcode: str | None, why: str
) -> None:
    r = _split(conn, street, "10", postcode)
    assert (r["precision"], r["source"]) == ("rooftop", "reference:fuzzy"), why
    assert _at(r, 24.9300, 60.1600), why


def test_a_short_name_typo_goes_where_the_house_is(conn: Connection, street_forms: None) -> None:
    """ "Sikonkatu" is one edit from Simonkatu and from Mikonkatu: the house decides when
    only one of them has it, and nothing is guessed when both have."""
    only_mikonkatu = _split(conn, "Sikonkatu", "9", "00100")
    assert only_mikonkatu["precision"] == "rooftop"
    assert only_mikonkatu["matched_address"].startswith("Mikonkatu 9")
    both = _split(conn, "Sikonkatu", "5", "00100")
    assert both["precision"] not in ("rooftop", "interpolated", "street")
    # One edit in a short name with one street near it is found.
    r = _split(conn, "Simomkatu", "7", "00100")
    assert r["matched_address"].startswith("Simonkatu 7")


def test_a_wrong_postcode_does_not_choose_the_street(conn: Connection, street_forms: None) -> None:
    """00131 holds Eteläinen Makasiinikatu 4; a mistyped Pohjoinen Makasiinikatu with that
    postcode is Pohjoinen, found among the city's streets."""
    r = _split(conn, "Pohjoinen Makasiiunikatu", "4", "00131")
    assert r["precision"] == "rooftop"
    assert r["matched_address"].startswith("Pohjoinen Makasiinikatu 4")


def test_a_typo_that_writes_another_street(conn: Connection, street_forms: None) -> None:
    """Kluuvinkatu exists but has no 5; Kluuvikatu, one letter away in the same postcode,
    has: the house decides. Where neither has the number, the typed street stays."""
    r = _split(conn, "Kluuvinkatu", "5", "00100")
    assert r["matched_address"].startswith("Kluuvikatu 5")
    r = _split(conn, "Kluuvinkatu", "1", "00100")
    assert r["matched_address"].startswith("Kluuvinkatu 1")
    r = _split(conn, "Kluuvinkatu", "3", "00100")
    assert r["precision"] != "rooftop"


@pytest.mark.parametrize(
    "street",
    [
        "Acme\nKalevankatu",
        "Kalevankatu\nAcme",
        "c/o Kivi Oy, Kalevankatu",
        "Kalevankatu, Building 3",
        "PL 123\nKalevankatu",
    ],
)
def test_second_lines_in_the_street_field(
    conn: Connection, street_forms: None, street: str
) -> None:
    r = _split(conn, street, "10", "00100")
    assert r["precision"] == "rooftop" and _at(r, 24.9300, 60.1600), street


@pytest.mark.parametrize(
    "address",
    [
        "Acme, Kalevankatu 10 C 5, 00100 Helsinki",
        "c/o Kivi Oy\nKalevankatu 10b5\n00100 Helsinki",
        "Jalevankatu 10, as. 5, 00530 Helsinki",
        "Kalevankatu 10-12, Helsinki",
        "Pohjoinen Makasiiunikatu 4, 00131 Helsinki",
        "Sikonkatu 9, 00100 Helsinki",
        "Kluuvinkatu 5, 00100 Helsinki",
    ],
)
def test_one_address_gets_the_ladders_answer(
    conn: Connection, street_forms: None, address: str
) -> None:
    ladder = geocode_frame(conn, pd.DataFrame({"address": [address]}), use_cache=False).iloc[0]
    one = geocode_one(conn, address)
    assert (one.lon, one.lat, one.precision, one.score, one.source, one.matched_address) == (
        ladder["lon"],
        ladder["lat"],
        ladder["precision"],
        ladder["score"],
        ladder["source"],
        ladder["matched_address"],
    )
    assert one.precision == "rooftop"
