"""What the dashboard reads, cached in memory: the cube, the area levels, simplified area geometry
per level, and the point layers. Everything comes through the gcrm library."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import xarray as xr
from sqlalchemy import Engine

from dashboard.view import View, areas_in_view
from gcrm.areas import AreaLevel, read_area_levels
from gcrm.maps import area_geojson, point_geojson

__all__ = ["DashboardData", "filter_features"]


def filter_features(collection: Mapping[str, Any], area_ids: Sequence[str]) -> dict[str, Any]:
    """Keep the features whose id is in ``area_ids``."""
    keep = set(area_ids)
    return {
        "type": "FeatureCollection",
        "features": [f for f in collection["features"] if f["id"] in keep],
    }


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
