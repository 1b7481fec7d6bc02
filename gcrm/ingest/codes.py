"""Which fields of an import are codes, and writing them as people write them.

A code or id read from a numeric field (a Shapefile's float, a CSV written from one) is
written as an integer (``35.0`` -> ``35``) and, with a width, gets back the leading zeros the
number lost (``30601`` -> ``030601``): :func:`gcrm.io.code_text`. The same rule rewrote what
earlier imports stored (migration 0008).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from gcrm.io import code_text

__all__ = ["CODE_FIELDS", "DEFAULT_CODE_FIELD", "normalise_codes"]

#: The fields that hold codes and ids, in every importer: area codes and their parents and
#: statistics keys, postcodes, the ids of customers, orders, leads, and branch codes.
CODE_FIELDS = (
    "code",
    "parent_code",
    "postcode",
    "external_id",
    "lead_external_id",
    "customer_id",
    "order_id",
    "branch_code",
    "ref",
)
#: The field ``--code-width N`` pads in each import (``--code-width FIELD=N`` names another).
DEFAULT_CODE_FIELD = {
    "areas": "code",
    "area-stats": "code",
    "branches": "code",
    "postcodes": "postcode",
    "addresses": "postcode",
    "leads": "external_id",
    "customers": "customer_id",
    "orders": "customer_id",
    "roads": "ref",
    "zones": "ref",
    "buildings": "ref",
}


def normalise_codes(
    frame: pd.DataFrame, *, widths: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """``frame`` with every code field of :data:`CODE_FIELDS` it has written as people write
    it, zero-padded to ``widths[field]`` where given. Empty values stay empty."""
    widths = widths or {}
    for col in CODE_FIELDS:
        if col in frame.columns:
            frame[col] = code_text(frame[col], width=widths.get(col)).astype(frame[col].dtype)
    return frame
