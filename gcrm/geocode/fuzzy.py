"""Rung 2b of the ladder: the closest street by optimal-string-alignment similarity.

Each unplaced query is compared with the streets of its postcode, else of its city, else of
the whole reference, as one matrix per scope (rapidfuzz ``cdist``, in C on every core). A
match needs :data:`MIN_STREET_SIMILARITY` and a lead of :data:`MARGIN` over the runner-up: a
wrong rooftop match is worse than an honest postcode-level one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz import process as rf_process
from rapidfuzz.distance import OSA
from sqlalchemy import Connection, text

from gcrm.store import copy_frame, load_queries

__all__ = ["MARGIN", "MIN_STREET_SIMILARITY", "match_streets_fuzzy"]

MIN_STREET_SIMILARITY = 0.6
MARGIN = 0.05
_FUZZY_CHUNK = 2_000
_SQL = load_queries(__package__, "ladder.sql")


def _read_frame(conn: Connection, sql: str) -> pd.DataFrame:
    result = conn.execute(text(sql))
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def match_streets_fuzzy(conn: Connection) -> None:
    """Fill ``street_match``, ``street_postcode`` and ``street_sim`` of the unplaced rows of
    ``_geo`` that have a street close enough to one in the reference."""
    todo = _read_frame(conn, _SQL["fuzzy_todo"])
    if todo.empty:
        return
    streets = _read_frame(conn, _SQL["reference_streets"])
    known_pc = set(streets["postcode_norm"].dropna())
    known_city = set(streets["city_norm"].dropna())
    todo["scope"] = np.where(
        todo["postcode_norm"].isin(known_pc),
        "pc:" + todo["postcode_norm"].fillna(""),
        np.where(todo["city_norm"].isin(known_city), "city:" + todo["city_norm"].fillna(""), "all"),
    )
    # Distinct street names per scope, each with its biggest postcode, prepared once.
    streets = streets.sort_values(["street_norm", "n"], ascending=[True, False])
    scopes = {
        "pc": {
            k: g.drop_duplicates("street_norm")
            for k, g in streets.groupby("postcode_norm", sort=False)
        },
        "city": {
            k: g.drop_duplicates("street_norm") for k, g in streets.groupby("city_norm", sort=False)
        },
    }
    everywhere = streets.drop_duplicates("street_norm")
    matches = []
    # A loop over scopes (postcodes, cities), not rows: each scope is one matrix in C.
    for scope, group in todo.groupby("scope", sort=True):
        kind, _, value = str(scope).partition(":")
        choices = scopes[kind][value] if kind in scopes else everywhere
        if not choices.empty:
            matches.append(_best_streets(group, choices.reset_index(drop=True)))
    if not matches:
        return
    found = pd.concat(matches, ignore_index=True)
    conn.execute(text("DROP TABLE IF EXISTS _fuzzy"))
    conn.execute(text(_SQL["create_fuzzy"]))
    copy_frame(conn, "_fuzzy", found)
    conn.execute(text(_SQL["apply_fuzzy"]))
    conn.execute(text("DROP TABLE _fuzzy"))


def _best_streets(group: pd.DataFrame, choices: pd.DataFrame) -> pd.DataFrame:
    names = choices["street_norm"].tolist()
    rows = []
    for start in range(0, len(group), _FUZZY_CHUNK):
        part = group.iloc[start : start + _FUZZY_CHUNK]
        scores = rf_process.cdist(
            part["street_norm"].tolist(),
            names,
            scorer=OSA.normalized_similarity,
            dtype=np.float32,
            workers=-1,
        )
        if scores.shape[1] > 1:
            top2 = np.partition(scores, -2, axis=1)[:, -2:]
            best, second = top2[:, 1], top2[:, 0]
        else:
            best, second = scores[:, 0], np.zeros(len(part), dtype=np.float32)
        pick = scores.argmax(axis=1)
        ok = (best >= MIN_STREET_SIMILARITY) & (second < best - MARGIN)
        rows.append(
            pd.DataFrame(
                {
                    "gid": part["gid"].to_numpy()[ok],
                    "street_match": choices["street_norm"].to_numpy()[pick[ok]],
                    "street_postcode": choices["postcode_norm"].to_numpy()[pick[ok]],
                    "street_sim": best[ok].astype(float),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)
