"""The day's route as an offline HTML map, and the one writer of a route by file suffix."""

from __future__ import annotations

import html
from pathlib import Path

import folium
import geopandas as gpd
from branca.element import MacroElement
from jinja2 import Template

from gcrm.core import ValidationError
from gcrm.io import write_frame
from gcrm.maps.folium_layers import Attribution
from gcrm.maps.offline import render_offline
from gcrm.maps.style import BRANCH_COLOUR, OSM_ATTRIBUTION
from gcrm.routing import RoutePlan, route_gpx, route_table

__all__ = ["ROUTE_FORMATS", "build_route_map", "route_map_html", "write_route"]

#: What :func:`write_route` writes, by suffix.
ROUTE_FORMATS = (".xlsx", ".csv", ".gpx", ".html")
ROUTE_COLOUR = "#1f5fa8"


def build_route_map(plan: RoutePlan) -> folium.Map:
    """The legs along the roads, the start, and each stop numbered in visit order."""
    m = folium.Map(tiles=None, control_scale=True, maxZoom=19, minZoom=3)
    minx, miny, maxx, maxy = gpd.GeoSeries(
        [*plan.legs.geometry, *gpd.points_from_xy(plan.stops["lon"], plan.stops["lat"])]
        or gpd.points_from_xy([plan.start[0]], [plan.start[1]]),
        crs="EPSG:4326",
    ).total_bounds
    m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    if len(plan.legs):
        folium.GeoJson(
            plan.legs[["leg", "drive_time_s", "distance_m", "geometry"]].to_json(drop_id=True),
            name="Route",
            style_function=lambda f: {"color": ROUTE_COLOUR, "weight": 4, "opacity": 0.8},
            tooltip=folium.GeoJsonTooltip(
                fields=["leg", "drive_time_s", "distance_m"],
                aliases=["Leg", "Drive time (s)", "Distance (m)"],
            ),
        ).add_to(m)
    folium.CircleMarker(
        [plan.start[1], plan.start[0]],
        radius=9,
        color=BRANCH_COLOUR,
        fill=True,
        fill_opacity=1.0,
        tooltip=html.escape(f"Start: {plan.start_label}, {plan.start_time}"),
    ).add_to(m)
    stops = folium.FeatureGroup(name=f"Stops ({len(plan.stops)})")
    # At most 200 stops: one numbered marker each.
    for row in plan.stops.itertuples(index=False):
        label = html.escape(str(getattr(row, "name", "") or f"Stop {row.stop}"))
        folium.Marker(
            [row.lat, row.lon],
            icon=folium.DivIcon(
                html=(
                    f'<div style="background:{ROUTE_COLOUR};color:#fff;border-radius:50%;'
                    "width:22px;height:22px;line-height:22px;text-align:center;"
                    f'font:bold 11px sans-serif">{int(row.stop)}</div>'
                ),
                icon_size=(22, 22),
                icon_anchor=(11, 11),
            ),
            tooltip=f"{int(row.stop)}. {label}: {row.arrival}-{row.departure}",
        ).add_to(stops)
    stops.add_to(m)
    m.add_child(_Summary(plan))
    m.add_child(Attribution(OSM_ATTRIBUTION))
    folium.LayerControl(collapsed=True).add_to(m)
    return m


class _Summary(MacroElement):
    """A box with the route's totals (plain HTML: nothing fetched)."""

    def __init__(self, plan: RoutePlan) -> None:
        super().__init__()
        totals = plan.totals()
        text = (
            f"{totals['stops']} stops, {totals['drive_time_s'] / 60:.0f} min driving, "
            f"{totals['distance_m'] / 1000:.1f} km; {totals['start_time']}-{totals['end_time']}"
            + (f"; {totals['unserved']} not visited" if totals["unserved"] else "")
        )
        self._name = "RouteSummary"
        self._template = Template(
            '{% macro html(this, kwargs) %}<div style="position:fixed;top:10px;left:50px;'
            "z-index:9999;background:#fff;padding:6px 10px;border-radius:4px;"
            f'font:13px sans-serif">{html.escape(text)}</div>{{% endmacro %}}'
        )


def route_map_html(plan: RoutePlan) -> str:
    """The route map as one self-contained HTML page (Leaflet inlined, no network)."""
    return render_offline(build_route_map(plan))


def write_route(plan: RoutePlan, path: Path) -> Path:
    """Write ``plan`` by the suffix of ``path``: XLSX/CSV (visit order), GPX, HTML map.

    Raises
    ------
    ValidationError
        When the suffix is not one of :data:`ROUTE_FORMATS`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ROUTE_FORMATS:
        msg = f"path={str(path)!r}: a route is written as {', '.join(ROUTE_FORMATS)}; pick one"
        raise ValidationError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gpx":
        path.write_text(route_gpx(plan), encoding="utf-8")
    elif suffix == ".html":
        path.write_text(route_map_html(plan), encoding="utf-8")
    else:
        write_frame(route_table(plan), path, layer="route", argument="path")
    return path
