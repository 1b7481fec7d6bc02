"""The view in the page's link: what the query string says, and the view a link opens on.

A link such as ``/?level=hex&parent=district:kamppi&measure=active&period=2025-Q2&compare=yoy``
restores the level, the parent drilled into, the selected area (``area``), the measure,
period, comparison, segment, channel and branch (of orders), classes (``scheme``), point layers (``points``, comma
separated, ``none`` for no layer), the map's other layers (``layers``: ``branches``,
``heat``, ``catchments``, comma separated) and what the heat is of (``heat=revenue``),
the hot spots layer (``hotspots=on``) and its method (``method=moran``: local Moran's I;
Getis-Ord Gi* by default), the chart's
forecast (``forecast=on``) and the campaign layer (``campaign=ID``, ``campaign_by=uplift``:
the response rate by default). What a link
leaves out is the default; what it gets wrong (an unknown level, an area of another level, a
period outside the cube) falls back to the default as well, never to an error page. Plain
functions: tested without a browser.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlencode

import xarray as xr

from dashboard import panels as p
from dashboard import view as v
from dashboard.campaign_layer import CAMPAIGN_OF, NO_CAMPAIGN
from gcrm.areas import AreaLevel
from gcrm.cube import HOTSPOT_METHODS
from gcrm.maps import SCHEMES

__all__ = [
    "CONTROLS",
    "HEAT_OF",
    "MAP_LAYERS",
    "POINT_LAYERS",
    "Controls",
    "query_of_state",
    "state_of_query",
]

Controls = dict[str, Any]
#: Point layers and whether they are shown when the page opens.
POINT_LAYERS: dict[str, bool] = {"customers": True, "leads": False}
#: The map's other layers (sidebar "Layers"), in the order the checklist lists them; all off.
MAP_LAYERS: dict[str, str] = {
    "branches": "Branches",
    "heat": "Heatmap",
    "catchments": "Drive-time catchments",
}
#: What the heatmap is of (gcrm.maps.layers.HEAT_MEASURES), the first the default.
HEAT_OF: dict[str, str] = {"customers": "customers", "revenue": "revenue"}
#: The sidebar's controls as a page opens (a link that leaves one out gets this value).
CONTROLS: Controls = {
    "measure": "revenue",
    "period": "all",
    "compare": "none",
    "segment": "all",
    "channel": "all",
    "branch": "all",
    "scheme": "quantiles",
    "points": [k for k, shown in POINT_LAYERS.items() if shown],
    "hotspots": False,
    "method": "gi",
    "forecast": False,
    "layers": [],
    "heat": "customers",
    "campaign": NO_CAMPAIGN,
    "campaign_by": next(iter(CAMPAIGN_OF)),
}
#: Controls that are on or off (a checklist of one box), written ``on``/``off`` in a link.
_SWITCHES = ("hotspots", "forecast")
_NO_POINTS = "none"


def query_of_state(view: v.View, controls: Mapping[str, Any]) -> str:
    """The query string (``"?level=hex&..."``) of ``view`` and ``controls``: the view's
    level always, anything else only where it is not the default."""
    params = {"level": view["level"]}
    if view.get("parent"):
        params["parent"] = view["parent"]
    if view.get("selected"):
        params["area"] = view["selected"]
    for key, default in CONTROLS.items():
        value = controls.get(key, default)
        if key == "points":
            value = [k for k in POINT_LAYERS if k in (value or [])]
            if value != default:
                params[key] = ",".join(value) or _NO_POINTS
        elif key == "layers":
            value = [k for k in MAP_LAYERS if k in (value or [])]
            if value:
                params[key] = ",".join(value)
        elif key in _SWITCHES:
            if bool(value) != default:
                params[key] = "on" if value else "off"
        elif value is not None and value != default:
            params[key] = str(value)
    return "?" + urlencode(params, safe=":,")


def state_of_query(
    query: str | None,
    *,
    levels: Sequence[AreaLevel],
    ds: xr.Dataset,
    campaigns: Collection[str] = (),
) -> tuple[v.View, Controls]:
    """The view and controls a link's query string asks for; each value that is missing or
    not valid for this cube (unknown level, measure, period or segment; an area that is not
    drawn at that level; a campaign not among ``campaigns``, the ids the user may choose)
    is the default instead."""
    raw = {k: vals[-1] for k, vals in parse_qs((query or "").lstrip("?")).items() if vals}
    controls = dict(CONTROLS)
    choices = {
        "measure": {o["value"] for o in p.measure_options()},
        "period": {o["value"] for o in p.period_options(ds)},
        "compare": set(p.COMPARE_OPTIONS),
        "segment": {o["value"] for o in p.segment_options(ds)},
        "channel": {o["value"] for o in p.channel_options(ds)},
        "branch": {o["value"] for o in p.branch_options(ds)},
        "scheme": set(SCHEMES),
        "method": set(HOTSPOT_METHODS),
        "heat": set(HEAT_OF),
        "campaign": set(campaigns),
        "campaign_by": set(CAMPAIGN_OF),
    }
    for key, allowed in choices.items():
        if raw.get(key) in allowed:
            controls[key] = raw[key]
    if "points" in raw:
        asked = raw["points"].split(",")
        controls["points"] = [k for k in POINT_LAYERS if k in asked]
    if "layers" in raw:
        controls["layers"] = [k for k in MAP_LAYERS if k in raw["layers"].split(",")]
    for key in _SWITCHES:
        controls[key] = raw.get(key, "off") == "on"
    return _view_of(raw, levels=levels, ds=ds), controls


def _view_of(raw: Mapping[str, str], *, levels: Sequence[AreaLevel], ds: xr.Dataset) -> v.View:
    """The view of a link's ``level``, ``parent`` and ``area``, each kept only if it fits
    the one before it."""
    level = raw.get("level")
    if level not in {o["value"] for o in v.level_options(levels, ds)}:
        return v.initial_view(levels, ds)
    view = v.view_for_level(str(level))
    parent = raw.get("parent")
    known = set(ds.indexes["area"])
    if parent in known and v.child_level(levels, v.area_coord(ds, str(parent), "level")) == level:
        view["parent"] = parent
    selected = raw.get("area")
    if selected in v.areas_in_view(ds, level=view["level"], parent=view["parent"]):
        view["selected"] = selected
    return view
