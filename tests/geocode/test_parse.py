"""Addresses as people write them: house numbers with units, one-line addresses, street
fields holding a second line; the vectorised and the one-address paths read them alike."""

from __future__ import annotations

import pandas as pd
import pytest

from gcrm.geocode import parse_one_line
from gcrm.geocode.keys import street_parts_key
from gcrm.geocode.ladder import _street_parts
from gcrm.geocode.normalize import normalize_housenumber, split_housenumber
from gcrm.geocode.parse import clean_street_fields, clean_street_line

# (as written, the match key, the unit)
HOUSE_NUMBERS = [
    # staircase letter and apartment, with or without separators, in any case
    ("10 B 12", "10b", "12"),
    ("10b12", "10b", "12"),
    ("10B12", "10b", "12"),
    ("10 b 12", "10b", "12"),
    ("10 B, as. 12", "10b", "12"),
    ("10 B as 12", "10b", "12"),
    ("10, B 12", "10b", "12"),
    ("10-B", "10b", None),
    ("10 as 5", "10", "5"),
    ("10 as. 5", "10", "5"),
    ("10 AS 5", "10", "5"),
    ("10as5", "10", "5"),
    ("10 asunto 5", "10", "5"),
    ("10 huoneisto 5", "10", "5"),
    # Swedish lägenhet and bostad
    ("10 lgh 1102", "10", "1102"),
    ("10 lägenhet 1102", "10", "1102"),
    ("10 bst 5", "10", "5"),
    # English units
    ("10 Apt 4B", "10", "4b"),
    ("10, Apt 4B", "10", "4b"),
    ("10 apartment 4", "10", "4"),
    ("10 #12", "10", "12"),
    ("10 # 12", "10", "12"),
    ("10 Suite 200", "10", "200"),
    ("10 Ste 200", "10", "200"),
    ("10, Flat 3", "10", "3"),
    ("10 Unit 7", "10", "7"),
    # ranges and letters
    ("10-12", "10-12", None),
    ("10 - 12", "10-12", None),
    ("10–12", "10-12", None),
    ("10a", "10a", None),
    ("10 A", "10a", None),
    ("014 A", "14a", None),
    ("No. 10", "10", None),
    # the reference's own forms
    ("13 A, 5. krs./Floor 5", "13a", "5 krs floor 5"),
    ("7, Floors 1-3", "7", "floors 1-3"),
    ("Apt 4", None, None),
]


@pytest.mark.parametrize(("written", "key", "unit"), HOUSE_NUMBERS)
def test_house_number_forms(written: str, key: str | None, unit: str | None) -> None:
    assert split_housenumber(written) == (key, unit)
    vectorised = normalize_housenumber(pd.Series([written, written], dtype="string")).iloc[0]
    assert tuple(None if pd.isna(v) else v for v in vectorised) == (key, unit)


# (one line, street, housenumber, postcode, city)
ONE_LINES = [
    ("Mannerheimintie 10 B 5, 00100 Helsinki", "Mannerheimintie", "10 B 5", "00100", "Helsinki"),
    ("00100 Helsinki, Mannerheimintie 10 B 5", "Mannerheimintie", "10 B 5", "00100", "Helsinki"),
    ("Mannerheimintie 10b12, 00100 Helsinki", "Mannerheimintie", "10b12", "00100", "Helsinki"),
    (
        "Mannerheimintie 10 B, as. 12, 00100 Helsinki",
        "Mannerheimintie",
        "10 B as. 12",
        "00100",
        "Helsinki",
    ),
    ("Mannerheimintie 10, B 12, 00100 Helsinki", "Mannerheimintie", "10 B 12", "00100", "Helsinki"),
    ("Storgatan 5 lgh 1102\n11455 Stockholm", "Storgatan", "5 lgh 1102", "11455", "Stockholm"),
    ("Apt 4B, 10 Main Street, Springfield", "Main Street", "10 Apt 4B", None, "Springfield"),
    ("10 Main St #12, Springfield", "Main St", "10 #12", None, "Springfield"),
    ("100 Main St Suite 200, Springfield", "Main St", "100 Suite 200", None, "Springfield"),
    ("Flat 3, 10 Main Street, Springfield", "Main Street", "10 Flat 3", None, "Springfield"),
    ("10 Main St, Springfield", "Main St", "10", None, "Springfield"),
    ("Annankatu 10-12, 00120 Helsinki", "Annankatu", "10-12", "00120", "Helsinki"),
    # second lines before or after the street line: c/o, PO box, building, floor, company
    (
        "c/o Firm Oy, Mannerheimintie 10, 00100 Helsinki",
        "Mannerheimintie",
        "10",
        "00100",
        "Helsinki",
    ),
    (
        "Mannerheimintie 10, c/o Matti Virtanen, 00100 Helsinki",
        "Mannerheimintie",
        "10",
        "00100",
        "Helsinki",
    ),
    (
        "C/O Kivi Oy\nMannerheimintie 10\n00100 Helsinki",
        "Mannerheimintie",
        "10",
        "00100",
        "Helsinki",
    ),
    ("PL 123, Mannerheimintie 10, 00100 Helsinki", "Mannerheimintie", "10", "00100", "Helsinki"),
    ("Mannerheimintie 10, PO Box 5, 00100 Helsinki", "Mannerheimintie", "10", "00100", "Helsinki"),
    ("Box 12, Storgatan 5, 11455 Stockholm", "Storgatan", "5", "11455", "Stockholm"),
    ("Building 3, Mannerheimintie 10", "Mannerheimintie", "10", None, None),
    (
        "Mannerheimintie 10, Building 3, 00100 Helsinki",
        "Mannerheimintie",
        "10",
        "00100",
        "Helsinki",
    ),
    ("Mannerheimintie 10, 2. krs, 00100 Helsinki", "Mannerheimintie", "10", "00100", "Helsinki"),
    ("Talo B, Mannerheimintie 10, Helsinki", "Mannerheimintie", "10", None, "Helsinki"),
    ("Firm Oy, Mannerheimintie 10, 00100 Helsinki", "Mannerheimintie", "10", "00100", "Helsinki"),
    ("Mannerheimintie 10, Acme Ltd, Helsinki", "Mannerheimintie", "10", None, "Helsinki"),
    ("Attn: Anna Korhonen, Mannerheimintie 10", "Mannerheimintie", "10", None, None),
    # an unrecognised line before the street is kept with it (see the ladder's street_part)
    (
        "Acme, Mannerheimintie 10, 00100 Helsinki",
        "Acme, Mannerheimintie",
        "10",
        "00100",
        "Helsinki",
    ),
    (
        "Kaivopiha, Mannerheimintie 5, 00100 Helsinki",
        "Kaivopiha, Mannerheimintie",
        "5",
        "00100",
        "Helsinki",
    ),
    ("00100 Helsinki, Mannerheimintie 5", "Mannerheimintie", "5", "00100", "Helsinki"),
    # a PO box alone: the postcode and city, no street
    ("PL 123, 00101 Helsinki", None, None, "00101", "Helsinki"),
    ("Mannerheimintie, Helsinki", "Mannerheimintie", None, None, "Helsinki"),
    ("Fabianink., 00130 Helsinki", "Fabianink.", None, "00130", "Helsinki"),
]


