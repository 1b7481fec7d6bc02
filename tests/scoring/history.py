"""A customer history with known churn drivers, for the churn and value tests.

On top of the tiny region (tests/maps/seed.py: districts D01 and D02, branch B1): 400
customers signed up 2022-2024, enriched with their district and a drive time, ordering as
Poisson processes (rate gamma-distributed across customers) from 2023 until they churn.
Churn is driven the way a model can find: customers of D02 churn about three times as often
as those of D01, and a customer who is about to churn orders at a quarter of their rate in
their last 6 months. Drawn from a fixed seed.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from sqlalchemy import Connection, text

from tests.maps.seed import seed_region

N_CUSTOMERS = 400
FIRST_ORDER = date(2023, 1, 1)
LAST_DAY = date(2025, 12, 31)


def _days(start: date, stop: date) -> int:
    return (stop - start).days


def seed_history(conn: Connection, *, seed: int = 3) -> None:
    """Insert the tiny region and the customer history on ``conn``."""
    seed_region(conn)
    rng = np.random.default_rng(seed)
    customers, orders = [], []
    for i in range(N_CUSTOMERS):
        ext = f"H{i:04d}"
        district = "D02" if i % 2 else "D01"
        signup = date(2022, 1, 1) + timedelta(days=int(rng.integers(0, 3 * 365)))
        churn = None
        if rng.random() < (0.45 if district == "D02" else 0.15):
            span = _days(signup, LAST_DAY) - 60
            churn = signup + timedelta(days=60 + int(rng.integers(0, max(span, 1))))
        lon = (24.925 if district == "D01" else 24.945) + rng.random() * 0.01
        customers.append(
            {
                "id": ext,
                "name": f"Customer {i}",
                "segment": "business" if i % 5 == 0 else "retail",
                "signup": signup,
                "churn": churn,
                "lon": lon,
                "lat": 60.162 + rng.random() * 0.006,
                "district": district,
                "drive": float(120 + rng.random() * 600),
            }
        )
        rate = rng.gamma(2.0, 3.0) / 365.0  # orders per day, mean 6 a year
        start = max(signup, FIRST_ORDER)
        end = churn or LAST_DAY
        day = start
        while True:
            slowing = churn is not None and _days(day, churn) < 182
            day = day + timedelta(
                days=1 + int(rng.exponential(1 / (rate * (0.25 if slowing else 1))))
            )
            if day > end:
                break
            orders.append(
                {
                    "id": f"{ext}-{len(orders)}",
                    "customer": ext,
                    "day": day,
                    "amount": round(float(rng.lognormal(4.0, 0.5)), 2),
                }
            )
    conn.execute(
        text(
            "INSERT INTO gcrm.customer_records (external_id, name, segment, status, signup_date, "
            "churn_date, geom, geocode_precision, geocode_score, geocode_source) VALUES "
            "(:id, :name, :segment, CASE WHEN CAST(:churn AS date) IS NULL THEN 'active' "
            "ELSE 'churned' END, :signup, :churn, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), "
            "'rooftop', 1, 'test')"
        ),
        customers,
    )
    conn.execute(
        text(
            "INSERT INTO gcrm.customer_enrichment (external_id, geom, area_codes, drive_time_s, "
            "branch_reached) SELECT r.external_id, r.geom, jsonb_build_object('district', "
            "CAST(:district AS text)), :drive, 'B1' FROM gcrm.customer_records r WHERE r.external_id = :id"
        ),
        customers,
    )
    conn.execute(
        text(
            "INSERT INTO gcrm.orders (order_id, customer_external_id, order_date, amount, "
            "channel) VALUES (:id, :customer, :day, :amount, 'web')"
        ),
        orders,
    )
