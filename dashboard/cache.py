"""What the dashboard reads: the cube, the area levels and simplified area geometry per level
(cached in memory), hot spots per slice of the cube and forecasts per scope (cached), campaigns'
figures per area (kept a minute), and the points of each map view (read per view, never all at once).
Everything comes through the gcrm library."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import flask
import geopandas as gpd
import pandas as pd
import xarray as xr
from sqlalchemy import Engine

from dashboard.view import View, areas_in_view
from gcrm.access import Principal, record_access
from gcrm.areas import UNNAMED_REGION, AreaLevel, read_area_levels
from gcrm.campaigns import campaign_results, list_campaigns
from gcrm.core import NotFoundError
from gcrm.cube import Forecast, find_hotspots, forecast, forecast_table_by_area
from gcrm.cube.hotspots import Method
from gcrm.maps import (
    MAX_POINTS,
    area_geojson,
    branch_geojson,
    catchment_geojson,
    catchment_inputs,
    heat_in_view,
    point_name,
    points_in_view,
)
from gcrm.maps.sources import BBox
from gcrm.web import Services, Unauthorized, current_request_principal

_T = TypeVar("_T")

__all__ = ["CatchmentCache", "DashboardData", "DataByScope", "filter_features", "scope_title"]


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
#: How long a campaign's figures per area are kept: responses are imported by another
#: process (`gcrm campaigns responses`), so a map shows them at most this late.
CAMPAIGN_RESULTS_TTL_S = 60.0


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


class CatchmentCache:
    """The branches' drive-time catchments, computed once per server (the same for every
    user: roads and branches are not scoped) and again only when what they are computed
    from changed: the stamp of :func:`gcrm.maps.layers.catchment_inputs` (the last roads
    import, the stored road graph, the number of roads, the branches' codes, names and
    places) is read (~1 ms) each time the layer is asked for. A missing road graph is kept
    too, as its message, until the roads change."""

    def __init__(self) -> None:
        self._stamp: str | None = None
        self._found: dict[str, Any] | NotFoundError | None = None
        self._lock = threading.Lock()

    def get(self, engine: Engine) -> dict[str, Any]:
        """The catchments as GeoJSON (:func:`gcrm.maps.layers.catchment_geojson`).

        Raises
        ------
        NotFoundError
            When there is no road graph or no branch (the message names the fix).
        """
        # One computation at a time: a second asker waits for the first's result.
        with self._lock, engine.connect() as conn:
            stamp = catchment_inputs(conn)
            if stamp != self._stamp or self._found is None:
                try:
                    self._found = catchment_geojson(conn)
                except NotFoundError as exc:
                    self._found = exc
                self._stamp = stamp
            found = self._found
        if isinstance(found, NotFoundError):
            raise found
        return found


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
    _forecasts: dict[tuple[object, ...], Forecast] = field(default_factory=dict)
    _area_forecasts: dict[tuple[object, ...], pd.DataFrame] = field(default_factory=dict)
    _views: _RecentViews = field(default_factory=_RecentViews)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _branches: dict[str, Any] | None = None
    _campaign_results: dict[tuple[str, str], tuple[float, pd.DataFrame]] = field(
        default_factory=dict
    )
    #: Shared by every scope of a server (:class:`DataByScope`).
    catchment_cache: CatchmentCache = field(default_factory=CatchmentCache)

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

        def read() -> dict[str, Any]:
            with self.engine.connect() as conn:
                return points_in_view(
                    conn,
                    kind=kind,
                    bbox=bbox,
                    zoom=zoom,
                    segment=segment,
                    period=period,
                    max_points=self.max_points,
                )

        return self._recent_view((kind, bbox, zoom, segment, period), read)

    def heat(
        self,
        *,
        bbox: BBox,
        zoom: float,
        of: str,
        segment: str | None,
        period: str | None,
    ) -> dict[str, Any]:
        """Customers (or their revenue, weighted by this scope's cube) per grid cell of the
        map's view (:func:`gcrm.maps.layers.heat_in_view`), kept like the points."""

        def read() -> dict[str, Any]:
            with self.engine.connect() as conn:
                return heat_in_view(
                    conn,
                    bbox=bbox,
                    zoom=zoom,
                    of=of,
                    segment=segment,
                    period=period,
                    cube=self.cube,
                )

        return self._recent_view((f"heat:{of}", bbox, zoom, segment, period), read)

    def _recent_view(
        self,
        key: tuple[str, BBox, float, str | None, str | None],
        read: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        """What ``read()`` answers for one layer (``key[0]``) of one view, kept among the
        recent views (:class:`_RecentViews`); the box is rounded to 6 decimals for the key."""
        layer, bbox, zoom, segment, period = key
        at = (layer, *(round(float(c), 6) for c in bbox), float(zoom), segment, period)
        found = self._views.get(at)
        if found is None:
            found = read()
            self._views.put(at, found)
        return found

    def branches(self) -> dict[str, Any]:
        """The branches as GeoJSON points with code and name (read once per scope)."""
        if self._branches is None:
            with self.engine.connect() as conn:
                self._branches = branch_geojson(conn)
        return self._branches

    def catchments(self) -> dict[str, Any]:
        """The branches' drive-time catchments (computed once per server; see
        :class:`CatchmentCache`).

        Raises
        ------
        NotFoundError
            When there is no road graph or no branch (the message names the fix).
        """
        return self.catchment_cache.get(self.engine)

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
        channel: str | None = None,
        branch: str | None = None,
        method: Method = "gi",
    ) -> gpd.GeoDataFrame:
        """Hot and cold spots (``method="gi"``: Getis-Ord Gi*) or local Moran's I clusters
        (``"moran"``) of a slice of the cube over the areas of ``level``
        (:func:`gcrm.cube.find_hotspots`, its defaults: alpha 0.05, false discovery rate,
        999 permutations, seed 0), computed once per slice: it takes about a second.

        Raises
        ------
        gcrm.core.ValidationError
            When the slice cannot be tested (too few areas with a value, one value
            everywhere); the message says what to change.
        """

        def compute() -> gpd.GeoDataFrame:
            with self.engine.connect() as conn:
                return find_hotspots(
                    self.cube,
                    conn,
                    level=level,
                    measure=measure,
                    period=period,
                    segment=segment,
                    parent=parent,
                    channel=channel,
                    branch=branch,
                    method=method,
                )

        key = (level, measure, period, segment, parent, channel, branch, method)
        return self._once(self._hotspots, key, compute)

    def forecast(
        self,
        *,
        measure: str,
        area: str | None,
        level: str,
        segment: str | None,
        horizon: int = 12,
    ) -> Forecast:
        """:func:`gcrm.cube.forecast` of ``measure`` for ``area`` (None: the total of
        ``level``'s areas) and ``segment``, computed once per scope of the cube: a fit and
        its backtest take some 50-200 ms.

        Raises
        ------
        gcrm.core.ValidationError
            When the measure cannot be forecast or the cube is too short.
        """
        level_or_none = None if area else level
        return self._once(
            self._forecasts,
            (measure, area, level_or_none, segment, horizon),
            lambda: forecast(
                self.cube,
                measure,
                area=area,
                level=level_or_none,
                segment=segment,
                horizon=horizon,
            ),
        )

    def area_forecasts(
        self,
        *,
        level: str,
        measure: str,
        segment: str | None,
        parent: str | None,
        horizon: int = 12,
    ) -> pd.DataFrame:
        """Each area's forecast over the next ``horizon`` months with its intervals
        (:func:`gcrm.cube.forecast_table_by_area`), computed once per slice: a level of a
        few dozen areas takes a few hundred milliseconds.

        Raises
        ------
        gcrm.core.ValidationError
            When the measure cannot be forecast or the cube is too short.
        """
        return self._once(
            self._area_forecasts,
            (level, measure, segment, parent, horizon),
            lambda: forecast_table_by_area(
                self.cube, measure, level=level, segment=segment, parent=parent, horizon=horizon
            ),
        )

    def campaigns(self) -> pd.DataFrame:
        """Every campaign, newest first, with its targets and controls in this scope
        (:func:`gcrm.campaigns.list_campaigns`; read each time: a few rows)."""
        with self.engine.connect() as conn:
            return list_campaigns(conn)

    def campaign_results(self, campaign: str, *, level: str) -> pd.DataFrame:
        """:func:`gcrm.campaigns.campaign_results` of ``campaign`` (id or name) per area of
        ``level``, counted in this scope, kept :data:`CAMPAIGN_RESULTS_TTL_S` seconds.

        Raises
        ------
        NotFoundError
            When there is no such campaign.
        ValidationError
            When ``level`` is not an area level.
        """
        key = (str(campaign), level)
        with self._lock:
            found = self._campaign_results.get(key)
        if found is not None and found[0] > time.monotonic():
            return found[1]
        with self.engine.connect() as conn:
            results = campaign_results(conn, campaign, level=level)
        with self._lock:
            self._campaign_results[key] = (time.monotonic() + CAMPAIGN_RESULTS_TTL_S, results)
        return results

    def _once(self, store: dict[Any, _T], key: tuple[Any, ...], compute: Callable[[], _T]) -> _T:
        """``store[key]``, computed by ``compute()`` on first use. Computed outside the lock:
        other views need not wait for a slice that takes a second."""
        with self._lock:
            found = store.get(key)
        if found is None:
            found = compute()
            with self._lock:
                store[key] = found
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
        self._catchments = CatchmentCache()
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
                    catchment_cache=self._catchments,
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
