"""The audit log: who read or exported personal data, when, through what, how many rows.

Every export of customers or leads, every API response carrying names, addresses or
contacts, and every forgotten customer is recorded, with the principal of the context
(:func:`gcrm.access.current_principal`; the operator at the CLI).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Connection, text

from gcrm.access.scoping import current_principal, operator
from gcrm.store import load_queries

__all__ = ["read_audit", "record_access"]

_SQL = load_queries(__package__, "access.sql")


def record_access(
    conn: Connection,
    *,
    action: str,
    rows: int,
    fields: Sequence[str] = (),
    target: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Record that the current principal read ``rows`` rows of ``fields`` through ``action``
    (a command such as ``customers export`` or a route such as ``GET /api/customers``)."""
    principal = current_principal() or operator()
    conn.execute(
        text(_SQL["record_audit"]),
        {
            "actor": principal.name,
            "action": action,
            "target": target,
            "rows": int(rows),
            "fields": list(fields),
            "detail": json.dumps(dict(detail or {}), default=str),
        },
    )


def read_audit(
    conn: Connection,
    *,
    actor: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 100,
) -> pd.DataFrame:
    """The newest ``limit`` records, optionally of one actor and since a moment."""
    result = conn.execute(
        text(_SQL["read_audit"]), {"actor": actor, "since": since, "limit": limit}
    )
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
