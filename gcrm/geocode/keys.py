"""The normalised match keys of one address, without pandas.

The vectorised normalisers of :mod:`gcrm.geocode.normalize` pay pandas' fixed cost on every
call, about 15 ms for a single row, while an interactive request geocodes one address. These
functions take the same steps on one string with Python's ``re`` (which pandas itself falls
back to wherever pyarrow's RE2 would match differently), and share the rule tables and
house-number pattern with the vectorised ones. tests/geocode/test_single.py checks on
generated text that both give the same keys.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from gcrm.geocode.normalize import DEFAULT_LOCALES, load_rules, split_housenumber
from gcrm.geocode.parse import clean_street_line, parse_one_line

__all__ = [
    "AddressKeys",
    "address_keys",
    "city_key",
    "housenumber_key",
    "postcode_key",
    "street_key",
    "street_parts_key",
]

_DIACRITICS = re.compile(r"[\u0300-\u036f]")
_PUNCTUATION = re.compile(r"[^\w\s-]")
_SPACES = re.compile(r"\s+")
_SPACE = re.compile(r"\s")
_POSTCODE_DIGITS = re.compile(r"(\d{4,5})")
_LEADING_NUMBER = re.compile(r"(\d+)")
_MAX_NUMBER = 2**31 - 1


@dataclass(frozen=True)
class AddressKeys:
    """The keys the ladder matches on (``None``: missing), as ``normalize_address_fields``
    and ``input_keys`` of :mod:`gcrm.geocode.ladder` compute them."""

    street_norm: str | None
    housenumber_norm: str | None
    unit: str | None
    postcode_norm: str | None
    city_norm: str | None
    #: The street's parts when it was written with a line the parser kept before it
    #: (``"Acme, Mannerheimintie"``), normalised and ``|``-separated; see the ladder.
    street_parts: str | None = None

    @property
    def number_int(self) -> int | None:
        """The leading number of the house number, as the ladder stages it (``None`` beyond
        PostgreSQL's integer)."""
        found = _LEADING_NUMBER.match(self.housenumber_norm or "")
        if found is None:
            return None
        number = int(found.group(1))
        return number if number <= _MAX_NUMBER else None

    @property
    def input_key(self) -> str | None:
        """The cache key ``street|number|unit|postcode|city``; None without a street,
        postcode or city (such an input is never cached)."""
        if self.street_norm is None and self.postcode_norm is None and self.city_norm is None:
            return None
        parts = (self.street_norm, self.housenumber_norm, self.unit)
        return "|".join(p or "" for p in (*parts, self.postcode_norm, self.city_norm))


def _fold(value: str) -> str:
    folded = _DIACRITICS.sub("", unicodedata.normalize("NFKD", value))
    return folded.casefold().strip()


def _tidy(value: str) -> str | None:
    tidied = _SPACES.sub(" ", _PUNCTUATION.sub(" ", value).replace("_", " ")).strip()
    return tidied or None


def street_key(value: str | None, *, locales: tuple[str, ...] = DEFAULT_LOCALES) -> str | None:
    """``"MANNERHEIMINT."`` -> ``"mannerheimintie"``, as :func:`normalize_street`."""
    if value is None:
        return None
    rules = load_rules(locales)
    folded = _fold(value)
    # The rules' own compiled patterns, so both paths expand exactly the same abbreviations.
    if rules._suffix_re is not None:
        folded = rules._suffix_re.sub(lambda m: rules.suffix[m.group(1)], folded)
    if rules._word_re is not None:
        folded = rules._word_re.sub(lambda m: rules.word[m.group(1)], folded)
    return _tidy(folded)


def city_key(value: str | None) -> str | None:
    """``" HELSINGFORS "`` -> ``"helsingfors"``, as :func:`normalize_city`."""
    return None if value is None else _tidy(_fold(value))


def postcode_key(value: str | None) -> str | None:
    """``"FI-00100"`` -> ``"00100"``, as :func:`normalize_postcode`."""
    if value is None:
        return None
    found = _POSTCODE_DIGITS.search(_SPACE.sub("", value))
    return None if found is None else found.group(1)


def housenumber_key(value: str | None) -> tuple[str | None, str | None]:
    """``"12 B 5"`` -> ``("12b", "5")``: the match key and the unit, as
    :func:`normalize_housenumber` (both are :func:`split_housenumber`)."""
    return split_housenumber(value)


def street_parts_key(street: str | None) -> str | None:
    """The normalised parts of a street kept with a second line (``"Acme, Mannerheimintie"``
    -> ``"acme|mannerheimintie"``); ``None`` for a street of one part."""
    if street is None or ", " not in street:
        return None
    keys = [k for k in (street_key(p) for p in street.split(", ")) if k is not None]
    return "|".join(keys) or None


def address_keys(address: str) -> AddressKeys:
    """The match keys of a one-line address (parsed by :func:`parse_one_line`)."""
    parts = parse_one_line(address) if address.strip() else {}
    # As the ladder's normalize_address_fields does after parse_addresses.
    street, housenumber = clean_street_line(parts.get("street"), parts.get("housenumber"))
    number, unit = housenumber_key(housenumber)
    return AddressKeys(
        street_norm=street_key(street),
        housenumber_norm=number,
        unit=unit,
        postcode_norm=postcode_key(parts.get("postcode")),
        city_norm=city_key(parts.get("city")),
        street_parts=street_parts_key(street),
    )
