"""Reporting periods as users write them: a year, a quarter or a month.

``"2025"``, ``"2025-Q1"`` and ``"2025-03"`` are the only spellings, everywhere: in the cube,
the flows, the territory reports, the CLI and the API. ``None``, ``""`` and ``"all"`` mean the
whole range.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from gcrm.core.errors import ValidationError

__all__ = ["ALL_PERIODS", "PERIOD_HELP", "Period", "is_all", "parse_period", "period_bounds"]

#: The spellings of "no period: the whole range".
ALL_PERIODS = (None, "", "all")
#: How to write a period, for messages and ``--help``.
PERIOD_HELP = "YYYY, YYYY-Qn or YYYY-MM (e.g. 2025, 2025-Q1, 2025-03)"
_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?$")


Grain = Literal["year", "quarter", "month", "range"]


@dataclass(frozen=True)
class Period:
    """A period: its label and its dates, ``start`` inclusive and ``stop`` exclusive.

    ``grain`` is ``"range"`` for a span of months that is not one year, quarter or month
    (the whole range of a cube, for instance).
    """

    label: str
    grain: Grain
    start: dt.date
    stop: dt.date


def is_all(period: str | None) -> bool:
    """True when ``period`` means the whole range (``None``, ``""`` or ``"all"``)."""
    return period in ALL_PERIODS


def parse_period(period: str) -> Period:
    """The :class:`Period` of ``"2025"``, ``"2025-Q1"`` or ``"2025-03"``.

    Raises
    ------
    ValidationError
        When ``period`` is none of those forms; the message shows them.
    """
    match = _PERIOD.match(str(period))
    if not match:
        msg = f"period {period!r} is not a period; use {PERIOD_HELP}"
        raise ValidationError(msg)
    year = int(match["year"])
    grain: Grain
    if match["quarter"]:
        grain, first, months = "quarter", 3 * int(match["quarter"]) - 2, 3
    elif match["month"]:
        grain, first, months = "month", int(match["month"]), 1
    else:
        grain, first, months = "year", 1, 12
    after = first + months
    stop = dt.date(year + (after - 1) // 12, (after - 1) % 12 + 1, 1)
    return Period(str(period), grain, dt.date(year, first, 1), stop)


def period_bounds(period: str | None) -> tuple[dt.date | None, dt.date | None]:
    """``[start, stop)`` dates of ``period``; ``(None, None)`` for the whole range."""
    if is_all(period):
        return None, None
    parsed = parse_period(str(period))
    return parsed.start, parsed.stop
