"""Which columns of a user's table hold the address, or the coordinates.

Found by their usual names (address, street, house_number, postcode, zip, city, katu,
postinumero, kaupunki, lon, lng, latitude, ...) unless the user names them; a named column
that is not in the table is an error naming the table's columns. A second address line
(address2, address_line_2, care_of, ...) and a unit column (apartment, apt, suite,
huoneisto, lgh, ...) are found by name too and joined to the address, where the parser
reads them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from gcrm.core import ValidationError

__all__ = [
    "ADDRESS_COLUMN_NAMES",
    "COORDINATE_COLUMN_NAMES",
    "AddressColumns",
    "coordinate_column",
    "detect_address_columns",
    "read_coordinates",
]

#: Header names recognised for each address part (compared lower case, spaces/dashes as _).
ADDRESS_COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "address": ("address", "full_address", "addr", "address_line", "osoite"),
    "street": ("street", "street_name", "streetname", "katu", "katuosoite", "road"),
    "housenumber": ("house_number", "housenumber", "number", "nr", "no", "house_no", "talonumero"),
    "postcode": (
        "postcode",
        "zip",
        "zipcode",
        "zip_code",
        "postal_code",
        "postalcode",
        "postinumero",
    ),
    "city": ("city", "town", "locality", "kaupunki", "municipality", "kunta", "postitoimipaikka"),
    # A second address line and a unit of their own: always found by name, never required.
    "address2": (
        "address2",
        "address_2",
        "address_line_2",
        "address_line2",
        "addr2",
        "street2",
        "street_2",
        "street_address_2",
        "care_of",
        "c/o",
        "c_o",
        "osoite2",
        "lisaosoite",
        "lisäosoite",
    ),
    "unit": (
        "apartment",
        "apartment_number",
        "apt",
        "suite",
        "flat",
        "unit_number",
        "huoneisto",
        "asunto",
        "lgh",
        "lagenhet",
        "lägenhet",
    ),
}
#: Parts that complete an address but are none by themselves.
_EXTRA_PARTS = ("address2", "unit")
_BARE_UNIT = re.compile(r"^[^\W_]{1,6}$")
COORDINATE_COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "lon": ("lon", "lng", "long", "longitude", "x"),
    "lat": ("lat", "latitude", "y"),
}
_SEP = re.compile(r"[\s\-.]+")


def _key(header: object) -> str:
    return _SEP.sub("_", str(header).strip().lower())


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    by_key: dict[str, str] = {}
    for column in columns:
        by_key.setdefault(_key(column), column)
    return next((by_key[n] for n in names if n in by_key), None)


def _check_given(columns: list[str], option: str, value: str | None) -> str | None:
    if value is None or value in columns:
        return value
    found = _find(columns, (_key(value),))
    if found is None:
        msg = f"{option} {value!r} is not a column of IN; its columns are {columns}"
        raise ValidationError(msg)
    return found


class AddressColumns:
    """Which columns of the input hold which part of the address (``None``: absent)."""

    def __init__(self, parts: Mapping[str, str | None], *, given: set[str]) -> None:
        self.parts = {k: parts.get(k) for k in ADDRESS_COLUMN_NAMES}
        self.given = given

    def describe(self) -> str:
        """One line for people: ``street='Katu' (given), postcode='zip' (detected), ...``."""
        return ", ".join(
            f"{part}={column!r} ({'given' if part in self.given else 'detected'})"
            for part, column in self.parts.items()
            if column is not None
        )

    def frame(self, table: pd.DataFrame) -> pd.DataFrame:
        """The geocoder's input: an ``address`` column, or split columns (blank = missing)."""

        def col(part: str) -> pd.Series:
            name = self.parts[part]
            if name is None:
                return pd.Series(pd.NA, index=table.index, dtype="string")
            values = table[name].astype("string").str.strip()
            return values.mask(values == "")

        second, unit = col("address2"), col("unit")
        if self.parts["address"] is None:
            street, number = col("street"), col("housenumber")
            # The second line goes with the street, where the parser reads it; the unit
            # after the number (or after a number written in the street field).
            street = _joined(street, second, "\n")
            if self.parts["housenumber"] is not None:
                number = _joined(number, unit, " ", alone=False)
            else:
                numbered = street.str.contains(r"\d", regex=True).fillna(False)
                street = street.where(~numbered, _joined(street, unit, " ", alone=False))
            return pd.DataFrame(
                {
                    "street": street,
                    "housenumber": number,
                    "postcode": col("postcode"),
                    "city": col("city"),
                }
            )
        # A one-line address, with postcode and city appended when they are columns of
        # their own (a common CRM layout: "Mannerheimintie 10" | "00100" | "Helsinki").
        # A bare unit ("12", "B12") is marked as one, or it would read as a city.
        unit = unit.where(~unit.str.match(_BARE_UNIT.pattern).fillna(False), "#" + unit)
        line = _joined(_joined(col("address"), unit, ", ", alone=False), second, ", ")
        line = line.fillna("")
        town = (col("postcode").fillna("") + " " + col("city").fillna("")).str.strip()
        joined = (line + ", " + town).str.strip(", ")
        return pd.DataFrame({"address": joined.mask(joined == "")})


