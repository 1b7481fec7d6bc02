"""Reverse geocoding: the nearest reference address to a point (KNN on the GiST index)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from gcrm.store import copy_frame, load_queries

__all__ = ["ReverseResult", "reverse_geocode", "reverse_geocode_frame"]

_SQL = load_queries(__package__, "reverse.sql")


@dataclass(frozen=True)
class ReverseResult:
    """The nearest reference address to a point."""

    address: str | None
    ref: str | None
    distance_m: float | None
    lon: float | None
    lat: float | None


def reverse_geocode_frame(
    conn: Connection, frame: pd.DataFrame, *, max_distance_m: float = 250.0
) -> pd.DataFrame:
    """Nearest address point to every (lon, lat) row, set-based (KNN on the GiST index).

    Returns columns address, ref, distance_m on the index of ``frame``; rows with no address
    within ``max_distance_m`` get missing values.
    """
    stage = pd.DataFrame(
        {
            "gid": np.arange(len(frame), dtype=np.int64),
            "lon": frame["lon"].to_numpy(float),
            "lat": frame["lat"].to_numpy(float),
        }
    )
    conn.execute(text("DROP TABLE IF EXISTS _rev"))
    conn.execute(text(_SQL["create_rev"]))
    copy_frame(conn, "_rev", stage)
    rows = conn.execute(text(_SQL["nearest"]), {"max_m": max_distance_m}).fetchall()
    conn.execute(text("DROP TABLE _rev"))
    out = pd.DataFrame(
        rows, columns=["gid", "address", "ref", "distance_m", "address_lon", "address_lat"]
    ).drop(columns="gid")
    out.index = frame.index
    out["distance_m"] = out["distance_m"].astype(float).round(1)
    return out


def reverse_geocode(
    conn: Connection, *, lon: float, lat: float, max_distance_m: float = 250.0
) -> ReverseResult:
    """The nearest reference address to (lon, lat) within ``max_distance_m``, with the distance."""
    row = reverse_geocode_frame(
        conn, pd.DataFrame({"lon": [lon], "lat": [lat]}), max_distance_m=max_distance_m
    ).iloc[0]
    if pd.isna(row["ref"]):
        return ReverseResult(None, None, None, None, None)
    return ReverseResult(
        str(row["address"]),
        str(row["ref"]),
        float(row["distance_m"]),
        float(row["address_lon"]),
        float(row["address_lat"]),
    )
