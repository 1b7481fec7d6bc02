"""The Prospecting page's state as plain data: the search a person asked for, the rows and
map layers of its results, the score's note and the link. No Dash, no database: every
function here is tested without a browser.

A search is a small dict kept in a ``dcc.Store`` (:func:`search_of_controls` builds it)::

    {"origin": {"kind": "address", "value": "Aleksanterinkatu 11"},
     "mode": "drive", "radius_m": 1000, "minutes": 5, "area": None, "polygon": None,
     "categories": ["cafe"], "zoning": [], "min_score": None, "customers": "exclude"}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlencode

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from gcrm.core import ValidationError

__all__ = [
    "CUSTOMER_CHOICES",
    "PAGE_SIZE",
    "MAX_RESULTS",
    "MODES",
    "ORIGIN_KINDS",
    "Search",
    "backtest_note",
    "circle_geojson",
    "drawn_polygon",
    "feature_collection",
    "is_scored",
    "lead_features",
    "link_runs",
    "query_of_search",
    "reasons_text",
    "result_columns",
    "result_rows",
    "route_features",
    "route_rows",
    "score_note",
    "search_of_controls",
    "search_of_query",
    "next_sort",
    "page_of",
    "sort_rows",
    "toggle",
    "with_distance_from",
]

Search = dict[str, Any]

#: At most this many leads are listed and drawn; a search that finds more says so.
MAX_RESULTS = 500
#: How a search finds leads, in the order the page lists them.
MODES: dict[str, str] = {
    "radius": "Radius (m)",
    "drive": "Drive time (min)",
    "polygon": "Polygon drawn on the map",
    "area": "Area",
}
#: Where a search starts from.
ORIGIN_KINDS: dict[str, str] = {
    "address": "Address",
    "click": "Click on the map",
    "customer": "Customer id",
    "branch": "Branch",
}
#: Leads that are already customers (gcrm.leads.CUSTOMER_MODES): left out, kept, or the
#: only ones.
CUSTOMER_CHOICES: dict[str, str] = {
    "exclude": "Leave out customers",
    "include": "Include customers",
    "only": "Only customers",
}
#: As gcrm.leads' searches: a lead that is a customer already is not a prospect.
DEFAULT_CUSTOMERS = "exclude"
DEFAULT_RADIUS_M = 1000.0
DEFAULT_MINUTES = 5.0
#: What a search says when the leads have no score yet.
NOT_SCORED = "not scored — run `gcrm leads score`"
_GEOD = Geod(ellps="WGS84")
_CIRCLE_POINTS = 72


def _number(value: Any, *, name: str, example: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        msg = f"{name}={value!r} must be a positive number, e.g. {example}"
        raise ValidationError(msg)
    return number


def _origin(kind: str | None, *, text: str | None, branch: str | None, click: Any) -> dict:
    kind = kind or "address"
    if kind not in ORIGIN_KINDS:
        msg = f"origin={kind!r} is not a kind of origin; use one of {list(ORIGIN_KINDS)}"
        raise ValidationError(msg)
    if kind == "click":
        if not (isinstance(click, Mapping) and {"lon", "lat"} <= set(click)):
            return {"kind": kind, "value": None}
        return {"kind": kind, "value": [float(click["lon"]), float(click["lat"])]}
    value = branch if kind == "branch" else text
    value = str(value).strip() if value is not None else ""
    return {"kind": kind, "value": value or None}


def search_of_controls(
    *,
    origin_kind: str | None,
    origin_text: str | None,
    branch: str | None,
    click: Mapping[str, float] | None,
    mode: str | None,
    radius_m: Any,
    minutes: Any,
    area: str | None,
    drawn: Mapping[str, Any] | None,
    categories: Sequence[str] | None,
    zoning: Sequence[str] | None,
    min_score: Any,
    customers: str | None,
) -> Search:
    """The search the page's controls describe, checked.

    Parameters
    ----------
    origin_kind
        One of :data:`ORIGIN_KINDS`; ``origin_text`` is the address or customer id,
        ``branch`` the branch code, ``click`` the clicked point (``{"lon", "lat"}``).
    mode
        One of :data:`MODES`; ``radius_m``, ``minutes``, ``area`` (``level:code``) or
        ``drawn`` (the draw control's GeoJSON) is the one it reads.
    categories, zoning, min_score, customers
        The filters (``customers``: one of :data:`CUSTOMER_CHOICES`).

    Returns
    -------
    Search

    Raises
    ------
    ValidationError
        When the mode needs what is missing (an origin, a polygon, an area) or a number is
        not a positive number; the message says what to set.
    """
    origin = _origin(origin_kind, text=origin_text, branch=branch, click=click)
    mode = mode or "radius"
    if mode not in MODES:
        msg = f"mode={mode!r} is not a way to search; use one of {list(MODES)}"
        raise ValidationError(msg)
    search: Search = {
        "origin": origin,
        "mode": mode,
        "radius_m": None,
        "minutes": None,
        "area": None,
        "polygon": None,
        "categories": [str(c) for c in categories or []],
        "zoning": [str(z) for z in zoning or []],
        "min_score": None,
        "customers": customers or DEFAULT_CUSTOMERS,
    }
    if search["customers"] not in CUSTOMER_CHOICES:
        msg = f"customers={customers!r} must be one of {list(CUSTOMER_CHOICES)}"
        raise ValidationError(msg)
    if min_score not in (None, ""):
        score = float(min_score) if _is_number(min_score) else math.nan
        if not 0 <= score <= 1:
            msg = f"min score={min_score!r} must be a number from 0 to 1, e.g. 0.5"
            raise ValidationError(msg)
        search["min_score"] = score
    if mode in ("radius", "drive") and origin["value"] is None:
        what = {
            "address": "type an address",
            "customer": "type a customer id",
            "branch": "choose a branch",
            "click": "click on the map",
        }[origin["kind"]]
        msg = f"a {MODES[mode].split(' (')[0].lower()} search needs an origin: {what}"
        raise ValidationError(msg)
    if mode == "radius":
        search["radius_m"] = _number(radius_m, name="radius", example="1000")
    elif mode == "drive":
        search["minutes"] = _number(minutes, name="minutes", example="5")
    elif mode == "area":
        if not area:
            msg = "an area search needs an area: choose one in the Area list"
            raise ValidationError(msg)
        search["area"] = str(area)
    else:
        polygon = drawn_polygon(drawn)
        if polygon is None:
            msg = "a polygon search needs a polygon: draw one with the map's polygon tool"
            raise ValidationError(msg)
        search["polygon"] = mapping(polygon)
    return search


def _is_number(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def drawn_polygon(drawn: Mapping[str, Any] | None) -> BaseGeometry | None:
    """The union of the polygons (and rectangles) drawn on the map, or None when none is.

    ``drawn`` is dash-leaflet's ``EditControl.geojson``: a FeatureCollection in EPSG:4326.
    """
    features = (drawn or {}).get("features") or []
    shapes = [
        shape(f["geometry"])
        for f in features
        if (f.get("geometry") or {}).get("type") in ("Polygon", "MultiPolygon")
    ]
    shapes = [s for s in shapes if not s.is_empty]
    if not shapes:
        return None
    return shapely.union_all(shapely.make_valid(np.asarray(shapes, dtype=object)))


def with_distance_from(gdf: gpd.GeoDataFrame, lon: float, lat: float) -> gpd.GeoDataFrame:
    """``gdf`` with ``distance_m`` (geodesic, WGS84 ellipsoid) from ``(lon, lat)`` to each
    point, ranked by it: a search inside a polygon has no origin of its own."""
    if gdf.empty:
        return gdf.assign(distance_m=pd.Series(dtype=float))
    xs, ys = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
    _, _, metres = _GEOD.inv(np.full(len(xs), lon), np.full(len(xs), lat), xs, ys)
    out = gdf.assign(distance_m=metres).sort_values(["distance_m", "external_id"], kind="stable")
    out["rank"] = np.arange(1, len(out) + 1)
    return out.reset_index(drop=True)


def result_columns(gdf: pd.DataFrame) -> list[dict[str, str]]:
    """The table's columns for a result: rank, name, category, zoning, how far (metres, or
    minutes by road), and the score, its percentile and reasons when the leads carry them."""
    columns = [
        {"id": "rank", "name": "#"},
        {"id": "name", "name": "Name"},
        {"id": "category", "name": "Category"},
        {"id": "zoning_class", "name": "Zoning"},
    ]
    if "drive_time_s" in gdf.columns:
        columns.append({"id": "drive_min", "name": "Drive (min)"})
    if "distance_m" in gdf.columns and gdf["distance_m"].notna().any():
        columns.append({"id": "distance_m", "name": "Distance (m)"})
    if is_scored(gdf):
        columns += [{"id": "score", "name": "Score"}, {"id": "percentile", "name": "Percentile"}]
        if "reasons" in gdf.columns:
            columns.append({"id": "reasons", "name": "Reasons"})
    else:
        columns.append({"id": "score", "name": "Score"})
    return columns


def is_scored(gdf: pd.DataFrame) -> bool:
    """Whether the leads carry a lead score (``gcrm leads score`` has run): the searches
    return a ``score`` column either way, empty when nothing is scored."""
    return "score" in gdf.columns and bool(gdf["score"].notna().any())


def reasons_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence):
        return "; ".join(str(v) for v in value)
    return str(value)


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _cell(value: Any, digits: int) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(float(value), digits)


def result_rows(gdf: pd.DataFrame) -> list[dict[str, Any]]:
    """One dict per lead for the table (``id`` is the lead's ``external_id``); numbers as
    numbers so the table sorts them as such; a lead without a score says how to get one."""
    scored = is_scored(gdf)
    rows = []
    # At most MAX_RESULTS rows, each a dict for the browser: a loop is the plain way.
    for rec in gdf.drop(columns=gdf.geometry.name, errors="ignore").to_dict("records"):
        row: dict[str, Any] = {
            "id": str(rec["external_id"]),
            "rank": int(rec["rank"]),
            "name": _text(rec.get("name")),
            "category": _text(rec.get("category")),
            "zoning_class": _text(rec.get("zoning_class")),
        }
        if "drive_time_s" in rec:
            row["drive_min"] = _cell(rec["drive_time_s"] / 60.0, 1)
        if "distance_m" in rec:
            row["distance_m"] = _cell(rec["distance_m"], 0)
        if scored:
            row["score"] = _cell(rec["score"], 3)
            row["percentile"] = _cell(rec.get("percentile"), 0)
            row["reasons"] = reasons_text(rec.get("reasons"))
        else:
            row["score"] = NOT_SCORED
        rows.append(row)
    return rows


def score_note(gdf: pd.DataFrame, backtest: Mapping[str, Any] | None) -> str:
    """What the page says beside the score: how to get one, or how far to trust it."""
    if not is_scored(gdf):
        return "Leads are not scored — run `gcrm leads score` to rank them by how much they look like your best customers."
    return backtest_note(backtest)


def backtest_note(backtest: Mapping[str, Any] | None) -> str:
    """The lead score's backtest in one line (``gcrm leads score --backtest``), against its
    baselines; or that there is none, so no skill is claimed."""
    if not backtest or backtest.get("auc") is None:
        return "No backtest of the score yet: run `gcrm leads score --backtest` to see how well it ranks."
    baselines = backtest.get("baselines") or {}
    parts = [
        f"{name} {float(fig['auc']):.2f}"
        for name, fig in baselines.items()
        if isinstance(fig, Mapping) and fig.get("auc") is not None
    ]
    auc = float(backtest["auc"])
    line = f"This score ranked last year's new customers with AUC {auc:.2f}"
    if backtest.get("recall_top10") is not None:
        line += f" (top 10 % found {100 * float(backtest['recall_top10']):.0f} % of them)"
    line += f"; {', '.join(parts)}." if parts else "."
    # No claim of skill the backtest does not show.
    beaten_by = [
        name
        for name, fig in baselines.items()
        if isinstance(fig, Mapping) and fig.get("auc") is not None and float(fig["auc"]) >= auc
    ]
    if beaten_by:
        line += f" It ranks no better than {' or '.join(beaten_by)} here."
    return line


def sort_rows(
    rows: Sequence[Mapping[str, Any]], *, by: str | None, descending: bool = False
) -> list[dict[str, Any]]:
    """``rows`` sorted by the column ``by`` (None: as the search ranked them), empty cells
    last either way; numbers as numbers, text case-folded."""
    if not by:
        return [dict(r) for r in rows]
    filled = [dict(r) for r in rows if r.get(by) not in (None, "")]
    empty = [dict(r) for r in rows if r.get(by) in (None, "")]

    def key(row: Mapping[str, Any]) -> tuple[int, float, str]:
        value = row[by]
        if isinstance(value, int | float):
            return (0, float(value), "")
        return (1, 0.0, str(value).casefold())

    return sorted(filled, key=key, reverse=descending) + empty


#: Rows the table shows at once (the browser draws a few dozen rows quickly, not 500).
PAGE_SIZE = 50


def page_of(
    rows: Sequence[Mapping[str, Any]], page: int | None, *, size: int = PAGE_SIZE
) -> tuple[list[dict[str, Any]], int, int]:
    """The rows of page ``page`` (0-based, clamped to the pages there are), that page and
    the number of pages (at least 1)."""
    pages = max(1, math.ceil(len(rows) / size))
    page = min(max(int(page or 0), 0), pages - 1)
    return [dict(r) for r in rows[page * size : (page + 1) * size]], page, pages


def next_sort(sort: Mapping[str, Any] | None, column: str) -> dict[str, Any]:
    """The sort after a click on ``column``'s heading: by it, ascending; again, descending."""
    sort = sort or {}
    if sort.get("by") == column:
        return {"by": column, "desc": not sort.get("desc")}
    return {"by": column, "desc": False}


def toggle(selected: Sequence[str], lead_id: str) -> list[str]:
    """``selected`` with ``lead_id`` added at the end, or taken out if it was in."""
    if lead_id in selected:
        return [s for s in selected if s != lead_id]
    return [*selected, lead_id]


def feature_collection(features: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``features``."""
    return {"type": "FeatureCollection", "features": list(features)}


def lead_features(gdf: gpd.GeoDataFrame, *, selected: Sequence[str] = ()) -> dict[str, Any]:
    """The leads as GeoJSON points for the map: id, rank, a tooltip (rank and name, shown as
    text) and whether the row is selected."""
    chosen = set(selected)
    xs, ys = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
    ids = gdf["external_id"].astype(str).to_numpy()
    names = [_text(n) for n in gdf["name"]]
    ranks = gdf["rank"].astype(int).to_numpy()
    return feature_collection(
        [
            {
                "type": "Feature",
                "id": ids[i],
                "geometry": {"type": "Point", "coordinates": [float(xs[i]), float(ys[i])]},
                "properties": {
                    "id": ids[i],
                    "rank": int(ranks[i]),
                    "tooltip": f"{ranks[i]}. {names[i]}",
                    "selected": ids[i] in chosen,
                },
            }
            for i in range(len(gdf))
        ]
    )


def circle_geojson(lon: float, lat: float, radius_m: float) -> dict[str, Any]:
    """The search radius as a GeoJSON polygon: points at ``radius_m`` metres (geodesic, as
    :func:`gcrm.leads.find_nearby_leads` measures) around ``(lon, lat)``."""
    azimuths = np.linspace(0.0, 360.0, _CIRCLE_POINTS, endpoint=False)
    xs, ys, _ = _GEOD.fwd(
        np.full(_CIRCLE_POINTS, lon),
        np.full(_CIRCLE_POINTS, lat),
        azimuths,
        np.full(_CIRCLE_POINTS, radius_m),
    )
    ring = [[float(x), float(y)] for x, y in zip(xs, ys, strict=True)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def route_rows(plan: pd.DataFrame) -> list[dict[str, Any]]:
    """The planned visits in order: stop number, name, arrival time and drive time from
    the previous stop (minutes)."""
    rows = []
    for rec in plan.to_dict("records"):
        arrival = rec.get("arrival")
        rows.append(
            {
                "stop": int(rec["stop"]),
                "id": str(rec.get("external_id") or rec.get("id") or ""),
                "name": str(rec.get("name") or ""),
                "arrival": _clock(arrival),
                "drive_min": _cell(float(rec.get("drive_time_s") or 0.0) / 60.0, 1),
            }
        )
    return rows


def _clock(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if hasattr(value, "strftime"):
        return str(value.strftime("%H:%M"))
    return str(value)


def route_features(path: BaseGeometry | None) -> dict[str, Any]:
    """The route's path on the map (a LineString or MultiLineString, EPSG:4326)."""
    if path is None or path.is_empty:
        return feature_collection()
    return feature_collection([{"type": "Feature", "geometry": mapping(path), "properties": {}}])


#: The query string's keys, in the order a link writes them.
_QUERY_KEYS = (
    "origin",
    "at",
    "mode",
    "radius",
    "minutes",
    "area",
    "category",
    "zoning",
    "min_score",
    "customers",
)


def query_of_search(search: Search) -> str:
    """The link of a search (``?origin=address&at=...&mode=drive&minutes=5``): origin, mode
    and its figure, area, categories, zoning, the minimum score and the customers filter
    (when not the default). A drawn polygon is not in the link (too long for one)."""
    origin = search["origin"]
    value = origin["value"]
    at = f"{value[0]:.6f},{value[1]:.6f}" if origin["kind"] == "click" and value else value
    params: list[tuple[str, str]] = [("origin", origin["kind"])]
    if at:
        params.append(("at", str(at)))
    params.append(("mode", search["mode"]))
    if search["mode"] == "radius":
        params.append(("radius", f"{search['radius_m']:g}"))
    elif search["mode"] == "drive":
        params.append(("minutes", f"{search['minutes']:g}"))
    elif search["mode"] == "area":
        params.append(("area", str(search["area"])))
    params += [("category", c) for c in search["categories"]]
    params += [("zoning", z) for z in search["zoning"]]
    if search.get("min_score") is not None:
        params.append(("min_score", f"{search['min_score']:g}"))
    if search.get("customers", DEFAULT_CUSTOMERS) != DEFAULT_CUSTOMERS:
        params.append(("customers", str(search["customers"])))
    return "?" + urlencode(params)


def link_runs(controls: Mapping[str, Any]) -> bool:
    """Whether the controls a link set (:func:`search_of_query`) make a whole search, which
    the page then runs: a mode with its origin, or an area."""
    mode = controls.get("mode")
    if mode == "area":
        return bool(controls.get("area"))
    has_origin = any(controls.get(k) for k in ("origin_text", "branch", "click"))
    return mode in ("radius", "drive") and has_origin


def search_of_query(query: str | None) -> dict[str, Any]:
    """The controls a link sets (keys as :func:`search_of_controls` takes them); what a
    link leaves out or gets wrong is left out, so the control keeps its default."""
    params = parse_qs((query or "").lstrip("?"))
    one = {k: v[-1] for k, v in params.items() if v}
    controls: dict[str, Any] = {}
    kind = one.get("origin")
    if kind in ORIGIN_KINDS:
        controls["origin_kind"] = kind
        at = one.get("at")
        if kind == "click" and at:
            try:
                lon, lat = (float(x) for x in at.split(","))
            except ValueError:
                pass
            else:
                if abs(lon) <= 180 and abs(lat) <= 90:
                    controls["click"] = {"lon": lon, "lat": lat}
        elif kind == "branch" and at:
            controls["branch"] = at
        elif at:
            controls["origin_text"] = at
    if one.get("mode") in MODES:
        controls["mode"] = one["mode"]
    for key, name in (("radius", "radius_m"), ("minutes", "minutes")):
        if _is_number(one.get(key)) and float(one[key]) > 0:
            controls[name] = float(one[key])
    if one.get("area"):
        controls["area"] = one["area"]
    if params.get("category"):
        controls["categories"] = params["category"]
    if params.get("zoning"):
        controls["zoning"] = params["zoning"]
    if _is_number(one.get("min_score")) and 0 <= float(one["min_score"]) <= 1:
        controls["min_score"] = float(one["min_score"])
    if one.get("customers") in CUSTOMER_CHOICES:
        controls["customers"] = one["customers"]
    return controls
