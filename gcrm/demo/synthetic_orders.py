"""Synthetic order history of the demo customers (2023-01-01 .. 2025-12-31).

Orders are consistent with churn (:mod:`gcrm.demo.drivers`): a churned customer's orders fade
over the ``FADE_DAYS`` before the churn date and stop the day before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from gcrm.demo.synthetic_customers import AS_OF

__all__ = [
    "FADE_DAYS",
    "FADE_FLOOR",
    "ORDERS_START",
    "ORDER_COLUMNS",
    "SEGMENT_ORDERING",
    "SegmentOrdering",
    "build_orders",
]

ORDER_COLUMNS = ["order_id", "customer_id", "order_date", "amount", "channel", "branch_code"]
ORDERS_START = date(2023, 1, 1)
CHANNELS = ("store", "web", "phone")
#: Share of orders placed at the customer's nearest branch; the rest go to another one.
NEAREST_BRANCH_SHARE = 0.85
#: Before a churn the order rate falls linearly over this many days ...
FADE_DAYS = 180
#: ... from the customer's own rate to this share of it on the churn date.
FADE_FLOOR = 0.2


@dataclass(frozen=True)
class SegmentOrdering:
    """How a segment orders: orders per year, median amount (EUR), spread, channel mix."""

    orders_per_year: float
    median_amount: float
    amount_sigma: float
    channel_shares: tuple[float, float, float]  # store, web, phone


SEGMENT_ORDERING = {
    "consumer": SegmentOrdering(5.0, 45.0, 0.6, (0.55, 0.40, 0.05)),
    "smb": SegmentOrdering(14.0, 320.0, 0.7, (0.35, 0.40, 0.25)),
    "corporate": SegmentOrdering(30.0, 2400.0, 0.8, (0.15, 0.35, 0.50)),
}


def build_orders(
    valid: pd.DataFrame, *, branches_xy: np.ndarray, branch_codes: list[str], seed: int
) -> pd.DataFrame:
    """Orders of valid customers, each dated from signup to the day before churn (or the
    as-of date).

    Each customer orders as a Poisson process at the segment's rate times a personal
    activity factor (``valid["activity"]``, else drawn: gamma, mean 1); the rate of a churned
    customer falls linearly over the last ``FADE_DAYS`` to ``FADE_FLOOR`` of it. Amounts are
    log-normal around the segment median.

    Parameters
    ----------
    valid
        ``CustomerExport.valid``: customer_id, segment, signup_date, churn_date, x, y, and
        optionally activity.
    branches_xy
        Branch coordinates in the CRS of ``valid``'s x, y (the region's metric CRS, e.g.
        EPSG:3067 for Helsinki), shape (n_branches, 2).
    branch_codes
        Branch codes, aligned with ``branches_xy``.
    seed
        Seed of every random draw.

    Returns
    -------
    pandas.DataFrame
        Columns ``ORDER_COLUMNS``, sorted by order date and customer, ids ``O0000001`` ...
    """
    rng = np.random.default_rng([seed, 4])
    n = len(valid)
    params = [SEGMENT_ORDERING[s] for s in valid["segment"]]
    activity = valid["activity"].to_numpy(float) if "activity" in valid else rng.gamma(2.0, 0.5, n)
    rate = np.array([p.orders_per_year for p in params]) * activity
    start = np.maximum(valid["signup_date"].to_numpy("datetime64[D]"), np.datetime64(ORDERS_START))
    churn = valid["churn_date"].to_numpy("datetime64[D]")
    churned = ~np.isnat(churn)
    end = np.where(churned, churn - np.timedelta64(1, "D"), np.datetime64(AS_OF))
    days = np.maximum((end - start).astype(np.int64) + 1, 0)
    counts = rng.poisson(rate * days / 365.25)
    who = np.repeat(np.arange(n), counts)
    order_date = start[who] + np.floor(rng.random(len(who)) * days[who]).astype(np.int64)
    # Thinning: an order within FADE_DAYS of a churn is kept with the faded rate's share.
    to_churn = (churn[who] - order_date).astype(np.int64)
    keep_share = np.where(
        churned[who] & (to_churn < FADE_DAYS),
        FADE_FLOOR + (1.0 - FADE_FLOOR) * np.clip(to_churn, 0, FADE_DAYS) / FADE_DAYS,
        1.0,
    )
    kept = rng.random(len(who)) < keep_share
    who, order_date = who[kept], order_date[kept]

    median = np.array([p.median_amount for p in params])[who]
    sigma = np.array([p.amount_sigma for p in params])[who]
    amount = np.maximum(np.round(median * np.exp(sigma * rng.standard_normal(len(who))), 2), 1.0)
    shares = np.array([p.channel_shares for p in params])[who]
    channel = np.array(CHANNELS)[
        (rng.random(len(who))[:, None] > shares.cumsum(axis=1)).sum(axis=1)
    ]
    branch = _branches(valid[["x", "y"]].to_numpy(float)[who], branches_xy, rng=rng)

    orders = pd.DataFrame(
        {
            "customer_id": valid["customer_id"].to_numpy()[who],
            "order_date": np.datetime_as_string(order_date.astype("datetime64[D]"), unit="D"),
            "amount": amount,
            "channel": channel,
            "branch_code": np.array(branch_codes)[branch],
        }
    )
    orders = orders.sort_values(["order_date", "customer_id"], kind="stable").reset_index(drop=True)
    order_no = np.arange(1, len(orders) + 1).astype(str)
    orders.insert(0, "order_id", np.char.add("O", np.char.zfill(order_no, 7)))
    return orders[ORDER_COLUMNS]


def _branches(xy: np.ndarray, branches_xy: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """Nearest branch for ``NEAREST_BRANCH_SHARE`` of orders, another branch otherwise."""
    d = ((xy[:, None, :] - branches_xy[None, :, :]) ** 2).sum(axis=2)
    nearest = d.argmin(axis=1)
    k = len(branches_xy)
    other = (nearest + rng.integers(1, max(k, 2), len(xy))) % k
    return np.where(rng.random(len(xy)) < NEAREST_BRANCH_SHARE, nearest, other)
