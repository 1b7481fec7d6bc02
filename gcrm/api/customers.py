"""The integrator's read routes: customers one by one, paged, as JSON built by PostgreSQL.

They read through the caller's connection, which the server opens under the request's
principal: row-level security leaves out every customer outside the user's scope, so one
outside it is not found, exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from gcrm.core import NotFoundError
from gcrm.store import load_queries

__all__ = ["CustomerRows", "read_customer", "read_customer_page"]

_QUERIES = load_queries(__package__, "customers.sql")
_PARTS = {"customer": _QUERIES["customer"], "levels": _QUERIES["levels"]}
_PAGE_SQL = _QUERIES["customer_page"].format(**_PARTS)
_SCOPED_PAGE_SQL = _QUERIES["customer_page_in_scope"].format(**_PARTS)
_ONE_SQL = _QUERIES["customer_by_id"].format(**_PARTS)


@dataclass(frozen=True)
class CustomerRows:
    """A page of customers as a JSON array text, how many it holds, whether more follow."""

    body: str
    rows: int
    more: bool


def read_customer_page(
    conn: Connection,
    *,
    area: tuple[str, str] | None = None,
    limit: int = 100,
    offset: int = 0,
    in_scope: bool = False,
) -> CustomerRows:
    """The customers (by id) from ``offset``, at most ``limit``, in ``area`` (level, code)
    when given; see :class:`gcrm.api.models.Customer` for each object's fields.

    ``in_scope``: the reader is limited to some areas (row-level security filters its rows);
    the page is then found through the customers' enrichment, which its policy filters
    without a sub-query per row (``customers.sql``). The answer is the same either way.
    """
    level, code = area if area is not None else (None, None)
    row = conn.execute(
        text(_SCOPED_PAGE_SQL if in_scope else _PAGE_SQL),
        {"level": level, "code": code, "limit": limit, "offset": offset},
    ).one()
    return CustomerRows(body=str(row.customers), rows=int(row.n), more=bool(row.more))


def read_customer(conn: Connection, customer_id: str) -> str:
    """One customer as a JSON object text.

    Raises
    ------
    NotFoundError
        When no customer the principal may see has that id (one outside their scope is not
        found either, with the same message).
    """
    found = conn.execute(text(_ONE_SQL), {"id": customer_id}).scalar()
    if found is None:
        msg = (
            f"customer {customer_id!r} not found; list the customers you may see with "
            "GET /api/customers"
        )
        raise NotFoundError(msg)
    return str(found)
