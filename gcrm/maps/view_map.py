"""A view of areas as a standalone offline HTML map: the areas filled with given colours, a
legend, and a title block that says what the map shows (measure, period, filters, date).

The colours come from the caller (the dashboard's classes, say), so the page shows what the
caller showed; the page has no basemap tiles and inlines Leaflet (:mod:`gcrm.maps.offline`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import folium
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from gcrm.core import ValidationError
from gcrm.maps.folium_layers import Attribution, Legend, add_area_layer
from gcrm.maps.offline import render_offline
from gcrm.maps.region import MAX_ZOOM, MIN_ZOOM
from gcrm.maps.style import NO_DATA_COLOUR

__all__ = ["TitleBlock", "build_view_map", "render_view_html"]


class TitleBlock(MacroElement):
    """A box in a map corner with a heading and lines below it (plain text, escaped)."""

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>
.gcrm-title {background: rgba(255,255,255,0.94); padding: 8px 12px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 12px/1.45 sans-serif; max-width: 460px;}
.gcrm-title h3 {margin: 0 0 4px; font-size: 15px;}
.gcrm-title div {color: #444;}
</style>
{% endmacro %}
{% macro script(this, kwargs) %}
(function () {
    var box = L.control({position: {{ this.position|tojson }}});
    box.onAdd = function () {
        var div = L.DomUtil.create('div', 'gcrm-title');
        div.innerHTML = {{ this.html|tojson }};
        L.DomEvent.disableClickPropagation(div);
        return div;
    };
    box.addTo({{ this._parent.get_name() }});
})();
{% endmacro %}
"""
    )

    def __init__(self, lines: Sequence[str], *, position: str = "topright") -> None:
        super().__init__()
        self._name = "TitleBlock"
        self.position = position
        head, *rest = [str(line) for line in lines] or [""]
        self.html = f"<h3>{html.escape(head)}</h3>" + "".join(
            f"<div>{html.escape(line)}</div>" for line in rest
        )


def build_view_map(
    areas: gpd.GeoDataFrame,
    *,
    fill: Mapping[str, str],
    legend: Sequence[tuple[str, str]],
    title_lines: Sequence[str],
    legend_title: str = "",
    tooltip_fields: Sequence[tuple[str, str]] = (("name", "Area"),),
    highlight: str | None = None,
) -> folium.Map:
    """A folium map of ``areas`` filled by ``fill``, with a legend and a title block.

    Parameters
    ----------
    areas
        Areas in EPSG:4326 with a column ``area_id`` and the columns of ``tooltip_fields``.
    fill
        Fill colour by area id; an area without one is drawn as no data.
    legend
        ``(colour, label)`` rows of the legend.
    title_lines
        The title block: a heading, then one line each (filters, date of export).
    legend_title
        The legend's heading.
    tooltip_fields
        ``(column, label)`` pairs shown when the pointer is over an area.
    highlight
        An area id drawn with a thick outline.

    Returns
    -------
    folium.Map
        Render it with :func:`gcrm.maps.render_offline` (or :func:`render_view_html`).

    Raises
    ------
    ValidationError
        When ``areas`` is empty or lacks ``area_id`` or a tooltip column.
    """
    missing = [c for c in ("area_id", *(c for c, _ in tooltip_fields)) if c not in areas.columns]
    if areas.empty or missing:
        msg = (
            f"areas must hold at least one area and the columns {missing or ['area_id']}; "
            f"got {len(areas)} rows with columns {list(areas.columns)}"
        )
        raise ValidationError(msg)
    areas = areas.to_crs("EPSG:4326")
    # No basemap tiles: the page must open offline; the areas are the geographic context.
    m = folium.Map(tiles=None, control_scale=True, maxZoom=MAX_ZOOM, minZoom=MIN_ZOOM)
    minx, miny, maxx, maxy = areas.total_bounds
    m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    colours = pd.Series(
        [fill.get(str(a), NO_DATA_COLOUR) for a in areas["area_id"]], index=areas.index
    )
    add_area_layer(
        m,
        areas,
        fill=colours,
        tooltip_fields=tooltip_fields,
        name=legend_title or "Areas",
        highlight=highlight,
    )
    Legend([(legend_title, list(legend))]).add_to(m)
    TitleBlock(title_lines).add_to(m)
    Attribution().add_to(m)
    return m


def render_view_html(
    areas: gpd.GeoDataFrame,
    *,
    fill: Mapping[str, str],
    legend: Sequence[tuple[str, str]],
    title_lines: Sequence[str],
    legend_title: str = "",
    tooltip_fields: Sequence[tuple[str, str]] = (("name", "Area"),),
    highlight: str | None = None,
) -> str:
    """:func:`build_view_map` as one self-contained HTML page (no network reference), its
    ``<title>`` the first title line."""
    m = build_view_map(
        areas,
        fill=fill,
        legend=legend,
        title_lines=title_lines,
        legend_title=legend_title,
        tooltip_fields=tooltip_fields,
        highlight=highlight,
    )
    page = render_offline(m)
    heading = html.escape(str(title_lines[0])) if title_lines else "gcrm map"
    return page.replace("<head>", f"<head>\n<title>{heading}</title>", 1)
