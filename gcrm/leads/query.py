"""The statement every lead search runs, and the filters, sorts and customer test they share.

Radius, drive-time and within searches differ only in where their candidates come from
(``src_*`` in ``query.sql``); the filters (category, zoning, area, polygon, score), the
"already a customer" test, the score columns and the order are written once, here and in
``query.sql``, and the rows come either as a GeoDataFrame or as GeoJSON text built by
PostgreSQL.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from functools import cache
from typing import Literal, TypeVar

import geopandas as gpd
from sqlalchemy import Connection, text

from gcrm.areas import level_names
from gcrm.core import ValidationError, parse_area_id
from gcrm.ingest import LAYERS
from gcrm.store import load_queries, read_geodataframe

__all__ = [
    "CUSTOMER_MODES",
    "LEAD_COLUMNS",
    "SORTS",
    "Kind",
    "check_customers",
    "check_sort",
    "filter_params",
    "read_rows",
    "run_checked",
    "statement",
    "text_array",
]

LEAD_COLUMNS = [
    *LAYERS["leads"].columns,
    "zoning_class",
    "road_class",
    "road_name",
    "road_distance_m",
]
#: ``sort=`` values: nearest first, quickest first, best score first.
SORTS = ("distance", "drive_time", "score")
#: ``customers=`` values: leave out leads that are already customers, keep only them, or both.
CUSTOMER_MODES = ("exclude", "only", "include")
#: Where a search's candidates come from.
Kind = Literal["nearest", "reached", "scored", "timed", "within"]
T = TypeVar("T")

_Q = load_queries(__package__, "query.sql")
_SOURCES = {
    "nearest": ("src_nearest", "t.distance_m", "NULL"),
    "reached": ("src_reached", "{distance}", "t.drive_time_s"),
    "scored": ("src_scored", "{distance}", "t.drive_time_s"),
    "timed": ("src_timed", "{distance}", "t.drive_time_s"),
    "within": ("src_none", "{distance}", "NULL"),
}
_ORDERS = {
    "distance": "distance_m, external_id",
    "drive_time": "drive_time_s, external_id",
    "score": "score DESC NULLS LAST, {then}external_id",
    "id": "external_id",
}


def text_array(values: Sequence[str] | None, *, name: str) -> list[str] | None:
    """``values`` as a list of strings for a ``text[]`` parameter (None or empty: no filter)."""
    if values is None:
        return None
    if isinstance(values, str):
        msg = f"{name}={values!r} must be a sequence of strings; pass [{values!r}]"
        raise ValidationError(msg)
    return [str(v) for v in values] or None


def check_sort(sort: str | None, *, kind: Kind, min_score: float | None) -> str:
    """The order of a search: ``sort`` checked, or the default.

    The default is ``score`` when ``min_score`` is given (the caller asked for the best
    leads), else the search's own measure: ``distance`` (radius), ``drive_time`` (drive
    time), or by id (within, which has no origin).
    """
    allowed = {
        "nearest": ("distance", "score"),
        "reached": SORTS,
        "scored": ("score",),
        "timed": SORTS,
        "within": ("score",),
    }[kind]
    if sort is None:
        if min_score is not None:
            return "score"
        return {"nearest": "distance", "reached": "drive_time", "timed": "drive_time"}.get(
            kind, "id"
        )
    if sort not in allowed:
        msg = f"sort={sort!r} is not an order of this search; use one of {list(allowed)}"
        raise ValidationError(msg)
    return sort


def check_customers(customers: str) -> str:
    if customers not in CUSTOMER_MODES:
        msg = (
            f"customers={customers!r} is not one of {list(CUSTOMER_MODES)}; exclude leaves out "
            "leads that are already customers (the default), only keeps them, include keeps both"
        )
        raise ValidationError(msg)
    return customers


def _check_min_score(min_score: float | None) -> float | None:
    if min_score is None:
        return None
    if not (
        isinstance(min_score, int | float) and math.isfinite(min_score) and 0 <= min_score <= 1
    ):
        msg = f"min_score={min_score!r} must be a number from 0 to 1 (a lead score), e.g. 0.7"
        raise ValidationError(msg)
    return float(min_score)


def _area_filter(conn: Connection, area: str | tuple[str, str] | None) -> str | None:
    """``area`` as the jsonb the leads' area codes must contain; unknown areas are errors."""
    if area is None:
        return None
    levels = level_names(conn)
    if isinstance(area, str):
        level, code = parse_area_id(area, levels=levels, argument="area")
    else:
        level, code = area
        if level not in levels:
            msg = f"area={level}:{code} has an unknown level {level!r}; use one of {levels}"
            raise ValidationError(msg)
    found = conn.execute(
        text("SELECT EXISTS (SELECT FROM gcrm.areas WHERE level = :level AND code = :code)"),
        {"level": level, "code": code},
    )
    if not found.scalar_one():
        some = conn.execute(
            text("SELECT code FROM gcrm.areas WHERE level = :level ORDER BY code LIMIT 6"),
            {"level": level},
        ).scalars()
        codes = [str(c) for c in some]
        examples = ", ".join(f"{level}:{c}" for c in codes[:5]) + (
            ", ..." if len(codes) > 5 else ""
        )
        msg = (
            f"area={level}:{code} is not an area of level {level!r} you can see; check the "
            f"code, e.g. {examples or 'none: import areas with `gcrm import areas`'}"
        )
        raise ValidationError(msg)
    return json.dumps({level: code})


