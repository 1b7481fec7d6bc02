"""What the dashboard reads: the cube, the area levels and simplified area geometry per level
(cached in memory), hot spots per slice of the cube (cached), and the points of each map view (read per view, never all at once).
Everything comes through the gcrm library."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import flask
import geopandas as gpd
import xarray as xr
from sqlalchemy import Engine

from dashboard.view import View, areas_in_view
from gcrm.access import Principal, record_access
from gcrm.areas import UNNAMED_REGION, AreaLevel, read_area_levels
from gcrm.cube import find_hotspots
from gcrm.maps import MAX_POINTS, area_geojson, point_name, points_in_view
from gcrm.maps.sources import BBox
from gcrm.web import Services, Unauthorized, current_request_principal

__all__ = ["DashboardData", "DataByScope", "filter_features", "scope_title"]


def filter_features(collection: Mapping[str, Any], area_ids: Sequence[str]) -> dict[str, Any]:
    """Keep the features whose id is in ``area_ids``."""
    keep = set(area_ids)
    return {
        "type": "FeatureCollection",
        "features": [f for f in collection["features"] if f["id"] in keep],
    }


def scope_title(principal: Principal, cube: xr.Dataset, *, region_name: str) -> str:
    """What a user's whole view is called: the region, or the names of their scope's areas
    (the dashboard's totals are theirs, so its labels must say whose they are)."""
    if principal.scope_key == "all":
        return region_name
    ids = [f"{level}:{code}" for level, code in principal.scopes]
    known = set(cube.indexes["area"])
    names = [str(cube["name"].sel(area=a).item()) if a in known else a for a in ids]
    return ", ".join(names) or "no area"


#: Views whose points are kept per scope (the most recent), and for how long: everyone who
#: opens the dashboard first sees the same whole-region view, whose clusters over a million
#: customers take PostGIS ~0.7 s; a view's points older than this are read again.
POINT_VIEWS_KEPT = 128
POINT_VIEWS_TTL_S = 300.0


class _RecentViews:
    """The points of the most recent map views, each kept :data:`POINT_VIEWS_TTL_S` seconds
    (thread-safe; an answer is at most ~1 MB, so the memory this holds is bounded)."""

    def __init__(self, size: int = POINT_VIEWS_KEPT, ttl_s: float = POINT_VIEWS_TTL_S) -> None:
        self.size, self.ttl_s = size, ttl_s
        self._items: OrderedDict[tuple[object, ...], tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> dict[str, Any] | None:
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] < time.monotonic():
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: tuple[object, ...], value: dict[str, Any]) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + self.ttl_s, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


