"""Measuring the geocoder against its own reference, with ground truth.

A sample of address points is turned into query variants a CRM export really contains
(case, abbreviations, typos, missing or wrong postcodes, units, swapped field order), plus
held-out points removed from the reference (their numbers no longer exist, so the answer must
come from interpolation or a lower rung). Each answer is compared with the true point.
Used by ``benchmarks/geocode_accuracy.py`` and, on a small sample, by the test suite.

The held-out points are taken out of the reference by its one writer,
:func:`gcrm.ingest.delete_addresses`, inside a transaction the caller rolls back; this module
only reads.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from gcrm.core import PRECISIONS, ValidationError
from gcrm.geocode.ladder import RESULT_COLUMNS, geocode_frame

__all__ = ["VARIANTS", "evaluate_geocoder", "make_variants", "sample_reference", "summarize"]

VARIANTS = (
    "clean",
    "lower",
    "upper",
    "abbreviated",
    "typo_1",
    "typo_2",
    "missing_postcode",
    "wrong_postcode",
    "unit_suffix",
    "one_line_swapped",
    "held_out_number",
)
#: Street-type endings abbreviated the way people type them (the inverse of the rule tables).
_ABBREVIATIONS = (
    ("katu", "k."),
    ("tie", "t."),
    ("kuja", "kj."),
    ("gatan", "g."),
    ("vägen", "v."),
    ("Street", "St"),
    ("Avenue", "Ave"),
    ("Road", "Rd"),
    ("Boulevard", "Blvd"),
)
_ALPHABET = np.array(list("abcdefghijklmnopqrstuvwxyzäö"))
FALSE_MATCH_M = 50.0


def sample_reference(
    conn: Connection, *, n: int, held_out: int = 0, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two disjoint, reproducible samples of address points with their true coordinates.

    The first (``n`` rows) is queried in every variant; the second (``held_out`` rows) is
    removed from the reference by :func:`evaluate_geocoder` and queried as
    ``held_out_number``.
    """
    rows = conn.execute(
        text(
            "SELECT ref, street, housenumber, postcode, city, ST_X(geom) AS lon, ST_Y(geom) AS lat "
            "FROM gcrm.address_points WHERE postcode IS NOT NULL AND city IS NOT NULL ORDER BY ref"
        )
    ).fetchall()
    frame = pd.DataFrame(
        rows, columns=["ref", "street", "housenumber", "postcode", "city", "lon", "lat"]
    )
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(frame))
    sample = frame.iloc[np.sort(order[:n])].reset_index(drop=True)
    held = frame.iloc[np.sort(order[n : n + held_out])].reset_index(drop=True)
    return sample, held


def _typo(street: str, edits: int, rng: np.random.Generator) -> str:
    chars = list(street)
    for _ in range(edits):
        if len(chars) < 4:
            break
        # Never the first letter: people rarely get it wrong, and indexes key on it.
        i = int(rng.integers(1, len(chars) - 1))
        kind = int(rng.integers(0, 4))
        if kind == 0:
            chars[i] = str(rng.choice(_ALPHABET))
        elif kind == 1:
            del chars[i]
        elif kind == 2:
            chars.insert(i, str(rng.choice(_ALPHABET)))
        else:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def _abbreviate(street: str) -> str:
    for full, short in _ABBREVIATIONS:
        if street.endswith(full):
            return street[: -len(full)] + short
        if street.endswith(full.lower()):
            return street[: -len(full)] + short
    return street


def make_variants(
    sample: pd.DataFrame,
    *,
    variants: Sequence[str] = VARIANTS,
    postcodes: Sequence[str] = (),
    seed: int = 0,
) -> pd.DataFrame:
    """Query rows (street, housenumber, postcode, city or address) with truth and variant."""
    rng = np.random.default_rng(seed)
    frames = []
    for variant in variants:
        q = sample.copy()
        q["variant"] = variant
        q["address"] = pd.NA
        # A loop over a few thousand sampled strings, only to build test queries.
        if variant == "lower":
            q["street"], q["city"] = q["street"].str.lower(), q["city"].str.lower()
        elif variant == "upper":
            q["street"], q["city"] = q["street"].str.upper(), q["city"].str.upper()
        elif variant == "abbreviated":
            q["street"] = [_abbreviate(s) for s in q["street"]]
        elif variant in ("typo_1", "typo_2"):
            q["street"] = [_typo(s, int(variant[-1]), rng) for s in q["street"]]
        elif variant == "missing_postcode":
            q["postcode"] = pd.NA
        elif variant == "wrong_postcode":
            others = np.array(sorted(set(postcodes) or set(sample["postcode"])))
            picks = others[rng.integers(0, len(others), len(q))]
            same = picks == q["postcode"].to_numpy()
            picks[same] = others[(np.searchsorted(others, picks[same]) + 1) % len(others)]
            q["postcode"] = picks
        elif variant == "unit_suffix":
            units = rng.integers(1, 40, len(q)).astype(str)
            style = rng.integers(0, 2, len(q))
            q["housenumber"] = np.where(
                style == 0, q["housenumber"] + " as " + units, q["housenumber"] + ", Apt " + units
            )
        elif variant == "one_line_swapped":
            q["address"] = (
                q["postcode"] + " " + q["city"] + ", " + q["street"] + " " + q["housenumber"]
            )
        frames.append(q)
    queries = pd.concat(frames, ignore_index=True)
    one_line = queries["address"].notna()
    for col in ("street", "housenumber", "postcode", "city"):
        queries.loc[one_line, col] = pd.NA
    return queries