def filter_params(
    conn: Connection,
    *,
    categories: Sequence[str] | None,
    zoning_classes: Sequence[str] | None,
    area: str | tuple[str, str] | None,
    min_score: float | None,
    customers: str,
) -> dict[str, object]:
    """The bound parameters of the filters, checked (see ``filters`` in ``query.sql``).

    Raises
    ------
    ValidationError
        When a filter is invalid or the area unknown.
    """
    return {
        "categories": text_array(categories, name="categories"),
        "zoning": text_array(zoning_classes, name="zoning_classes"),
        "area": _area_filter(conn, area),
        "min_score": _check_min_score(min_score),
        "customers": check_customers(customers),
        "polygon": None,
        "box": None,
        "lon": None,
        "lat": None,
    }


@cache
def statement(kind: Kind, *, order: str, geojson: bool = False, origin: bool = True) -> str:
    """The SQL of a search whose candidates come from ``kind``, in ``order`` (a sort)."""
    src, distance, drive = _SOURCES[kind]
    from_ = (
        "gcrm.leads AS l"
        if kind == "within"
        else ("src AS t JOIN gcrm.leads AS l ON l.external_id = t.external_id")
    )
    distance = distance.format(distance=_Q["distance_from_origin"] if origin else "NULL")
    then = dict.fromkeys(("reached", "scored", "timed"), "drive_time_s, ") | {
        "nearest": "distance_m, "
    }
    found = _Q["found"].format(
        src=_Q[src],
        distance=distance,
        drive=drive,
        lead_columns=", ".join(f"l.{c}" for c in LEAD_COLUMNS),
        filters=_Q["filters"],
        order=_ORDERS[order].format(then=then.get(kind, "")),
        **{"from": from_},
    )
    timed = kind in ("reached", "scored", "timed")
    if geojson:
        names = ("rank", *LEAD_COLUMNS, "distance_m", *(("drive_time_s",) if timed else ()))
        return _Q["geojson"].format(
            found=found, properties=", ".join(f"'{n}', r.{n}" for n in names)
        )
    return _Q["rows"].format(
        found=found,
        columns=", ".join(LEAD_COLUMNS),
        drive_column="drive_time_s," if timed else "",
    )


def first_check(params: dict[str, object]) -> int | None:
    """How many candidates, in order, the customer test looks at first (None: all, or no
    test): enough for ``limit`` leads when a few of them are customers."""
    if params["customers"] == "include":
        return None
    return 4 * int(params["limit"]) + 50  # type: ignore[call-overload]


def run_checked(
    run: Callable[[dict[str, object]], tuple[T, int, int, bool]], params: dict[str, object]
) -> tuple[T, int]:
    """Run a search statement, looking at 8x more candidates while the customer test left
    fewer than ``limit`` leads and more candidates wait; ``run`` answers (result, rows,
    fetched, complete). Returns the result and how many candidates its source gave."""
    check = first_check(params)
    while True:
        found, rows, fetched, complete = run(params | {"check": check})
        if complete or rows >= int(params["limit"]):  # type: ignore[call-overload]
            return found, fetched
        check = 8 * check if check is not None else None


def read_rows(
    conn: Connection, kind: Kind, params: dict[str, object], *, order: str, origin: bool = True
) -> tuple[gpd.GeoDataFrame, int]:
    """The rows of a search as a GeoDataFrame (area codes not yet spread), and how many
    candidates its source gave."""
    sql = statement(kind, order=order, origin=origin)

    def run(p: dict[str, object]) -> tuple[gpd.GeoDataFrame, int, int, bool]:
        gdf = read_geodataframe(conn, sql, p)
        if len(gdf):
            fetched, complete = int(gdf["fetched"].iloc[0]), bool(gdf["complete"].iloc[0])
        else:
            fetched, complete = _fetched(conn, kind, p), True
        return gdf.drop(columns=["fetched", "complete"]), len(gdf), fetched, complete

    gdf, fetched = run_checked(run, params)
    for column in ("distance_m", "drive_time_s", "score", "percentile"):
        if column in gdf.columns:
            gdf[column] = gdf[column].astype(float)
    gdf["rank"] = gdf["rank"].astype(int)
    return gdf, fetched


def _fetched(conn: Connection, kind: Kind, params: dict[str, object]) -> int:
    if kind == "within":
        return 0
    src = _Q[_SOURCES[kind][0]]
    return int(conn.execute(text(f"SELECT count(*) FROM ({src}) AS src"), params).scalar_one())