@dataclass
class DashboardData:
    """What the dashboard reads: the cube, area levels, and per-level geometry cached in memory;
    the points of a view read for each view (up to ``max_points`` one by one, else clusters),
    the most recent views' kept for a few minutes. A rebuilt or refreshed cube makes a new
    one (:class:`DataByScope`), so what it keeps goes with the cube it was read for."""

    engine: Engine
    cube: xr.Dataset
    region_name: str = UNNAMED_REGION
    max_points: int = MAX_POINTS
    _levels: list[AreaLevel] | None = None
    _geometry: dict[str, dict[str, Any]] = field(default_factory=dict)
    _hotspots: dict[tuple[str | None, ...], gpd.GeoDataFrame] = field(default_factory=dict)
    _views: _RecentViews = field(default_factory=_RecentViews)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def levels(self) -> list[AreaLevel]:
        """Area levels from ``gcrm.area_levels`` (read once)."""
        if self._levels is None:
            with self.engine.connect() as conn:
                self._levels = read_area_levels(conn)
        return self._levels

    def geometry(self, level: str) -> dict[str, Any]:
        """Simplified area geometry of ``level`` (read once per level)."""
        with self._lock:
            if level not in self._geometry:
                with self.engine.connect() as conn:
                    self._geometry[level] = area_geojson(conn, level=level)
            return self._geometry[level]

    def points(
        self, kind: str, *, bbox: BBox, zoom: float, segment: str | None, period: str | None
    ) -> dict[str, Any]:
        """Customers or leads in the map's view: clusters, or points when few (no names)."""
        key = (kind, *(round(float(c), 6) for c in bbox), float(zoom), segment, period)
        found = self._views.get(key)
        if found is None:
            with self.engine.connect() as conn:
                found = points_in_view(
                    conn,
                    kind=kind,
                    bbox=bbox,
                    zoom=zoom,
                    segment=segment,
                    period=period,
                    max_points=self.max_points,
                )
            self._views.put(key, found)
        return found

    def point_name(self, kind: str, point_id: str) -> str:
        """The name of one customer or lead, asked for by a click; a customer's is audited."""
        with self.engine.begin() as conn:
            name = point_name(conn, kind=kind, point_id=point_id)
            if kind == "customers":
                record_access(
                    conn, action="dashboard point", rows=1, fields=["name"], target=point_id
                )
            return name

    def hotspots(
        self,
        *,
        level: str,
        measure: str,
        period: str | None,
        segment: str | None,
        parent: str | None,
    ) -> gpd.GeoDataFrame:
        """Getis-Ord Gi* hot and cold spots of a slice of the cube over the areas of
        ``level`` (:func:`gcrm.cube.find_hotspots`, its defaults: alpha 0.05, false
        discovery rate, 999 permutations, seed 0), computed once per slice: it takes about
        a second.

        Raises
        ------
        gcrm.core.ValidationError
            When the slice cannot be tested (too few areas with a value, one value
            everywhere); the message says what to change.
        """
        key = (level, measure, period, segment, parent)
        with self._lock:
            found = self._hotspots.get(key)
        if found is None:
            # Computed outside the lock: other views need not wait for this one.
            with self.engine.connect() as conn:
                found = find_hotspots(
                    self.cube,
                    conn,
                    level=level,
                    measure=measure,
                    period=period,
                    segment=segment,
                    parent=parent,
                )
            with self._lock:
                self._hotspots[key] = found
        return found

    def view_geometry(self, view: View) -> dict[str, Any]:
        """The features drawn for ``view``: the level's areas, children of the parent if any."""
        ids = areas_in_view(self.cube, level=view["level"], parent=view.get("parent"))
        return filter_features(self.geometry(view["level"]), ids)


class DataByScope:
    """One :class:`DashboardData` per scope, made on first use: users with the same areas
    share cached geometry and points; a user never sees another scope's cache.

    Reads go through ``services.data`` (under the request's principal) and the scope's cube.
    """

    def __init__(
        self, services: Services, *, region_name: str | None = None, max_points: int = MAX_POINTS
    ) -> None:
        self.services = services
        #: Shown as the region's name; None: the cube's own (``gcrm region set``).
        self.region_name = region_name
        self.max_points = max_points
        self._by_key: dict[str, DashboardData] = {}
        self._lock = threading.Lock()

    def for_principal(self, principal: Principal) -> DashboardData:
        """The dashboard data of ``principal``'s scope (its cube may be built on first use)."""
        cube = self.services.cube_for(principal)
        key = principal.scope_key
        with self._lock:
            data = self._by_key.get(key)
            if data is None or data.cube is not cube:
                region = self.region_name or str(cube.attrs.get("region_name") or UNNAMED_REGION)
                title = scope_title(principal, cube, region_name=region)
                data = DashboardData(
                    engine=self.services.data,
                    cube=cube,
                    region_name=title,
                    max_points=self.max_points,
                )
                self._by_key[key] = data
            return data

    def for_request(self) -> DashboardData:
        """The dashboard data of the current request's principal.

        Raises
        ------
        Unauthorized
            When nobody is logged in (or there is no request).
        """
        principal = current_request_principal() if flask.has_request_context() else None
        if principal is None:
            msg = "log in at /login to see the dashboard"
            raise Unauthorized(msg)
        return self.for_principal(principal)
