"""Offline geocoding against the address reference in PostGIS.

The ladder runs set-based in SQL (``geocode.sql``) on a temporary table holding every input
at once: exact street + number, fuzzy street (pg_trgm) + number, street centroid, postcode
centroid, locality centroid, unmatched. Each result carries ``precision``, ``score`` (0-1),
``source`` and ``matched_address``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from gcrm.db.bulk import copy_frame
from gcrm.ingest.normalize import (
    normalize_city,
    normalize_housenumber,
    normalize_postcode,
    normalize_street,
)

__all__ = [
    "PRECISIONS",
    "GeocodeResult",
    "geocode_address",
    "geocode_frame",
    "normalize_address_fields",
    "parse_one_line",
]

#: From best to worst.
PRECISIONS = ("rooftop", "interpolated", "street", "postcode", "locality", "none")
_LADDER = [s.strip() for s in (Path(__file__).with_name("geocode.sql")).read_text().split(";;")]
#: Similarity needed for a fuzzy street match; below it a typo is not trusted.
FUZZY_THRESHOLD = 0.55


@dataclass(frozen=True)
class GeocodeResult:
    """One geocoded address."""

    lon: float | None
    lat: float | None
    precision: str
    score: float
    source: str
    matched_address: str | None


def normalize_address_fields(frame: pd.DataFrame) -> pd.DataFrame:
    """Normalised match keys for columns street, housenumber, postcode, city (any missing)."""
    idx = frame.index
    empty = pd.Series(pd.NA, index=idx, dtype="string")
    col = lambda name: frame[name] if name in frame else empty  # noqa: E731
    hn = normalize_housenumber(col("housenumber"))
    return pd.DataFrame(
        {
            "street_norm": normalize_street(col("street")),
            "housenumber_norm": hn["housenumber_norm"],
            "unit": hn["unit"],
            "postcode_norm": normalize_postcode(col("postcode")),
            "city_norm": normalize_city(col("city")),
        },
        index=idx,
    )


def geocode_frame(conn: Connection, frame: pd.DataFrame) -> pd.DataFrame:
    """Geocode every row of ``frame`` (columns street, housenumber, postcode, city).

    Returns a frame on the same index with lon, lat, precision, score, source,
    matched_address and the normalised keys.
    """
    keys = normalize_address_fields(frame)
    stage = keys.drop(columns="unit").copy()
    stage.insert(0, "gid", np.arange(len(stage), dtype=np.int64))
    conn.execute(text("DROP TABLE IF EXISTS _geo"))
    conn.execute(
        text(
            "CREATE TEMP TABLE _geo (gid bigint PRIMARY KEY, street_norm text, "
            "housenumber_norm text, postcode_norm text, city_norm text, geom geometry, "
            "precision text, score double precision, source text, matched_address text) "
            "ON COMMIT DROP"
        )
    )
    copy_frame(conn, "_geo", stage)
    conn.execute(text("ANALYZE _geo"))
    conn.execute(text(f"SET LOCAL pg_trgm.similarity_threshold = {FUZZY_THRESHOLD}"))
    for statement in _LADDER:
        conn.execute(text(statement))
    rows = conn.execute(
        text(
            "SELECT gid, ST_X(geom) AS lon, ST_Y(geom) AS lat, precision, score, source, "
            "matched_address FROM _geo ORDER BY gid"
        )
    ).fetchall()
    conn.execute(text("DROP TABLE _geo"))
    out = pd.DataFrame(rows, columns=["gid", "lon", "lat", "precision", "score", "source", "matched_address"])
    out.index = frame.index
    out = out.drop(columns="gid")
    return pd.concat([out, keys], axis=1)


_POSTCODE_RE = re.compile(r"\b(\d{5})\b")


def parse_one_line(address: str) -> dict[str, str | None]:
    """Split ``"Mannerheimintie 10 B, 00100 Helsinki"`` into street, housenumber, postcode, city."""
    text_ = " ".join(address.replace("\n", ",").split())
    postcode = None
    m = _POSTCODE_RE.search(text_)
    if m:
        postcode = m.group(1)
        text_ = (text_[: m.start()] + text_[m.end() :]).strip()
    parts = [p.strip() for p in text_.split(",") if p.strip()]
    street_part = parts[0] if parts else ""
    city = parts[-1] if len(parts) > 1 else None
    sm = re.match(r"^(?P<street>[^\d]+?)\s*(?P<number>\d.*)?$", street_part)
    street = sm.group("street").strip() if sm else street_part or None
    number = sm.group("number").strip() if sm and sm.group("number") else None
    return {"street": street or None, "housenumber": number, "postcode": postcode, "city": city}


def geocode_address(conn: Connection, address: str) -> GeocodeResult:
    """Geocode one free-text address (the same ladder as the batch path)."""
    fields = parse_one_line(address)
    frame = pd.DataFrame([fields], dtype="string")
    row = geocode_frame(conn, frame).iloc[0]
    lon = None if pd.isna(row["lon"]) else float(row["lon"])
    lat = None if pd.isna(row["lat"]) else float(row["lat"])
    return GeocodeResult(
        lon=lon,
        lat=lat,
        precision=str(row["precision"]),
        score=float(row["score"]),
        source=str(row["source"]),
        matched_address=None if pd.isna(row["matched_address"]) else str(row["matched_address"]),
    )

