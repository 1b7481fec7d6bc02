"""Addresses as people write them, split into street, house number, postcode and city.

A one-line address (:func:`parse_one_line`) or a street field that holds more than a street
name (:func:`clean_street_line`) is read part by part (parts are separated by commas,
semicolons or line breaks). Each part is one of:

- the postcode, and the city after it (``"00100 Helsinki"``);
- the street with its number, in either order (``"Mannerheimintie 10 B 12"``,
  ``"10 Main St"``), its units included;
- a unit of its own (``"as. 12"``, ``"B 12"``, ``"Apt 4B"``, ``"#12"``, ``"Suite 200"``,
  ``"Flat 3"``, ``"lgh 1102"``), added to the house number;
- a second address line that is not the street: a ``c/o`` line, a PO box (``"PL 123"``,
  ``"PO Box 5"``, ``"Box 12"``), a building, floor or entrance (``"Building 3"``,
  ``"2. krs"``, ``"Floor 5"``, ``"Talo B"``), a company (``"Firm Oy"``, ``"Acme Ltd"``) or an
  attention line; it is dropped;
- anything else: the street when no part has a number, else the city after the street, or
  a line the geocoder cannot use.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from gcrm.geocode.normalize import UNIT_WORDS

__all__ = ["clean_street_fields", "clean_street_line", "parse_addresses", "parse_one_line"]

_POSTCODE_RE = re.compile(r"(?<![\w-])(?:FI-|SE-)?(\d{5})(?![\w-])")
_UNIT_ALTERNATIVES = "|".join(map(re.escape, UNIT_WORDS)) + "|lägenhet"
#: A unit standing alone: "as. 12", "Apt 4B", "#12", "Suite 200", "lgh 1102", "B 12", "B".
_UNIT_RE = re.compile(
    rf"^(?:(?:{_UNIT_ALTERNATIVES})(?![^\W\d_])\.?\s*#?\s*[^\W_]{{1,6}}"
    r"|[^\W\d_]\s*\d{1,4}|[^\W\d_])$",
    re.IGNORECASE,
)
#: A unit at the end of a street written number-first: "10 Main St Suite 200".
_TRAILING_UNIT_RE = re.compile(
    rf"^(?P<street>.*?[^\W\d_].*?)[\s,]+(?P<unit>(?:{_UNIT_ALTERNATIVES})(?![^\W\d_])\.?\s*\S+)$",
    re.IGNORECASE,
)
#: Lines that are not the street: c/o, attention, PO boxes, buildings, floors, entrances.
_SECOND_LINE_RES = (
    re.compile(r"^(?:c/o|c\s*/\s*o|c\.o\.|℅|co:)", re.IGNORECASE),
    re.compile(r"^(?:attn|att|attention|fao|huom|tiedoksi)\b", re.IGNORECASE),
    re.compile(
        r"^(?:p\.?\s*o\.?\s*box|pob|box|pl|pb|postilokero|postbox|postfach|boks)\.?\s*\d+\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?:building|bldg|rakennus|talo|hus|byggnad|block|blokki|floors?|fl|kerros|krs|våning|"
        r"vån|trappa|tr|porras|rappu|entrance|ingång|sisäänkäynti|room|rm|huone|dept|"
        r"department|osasto|wing|siipi)\b\.?\s*[\w-]{0,6}$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^\d{1,3}\s*(?:\.|st|nd|rd|th)?\s*(?:krs|kerros|floors?|fl|vån|våning|tr|trappa|plan)\b",
        re.IGNORECASE,
    ),
    re.compile(r"^(?:sisäpiha|sisapiha|pohjakerros|katutaso|street level)\b", re.IGNORECASE),
)
#: A company's legal form at the end of a line without digits: "Firm Oy", "Acme Ltd".
_COMPANY_RE = re.compile(
    r"^[^\d]*\b(?:oy|oyj|ab|abp|ltd|limited|gmbh|inc|llc|ky|tmi|ry|rf|asa|aps|plc|corp)\.?$",
    re.IGNORECASE,
)
_STREET_FIRST = re.compile(r"^(?P<street>[^\d]*?[^\W\d][^\d]*?)\s+(?P<number>\d.*)$", re.DOTALL)
_NUMBER_FIRST = re.compile(
    r"^(?P<number>\d+\s*[^\W\d_]?(?:\s*[-\u2010-\u2015\u2212]\s*\d+)?)\s+(?P<street>[^\d].*)$",
    re.DOTALL,
)
_SEPARATORS = re.compile(r"[,;\n\r]")
#: What a street field must contain for :func:`clean_street_line` to change it.
_NEEDS_CLEANING = re.compile(r"[,;\n\r\d#/℅]")


def _is_second_line(part: str) -> bool:
    return any(r.match(part) for r in _SECOND_LINE_RES) or _COMPANY_RE.match(part) is not None


def _street_and_number(part: str) -> tuple[str, str] | None:
    """``"Mannerheimintie 10 B 12"`` or ``"10 Main St Suite 200"`` as (street, number)."""
    found = _STREET_FIRST.match(part)
    if found:
        return found["street"].strip(), found["number"].strip()
    found = _NUMBER_FIRST.match(part)
    if found is None:
        return None
    street, number = found["street"].strip(), found["number"].strip()
    if trailing := _TRAILING_UNIT_RE.match(street):
        street, number = trailing["street"].strip(), f"{number} {trailing['unit']}"
    return street, number


def _with_units(number: str | None, units: list[str]) -> str | None:
    if number is None or not units:
        return number
    return " ".join([number, *units])


def parse_one_line(address: str) -> dict[str, str | None]:
    """Split a one-line address into street, housenumber, postcode and city.

    Handles ``"Mannerheimintie 10 B 5, 00100 Helsinki"``, ``"00100 Helsinki, Mannerheimintie
    10"``, ``"10 Main St, Springfield"``, units in any form (``"Apt 4"``, ``"as. 12"``, ``"B
    12"``, ``"#12"``), second lines (``"c/o Firm Oy"``, ``"PL 123"``, ``"Building 3"``) before
    or after the street, line breaks for commas and a postcode anywhere.
    """
    text_ = " ".join(str(address).replace("\n", ",").replace(";", ",").split())
    postcode = None
    m = _POSTCODE_RE.search(text_)
    if m:
        postcode = m.group(1)
        # The postcode separates parts: what stands after it (up to a comma) is the city.
        before, after = text_[: m.start()], text_[m.end() :]
        parts = [*before.split(","), "|", *after.split(",")]
    else:
        parts = text_.split(",")
    # Dots around a part are not part of it, but an abbreviation keeps its own ("Fabianink.").
    raw = [p.strip() for p in parts if p.strip(" .")]
    parts = [p.strip(" .") for p in raw]
    street = number = city = None
    units: list[str] = []
    kinds = [_part_kind(p) for p in parts]
    has_street_number = "street_number" in kinds
    named = [p for p, k in zip(parts, kinds, strict=True) if k == "plain"]
    prefix = _street_prefix(kinds)
    after_postcode = after_street = False
    for i, (part, kind) in enumerate(zip(parts, kinds, strict=True)):
        if kind == "postcode":
            after_postcode = True
        elif kind == "unit":
            units.append(part)
        elif kind == "street_number" and street is None:
            street, number = _street_and_number(part)  # type: ignore[misc]
            if prefix is not None:
                street = f"{raw[prefix]}, {street}"
            after_street = True
        elif kind != "plain" or i == prefix:
            continue
        elif not has_street_number and street is None and not after_postcode and part != named[-1]:
            street = raw[i]  # a street without a number, followed by more parts
        elif city is None and (after_postcode or after_street or not has_street_number):
            city = part
    return {
        "street": street,
        "housenumber": _with_units(number, units),
        "postcode": postcode,
        "city": city,
    }


def _street_prefix(kinds: list[str]) -> int | None:
    """The part kept before the street: an unrecognised line right before the street and
    number, unless it is the city after a postcode. Some reference streets carry a building
    name (``"Kaivopiha, Mannerheimintie"``); the ladder tries the street without it when the
    whole is no street (``"Acme, Mannerheimintie"``)."""
    if "street_number" not in kinds:
        return None
    at = kinds.index("street_number") - 1
    if at < 0 or kinds[at] != "plain" or (at > 0 and kinds[at - 1] == "postcode"):
        return None
    return at


def _part_kind(part: str) -> str:
    if part == "|":
        return "postcode"
    if _UNIT_RE.match(part):
        return "unit"
    if _is_second_line(part):
        return "second_line"
    if any(ch.isdigit() for ch in part) and _street_and_number(part) is not None:
        return "street_number"
    return "plain"


def clean_street_line(street: str | None, housenumber: str | None) -> tuple[str | None, str | None]:
    """A street field as people fill it in, as the street name and the house number.

    Second lines are dropped (``"c/o Firm Oy, Mannerheimintie"`` -> ``"Mannerheimintie"``),
    units are moved to the house number (``"Mannerheimintie, as. 12"`` with ``"10"`` ->
    ``"Mannerheimintie"``, ``"10 as. 12"``), and a number written in the street field is
    split off when the house number is missing (``"Mannerheimintie 10 B 12"`` -> street
    ``"Mannerheimintie"``, number ``"10 B 12"``). Other parts are kept as written, joined by
    ``", "`` (some reference streets carry a building name: ``"Kaivopiha, Mannerheimintie"``).
    """
    if street is None or not _NEEDS_CLEANING.search(street):
        return street, housenumber
    kept: list[str] = []
    units: list[str] = []
    number = housenumber
    for raw in _SEPARATORS.split(street):
        part = raw.strip(" .")
        if not part:
            continue
        kind = _part_kind(part)
        if kind == "unit":
            units.append(part)
        elif kind == "street_number":
            name, written = _street_and_number(part)  # type: ignore[misc]
            kept.append(name)
            number = written if number is None else number
        elif kind == "plain":
            kept.append(raw.strip())
    return (", ".join(kept) or None), _with_units(number, units)


def clean_street_fields(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`clean_street_line` on the street and housenumber columns of ``frame``.

    Returns a copy; only rows whose street holds a separator, a digit, ``#`` or ``/`` are
    looked at (the function leaves every other street as it is).
    """
    if "street" not in frame:
        return frame
    street = frame["street"].astype("string")
    todo = street.str.contains(_NEEDS_CLEANING.pattern, regex=True).fillna(False).to_numpy(bool)
    if not todo.any():
        return frame
    out = frame.copy()
    numbers = (
        out["housenumber"].astype("string")
        if "housenumber" in out
        else pd.Series(pd.NA, index=out.index, dtype="string")
    )
    # One Python call per street that needs it: a few rows of a typical export.
    cleaned = [
        clean_street_line(s, None if pd.isna(n) else n)
        for s, n in zip(street[todo], numbers[todo], strict=True)
    ]
    rows = np.flatnonzero(todo)
    out["street"] = street
    out["housenumber"] = numbers
    out.iloc[rows, out.columns.get_loc("street")] = pd.array([c[0] for c in cleaned], "string")
    out.iloc[rows, out.columns.get_loc("housenumber")] = pd.array([c[1] for c in cleaned], "string")
    return out


def parse_addresses(addresses: pd.Series) -> pd.DataFrame:
    """Parse a Series of one-line addresses into street, housenumber, postcode, city."""
    # One string at a time: the parse branches on the parts each address has; it runs at
    # ~100k addresses a second, well under the database's share of the work.
    parsed = [parse_one_line(a) if isinstance(a, str) and a.strip() else {} for a in addresses]
    frame = pd.DataFrame.from_records(
        parsed, index=addresses.index, columns=["street", "housenumber", "postcode", "city"]
    )
    return frame.astype("string")
