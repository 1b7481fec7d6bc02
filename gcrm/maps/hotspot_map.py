"""An offline folium map of hot and cold spots (:func:`gcrm.cube.find_hotspots`)."""

from __future__ import annotations

from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd

from gcrm.cube import HOTSPOT_CLASSES, MEASURES
from gcrm.maps.folium_layers import Attribution, Legend, add_area_layer
from gcrm.maps.offline import save_offline
from gcrm.maps.style import MISSING, NO_DATA_COLOUR, OSM_ATTRIBUTION, format_value

__all__ = ["HOTSPOT_COLOURS", "build_hotspot_map", "make_hotspot_map"]

#: One colour per class of either method: red high, blue low, pale for the outliers
#: (ColorBrewer RdBu ends), light grey for not significant.
HOTSPOT_COLOURS: dict[str, str] = {
    "hot spot": "#d7191c",
    "cold spot": "#2c7bb6",
    "high-high": "#d7191c",
    "low-low": "#2c7bb6",
    "high-low": "#fdae61",
    "low-high": "#abd9e9",
    "not significant": "#f7f7f7",
    "not tested": NO_DATA_COLOUR,
}


def build_hotspot_map(result: gpd.GeoDataFrame) -> folium.Map:
    """The areas of ``result`` coloured by class, with value, statistic and adjusted p-value
    in the tooltips, and a legend stating the method, alpha and correction."""
    meta = result.attrs
    spec = MEASURES[meta["measure"]]
    shown = result.assign(
        value_text=[format_value(v, unit=str(meta.get("unit", ""))) for v in result["value"]],
        statistic_text=result["statistic"].map(lambda v: MISSING if pd.isna(v) else f"{v:.2f}"),
        p_text=result["p_adjusted"].map(lambda v: MISSING if pd.isna(v) else f"{v:.3f}"),
    )
    m = folium.Map(tiles=None, control_scale=True, maxZoom=19, minZoom=3)
    minx, miny, maxx, maxy = result.total_bounds
    m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    add_area_layer(
        m,
        shown,
        fill=shown["cluster"].map(HOTSPOT_COLOURS).fillna(NO_DATA_COLOUR),
        tooltip_fields=[
            ("name", "Area"),
            ("code", "Code"),
            ("value_text", spec.label),
            ("cluster", "Class"),
            ("statistic_text", "Gi* z-score" if meta["method"] == "gi" else "Local I"),
            ("p_text", "Adjusted p"),
        ],
        name=f"{meta['method_label']}: {meta['measure']}",
    )
    counts = result["cluster"].value_counts()
    entries = [
        (HOTSPOT_COLOURS[name], f"{name} ({counts[name]})")
        for name in HOTSPOT_CLASSES[meta["method"]]
        if counts.get(name, 0)
    ]
    title = (
        f"{meta['method_label']} of {meta['measure']} by {meta['level']}: alpha "
        f"{meta['alpha']:g}, {meta['correction_label']}, {meta['permutations']} permutations"
    )
    m.add_child(Legend([(title, entries)]))
    m.add_child(Attribution(OSM_ATTRIBUTION))
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def make_hotspot_map(result: gpd.GeoDataFrame, *, out: Path) -> Path:
    """Write the hot spot map of ``result`` to ``out`` as one self-contained HTML file."""
    return save_offline(build_hotspot_map(result), out)
