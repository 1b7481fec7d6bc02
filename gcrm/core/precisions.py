"""Geocode precisions: how precisely an address was placed, best first.

Every customer carries one (``geocode_precision``); the cube counts customers by it, maps
colour by it and filters on it, exports and the API report it.
"""

from __future__ import annotations

from collections.abc import Iterable

from gcrm.core.errors import ValidationError

__all__ = [
    "APPROXIMATE_PRECISIONS",
    "FALLBACK_PRECISIONS",
    "PRECISIONS",
    "check_precisions",
]

#: From best to worst: the rungs of the geocoder's ladder, then unplaced.
PRECISIONS = ("rooftop", "interpolated", "street", "postcode", "locality", "none")
#: Placed, but only approximately (street level or coarser).
APPROXIMATE_PRECISIONS = ("street", "postcode", "locality")
#: Reference results this coarse (or unplaced) are worth asking an online provider about.
FALLBACK_PRECISIONS = ("postcode", "locality", "none")


def check_precisions(values: Iterable[str], *, argument: str = "precisions") -> tuple[str, ...]:
    """``values`` lower-cased, de-duplicated and checked against :data:`PRECISIONS`.

    Raises
    ------
    ValidationError
        When a value is not a precision, or no value is given.
    """
    given = list(values)
    wanted = tuple(dict.fromkeys(p.strip().lower() for p in given if p.strip()))
    unknown = [p for p in wanted if p not in PRECISIONS]
    if unknown or not wanted:
        msg = (
            f"{argument}={given!r} has {unknown or 'nothing'}; use some of "
            f"{list(PRECISIONS)}, e.g. rooftop,interpolated"
        )
        raise ValidationError(msg)
    return wanted
