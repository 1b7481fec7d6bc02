"""What the dashboard reads, cached in memory: the cube, the area levels, simplified area geometry
per level, and the point layers. Everything comes through the gcrm library."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import flask
import xarray as xr
from sqlalchemy import Engine

from dashboard.view import View, areas_in_view
from gcrm.access import Principal
from gcrm.areas import AreaLevel, read_area_levels
from gcrm.maps import area_geojson, point_geojson
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


@dataclass
class DashboardData:
    """What the dashboard reads: the cube, area levels, and per-level geometry cached in memory."""

    engine: Engine
    cube: xr.Dataset
    region_name: str = "Helsinki demo region"
    _levels: list[AreaLevel] | None = None
    _geometry: dict[str, dict[str, Any]] = field(default_factory=dict)
    _points: dict[str, dict[str, Any]] = field(default_factory=dict)
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

    def points(self, kind: str) -> dict[str, Any]:
        """Customer or lead points (read once)."""
        with self._lock:
            if kind not in self._points:
                with self.engine.connect() as conn:
                    self._points[kind] = point_geojson(conn, kind=kind)
            return self._points[kind]

    def view_geometry(self, view: View) -> dict[str, Any]:
        """The features drawn for ``view``: the level's areas, children of the parent if any."""
        ids = areas_in_view(self.cube, level=view["level"], parent=view.get("parent"))
        return filter_features(self.geometry(view["level"]), ids)


class DataByScope:
    """One :class:`DashboardData` per scope, made on first use: users with the same areas
    share cached geometry and points; a user never sees another scope's cache.

    Reads go through ``services.data`` (under the request's principal) and the scope's cube.
    """

    def __init__(self, services: Services, *, region_name: str) -> None:
        self.services = services
        self.region_name = region_name
        self._by_key: dict[str, DashboardData] = {}
        self._lock = threading.Lock()

    def for_principal(self, principal: Principal) -> DashboardData:
        """The dashboard data of ``principal``'s scope (its cube may be built on first use)."""
        cube = self.services.cube_for(principal)
        key = principal.scope_key
        with self._lock:
            data = self._by_key.get(key)
            if data is None or data.cube is not cube:
                title = scope_title(principal, cube, region_name=self.region_name)
                data = DashboardData(engine=self.services.data, cube=cube, region_name=title)
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
