"""What the Prospecting page reads, all through the gcrm library under the request's
principal (row-level security decides which leads and customers a user sees): the origin,
the leads a search finds, the shape of what it searched (radius, drive-time catchment,
polygon, area), the score's backtest, and the files a person exports."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import mapping, shape
from sqlalchemy import Connection, Engine, text

from dashboard.prospecting import model as pm
from gcrm.access import record_access
from gcrm.core import NotFoundError, ValidationError
from gcrm.leads import (
    LEAD_PERSONAL_FIELDS,
    Origin,
    export_leads,
    find_leads_by_drive_time,
    find_leads_within,
    find_nearby_leads,
    resolve_origin,
)
from gcrm.routing import (
    CATCHMENT_BUFFER_M,
    RoadGraph,
    RoutePlan,
    catchment,
    plan_route,
    read_road_graph,
    roads_stamp,
)
from gcrm.routing.drive import read_branch_points
from gcrm.store import load_queries

__all__ = [
    "Found",
    "GraphCache",
    "branch_options",
    "category_options",
    "export_found",
    "plan_visits",
    "route_summary",
    "run_search",
]

_SQL = load_queries(__package__, "prospecting.sql")


class GraphCache:
    """The road graph, read once per roads import (roads are not scoped: one per server)."""

    def __init__(self) -> None:
        self._stamp: int | None = None
        self._graph: RoadGraph | None = None
        self._lock = threading.Lock()

    def get(self, conn: Connection) -> RoadGraph:
        """The road graph of ``gcrm.roads`` (read only when the roads changed).

        Raises
        ------
        ValidationError
            When there are no roads (the message names the import).
        """
        with self._lock:
            stamp = roads_stamp(conn)
            if self._graph is None or stamp != self._stamp:
                try:
                    self._graph = read_road_graph(conn, store=False)
                except NotFoundError as exc:
                    msg = f"a drive-time search needs roads: {exc}; or search by radius"
                    raise ValidationError(msg) from exc
                self._stamp = stamp
            return self._graph


@dataclass(frozen=True)
class Found:
    """What a search found: its leads (at most :data:`model.MAX_RESULTS`), whether there
    were more, where it started, the shape it searched and a note on that shape."""

    search: pm.Search
    leads: gpd.GeoDataFrame
    capped: bool
    origin: Origin | None
    reach: dict[str, Any] | None
    reach_note: str
    backtest: dict[str, Any] | None = None


def branch_options(engine: Engine) -> list[dict[str, str]]:
    """The branches as dropdown options (code: name); none when there are no branches."""
    with engine.connect() as conn:
        try:
            branches = read_branch_points(conn)
        except NotFoundError:
            return []
    return [{"label": f"{r.code} · {r.name}", "value": str(r.code)} for r in branches.itertuples()]


def category_options(engine: Engine) -> list[dict[str, str]]:
    """The leads' categories the user sees, the commonest first, as dropdown options."""
    with engine.connect() as conn:
        rows = conn.execute(text(_SQL["categories"])).all()
    return [{"label": f"{r.category} ({r.leads})", "value": str(r.category)} for r in rows]


def _origin(conn: Connection, origin: Mapping[str, Any], *, names: bool) -> Origin | None:
    kind, value = origin["kind"], origin["value"]
    if value is None:
        return None
    if kind == "click":
        return resolve_origin(conn, lon=float(value[0]), lat=float(value[1]))
    if kind == "address":
        return resolve_origin(conn, address=str(value))
    if kind == "customer":
        found = resolve_origin(conn, customer_id=str(value))
        # A customer's name only for those who may read customers one by one.
        return (
            found if names else Origin(found.lon, found.lat, f"customer {value}", found.precision)
        )
    branches = read_branch_points(conn)
    row = branches[branches["code"] == value]
    if row.empty:
        codes = ", ".join(branches["code"].astype(str))
        msg = f"branch={value!r} is not a branch; choose one of {codes}"
        raise ValidationError(msg)
    lon, lat = float(row["lon"].iloc[0]), float(row["lat"].iloc[0])
    return Origin(lon, lat, f"branch {value} ({row['name'].iloc[0]})", "branch")


