"""Rung 2b of the ladder: the street a mistyped name stands for.

Each unplaced query is compared, by optimal-string-alignment similarity (a transposition is
one edit; rapidfuzz ``cdist``, one matrix per scope, in C on every core), with the streets
of a scope, in two passes:

1. the streets of its postcode, when the reference knows the postcode;
2. for the queries the first pass left undecided, and those without a known postcode: the
   streets of its city, else of the whole reference. A wrong postcode is common, and its
   streets are the wrong ones to compare with.

The candidates of a query are the streets within :data:`MARGIN` of its best similarity
(and at least :data:`MIN_STREET_SIMILARITY`); SQL (``decide_fuzzy`` in ``ladder.sql``)
then picks the one that has the house number, is in the query's postcode, then its city,
and only when no other candidate is as good on those: a wrong rooftop is worse than an
honest postcode-level answer. Nothing keys on the first letter or on trigrams, so a typo in
the first letter or in a short name costs what any other typo does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import process as rf_process
from rapidfuzz.distance import OSA
from sqlalchemy import Connection, text

from gcrm.store import load_queries

__all__ = [
    "FIRST_PASS_SIMILARITY",
    "MARGIN",
    "MIN_STREET_SIMILARITY",
    "OTHER_STREET_SIMILARITY",
    "Queries",
    "StreetIndex",
    "fuzzy_todo",
    "match_streets_fuzzy",
    "staged_on",
    "street_candidates",
]

#: The least similarity of a street taken for a mistyped one (1 - edits / longer length).
MIN_STREET_SIMILARITY = 0.6
#: In the query's own postcode, a street must be this alike (one typo in seven letters): a
#: weaker likeness there may be a wrong postcode's street ("Eteläinen Makasiinikatu" for a
#: mistyped "Pohjoinen Makasiinikatu"), so the query is compared with its city's streets.
FIRST_PASS_SIMILARITY = 0.85
#: Candidates within this much of the best similarity are contenders for the same query.
MARGIN = 0.05
#: A street known exactly that lacks the house yields to another only this alike (a typo
#: that wrote a real street: "Kluuvinkatu" for "Kluuvikatu").
OTHER_STREET_SIMILARITY = 0.85
_FUZZY_CHUNK = 2_000
_SQL = load_queries(__package__, "ladder.sql")
_CANDIDATE_COLUMNS = ["gid", "street_match", "street_postcode", "sim", "pc_ok", "city_ok"]
#: The ladder's staging table, as its statements name it.
_STAGING = re.compile(r"\b_geo\b")


def _squash(name: str) -> str:
    """A street name without its spaces and hyphens: "Asemaaukio" is "Asema-aukio" typed
    without the hyphen, not a typo of it."""
    return name.replace(" ", "").replace("-", "")


def _read_frame(conn: Connection, sql: str) -> pd.DataFrame:
    result = conn.execute(text(sql))
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


class StreetIndex:
    """Streets of the reference (rows of ``gcrm.address_streets``), by postcode and city.

    Plain Python containers, not a DataFrame: one address reads ~100 streets, and pandas'
    fixed costs would be most of its time.

    Parameters
    ----------
    names, postcodes, cities, n
        One element per row: street_norm, postcode_norm, city_norm and the number of points
        of the street in that postcode (one row per street and postcode).
    """

    def __init__(
        self,
        names: Sequence[str],
        postcodes: Sequence[str | None],
        cities: Sequence[str | None],
        n: Sequence[int],
    ) -> None:
        # Biggest first: the first row of a street in a scope is its biggest postcode there.
        order = sorted(range(len(names)), key=lambda i: (-n[i], names[i]))
        self._names = np.array([names[i] for i in order], dtype=object)
        self._postcodes = np.array([postcodes[i] for i in order], dtype=object)
        self.pairs = set(zip(names, postcodes, strict=True))
        self.city_pairs = set(zip(names, cities, strict=True))
        self._by_postcode: dict[str, list[int]] = {}
        self._by_city: dict[str, list[int]] = {}
        self._everywhere: list[int] = []
        seen_city: set[tuple[str, str]] = set()
        seen: set[str] = set()
        # A loop over the streets read (a postcode's or a city's, ~100 to a few thousand).
        for row, i in enumerate(order):
            name, postcode, city = names[i], postcodes[i], cities[i]
            if postcode is not None:
                self._by_postcode.setdefault(postcode, []).append(row)
            if city is not None and (city, name) not in seen_city:
                seen_city.add((city, name))
                self._by_city.setdefault(city, []).append(row)
            if name not in seen:
                seen.add(name)
                self._everywhere.append(row)

    @classmethod
    def from_arrays(cls, row: Sequence[Sequence[object]]) -> StreetIndex:
        """From the one row of arrays of ``streets_of_postcodes`` / ``streets_of_cities``."""
        names, postcodes, cities, n = row
        return cls(names, postcodes, cities, n)  # type: ignore[arg-type]

    def postcodes(self) -> set[str]:
        """The postcodes the index holds streets of."""
        return set(self._by_postcode)

    def cities(self) -> set[str]:
        """The cities the index holds streets of."""
        return set(self._by_city)

    def scope(self, kind: str, value: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The distinct streets of a postcode (``"pc"``), a city (``"city"``) or all
        (``"all"``), and each one's biggest postcode in that scope."""
        if kind == "pc":
            rows = self._by_postcode[str(value)]
        elif kind == "city":
            rows = self._by_city[str(value)]
        else:
            rows = self._everywhere
        return self._names[rows], self._postcodes[rows]


