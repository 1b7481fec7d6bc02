"""Movement flows: where the customers of each branch come from.

One row per (origin area at a level, branch): the customers who ordered there, their orders
and revenue, in one set-based query over ``gcrm.orders`` joined to ``customers.area_codes``.
Orders whose customer has no area at the level, or that name no branch, keep a row of their
own (origin or branch NULL), so the rows add up to the order totals of the period.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

from gcrm.areas.levels import check_level
from gcrm.core import period_bounds
from gcrm.store import load_queries

__all__ = ["FLOW_COLUMNS", "origin_destination_flows"]

FLOW_COLUMNS = (
    "origin_code",
    "origin_name",
    "branch_code",
    "branch_name",
    "customers",
    "orders",
    "revenue",
)

_SQL = load_queries(__package__, "branch_flows.sql")


def origin_destination_flows(
    conn: Connection, *, level: str, period: str | None = None
) -> pd.DataFrame:
    """Customers, orders and revenue per (origin area at ``level``, branch).

    Parameters
    ----------
    conn
        A connection to a gcrm database whose customers are enriched (``gcrm enrich``).
    level
        Area level of the origins, e.g. ``"district"``.
    period
        ``"2025"``, ``"2025-Q1"``, ``"2025-03"`` or None (all orders).

    Returns
    -------
    pandas.DataFrame
        :data:`FLOW_COLUMNS`; ``customers`` counts distinct customers who ordered at the
        branch, ``revenue`` is a float. ``origin_code`` is NULL for customers with no area at
        the level, ``branch_code`` for orders naming no branch.

    Raises
    ------
    NotFoundError
        When ``level`` is not an area level.
    ValidationError
        When ``period`` is malformed.
    """
    check_level(conn, level)
    start, stop = period_bounds(period)
    result = conn.execute(text(_SQL["flows"]), {"level": level, "start": start, "stop": stop})
    frame = pd.DataFrame(result.fetchall(), columns=list(FLOW_COLUMNS))
    return frame.astype(
        {"customers": "int64", "orders": "int64", "revenue": "float64"}
    ).reset_index(drop=True)