@pytest.mark.parametrize(("line", "street", "number", "postcode", "city"), ONE_LINES)
def test_one_line_forms(
    line: str, street: str | None, number: str | None, postcode: str | None, city: str | None
) -> None:
    assert parse_one_line(line) == {
        "street": street,
        "housenumber": number,
        "postcode": postcode,
        "city": city,
    }


# (street field, housenumber field, street, housenumber)
STREET_FIELDS = [
    ("Mannerheimintie", "10", "Mannerheimintie", "10"),
    ("Mannerheimintie 10 B 12", None, "Mannerheimintie", "10 B 12"),
    ("Mannerheimintie 10", "10", "Mannerheimintie", "10"),
    ("c/o Firm Oy\nMannerheimintie", "10", "Mannerheimintie", "10"),
    ("Mannerheimintie, c/o Firm Oy", "10", "Mannerheimintie", "10"),
    ("PL 123\nMannerheimintie", "10", "Mannerheimintie", "10"),
    ("Building 3, Mannerheimintie", "10", "Mannerheimintie", "10"),
    ("Mannerheimintie; 3. krs", "10", "Mannerheimintie", "10"),
    ("Mannerheimintie, as. 12", "10", "Mannerheimintie", "10 as. 12"),
    ("Rautatieasema, Kaivok.", "1", "Rautatieasema, Kaivok.", "1"),
    ("Kaivopiha, Mannerheimintie", "5", "Kaivopiha, Mannerheimintie", "5"),
    ("Pohjoisesplanadi/Norra esplanaden", "5", "Pohjoisesplanadi/Norra esplanaden", "5"),
    ("PL 123", None, None, None),
    ("1. linja", "5", "1. linja", "5"),
]


@pytest.mark.parametrize(("field", "number", "street", "housenumber"), STREET_FIELDS)
def test_street_fields(
    field: str, number: str | None, street: str | None, housenumber: str | None
) -> None:
    assert clean_street_line(field, number) == (street, housenumber)
    frame = pd.DataFrame({"street": [field], "housenumber": [number]}, dtype="string")
    cleaned = clean_street_fields(frame).iloc[0]
    assert (
        None if pd.isna(cleaned["street"]) else cleaned["street"],
        None if pd.isna(cleaned["housenumber"]) else cleaned["housenumber"],
    ) == (street, housenumber)


def test_second_line_parts_are_kept_apart_for_the_ladder() -> None:
    frame = pd.DataFrame(
        {"street": ["Acme, Mannerheimintie", "Mannerheimintie", "c/o X Oy, Annankatu"]},
        dtype="string",
    )
    parts = _street_parts(frame)
    assert parts.iloc[0] == "acme|mannerheimintie"
    assert pd.isna(parts.iloc[1]) and pd.isna(parts.iloc[2])
    assert street_parts_key("Acme, Mannerheimintie") == "acme|mannerheimintie"
    assert street_parts_key("Mannerheimintie") is None
