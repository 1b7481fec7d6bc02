"""Per-layer checks beyond the spec, and what follows a load (reference indexes, hierarchy).

Each check takes the typed rows of a layer and its :class:`~gcrm.ingest.validate.RowChecks`,
rejects what is wrong with a reason, and returns the rows with any derived columns (the
normalised address keys of the reference, for instance).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sqlalchemy import Connection, text

from gcrm.core import area_ids
from gcrm.geocode import (
    normalize_city,
    normalize_housenumber,
    normalize_postcode,
    normalize_street,
    refresh_reference,
)
from gcrm.ingest.hierarchy import check_area_hierarchy, known_levels
from gcrm.ingest.validate import ImportReport, RowChecks, shown

__all__ = ["after_load", "check_kind"]

Check = Callable[[Connection, pd.DataFrame, RowChecks], pd.DataFrame]


def _no_extra(conn: Connection, clean: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
    return clean


def _address_extra(conn: Connection, clean: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
    hn = normalize_housenumber(clean["housenumber"].astype("string"))
    clean["street_norm"] = normalize_street(clean["street"].astype("string"))
    clean["housenumber_norm"] = hn["housenumber_norm"]
    clean["unit"] = clean["unit"].where(clean["unit"].notna(), hn["unit"])
    clean["postcode_norm"] = normalize_postcode(clean["postcode"].astype("string"))
    clean["city_norm"] = normalize_city(clean["city"].astype("string"))
    clean["source"] = clean["source"].fillna("import")
    checks.reject(
        clean["housenumber_norm"].isna() & clean["housenumber"].notna(),
        lambda rows: "housenumber " + shown(clean.loc[rows, "housenumber"]) + " has no number",
    )
    return clean


def _areas_extra(conn: Connection, clean: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
    known = known_levels(conn)
    checks.reject(
        ~clean["level"].isin(known),
        "level " + shown(clean["level"]) + f" unknown; known levels {sorted(known)}; "
        "import the levels first (gcrm import areas FILE --levels LEVELS.csv)",
    )
    clean["derivation"] = clean["derivation"].fillna("imported")
    return clean


def _stats_extra(conn: Connection, clean: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
    rows = conn.execute(text("SELECT level || ':' || code FROM gcrm.areas"))
    known = {r[0] for r in rows}
    ids = area_ids(clean["level"].fillna(""), clean["code"].fillna(""))
    checks.reject(
        ~ids.isin(known),
        "area " + shown(ids) + " not found in gcrm.areas; import the areas first",
    )
    return clean


def _postcodes_extra(conn: Connection, clean: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
    clean["postcode_norm"] = normalize_postcode(clean["postcode"].astype("string"))
    clean["city_norm"] = normalize_city(clean["city"].astype("string"))
    clean["source"] = clean["source"].fillna("import")
    checks.reject(
        clean["postcode_norm"].isna() & clean["postcode"].notna(),
        lambda rows: "postcode " + shown(clean.loc[rows, "postcode"]) + " has no 4-5 digit code",
    )
    return clean


def _leads_extra(conn: Connection, clean: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
    clean["source"] = clean["source"].fillna("import")
    return clean


_KIND_CHECKS: dict[str, Check] = {
    "leads": _leads_extra,
    "postcodes": _postcodes_extra,
    "addresses": _address_extra,
    "areas": _areas_extra,
    "area-stats": _stats_extra,
}


def check_kind(kind: str, conn: Connection, clean: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
    """Run the checks of layer ``kind`` beyond its spec (none for most kinds)."""
    return _KIND_CHECKS.get(kind, _no_extra)(conn, clean, checks)


def after_load(conn: Connection, report: ImportReport) -> None:
    """What a load of ``report.kind`` implies: a new reference rebuilds the geocoder's
    indexes (and empties its cache if anything changed); new areas are checked as a
    hierarchy, the findings added to the report."""
    if report.kind == "areas":
        report.details.update(check_area_hierarchy(conn))
    if report.kind in ("addresses", "postcodes"):
        refresh_reference(conn, changed=bool(report.inserted or report.updated))