def _filters(search: pm.Search) -> dict[str, Any]:
    return {
        "categories": search["categories"] or None,
        "zoning_classes": search["zoning"] or None,
        "min_score": search.get("min_score"),
        "customers": search.get("customers") or pm.DEFAULT_CUSTOMERS,
    }


def _latest_backtest(conn: Connection) -> dict[str, Any] | None:
    try:
        from gcrm.scoring.runs import latest_run
    except ImportError:  # the score's run log is not there yet
        return None
    run = latest_run(conn, "lead", with_backtest=True)
    return None if run is None else run.get("backtest")


def _find(
    conn: Connection,
    search: pm.Search,
    origin: Origin | None,
    *,
    graphs: GraphCache,
    area_shape: Mapping[str, Any] | None,
) -> tuple[gpd.GeoDataFrame, dict[str, Any] | None, str]:
    """The leads (at most MAX_RESULTS + 1), the shape searched and a note on it."""
    limit = pm.MAX_RESULTS + 1
    options = _filters(search)
    mode = search["mode"]
    if mode == "radius":
        assert origin is not None  # model.search_of_controls requires one
        radius = float(search["radius_m"])
        leads = find_nearby_leads(
            conn, lon=origin.lon, lat=origin.lat, radius_m=radius, limit=limit, **options
        )
        return leads, pm.circle_geojson(origin.lon, origin.lat, radius), f"Within {radius:g} m"
    if mode == "drive":
        assert origin is not None
        graph = graphs.get(conn)
        minutes = float(search["minutes"])
        # No graph passed: the search's own (the stored graph, kept in memory while current)
        # names the stored nodes, so it joins each lead's stored access leg in SQL.
        leads = find_leads_by_drive_time(conn, origin, minutes=minutes, limit=limit, **options)
        # The leads are timed driving out of the origin: the shaded area is the same drive.
        area = catchment(
            graph, origin_xy=(origin.lon, origin.lat), minutes=minutes, direction="from"
        )
        note = (
            f"Within {minutes:g} min by road. Shaded: the streets (±{CATCHMENT_BUFFER_M:g} m) "
            f"reached from the origin in {minutes:g} min, one-way streets the way they run"
        )
        return leads, None if area.is_empty else mapping(area), note
    if mode == "polygon":
        polygon = shape(search["polygon"])
        leads = find_leads_within(conn, polygon=polygon, limit=limit, **options)
        note = "Inside the polygon drawn"
        reach = search["polygon"]
    else:
        leads = find_leads_within(conn, area=str(search["area"]), limit=limit, **options)
        note = f"In area {search['area']}"
        reach = dict(area_shape) if area_shape else None
    if origin is not None:
        leads = pm.with_distance_from(leads, origin.lon, origin.lat)
        note += ", ranked by distance from the origin"
    return leads, reach, note


def run_search(
    engine: Engine,
    search: pm.Search,
    *,
    graphs: GraphCache,
    names: bool,
    area_shape: Mapping[str, Any] | None = None,
    action: str = "dashboard prospecting",
) -> Found:
    """Run ``search`` (:func:`model.search_of_controls`) and record the read in the audit
    log (lead lists count as personal data, as in the API).

    Parameters
    ----------
    engine
        The engine of the request's principal (``services.data``).
    graphs
        The road graph's cache, for drive-time searches.
    names
        Whether the user may see customers' names (a customer origin is labelled by id
        otherwise).
    area_shape
        The GeoJSON geometry of the searched area, drawn on the map (area searches).
    action
        What the audit log says the read was.

    Raises
    ------
    ValidationError, NotFoundError, GeocodingError
        When the origin, area, polygon or a figure is wrong; the message names the fix.
    """
    with engine.begin() as conn:
        origin = _origin(conn, search["origin"], names=names)
        leads, reach, note = _find(conn, search, origin, graphs=graphs, area_shape=area_shape)
        capped = len(leads) > pm.MAX_RESULTS
        leads = leads.iloc[: pm.MAX_RESULTS]
        if len(leads):
            record_access(
                conn,
                action=action,
                rows=len(leads),
                fields=LEAD_PERSONAL_FIELDS,
                detail={k: v for k, v in search.items() if k != "polygon"},
            )
        backtest = _latest_backtest(conn) if pm.is_scored(leads) else None
    return Found(
        search=search,
        leads=leads,
        capped=capped,
        origin=origin,
        reach=reach,
        reach_note=note,
        backtest=backtest,
    )


