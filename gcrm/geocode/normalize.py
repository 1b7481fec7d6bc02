"""Address normalisation, vectorised over pandas Series.

Both the address reference and incoming records go through the same functions, so an exact
match on the normalised keys is a match on what the address means, not on how it was typed:
Unicode is NFKD-folded and diacritics dropped (ä -> a, ö -> o, å -> a), case folded,
punctuation removed, and street-type abbreviations expanded from per-locale tables in
``gcrm/geocode/rules/*.toml``.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "AbbreviationRules",
    "load_rules",
    "normalize_city",
    "normalize_housenumber",
    "normalize_postcode",
    "normalize_street",
    "split_housenumber",
]

_RULES_DIR = Path(__file__).parent / "rules"
DEFAULT_LOCALES = ("fi", "sv", "en")


class AbbreviationRules:
    """Suffix and whole-word abbreviation tables merged from several locales.

    Suffix rules end with a dot (``"k."`` -> ``"katu"``): only a dotted ending marks an
    abbreviation, a bare letter would eat real words.
    """

    def __init__(self, suffix: dict[str, str], word: dict[str, str]) -> None:
        self.suffix = suffix
        self.word = word
        alts = sorted(suffix, key=len, reverse=True)  # longest first: "kj." before "k."
        self._suffix_re = (
            re.compile(r"(?<=[a-z])(" + "|".join(map(re.escape, alts)) + r")(?=\s|$)")
            if alts
            else None
        )
        words = sorted(word, key=len, reverse=True)
        self._word_re = (
            re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b") if words else None
        )

    def expand(self, text: pd.Series) -> pd.Series:
        """Expand abbreviations in folded, lower-case text (dots still present)."""
        if self._suffix_re is not None:
            text = text.str.replace(self._suffix_re, lambda m: self.suffix[m.group(1)], regex=True)
        if self._word_re is not None:
            text = text.str.replace(self._word_re, lambda m: self.word[m.group(1)], regex=True)
        return text


@cache
def load_rules(locales: tuple[str, ...] = DEFAULT_LOCALES) -> AbbreviationRules:
    """Load and merge the abbreviation tables of ``locales`` (first locale wins on clashes)."""
    suffix: dict[str, str] = {}
    word: dict[str, str] = {}
    for loc in locales:
        path = _RULES_DIR / f"{loc}.toml"
        if not path.exists():
            known = sorted(p.stem for p in _RULES_DIR.glob("*.toml"))
            msg = f"locale {loc!r} has no rule table; expected one of {known}"
            raise ValueError(msg)
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for k, v in data.get("suffix", {}).items():
            suffix.setdefault(k, v)
        for k, v in data.get("word", {}).items():
            word.setdefault(k, v)
    return AbbreviationRules(suffix, word)


def _on_uniques(
    fn: Callable[..., pd.Series | pd.DataFrame],
) -> Callable[..., pd.Series | pd.DataFrame]:
    """Run a normaliser on the distinct values only, then spread the result back.

    Address columns repeat a lot (a street, a city, a postcode per thousands of rows), so this
    cuts the string work by the repetition factor.
    """

    @wraps(fn)
    def wrapper(values: pd.Series, *args: object, **kwargs: object) -> pd.Series | pd.DataFrame:
        codes, uniques = pd.factorize(values.astype("string"))
        if len(uniques) == len(values):
            return fn(values, *args, **kwargs)
        done = fn(pd.Series(uniques, dtype="string"), *args, **kwargs).reset_index(drop=True)
        # One all-missing row at the end stands for the missing inputs (code -1).
        if isinstance(done, pd.DataFrame):
            na_row = pd.DataFrame({c: pd.array([pd.NA], dtype=done[c].dtype) for c in done.columns})
        else:
            na_row = pd.Series(pd.array([pd.NA], dtype=done.dtype))
        full = pd.concat([done, na_row], ignore_index=True)
        out = full.iloc[np.where(codes < 0, len(done), codes)]
        out.index = values.index
        return out

    return wrapper


def _fold(values: pd.Series) -> pd.Series:
    """NFKD-fold, drop diacritics, case-fold, trim; missing stays missing."""
    s = values.astype("string").str.normalize("NFKD")
    s = s.str.replace(r"[\u0300-\u036f]", "", regex=True).str.casefold().str.strip()
    return s


def _tidy(s: pd.Series) -> pd.Series:
    s = s.str.replace(r"[^\w\s-]", " ", regex=True).str.replace("_", " ", regex=False)
    s = s.str.replace(r"\s+", " ", regex=True).str.strip()
    return s.mask(s == "")


@_on_uniques
def normalize_street(values: pd.Series, *, locales: tuple[str, ...] = DEFAULT_LOCALES) -> pd.Series:
    """Normalised street names: ``"MANNERHEIMINT."`` -> ``"mannerheimintie"``."""
    s = _fold(values)
    s = load_rules(locales).expand(s)
    return _tidy(s)


@_on_uniques
def normalize_city(values: pd.Series) -> pd.Series:
    """Normalised locality names: ``" HELSINGFORS "`` -> ``"helsingfors"``."""
    return _tidy(_fold(values))


_POSTCODE = re.compile(r"(\d{5})")


@_on_uniques
def normalize_postcode(values: pd.Series) -> pd.Series:
    """Digits of a postcode (``"FI-00100"`` -> ``"00100"``); anything else becomes missing."""
    s = values.astype("string").str.replace(r"\s", "", regex=True)
    return s.str.extract(r"(\d{4,5})", expand=False).astype("string")


#: Dashes people type between two house numbers (en dash, em dash, minus sign, ...).
_DASHES = re.compile("[\u2010-\u2015\u2212]")
#: A house number on folded text: an optional "no."/"nr", the number, a range ("10-12"), a
#: staircase letter ("10 b", "10b", "10, b", "10-b": a single letter), then the unit.
_HOUSENUMBER = (
    r"^\s*(?:(?:no|nr|n:o)\.?\s*)?(?P<num>\d+)(?:\s*-\s*(?P<to>\d+))?"
    r"(?:[\s,-]*(?P<letter>[a-z])(?![a-z]))?\s*(?P<unit>.*)$"
)
_HOUSENUMBER_RE = re.compile(_HOUSENUMBER, re.DOTALL)
#: Words that introduce an apartment or suite, in the locales of the rule tables: "as. 12",
#: "lgh 1102", "Apt 4B", "#12", "Suite 200", "Flat 3", "bst 5", "huoneisto 5".
UNIT_WORDS = (
    "apartment",
    "apt",
    "asunto",
    "as",
    "huoneisto",
    "lagenhet",
    "lgh",
    "bostad",
    "bst",
    "suite",
    "ste",
    "flat",
    "unit",
    "#",
)
_UNIT_PREFIX_RE = re.compile(
    r"^[\s,;:/-]*(?:(?:" + "|".join(map(re.escape, UNIT_WORDS)) + r")(?![a-z])\.?\s*)+"
)
_DIACRITICS_RE = re.compile(r"[\u0300-\u036f]")
_PUNCTUATION_RE = re.compile(r"[^\w\s-]")
_SPACES_RE = re.compile(r"\s+")


def fold_text(value: str) -> str:
    """One string as :func:`_fold` folds a Series: NFKD, no diacritics, case-folded, trimmed."""
    folded = _DIACRITICS_RE.sub("", unicodedata.normalize("NFKD", value))
    return folded.casefold().strip()


def tidy_text(value: str) -> str | None:
    """One string as :func:`_tidy` tidies a Series; ``None`` when nothing is left."""
    tidied = _SPACES_RE.sub(" ", _PUNCTUATION_RE.sub(" ", value).replace("_", " ")).strip()
    return tidied or None


def split_housenumber(value: str | None) -> tuple[str | None, str | None]:
    """The match key and the unit of one house number.

    ``"12 B 5"``, ``"12b5"``, ``"12 B, as. 5"`` -> ``("12b", "5")``; ``"12 as 5"``,
    ``"12 lgh 5"``, ``"12, Apt 5"``, ``"12 #5"`` -> ``("12", "5")``; ``"12-14"`` and
    ``"12 – 14"`` -> ``("12-14", None)``; ``"012 A"`` -> ``("12a", None)``. A value without a
    leading number gives ``(None, None)``.
    """
    if value is None:
        return None, None
    found = _HOUSENUMBER_RE.match(_DASHES.sub("-", fold_text(value)))
    if found is None:
        return None, None
    key = found["num"].lstrip("0") or "0"
    if found["to"] is not None:
        key = f"{key}-{found['to']}"
    key += found["letter"] or ""
    unit = tidy_text(_UNIT_PREFIX_RE.sub("", found["unit"]))
    return key, unit


@_on_uniques
def normalize_housenumber(values: pd.Series) -> pd.DataFrame:
    """Split house numbers into a match key and a unit (:func:`split_housenumber`).

    ``"12 B 5"`` -> key ``"12b"``, unit ``"5"``; ``"12-14"`` -> ``"12-14"``; ``"12a"`` ->
    ``"12a"``. Returns columns ``housenumber_norm`` and ``unit``.
    """
    # One Python call per distinct value (``_on_uniques``): the same function as the
    # single-address path, so both give the same keys by construction.
    pairs = [split_housenumber(v) if isinstance(v, str) else (None, None) for v in values]
    keys = [k for k, _ in pairs]
    units = [u for _, u in pairs]
    return pd.DataFrame(
        {
            "housenumber_norm": pd.array(keys, dtype="string"),
            "unit": pd.array(units, dtype="string"),
        },
        index=values.index,
    )
