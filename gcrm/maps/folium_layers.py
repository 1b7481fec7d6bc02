"""Folium map layers: area fills, clustered points, branches, a legend and the attribution.

Colours are computed in Python, vectorised, and shipped as feature properties; the browser only
draws. Points go through Leaflet.markercluster in the browser from one compact data array
(``FastMarkerCluster``), not one JavaScript statement per marker.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import folium
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from folium.plugins import FastMarkerCluster
from jinja2 import Template

from gcrm.maps.style import BRANCH_COLOUR, OSM_ATTRIBUTION

__all__ = ["Attribution", "Legend", "add_area_layer", "add_branch_layer", "add_point_cluster"]


def add_area_layer(
    m: folium.Map,
    areas: gpd.GeoDataFrame,
    *,
    fill: pd.Series,
    tooltip_fields: Sequence[tuple[str, str]],
    name: str,
    highlight: str | None = None,
) -> folium.GeoJson:
    """Draw ``areas`` filled with ``fill`` (colour per row), with hover tooltips.

    ``tooltip_fields`` are ``(column, alias)`` pairs; ``highlight`` is an ``area_id`` drawn
    with a thick outline.
    """
    data = areas.assign(fill=fill.to_numpy(), _hl=areas["area_id"] == highlight)
    for column, _ in tooltip_fields:
        # folium's tooltip sets innerHTML from the properties: escape names (OSM text).
        data[column] = data[column].astype(str).map(html.escape)
    keep = ["area_id", "fill", "_hl", *(c for c, _ in tooltip_fields if c != "area_id")]
    layer = folium.GeoJson(
        data[[*dict.fromkeys(keep), "geometry"]].to_json(drop_id=True),
        name=name,
        style_function=_area_style,
        highlight_function=lambda _f: {"weight": 3, "color": "#000000", "fillOpacity": 0.85},
        tooltip=folium.GeoJsonTooltip(
            fields=[c for c, _ in tooltip_fields],
            aliases=[html.escape(a) for _, a in tooltip_fields],
        ),
    )
    layer.add_to(m)
    return layer


def _area_style(feature: dict) -> dict:
    props = feature["properties"]
    return {
        "fillColor": props["fill"],
        "fillOpacity": 0.7,
        "color": "#000000" if props["_hl"] else "#4d4d4d",
        "weight": 4 if props["_hl"] else 1,
    }


_POINT_CALLBACK = """function (row) {
    var marker = L.circleMarker(new L.LatLng(row[0], row[1]),
        {radius: %(radius)d, color: '#ffffff', weight: 1, fillColor: row[2], fillOpacity: 0.9});
    marker.bindTooltip(row[3]);
    return marker;
}"""


def add_point_cluster(
    m: folium.Map,
    points: gpd.GeoDataFrame,
    *,
    colour: pd.Series,
    label: pd.Series,
    name: str,
    show: bool = True,
    radius: int = 6,
) -> FastMarkerCluster:
    """Cluster ``points`` as circle markers coloured by ``colour``, tooltips from ``label``.

    ``label`` is plain text; it is HTML-escaped here.
    """
    rows = pd.DataFrame(
        {
            "lat": points.geometry.y.to_numpy(),
            "lon": points.geometry.x.to_numpy(),
            "colour": colour.to_numpy(),
            "label": label.astype(str).map(html.escape).to_numpy(),
        }
    )
    cluster = FastMarkerCluster(
        rows.to_numpy().tolist(),
        callback=_POINT_CALLBACK % {"radius": radius},
        name=name,
        show=show,
    )
    cluster.add_to(m)
    return cluster


def add_branch_layer(m: folium.Map, branches: gpd.GeoDataFrame) -> folium.FeatureGroup:
    """Branches as large dark circles with their name (a handful, so one marker each)."""
    group = folium.FeatureGroup(name=f"Branches ({len(branches)})")
    # A few dozen rows at most: one marker each is what Leaflet needs anyway.
    for row in branches.itertuples(index=False):
        folium.CircleMarker(
            location=(row.geometry.y, row.geometry.x),
            radius=9,
            color="#ffffff",
            weight=2,
            fill=True,
            fill_color=BRANCH_COLOUR,
            fill_opacity=1.0,
            tooltip=html.escape(f"Branch {row.code}: {row.name}"),
        ).add_to(group)
    group.add_to(m)
    return group


class Legend(MacroElement):
    """A legend box (title + colour swatches) in a map corner, plain HTML, no JS libraries."""

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>
.gcrm-legend {background: rgba(255,255,255,0.92); padding: 6px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 12px/1.4 sans-serif; max-width: 260px;}
.gcrm-legend h4 {margin: 0 0 4px; font-size: 13px;}
.gcrm-legend i {display: inline-block; width: 14px; height: 14px; margin-right: 6px;
  vertical-align: -2px; border: 1px solid #999;}
</style>
{% endmacro %}
{% macro script(this, kwargs) %}
(function () {
    var legend = L.control({position: {{ this.position|tojson }}});
    legend.onAdd = function () {
        var div = L.DomUtil.create('div', 'gcrm-legend');
        div.innerHTML = {{ this.html|tojson }};
        return div;
    };
    legend.addTo({{ this._parent.get_name() }});
})();
{% endmacro %}
"""
    )

    def __init__(
        self,
        sections: Sequence[tuple[str, Sequence[tuple[str, str]]]],
        *,
        position: str = "bottomright",
    ) -> None:
        super().__init__()
        self._name = "Legend"
        self.position = position
        self.html = "".join(
            f"<h4>{html.escape(title)}</h4>"
            + "".join(
                f'<div><i style="background:{colour}"></i>{html.escape(text)}</div>'
                for colour, text in entries
            )
            for title, entries in sections
            if entries
        )


class Attribution(MacroElement):
    """Adds a data attribution to the map's attribution control."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
{{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
{% endmacro %}
"""
    )

    def __init__(self, text: str = OSM_ATTRIBUTION) -> None:
        super().__init__()
        self._name = "Attribution"
        self.text = text