def export_found(found: Found, fmt: str, *, ids: Sequence[str] | None = None) -> bytes:
    """The leads of ``found`` as a CSV or XLSX file (only ``ids``, in that order, when
    given); the columns of :func:`gcrm.leads.export_leads`, score and reasons included."""
    if fmt not in ("csv", "xlsx"):
        msg = f"format={fmt!r} is not a lead export; use csv or xlsx"
        raise ValidationError(msg)
    leads = found.leads
    if ids:
        order = {lead_id: i for i, lead_id in enumerate(ids)}
        leads = leads[leads["external_id"].isin(order)]
        leads = leads.iloc[leads["external_id"].map(order).argsort()]
    with tempfile.TemporaryDirectory() as folder:
        path = export_leads(leads, Path(folder) / f"leads.{fmt}", origin=found.origin)
        return path.read_bytes()


def _stops(found: Found, ids: Sequence[str]) -> pd.DataFrame:
    """The leads ``ids`` as stops (``lon``, ``lat``, ``external_id``, ``name``), in the
    order selected."""
    leads = found.leads
    known = set(leads["external_id"])
    missing = [i for i in ids if i not in known]
    if missing:
        msg = (
            f"leads {missing[:3]} are no longer in the search's results; run the search again "
            "and select the leads anew"
        )
        raise ValidationError(msg)
    chosen = leads.set_index("external_id").loc[list(ids)].reset_index()
    return pd.DataFrame(
        {
            "external_id": chosen["external_id"].astype(str),
            "name": chosen["name"],
            "category": chosen["category"],
            "lon": chosen.geometry.x,
            "lat": chosen.geometry.y,
        }
    )


def plan_visits(
    engine: Engine,
    found: Found,
    ids: Sequence[str],
    *,
    graphs: GraphCache,
    start_time: str | None,
    day_hours: float | None,
) -> RoutePlan:
    """The visit order of the leads ``ids`` of ``found``, from the search's origin and back,
    with arrival times (:func:`gcrm.routing.plan_route`: VROOM on the road graph).

    Raises
    ------
    ValidationError
        When the search has no origin to start from, a lead is gone, or the route cannot
        be planned (the message names the fix).
    """
    if found.origin is None:
        msg = (
            "a route starts at the origin: set one (address, click, customer or branch) "
            "and search again"
        )
        raise ValidationError(msg)
    if day_hours is None or day_hours == "":
        day_hours = 8.0
    with engine.connect() as conn:
        graph = graphs.get(conn)
    return plan_route(
        engine,
        _stops(found, ids),
        start=(found.origin.lon, found.origin.lat),
        start_time=(start_time or "08:00").strip(),
        day_hours=float(day_hours),
        start_label=found.origin.label,
        graph=graph,
    )


def route_summary(plan: RoutePlan) -> str:
    """The route in one line: stops, driving, distance, when the day ends; what is left
    out and why."""
    totals = plan.totals()
    back = "back at the start" if plan.returns else "leaving the last stop"
    text = (
        f"{totals['stops']} stops from {plan.start_label} at {plan.start_time}: "
        f"{totals['drive_time_s'] / 60:.0f} min driving, {totals['distance_m'] / 1000:.1f} km, "
        f"{back} at {plan.end_time}."
    )
    if len(plan.unserved):
        reasons = "; ".join(
            f"{r.get('name') or r.get('external_id')}: {r['reason']}"
            for r in plan.unserved.to_dict("records")
        )
        text += f" Not visited ({len(plan.unserved)}): {reasons}."
    return text
