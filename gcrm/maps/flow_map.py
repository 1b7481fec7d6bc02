"""Flow maps: a line from each origin area to each branch its customers use, offline.

Lines run from a point inside each origin area (``representative_point``, always inside,
unlike a centroid) to the branch; their width grows with the square root of the weight
(customers or revenue), so the area of the drawn band tracks the flow. One GeoJSON layer
carries every line with its style in the feature properties: the browser only draws.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from gcrm.core import STORAGE_CRS, ValidationError
from gcrm.maps.folium_layers import Attribution, Legend, add_branch_layer
from gcrm.maps.offline import save_offline
from gcrm.maps.sources import read_areas, read_branches
from gcrm.maps.style import OSM_ATTRIBUTION, categorical_colours, format_value

__all__ = ["FLOW_WEIGHTS", "FlowWeight", "build_flow_map", "flow_lines", "make_flow_map"]

FlowWeight = Literal["customers", "revenue"]
FLOW_WEIGHTS: tuple[str, ...] = ("customers", "revenue")
MIN_WIDTH_PX = 1.5
MAX_WIDTH_PX = 14.0


def _check_weight(weight: str) -> None:
    if weight not in FLOW_WEIGHTS:
        msg = f"weight {weight!r} unknown; use one of {list(FLOW_WEIGHTS)}"
        raise ValidationError(msg)


def flow_lines(
    flows: pd.DataFrame,
    areas: gpd.GeoDataFrame,
    branches: gpd.GeoDataFrame,
    *,
    weight: FlowWeight = "customers",
) -> gpd.GeoDataFrame:
    """One line per flow with a known origin and branch, with ``width`` and ``colour``.

    ``flows`` is :func:`gcrm.areas.origin_destination_flows`' frame; rows whose origin or
    branch is unknown have no line and are left out.
    """
    _check_weight(weight)
    origin = pd.Series(areas.geometry.representative_point().to_numpy(), index=areas["code"])
    at_branch = pd.Series(branches.geometry.to_numpy(), index=branches["code"])
    known = flows["origin_code"].isin(origin.index) & flows["branch_code"].isin(at_branch.index)
    data = flows[known & (flows[weight] > 0)].reset_index(drop=True)
    start = origin.reindex(data["origin_code"]).to_numpy()
    end = at_branch.reindex(data["branch_code"]).to_numpy()
    coords = np.stack([shapely.get_coordinates(start), shapely.get_coordinates(end)], axis=1)
    value = data[weight].to_numpy(dtype=float)
    top = value.max() if len(value) else 1.0
    width = MIN_WIDTH_PX + (MAX_WIDTH_PX - MIN_WIDTH_PX) * np.sqrt(value / top)
    colour, _ = categorical_colours(data["branch_code"])
    return gpd.GeoDataFrame(
        data.assign(width=width.round(2), colour=colour.to_numpy()),
        geometry=shapely.linestrings(coords) if len(data) else [],
        crs=STORAGE_CRS,
    )


def _flow_style(feature: dict) -> dict:
    props = feature["properties"]
    return {"color": props["colour"], "weight": props["width"], "opacity": 0.75}


def _add_flow_layer(m: folium.Map, lines: gpd.GeoDataFrame, *, weight: str) -> None:
    if lines.empty:
        return  # no order names a branch in the period: the areas and branches alone
    data = lines.assign(
        origin=lines["origin_name"].fillna(lines["origin_code"]).astype(str).map(html.escape),
        branch=(lines["branch_code"] + ": " + lines["branch_name"].fillna("")).map(html.escape),
        revenue_label=[format_value(v, unit="money") for v in lines["revenue"]],
    )
    columns = ["origin", "branch", "customers", "orders", "revenue_label", "width", "colour"]
    folium.GeoJson(
        data[[*columns, "geometry"]].to_json(drop_id=True),
        name=f"Flows by {weight} ({len(lines)})",
        style_function=_flow_style,
        highlight_function=lambda _f: {"opacity": 1.0},
        tooltip=folium.GeoJsonTooltip(
            fields=columns[:5], aliases=["From", "To branch", "Customers", "Orders", "Revenue"]
        ),
    ).add_to(m)


def _add_context(m: folium.Map, areas: gpd.GeoDataFrame) -> None:
    folium.GeoJson(
        areas[["name", "geometry"]]
        .assign(name=areas["name"].astype(str).map(html.escape))
        .to_json(drop_id=True),
        name="Areas",
        style_function=lambda _f: {
            "fillColor": "#f0f0f0",
            "fillOpacity": 0.6,
            "color": "#969696",
            "weight": 1,
        },
        tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=["Area"]),
    ).add_to(m)


def _legend(lines: gpd.GeoDataFrame, *, weight: str) -> Legend:
    colours = lines.drop_duplicates("branch_code").sort_values("branch_code")
    branch_entries = [
        (c, f"{code}: {name}")
        for c, code, name in zip(
            colours["colour"],
            colours["branch_code"],
            colours["branch_name"].fillna(""),
            strict=True,
        )
    ]
    unit = "money" if weight == "revenue" else ""
    top = float(lines[weight].max()) if len(lines) else 0.0
    width_entries = [
        ("#525252", f"widest line: {format_value(top, unit=unit)} {weight}"),
        ("#bdbdbd", "width grows with the square root"),
    ]
    return Legend([("Branch (line colour)", branch_entries), (f"Flow by {weight}", width_entries)])


def build_flow_map(
    flows: pd.DataFrame,
    *,
    areas: gpd.GeoDataFrame,
    branches: gpd.GeoDataFrame,
    weight: FlowWeight = "customers",
    title: str | None = None,
) -> folium.Map:
    """A folium map of ``flows``: origin areas, one line per flow, branches, legend.

    Parameters
    ----------
    flows
        :func:`gcrm.areas.origin_destination_flows`' frame.
    areas
        The origin level's areas (:func:`gcrm.maps.read_areas`).
    branches
        Branch points with ``code`` and ``name`` (:func:`gcrm.maps.read_branches`).
    weight
        ``"customers"`` or ``"revenue"``: what line width shows.
    title
        Page title shown in the legend.
    """
    lines = flow_lines(flows, areas, branches, weight=weight)
    # No basemap tiles: the page must open offline; the areas give the geographic context.
    m = folium.Map(tiles=None, control_scale=True, maxZoom=19, minZoom=3)
    minx, miny, maxx, maxy = areas.total_bounds
    m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    _add_context(m, areas)
    _add_flow_layer(m, lines, weight=weight)
    add_branch_layer(m, branches)
    legend = _legend(lines, weight=weight)
    if title:
        legend.html = f"<h4>{html.escape(title)}</h4>" + legend.html
    m.add_child(legend)
    m.add_child(Attribution(OSM_ATTRIBUTION))
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def make_flow_map(
    conn: Connection,
    *,
    flows: pd.DataFrame,
    level: str,
    out: Path,
    weight: FlowWeight = "customers",
    period: str | None = None,
) -> Path:
    """Write the flow map of ``flows`` (origins at ``level``) to ``out`` as offline HTML."""
    areas = read_areas(conn, level=level)
    title = f"Customer flows to branches by {level}" + (f", {period}" if period else "")
    m = build_flow_map(flows, areas=areas, branches=read_branches(conn), weight=weight, title=title)
    return save_offline(m, out)
