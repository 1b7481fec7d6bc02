"""Geocoding providers behind one interface: the offline reference, and optional online ones.

The built-in :class:`ReferenceProvider` (the address reference in PostGIS) is the default and
never leaves the machine. :class:`GeopyProvider` wraps any `geopy <https://geopy.readthedocs.io>`_
geocoder (e.g. ``geopy.geocoders.Nominatim(user_agent=...)``); it is off unless asked for, is
only sent the rows the reference placed at postcode level or worse
(:func:`refine_with_provider`), waits between calls (``geopy.extra.rate_limiter.RateLimiter``)
and caches every answer in ``gcrm.geocode_cache`` so a re-run does not call the service again.

geopy is an optional dependency: ``pip install 'gcrm[online]'``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from gcrm.core import FALLBACK_PRECISIONS, PRECISIONS, ConfigurationError, ValidationError
from gcrm.geocode.ladder import (
    RESULT_COLUMNS,
    geocode_frame,
    input_keys,
    normalize_address_fields,
)
from gcrm.geocode.parse import parse_addresses
from gcrm.store import load_queries

__all__ = [
    "GeopyProvider",
    "Provider",
    "ReferenceProvider",
    "nominatim_provider",
    "precision_of_location",
    "refine_with_provider",
]

_SQL = load_queries(__package__, "providers.sql")
#: Online answers carry no score of their own: a fixed one per precision, below the
#: reference's exact match (1.0) because the answer cannot be checked against the reference.
_ONLINE_SCORES = {"rooftop": 0.8, "street": 0.4, "postcode": 0.3, "locality": 0.1, "none": 0.0}
_HOUSE_TYPES = frozenset({"house", "building", "house_number", "residential_building", "address"})
_STREET_TYPES = frozenset({"road", "street", "residential", "pedestrian", "footway", "highway"})
_POSTCODE_TYPES = frozenset({"postcode", "postal_code"})
_ADDRESS_FIELDS = ("street", "housenumber", "postcode", "city")


@runtime_checkable
class Provider(Protocol):
    """A geocoder gcrm can use: a name, and a frame of addresses in, results out.

    ``geocode(conn, frame)`` takes a frame with split columns (street, housenumber,
    postcode, city; any may be missing) or one ``address`` column and returns a frame on
    the same index with the columns of :data:`RESULT_COLUMNS`.
    """

    name: str

    def geocode(self, conn: Connection, frame: pd.DataFrame) -> pd.DataFrame:
        """Geocode every row of ``frame``."""
        ...


class ReferenceProvider:
    """The offline address reference in PostGIS (:func:`gcrm.geocode.geocode_frame`).

    Parameters
    ----------
    use_cache
        Read and fill ``gcrm.geocode_cache``.
    """

    name = "reference"

    def __init__(self, *, use_cache: bool = True) -> None:
        self.use_cache = use_cache

    def geocode(self, conn: Connection, frame: pd.DataFrame) -> pd.DataFrame:
        """Geocode every row of ``frame`` on the reference ladder; see :class:`Provider`."""
        return geocode_frame(conn, frame, use_cache=self.use_cache)[list(RESULT_COLUMNS)]


def precision_of_location(location: Any) -> str:
    """How precisely a geopy ``Location`` places an address.

    ``rooftop`` when the answer names a house number (or is a house or building),
    ``street`` when it names a road, ``postcode`` for a postcode area, else ``locality``.
    Reads Nominatim-style ``raw`` fields (``address`` details, ``addresstype``, ``type``).
    """
    raw = getattr(location, "raw", None) or {}
    address = raw.get("address")
    details: Mapping[str, Any] = address if isinstance(address, Mapping) else {}
    kinds = {str(raw.get(k, "")).lower() for k in ("addresstype", "type", "class")}
    if details.get("house_number") or kinds & _HOUSE_TYPES:
        return "rooftop"
    if details.get("road") or kinds & _STREET_TYPES:
        return "street"
    if kinds & _POSTCODE_TYPES:
        return "postcode"
    return "locality"


def _split_frame(frame: pd.DataFrame) -> pd.DataFrame:
    if "address" in frame and "street" not in frame:
        return parse_addresses(frame["address"])
    empty = pd.Series(pd.NA, index=frame.index, dtype="string")
    return pd.DataFrame({c: frame.get(c, empty) for c in _ADDRESS_FIELDS}, index=frame.index)


def _queries(frame: pd.DataFrame, split: pd.DataFrame) -> pd.Series:
    """The text sent to the service: the one-line address as given, else the parts joined."""
    if "address" in frame and "street" not in frame:
        return frame["address"].astype("string").str.strip()
    parts = split.astype("string").fillna("").apply(lambda s: s.str.strip())
    street = (parts["street"] + " " + parts["housenumber"]).str.strip()
    town = (parts["postcode"] + " " + parts["city"]).str.strip()
    return (street + ", " + town).str.strip(", ")


class GeopyProvider:
    """An online geocoder through geopy, rate-limited and cached.

    Parameters
    ----------
    geocoder
        Any geopy geocoder object (``geocoder.geocode(query, **kwargs)`` returning a
        ``geopy.location.Location`` or ``None``), e.g.
        ``geopy.geocoders.Nominatim(user_agent="acme-crm (ops@acme.example)")``.
    name
        Short name, used in ``source`` (``"geopy:<name>"``) and in cache keys
        [default: the geocoder's class name, lower case].
    min_delay_s
        Seconds between calls (Nominatim's usage policy asks for at most one a second).
    max_retries
        Retries of a failed call before the row is left unplaced.
    geocode_kwargs
        Extra keyword arguments of every ``geocode`` call (e.g. ``{"addressdetails": True}``).
    use_cache
        Read and fill ``gcrm.geocode_cache``.
    """

    def __init__(
        self,
        geocoder: Any,
        *,
        name: str | None = None,
        min_delay_s: float = 1.0,
        max_retries: int = 2,
        geocode_kwargs: Mapping[str, Any] | None = None,
        use_cache: bool = True,
    ) -> None:
        if not callable(getattr(geocoder, "geocode", None)):
            msg = (
                f"geocoder={geocoder!r} has no geocode() method; pass a geopy geocoder such "
                "as geopy.geocoders.Nominatim(user_agent='your-app (you@example.org)')"
            )
            raise ValidationError(msg)
        if not (math.isfinite(min_delay_s) and min_delay_s >= 0):
            msg = f"min_delay_s={min_delay_s!r} must be a number of seconds >= 0, e.g. 1.0"
            raise ValidationError(msg)
        from geopy.extra.rate_limiter import RateLimiter

        self.geocoder = geocoder
        self.name = f"geopy:{name or type(geocoder).__name__.lower()}"
        self.use_cache = use_cache
        self.geocode_kwargs = dict(geocode_kwargs or {})
        self._call: Callable[..., Any] = RateLimiter(
            geocoder.geocode,
            min_delay_seconds=min_delay_s,
            max_retries=max_retries,
            error_wait_seconds=max(min_delay_s, 0.0) * 2,
            swallow_exceptions=True,
            return_value_on_exception=None,
        )
        #: How many times the service was called (cache hits do not count).
        self.calls = 0

    def geocode(self, conn: Connection, frame: pd.DataFrame) -> pd.DataFrame:
        """Geocode every row of ``frame`` online, each distinct address once; see :class:`Provider`.

        Answers are read from and written to ``gcrm.geocode_cache`` under the key
        ``"<name>|<normalised input>"``, misses included, so a re-run calls the service only
        for addresses it has never seen.
        """
        split = _split_frame(frame)
        keys = self.name + "|" + input_keys(normalize_address_fields(split))
        queries = _queries(frame, split).reindex(frame.index)
        asked = pd.DataFrame({"key": keys, "query": queries}).dropna()
        asked = asked[asked["query"] != ""].drop_duplicates("key")
        known = self._read_cache(conn, asked["key"]) if self.use_cache else {}
        todo = asked[~asked["key"].isin(known.keys())]
        found = {
            key: self._ask(query) for key, query in zip(todo["key"], todo["query"], strict=True)
        }
        if self.use_cache and found:
            self._write_cache(conn, found)
        answers = {**known, **found}
        rows = [answers.get(k, _unplaced()) for k in keys]
        out = pd.DataFrame.from_records(rows, columns=list(RESULT_COLUMNS), index=frame.index)
        return out.astype({"lon": float, "lat": float, "score": float})

    def _ask(self, query: str) -> dict[str, Any]:
        # One call per distinct address: an online service answers one query at a time, and
        # the rate limiter spaces the calls out.
        self.calls += 1
        location = self._call(query, **self.geocode_kwargs)
        if location is None:
            return {**_unplaced(), "source": self.name}
        precision = precision_of_location(location)
        return {
            "lon": float(location.longitude),
            "lat": float(location.latitude),
            "precision": precision,
            "score": _ONLINE_SCORES[precision],
            "source": self.name,
            "matched_address": str(location.address) if location.address else None,
        }

    def _read_cache(self, conn: Connection, keys: pd.Series) -> dict[str, dict[str, Any]]:
        if keys.empty:
            return {}
        result = conn.execute(text(_SQL["read_cache"]), {"keys": list(keys)})
        return {r.input_key: {c: getattr(r, c) for c in RESULT_COLUMNS} for r in result}

    def _write_cache(self, conn: Connection, found: Mapping[str, dict[str, Any]]) -> None:
        # Misses are remembered too: asking again would get the same answer.
        rows = [{"input_key": key, **answer} for key, answer in found.items()]
        conn.execute(text(_SQL["write_cache"]), rows)


def _unplaced() -> dict[str, Any]:
    return {
        "lon": None,
        "lat": None,
        "precision": "none",
        "score": 0.0,
        "source": "none",
        "matched_address": None,
    }


def nominatim_provider(
    *, user_agent: str | None, min_delay_s: float = 1.0, use_cache: bool = True
) -> GeopyProvider:
    """A :class:`GeopyProvider` over OpenStreetMap's Nominatim (addresses with details).

    Raises
    ------
    ConfigurationError
        When geopy is not installed or ``user_agent`` is missing (Nominatim's usage policy
        requires one that identifies the application and a contact).
    """
    if not user_agent or not user_agent.strip():
        msg = (
            f"user_agent={user_agent!r}: Nominatim requires a user agent naming your "
            "application and a contact; pass e.g. --user-agent 'acme-crm (ops@acme.example)'"
        )
        raise ConfigurationError(msg)
    try:
        from geopy.geocoders import Nominatim
    except ImportError:
        msg = "online geocoding needs geopy; install it with: pip install 'gcrm[online]'"
        raise ConfigurationError(msg) from None
    return GeopyProvider(
        Nominatim(user_agent=user_agent.strip()),
        name="nominatim",
        min_delay_s=min_delay_s,
        geocode_kwargs={"addressdetails": True},
        use_cache=use_cache,
    )


def refine_with_provider(
    conn: Connection,
    frame: pd.DataFrame,
    results: pd.DataFrame,
    *,
    provider: Provider,
    precisions: tuple[str, ...] = FALLBACK_PRECISIONS,
) -> pd.DataFrame:
    """Ask ``provider`` about the rows the reference placed coarsely; keep better answers.

    Parameters
    ----------
    conn
        Connection to the gcrm database (the provider's cache).
    frame
        The addresses, as given to :func:`gcrm.geocode.geocode_frame`.
    results
        The reference's results for ``frame`` (same index), with :data:`RESULT_COLUMNS`.
    provider
        E.g. a :class:`GeopyProvider`.
    precisions
        Reference precisions worth a second opinion [default: postcode, locality, none].

    Returns
    -------
    pandas.DataFrame
        ``results`` (whose index must be unique) with the rows where the provider's answer is more precise replaced.
    """
    unknown = set(precisions) - set(PRECISIONS)
    if unknown:
        msg = f"precisions={sorted(unknown)!r} unknown; use some of {list(PRECISIONS)}"
        raise ValidationError(msg)
    out = results.copy()
    sent = out.index[out["precision"].isin(precisions).to_numpy()]
    if len(sent) == 0:
        return out
    answers = provider.geocode(conn, frame.loc[sent])
    rank = {p: i for i, p in enumerate(PRECISIONS)}
    better = answers["precision"].map(rank).to_numpy() < out.loc[sent, "precision"].map(rank)
    take = sent[np.asarray(better, dtype=bool)]
    for column in RESULT_COLUMNS:
        out.loc[take, column] = answers.loc[take, column]
    return out