@dataclass(frozen=True)
class Queries:
    """The fuzzy rung's queries (rows of ``fuzzy_todo``) as arrays, one element per query:
    gid, the typed street, postcode and city, and ``own``: the street is known exactly (it
    lacks the house) and must not be its own candidate."""

    gid: np.ndarray
    street: np.ndarray
    postcode: np.ndarray
    city: np.ndarray
    own: np.ndarray

    @classmethod
    def from_frame(cls, todo: pd.DataFrame) -> Queries:
        """From rows of ``fuzzy_todo`` (gid, street_norm, postcode_norm, city_norm,
        street_sim)."""
        return cls(
            gid=todo["gid"].to_numpy(dtype=np.int64),
            street=todo["street_norm"].to_numpy(dtype=object),
            postcode=np.array([None if pd.isna(v) else v for v in todo["postcode_norm"]], object),
            city=np.array([None if pd.isna(v) else v for v in todo["city_norm"]], dtype=object),
            own=todo["street_sim"].notna().to_numpy(dtype=bool),
        )

    @classmethod
    def one(
        cls, gid: int, street: str, postcode: str | None, city: str | None, *, own: bool
    ) -> Queries:
        """One query: the one-address path's, without a frame's fixed costs."""
        return cls(
            gid=np.array([gid], dtype=np.int64),
            street=np.array([street], dtype=object),
            postcode=np.array([postcode], dtype=object),
            city=np.array([city], dtype=object),
            own=np.array([own], dtype=bool),
        )

    def __len__(self) -> int:
        return len(self.gid)

    def take(self, rows: np.ndarray | slice | list[int]) -> Queries:
        """The queries at ``rows`` (positions, a slice or a boolean mask)."""
        return Queries(
            self.gid[rows], self.street[rows], self.postcode[rows], self.city[rows], self.own[rows]
        )


def street_candidates(
    todo: pd.DataFrame | Queries, index: StreetIndex, *, first_pass: bool
) -> dict[str, np.ndarray]:
    """The candidate streets of each query of ``todo`` (rows of ``fuzzy_todo``), as arrays
    named :data:`_CANDIDATE_COLUMNS`.

    ``first_pass``: compare with the streets of the query's postcode; else with those of
    its city or of the whole reference.
    """
    queries = todo if isinstance(todo, Queries) else Queries.from_frame(todo)
    if not len(queries):
        return {c: np.array([], dtype=object) for c in _CANDIDATE_COLUMNS}
    cities = index.cities()
    scopes: dict[tuple[str, str | None], list[int]] = {}
    # A loop over the queries to group them by scope; each scope is then one matrix in C.
    for row, value in enumerate((queries.postcode if first_pass else queries.city).tolist()):
        if first_pass:
            key: tuple[str, str | None] = ("pc", value)
        else:
            key = ("city", value) if value in cities else ("all", None)
        scopes.setdefault(key, []).append(row)
    found = [
        _scope_candidates(
            queries.take(rows), *index.scope(kind, value), index, first_pass=first_pass
        )
        for (kind, value), rows in sorted(scopes.items(), key=lambda kv: str(kv[0]))
    ]
    return {c: np.concatenate([f[c] for f in found]) for c in _CANDIDATE_COLUMNS}


def _scope_candidates(
    group: Queries,
    names: np.ndarray,
    postcodes: np.ndarray,
    index: StreetIndex,
    *,
    first_pass: bool,
) -> dict[str, np.ndarray]:
    floor = FIRST_PASS_SIMILARITY if first_pass else MIN_STREET_SIMILARITY
    squashed = [_squash(v) for v in names]
    rows: list[dict[str, np.ndarray]] = [
        {c: np.array([], dtype=object) for c in _CANDIDATE_COLUMNS}
    ]
    for start in range(0, len(group), _FUZZY_CHUNK):
        part = group.take(slice(start, start + _FUZZY_CHUNK))
        typed = part.street
        scores = rf_process.cdist(
            [_squash(v) for v in typed],
            squashed,
            scorer=OSA.normalized_similarity,
            dtype=np.float32,
            # Threads pay off on big matrices only (a single address compares with ~100).
            workers=-1 if len(part) * len(names) > 100_000 else 1,
        )
        # A street known exactly is not its own candidate.
        own = part.own
        if own.any():
            scores[own] = np.where(names[None, :] == typed[own, None], 0.0, scores[own])
        best = scores.max(axis=1, initial=0.0)
        qi, ci = np.nonzero(scores >= np.maximum(floor, best - MARGIN)[:, None])
        street = names[ci]
        postcode = part.postcode[qi]
        city = part.city[qi]
        pc_ok = np.array(
            [(s, p) in index.pairs for s, p in zip(street, postcode, strict=True)], dtype=bool
        )
        city_ok = np.array(
            [(s, c) in index.city_pairs for s, c in zip(street, city, strict=True)], dtype=bool
        )
        rows.append(
            {
                "gid": part.gid[qi],
                "street_match": street,
                # The query's postcode when the street runs through it, else the street's
                # biggest postcode in the scope.
                "street_postcode": np.where(pc_ok, postcode, postcodes[ci]),
                "sim": scores[qi, ci].astype(float),
                "pc_ok": pc_ok,
                "city_ok": city_ok,
            }
        )
    return {c: np.concatenate([r[c] for r in rows]) for c in _CANDIDATE_COLUMNS}


