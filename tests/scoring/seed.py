"""A small region with a planted rule for the lead score's tests.

2,000 businesses stand in two districts. Each became a customer (SMB or corporate) with a
probability that rises for cafés and falls with the distance east of the branch; the others
are leads. Customers signed up over four years, evenly, and each ordered three times. A
score that learns anything should rank cafés in the west first, and the backtest should find
the last year's customers among the leads clearly better than chance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from tests.maps.seed import DISTRICTS

BRANCH = (24.925, 60.165)
CATEGORIES = ("cafe", "bakery", "office", "shop")
END = pd.Timestamp("2025-12-31")

_AREAS = """
INSERT INTO gcrm.area_levels (level, parent_level, rank, label, derivation)
VALUES ('district', NULL, 1, 'District', 'test');
INSERT INTO gcrm.areas (level, code, name, parent_code, derivation, geom) VALUES
    ('district', 'D01', :n1, NULL, 'test', ST_GeomFromText(:g1, 4326)),
    ('district', 'D02', :n2, NULL, 'test', ST_GeomFromText(:g2, 4326));
INSERT INTO gcrm.area_stats (level, code, measure, value, source, vintage) VALUES
    ('district', 'D01', 'population', 1000, 'test', '2025'),
    ('district', 'D02', 'population', 3000, 'test', '2025');
INSERT INTO gcrm.branches (code, name, geom)
VALUES ('B1', 'West branch', ST_SetSRID(ST_MakePoint(:bx, :by), 4326));
"""
_LEAD = """
INSERT INTO gcrm.lead_records (external_id, name, category_group, category, source, geom)
VALUES (:id, :name, 'amenity', :category, 'test', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
"""
_CUSTOMER = """
INSERT INTO gcrm.customer_records (external_id, name, segment, status, signup_date, geom,
    geocode_precision, geocode_score, geocode_source, category_group, category)
VALUES (:id, :name, :segment, 'active', CAST(:signup AS date),
        ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'rooftop', 1, 'test', 'amenity', :category)
"""
_ENRICH = """
INSERT INTO gcrm.{entity}_enrichment (external_id, geom, area_codes, zoning_class, road_class,
    drive_time_s, branch_reached)
VALUES (:id, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), CAST(:codes AS jsonb), :zoning,
        :road, :drive, 'B1')
"""
_ORDER = """
INSERT INTO gcrm.orders (order_id, customer_external_id, order_date, amount, channel)
VALUES (:order_id, :id, CAST(:day AS date), :amount, 'shop')
"""


@dataclass(frozen=True)
class Planted:
    """What the seed wrote: the businesses (``kind`` lead or customer) and the ids of the
    customers of the positive segments who signed up in the last 12 months."""

    businesses: pd.DataFrame
    recent_customers: set[str]


def seed_planted(conn: Connection, *, seed: int = 11) -> Planted:
    """Write the planted region on ``conn`` (the caller rolls back or commits)."""
    rng = np.random.default_rng(seed)
    n = 2000
    lon = rng.uniform(24.92, 24.96, n)
    lat = rng.uniform(60.16, 60.17, n)
    category = rng.choice(CATEGORIES, n)
    east = (lon - 24.92) / 0.04
    logit = -1.6 + 2.2 * (category == "cafe") - 2.0 * east
    converted = rng.random(n) < 1 / (1 + np.exp(-logit))
    metres = np.hypot((lon - BRANCH[0]) * 55_500, (lat - BRANCH[1]) * 111_200)
    frame = pd.DataFrame(
        {
            "lon": lon,
            "lat": lat,
            "category": category,
            "kind": np.where(converted, "customer", "lead"),
            "district": np.where(lon < 24.94, "D01", "D02"),
            "zoning": rng.choice(["commercial", "mixed", "residential"], n),
            "road": rng.choice(["primary", "residential"], n),
            "drive": metres / 8.0,
            "signup": END - pd.to_timedelta(rng.integers(0, 4 * 365, n), unit="D"),
        }
    )
    frame["id"] = [f"{'C' if k == 'customer' else 'L'}{i:04d}" for i, k in enumerate(frame["kind"])]
    frame["segment"] = np.where(rng.random(n) < 0.8, "smb", "corporate")
    # The data ends on END: the latest customer signed up that day.
    frame.loc[frame.loc[frame["kind"] == "customer", "signup"].idxmax(), "signup"] = END
    params = {"n1": DISTRICTS["D01"][0], "g1": DISTRICTS["D01"][1], "bx": BRANCH[0]}
    params |= {"n2": DISTRICTS["D02"][0], "g2": DISTRICTS["D02"][1], "by": BRANCH[1]}
    for statement in filter(str.strip, _AREAS.split(";")):
        names = {k: v for k, v in params.items() if f":{k}" in statement}
        conn.execute(text(statement), names)
    rows = [
        {
            **r,
            "name": f"Business {r['id']}",
            "codes": json.dumps({"district": r["district"]}),
            "signup": r["signup"].date().isoformat(),
        }
        for r in frame.to_dict("records")
    ]
    leads = [r for r in rows if r["kind"] == "lead"]
    customers = [r for r in rows if r["kind"] == "customer"]
    conn.execute(text(_LEAD), leads)
    conn.execute(text(_CUSTOMER), customers)
    conn.execute(text(_ENRICH.format(entity="lead")), leads)
    conn.execute(text(_ENRICH.format(entity="customer")), customers)
    orders = [
        {
            "order_id": f"O{c['id']}-{k}",
            "id": c["id"],
            "day": (pd.Timestamp(c["signup"]) + pd.Timedelta(days=int(d))).date().isoformat(),
            "amount": float(rng.uniform(100, 1000)),
        }
        for c in customers
        for k, d in enumerate(rng.integers(0, 400, 3))
        if pd.Timestamp(c["signup"]) + pd.Timedelta(days=int(d)) <= END
    ]
    conn.execute(text(_ORDER), orders)
    recent = frame[
        (frame["kind"] == "customer") & (frame["signup"] > END - pd.DateOffset(months=12))
    ]
    return Planted(frame, set(recent["id"]))
