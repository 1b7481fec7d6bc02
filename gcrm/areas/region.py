"""The region's own name and currency (``gcrm.region``): what the dashboard's header, the
cube's attributes and the formatting of revenue say, whatever region the data is."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, text

from gcrm.core import ValidationError

__all__ = ["UNNAMED_REGION", "RegionInfo", "read_region", "set_region"]

#: The name of a region nobody has named.
UNNAMED_REGION = "Region"
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class RegionInfo:
    """The region's name and its currency (an ISO 4217 code such as ``EUR``, ``USD``; None:
    revenue is shown without a currency)."""

    name: str
    currency: str | None


def read_region(conn: Connection) -> RegionInfo:
    """The region's name and currency as stored, else :data:`UNNAMED_REGION` without one."""
    row = conn.execute(text("SELECT name, currency FROM gcrm.region")).first()
    if row is None:
        return RegionInfo(UNNAMED_REGION, None)
    return RegionInfo(str(row.name), None if row.currency is None else str(row.currency))


def set_region(
    conn: Connection, *, name: str | None = None, currency: str | None = None
) -> RegionInfo:
    """Set the region's name and/or currency; return both.

    ``None`` keeps what is stored; ``currency=""`` removes the currency.

    Raises
    ------
    ValidationError
        When ``name`` is empty or longer than 200 characters, or ``currency`` is not a
        three-letter code.
    """
    current = read_region(conn)
    info = RegionInfo(
        name=current.name if name is None else _checked_name(name),
        currency=current.currency if currency is None else _checked_currency(currency),
    )
    conn.execute(
        text(
            "INSERT INTO gcrm.region (id, name, currency) VALUES (true, :name, :currency) "
            "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, currency = EXCLUDED.currency, "
            "updated_at = now()"
        ),
        {"name": info.name, "currency": info.currency},
    )
    return info


def _checked_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        msg = f"region name {name!r} must have 1 to 200 characters; give e.g. --name 'Uusimaa'"
        raise ValidationError(msg)
    return name


def _checked_currency(currency: str) -> str | None:
    code = currency.strip().upper()
    if not code:
        return None
    if not _CURRENCY.match(code):
        msg = (
            f"currency {currency!r} is not a three-letter ISO 4217 code; give e.g. "
            "--currency EUR, USD or SEK (or --currency '' for none)"
        )
        raise ValidationError(msg)
    return code