def staged_on(sql: str, table: str) -> str:
    """A statement of ``ladder.sql`` on the staging table ``table`` instead of ``_geo``."""
    return sql if table == "_geo" else _STAGING.sub(table, sql)


def _decide(
    conn: Connection, candidates: dict[str, np.ndarray], *, min_sim: float, table: str
) -> set[int]:
    """Apply ``decide_fuzzy`` to ``candidates``; the gids that took a street."""
    if not len(candidates["gid"]):
        return set()
    decided = conn.execute(
        text(staged_on(_SQL["decide_fuzzy"], table)),
        {
            "gids": [int(v) for v in candidates["gid"]],
            "streets": candidates["street_match"].tolist(),
            "postcodes": [None if pd.isna(v) else v for v in candidates["street_postcode"]],
            "sims": [float(v) for v in candidates["sim"]],
            "pc_ok": [bool(v) for v in candidates["pc_ok"]],
            "city_ok": [bool(v) for v in candidates["city_ok"]],
            "margin": MARGIN,
            "min_sim": min_sim,
            "other_street_sim": OTHER_STREET_SIMILARITY,
        },
    ).scalars()
    return {int(g) for g in decided}


def _streets_of_cities(conn: Connection, cities: list[str], everywhere: bool) -> StreetIndex:
    return StreetIndex.from_arrays(
        conn.execute(
            text(_SQL["streets_of_cities"]), {"cities": cities, "everywhere": bool(everywhere)}
        ).one()
    )


def fuzzy_todo(conn: Connection) -> pd.DataFrame:
    """The rows of ``_geo`` the fuzzy rung looks at (``fuzzy_todo`` in ``ladder.sql``)."""
    return _read_frame(conn, _SQL["fuzzy_todo"])


def match_streets_fuzzy(
    conn: Connection,
    todo: pd.DataFrame | Queries | None = None,
    *,
    streets: StreetIndex | None = None,
    table: str = "_geo",
) -> None:
    """Fill ``street_match``, ``street_postcode`` and ``street_sim`` of the unplaced rows of
    ``_geo`` whose street is mistyped (or typed as another real street lacking the house).

    ``todo``: those rows (:func:`fuzzy_todo`) when the caller has read them already.
    ``streets``: the streets of their postcodes (``streets_of_postcodes``) when the caller
    has read them already. Only the streets of the scopes the queries need are read: those
    of their postcodes, then of their cities (all streets only for queries whose city the
    reference lacks). ``table``: the staging table, when it is not ``_geo``.
    """
    if todo is None:
        todo = fuzzy_todo(conn)
    queries = todo if isinstance(todo, Queries) else Queries.from_frame(todo)
    if not len(queries):
        return
    if streets is None:
        postcodes = sorted({p for p in queries.postcode.tolist() if p is not None})
        streets = StreetIndex.from_arrays(
            conn.execute(text(_SQL["streets_of_postcodes"]), {"postcodes": postcodes}).one()
        )
    known = streets.postcodes()
    first = np.array([p in known for p in queries.postcode.tolist()], dtype=bool)
    taken = _decide(
        conn,
        street_candidates(queries.take(first), streets, first_pass=True),
        min_sim=FIRST_PASS_SIMILARITY,
        table=table,
    )
    # A street known exactly is questioned in its own postcode only, when there is one.
    second = ~np.isin(queries.gid, list(taken)) & ~(first & queries.own)
    if not second.any():
        return
    cities = queries.city[second].tolist()
    named = sorted({c for c in cities if c is not None})
    wide = _streets_of_cities(conn, named, any(c is None for c in cities))
    if not set(named) <= wide.cities():
        wide = _streets_of_cities(conn, [], everywhere=True)  # a city the reference lacks
    _decide(
        conn,
        street_candidates(queries.take(second), wide, first_pass=False),
        min_sim=MIN_STREET_SIMILARITY,
        table=table,
    )
