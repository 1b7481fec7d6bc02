"""The dashboard's view state: which level is drawn, inside which parent, what is selected.

A small dict kept in a ``dcc.Store``::

    {"level": "hex", "parent": "district:kamppi", "selected": "hex:891126d..."}

``level`` is the level of the areas drawn on the map, ``parent`` the area id whose children
are drawn (``None``: the whole region) and ``selected`` the clicked area (``None``: none).
Every function here is plain: navigation can be tested without a browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from gcrm.areas import AreaLevel
from gcrm.core import NotFoundError

__all__ = [
    "View",
    "area_label",
    "area_coord",
    "areas_in_view",
    "breadcrumb",
    "child_level",
    "click_area",
    "drill_down",
    "go_to_crumb",
    "go_up",
    "initial_view",
    "level_label",
    "level_options",
    "map_bbox",
    "scope_area",
    "select_area",
    "table_scope",
    "view_for_level",
]

View = dict[str, Any]


def child_level(levels: Sequence[AreaLevel], level: str) -> str | None:
    """The level whose ``parent_level`` is ``level``, or ``None`` when nothing nests in it."""
    children = [lv.level for lv in levels if lv.parent_level == level]
    return children[0] if children else None


def level_options(levels: Sequence[AreaLevel], ds: xr.Dataset) -> list[dict[str, str]]:
    """Dropdown options for the levels that the cube holds."""
    in_cube = set(np.unique(ds["level"].values).tolist())
    return [{"label": lv.label, "value": lv.level} for lv in levels if lv.level in in_cube]


def areas_in_view(ds: xr.Dataset, *, level: str, parent: str | None) -> list[str]:
    """Ids of the areas of ``level`` drawn in a view: the children of ``parent`` if any."""
    mask = ds["level"] == level
    if parent:
        mask = mask & (ds["parent"] == parent)
    return [str(a) for a in ds["area"].values[mask.values]]


def area_coord(ds: xr.Dataset, area: str, coord: str) -> str:
    """The coordinate ``coord`` (level, name, parent, ...) of ``area`` in the cube.

    Raises
    ------
    NotFoundError
        When ``area`` is not in the cube.
    """
    if area not in ds.indexes["area"]:
        msg = f"area={area!r} is not in the cube; pick an area id such as {str(ds['area'].values[0])!r}"
        raise NotFoundError(msg)
    return str(ds[coord].sel(area=area).item())


def area_label(ds: xr.Dataset, area: str | None, *, region_name: str) -> str:
    """Display name of an area id, or of the region when ``area`` is ``None``."""
    return region_name if not area else area_coord(ds, area, "name")


def initial_view(levels: Sequence[AreaLevel], ds: xr.Dataset) -> View:
    """The view a page opens on: the coarsest level in the cube, whole region, nothing selected."""
    options = level_options(levels, ds)
    if not options:
        msg = "the cube holds none of the levels in gcrm.area_levels; rebuild it with `gcrm cube build`"
        raise NotFoundError(msg)
    return view_for_level(options[0]["value"])


def view_for_level(level: str) -> View:
    """The whole region at ``level``, nothing selected."""
    return {"level": level, "parent": None, "selected": None}


def select_area(view: View, area: str | None) -> View:
    """``view`` with ``area`` selected (``None`` clears the selection)."""
    return {**view, "selected": area}


def click_area(view: View, area: str | None, levels: Sequence[AreaLevel]) -> View:
    """The view after a click on ``area``: selects it; a click on the selected area drills
    into it (:func:`drill_down`: unchanged when no level lies below)."""
    if area and area == view.get("selected"):
        return drill_down(view, levels)
    return select_area(view, area)


def drill_down(view: View, levels: Sequence[AreaLevel]) -> View:
    """Show the children of the selected area at the next level down; unchanged if none."""
    selected = view.get("selected")
    child = child_level(levels, view["level"])
    if not selected or child is None:
        return view
    return {"level": child, "parent": selected, "selected": None}


def go_up(view: View, ds: xr.Dataset) -> View:
    """Back to the parent's level, with the parent selected; unchanged at the top."""
    parent = view.get("parent")
    if not parent:
        return view
    grandparent = area_coord(ds, parent, "parent") or None
    return {"level": area_coord(ds, parent, "level"), "parent": grandparent, "selected": parent}


def go_to_crumb(view: View, ds: xr.Dataset, area: str | None) -> View:
    """The view after a click on the breadcrumb's ``area`` (``None``: the region): up, one
    level at a time, until ``area``'s children are drawn, with the area the view came from
    selected; unchanged when ``area`` is not on the view's path."""
    path = [a for a, _ in breadcrumb(view, ds, region_name="")]
    if area not in path:
        return view
    while view.get("parent") != area:
        view = go_up(view, ds)
    return view


def scope_area(view: View) -> str | None:
    """The area the chart, table and KPIs describe: the selection, else the parent."""
    return view.get("selected") or view.get("parent") or None


def breadcrumb(view: View, ds: xr.Dataset, *, region_name: str) -> list[tuple[str | None, str]]:
    """``(area id, name)`` pairs from the region down to the parent of the view."""
    chain: list[tuple[str | None, str]] = []
    area = view.get("parent")
    while area:
        chain.append((area, area_coord(ds, area, "name")))
        area = area_coord(ds, area, "parent") or None
    return [(None, region_name), *reversed(chain)]


def table_scope(view: View, levels: Sequence[AreaLevel]) -> tuple[str, str | None]:
    """``(level, parent)`` of the top-areas table.

    With an area selected that has a level below it, the table ranks its children;
    otherwise it ranks the areas drawn on the map.
    """
    selected = view.get("selected")
    child = child_level(levels, view["level"])
    if selected and child is not None:
        return child, selected
    return view["level"], view.get("parent") or None


def level_label(levels: Sequence[AreaLevel], level: str) -> str:
    """The label of ``level`` (the level name itself when not listed)."""
    return next((lv.label for lv in levels if lv.level == level), level)


def map_bbox(bounds: Sequence[Sequence[float]] | None) -> tuple[float, float, float, float] | None:
    """``(west, south, east, north)`` of the map's ``bounds`` as dash-leaflet reports them
    (``[[south, west], [north, east]]``); ``None`` before the map has reported any."""
    if not bounds:
        return None
    (south, west), (north, east) = bounds
    return float(west), float(south), float(east), float(north)
