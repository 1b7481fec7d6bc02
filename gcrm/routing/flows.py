"""Movement flows: where the customers of each branch come from.

One row per (origin area at a level, branch): the customers who ordered there, their orders
and revenue, in one set-based query over ``gcrm.orders`` joined to ``customers.area_codes``.
Orders whose customer has no area at the level, or that name no branch, keep a row of their
own (origin or branch NULL), so the rows add up to the order totals of the period.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
from sqlalchemy import Connection, text

from gcrm.core import NotFoundError, ValidationError

__all__ = ["FLOW_COLUMNS", "origin_destination_flows", "period_range"]

FLOW_COLUMNS = (
    "origin_code",
    "origin_name",
    "branch_code",
    "branch_name",
    "customers",
    "orders",
    "revenue",
)

_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?$")

_FLOWS_SQL = """
SELECT c.area_codes ->> :level AS origin_code, a.name AS origin_name,
       o.branch_code, b.name AS branch_name,
       count(DISTINCT o.customer_external_id) AS customers,
       count(*) AS orders,
       sum(o.amount) AS revenue
FROM gcrm.orders AS o
JOIN gcrm.customers AS c ON c.external_id = o.customer_external_id
LEFT JOIN gcrm.areas AS a ON a.level = :level AND a.code = c.area_codes ->> :level
LEFT JOIN gcrm.branches AS b ON b.code = o.branch_code
WHERE (CAST(:start AS date) IS NULL OR o.order_date >= :start)
  AND (CAST(:stop AS date) IS NULL OR o.order_date < :stop)
GROUP BY 1, 2, 3, 4
ORDER BY 3, 1
"""


def period_range(period: str | None) -> tuple[dt.date | None, dt.date | None]:
    """``[start, stop)`` dates of ``"2025"``, ``"2025-Q1"`` or ``"2025-03"``; None for all time.

    Raises
    ------
    ValidationError
        When ``period`` is none of those forms.
    """
    if period in (None, "", "all"):
        return None, None
    match = _PERIOD.match(str(period))
    if not match:
        msg = f"period {period!r} is not a period; use YYYY, YYYY-Qn or YYYY-MM (e.g. 2025, 2025-Q1, 2025-03)"
        raise ValidationError(msg)
    year = int(match["year"])
    if match["quarter"]:
        first, months = 3 * int(match["quarter"]) - 2, 3
    elif match["month"]:
        first, months = int(match["month"]), 1
    else:
        first, months = 1, 12
    start = dt.date(year, first, 1)
    after = first + months
    stop = dt.date(year + (after - 1) // 12, (after - 1) % 12 + 1, 1)
    return start, stop


def _check_level(conn: Connection, level: str) -> None:
    levels = list(
        conn.execute(text("SELECT level FROM gcrm.area_levels ORDER BY rank, level")).scalars()
    )
    if level not in levels:
        msg = (
            f"level {level!r} unknown; use one of {levels} (import areas with `gcrm import areas`)"
        )
        raise NotFoundError(msg)


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
    _check_level(conn, level)
    start, stop = period_range(period)
    result = conn.execute(text(_FLOWS_SQL), {"level": level, "start": start, "stop": stop})
    frame = pd.DataFrame(result.fetchall(), columns=list(FLOW_COLUMNS))
    return frame.astype(
        {"customers": "int64", "orders": "int64", "revenue": "float64"}
    ).reset_index(drop=True)
