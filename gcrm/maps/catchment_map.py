"""An offline folium map of branch drive-time catchments."""

from __future__ import annotations

import html
from pathlib import Path

import folium
import geopandas as gpd
from sqlalchemy import Connection

from gcrm.maps.folium_layers import Attribution, Legend, add_branch_layer
from gcrm.maps.offline import save_offline
from gcrm.maps.sources import read_branches
from gcrm.maps.style import OSM_ATTRIBUTION, SEQUENTIAL_PALETTE

__all__ = ["build_catchment_map", "make_catchment_map"]


def build_catchment_map(catchments: gpd.GeoDataFrame, *, branches: gpd.GeoDataFrame) -> folium.Map:
    """Catchments (largest limit drawn first, so smaller ones stay on top), branches, legend."""
    limits = sorted(catchments["minutes"].unique())
    # Short drive times in the darkest colour: the palette runs light to dark.
    palette = list(SEQUENTIAL_PALETTE[::-1][: len(limits)]) or [SEQUENTIAL_PALETTE[-1]]
    colour = {m: palette[min(i, len(palette) - 1)] for i, m in enumerate(limits)}
    data = catchments.assign(
        colour=catchments["minutes"].map(colour),
        label=(catchments["code"] + ": " + catchments["name"].astype(str)).map(html.escape),
    ).sort_values("minutes", ascending=False)
    m = folium.Map(tiles=None, control_scale=True, maxZoom=19, minZoom=3)
    minx, miny, maxx, maxy = catchments.total_bounds
    m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    folium.GeoJson(
        data[["label", "minutes", "area_km2", "colour", "geometry"]].to_json(drop_id=True),
        name="Catchments",
        style_function=lambda f: {
            "fillColor": f["properties"]["colour"],
            "fillOpacity": 0.35,
            "color": f["properties"]["colour"],
            "weight": 1,
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["label", "minutes", "area_km2"], aliases=["Branch", "Minutes", "Area (km²)"]
        ),
    ).add_to(m)
    add_branch_layer(m, branches)
    m.add_child(Legend([("Drive time to branch", [(colour[x], f"≤ {x:g} min") for x in limits])]))
    m.add_child(Attribution(OSM_ATTRIBUTION))
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def make_catchment_map(conn: Connection, *, catchments: gpd.GeoDataFrame, out: Path) -> Path:
    """Write the catchment map to ``out`` as one self-contained HTML file."""
    return save_offline(build_catchment_map(catchments, branches=read_branches(conn)), out)
