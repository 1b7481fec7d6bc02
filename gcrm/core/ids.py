"""Area ids: ``"<level>:<code>"``, the one way gcrm names an area across levels.

The cube's ``area`` dimension, the dashboard, the API, ``--area`` and ``--parent`` options
all use this form, e.g. ``district:D01`` or ``hex:891126d...``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from gcrm.core.errors import ValidationError

__all__ = ["AREA_ID_HELP", "area_id", "area_ids", "parse_area_id"]

#: How to write an area id, for messages and ``--help``.
AREA_ID_HELP = "LEVEL:CODE, e.g. district:D01"


def area_id(level: str, code: str) -> str:
    """The id of area ``code`` of ``level``: ``"<level>:<code>"``."""
    return f"{level}:{code}"


def area_ids(levels: pd.Series | str, codes: pd.Series) -> pd.Series:
    """:func:`area_id` of every row: ``levels`` (a Series, or one level for all) and
    ``codes`` aligned."""
    return levels + ":" + codes


def parse_area_id(
    text: str, *, levels: Sequence[str] | None = None, argument: str = "area"
) -> tuple[str, str]:
    """Split ``"<level>:<code>"`` into ``(level, code)``.

    Parameters
    ----------
    text
        The id as written.
    levels
        The known levels; when given, the level must be one of them.
    argument
        The name of the argument, for the message.

    Raises
    ------
    ValidationError
        When ``text`` has no colon, an empty level or code, or an unknown level.
    """
    level, sep, code = str(text).partition(":")
    if not sep or not level or not code or (levels is not None and level not in levels):
        known = f"; levels are {list(levels)}" if levels is not None else ""
        example = f"{levels[0]}:D01" if levels else "district:D01"
        msg = f"{argument}={text!r} is not LEVEL:CODE with a known level{known}, e.g. {example}"
        raise ValidationError(msg)
    return level, code