def _joined(first: pd.Series, second: pd.Series, sep: str, *, alone: bool = True) -> pd.Series:
    """``first + sep + second`` where both are there, else ``first``, else (when ``second``
    may stand ``alone``) ``second``."""
    both = first.notna() & second.notna()
    out = first.where(~both, first + sep + second)
    return out.fillna(second) if alone else out


def detect_address_columns(
    columns: list[str],
    *,
    address: str | None = None,
    street: str | None = None,
    housenumber: str | None = None,
    postcode: str | None = None,
    city: str | None = None,
) -> AddressColumns:
    """Which columns hold the address: the ones given, the others found by common names.

    A one-line ``address`` column is used only when no street column is given or found.

    Raises
    ------
    ValidationError
        When a given column does not exist, or no address column is given or found.
    """
    options = {
        "address": ("--address", address),
        "street": ("--street", street),
        "housenumber": ("--number", housenumber),
        "postcode": ("--postcode", postcode),
        "city": ("--city", city),
    }
    given = {p: _check_given(columns, opt, v) for p, (opt, v) in options.items()}
    parts = {p: given.get(p) or _find(columns, names) for p, names in ADDRESS_COLUMN_NAMES.items()}
    if given["address"] is not None:
        parts["street"] = parts["housenumber"] = None
    elif parts["street"] is not None:
        parts["address"] = None
    if not any(v for p, v in parts.items() if p not in _EXTRA_PARTS):
        msg = (
            f"no address column found among {columns}; name them with --address COL (one-line "
            "addresses) or --street COL --number COL --postcode COL --city COL"
        )
        raise ValidationError(msg)
    return AddressColumns(parts, given={p for p, v in given.items() if v is not None})


def coordinate_column(columns: list[str], part: str, given: str | None) -> str:
    """The column holding ``part`` (``"lon"`` or ``"lat"``): ``given``, else found by name.

    Raises
    ------
    ValidationError
        When ``given`` is not a column, or no column has a usual name for ``part``.
    """
    option = f"--{part}"
    found = _check_given(columns, option, given) or _find(columns, COORDINATE_COLUMN_NAMES[part])
    if found is None:
        msg = f"no {part} column found among {columns}; name it with {option} COL"
        raise ValidationError(msg)
    return found


def read_coordinates(table: pd.DataFrame, lon: str, lat: str) -> pd.DataFrame:
    """The valid (lon, lat) rows of ``table`` as floats (decimal commas accepted), on its
    index; rows with missing or out-of-range coordinates are left out."""

    def number(name: str) -> pd.Series:
        # Decimal commas are common in Finnish spreadsheets.
        text_ = table[name].astype("string").str.strip().str.replace(",", ".", regex=False)
        return pd.to_numeric(text_, errors="coerce").astype(float)

    coords = pd.DataFrame({"lon": number(lon), "lat": number(lat)})
    valid = coords["lon"].between(-180, 180) & coords["lat"].between(-90, 90)
    return coords[valid.to_numpy()]