def evaluate_geocoder(
    conn: Connection, queries: pd.DataFrame, *, held_out: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Geocode ``queries`` and attach the error in metres to the true point.

    ``held_out`` rows (from :func:`sample_reference`) are queried as the ``held_out_number``
    variant; the caller removes them from the reference first, in a transaction it rolls
    back afterwards::

        delete_addresses(conn, held["ref"])  # gcrm.ingest
        results = evaluate_geocoder(conn, queries, held_out=held)

    Raises
    ------
    ValidationError
        When a held-out point is still in the reference.
    """
    if held_out is not None and len(held_out):
        still = conn.execute(
            text("SELECT count(*) FROM gcrm.address_points WHERE ref = ANY(:refs)"),
            {"refs": held_out["ref"].tolist()},
        ).scalar_one()
        if still:
            msg = (
                f"held_out: {still} of {len(held_out)} points are still in the reference; remove "
                "them first with gcrm.ingest.delete_addresses(conn, held_out['ref'])"
            )
            raise ValidationError(msg)
        extra = held_out.assign(variant="held_out_number", address=pd.NA)
        queries = pd.concat(
            [queries[queries["variant"] != "held_out_number"], extra], ignore_index=True
        )
    split = queries[~queries["address"].notna()]
    lines = queries[queries["address"].notna()]
    parts = []
    if len(split):
        parts.append(
            geocode_frame(
                conn,
                split[["street", "housenumber", "postcode", "city"]].astype("string"),
                use_cache=False,
            )
        )
    if len(lines):
        parts.append(geocode_frame(conn, lines[["address"]], use_cache=False))
    result = pd.concat(parts).loc[queries.index]
    out = queries[["ref", "variant", "lon", "lat"]].rename(
        columns={"lon": "true_lon", "lat": "true_lat"}
    )
    out = pd.concat([out, result[list(RESULT_COLUMNS)]], axis=1)
    out["error_m"] = _haversine_m(out["true_lon"], out["true_lat"], out["lon"], out["lat"])
    return out


def _haversine_m(lon1: pd.Series, lat1: pd.Series, lon2: pd.Series, lat2: pd.Series) -> np.ndarray:
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(a))


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Per variant: share at each precision, median / p95 error, within 30 m, false matches."""
    precise = results["precision"].isin(["rooftop", "interpolated"])
    results = results.assign(
        false_match=precise & (results["error_m"] > FALSE_MATCH_M),
        within_30m=results["error_m"] <= 30,
    )
    shares = pd.crosstab(results["variant"], results["precision"], normalize="index")
    for p in PRECISIONS:
        if p not in shares:
            shares[p] = 0.0
    grouped = results.groupby("variant")
    table = pd.DataFrame(
        {
            "n": grouped.size(),
            "rooftop": shares["rooftop"],
            "interpolated": shares["interpolated"],
            "street": shares["street"],
            "postcode": shares["postcode"],
            "locality": shares["locality"],
            "none": shares["none"],
            "within_30m": grouped["within_30m"].mean(),
            "median_error_m": grouped["error_m"].median(),
            "p95_error_m": grouped["error_m"].quantile(0.95),
            "false_match": grouped["false_match"].mean(),
        }
    )
    order = [v for v in VARIANTS if v in table.index]
    table = table.loc[order]
    total = pd.DataFrame(
        {
            "n": [len(results)],
            "within_30m": [results["within_30m"].mean()],
            "false_match": [results["false_match"].mean()],
            "median_error_m": [results["error_m"].median()],
            "p95_error_m": [results["error_m"].quantile(0.95)],
        },
        index=["overall"],
    )
    return pd.concat([table, total])
