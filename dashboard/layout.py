"""Page layout and the small component builders the callbacks fill in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from dashboard import panels as p
from dashboard import view as v
from dashboard.cache import DashboardData
from gcrm.maps import Classes
from gcrm.maps.style import OSM_ATTRIBUTION

__all__ = [
    "ATTRIBUTION",
    "build_layout",
    "kpi_row",
    "legend",
    "point_legend",
    "selection_panel",
    "top_table",
]

ATTRIBUTION = OSM_ATTRIBUTION
MAP_STYLE = {"variable": "gcrm.areaStyle"}
EMPTY: dict[str, Any] = {"type": "FeatureCollection", "features": []}
#: Point layers and whether they are shown when the page opens.
POINT_LAYERS: dict[str, bool] = {"customers": True, "leads": False}


def _control(label: str, component: Any) -> html.Div:
    return html.Div([html.Label(label, className="control-label"), component], className="control")


def _dropdown(cid: str, options: list[dict[str, str]], value: str) -> dcc.Dropdown:
    return dcc.Dropdown(id=cid, options=options, value=value, clearable=False, searchable=False)


def sidebar(data: DashboardData, view: v.View) -> html.Aside:
    """Controls (level, measure, period, segment, classes) and the selection panel."""
    ds = data.cube
    return html.Aside(
        [
            html.H2("View", className="sidebar-title"),
            _control(
                "Area level", _dropdown("level", v.level_options(data.levels, ds), view["level"])
            ),
            _control("Measure", _dropdown("measure", p.measure_options(), "revenue")),
            _control("Period", _dropdown("period", p.period_options(ds), "all")),
            _control("Segment", _dropdown("segment", p.segment_options(ds), "all")),
            _control("Classes", _dropdown("scheme", p.scheme_options(), "quantiles")),
            _control(
                "Points (clustered)",
                dcc.Checklist(
                    id="point-layers",
                    options=[{"label": k.capitalize(), "value": k} for k in POINT_LAYERS],
                    value=[k for k, shown in POINT_LAYERS.items() if shown],
                    className="checklist",
                    labelStyle={"display": "flex", "alignItems": "center", "gap": "6px"},
                ),
            ),
            _control(
                "Colour customers by",
                dcc.RadioItems(
                    id="point-colour",
                    options=p.point_colour_options(),
                    value="none",
                    className="checklist",
                    labelStyle={"display": "flex", "alignItems": "center", "gap": "6px"},
                ),
            ),
            html.H2("Selection", className="sidebar-title"),
            html.Div(id="selection-panel", className="selection"),
            html.Div(
                [
                    html.Button("Drill down", id="drill-down", className="btn btn-primary"),
                    html.Button("Up one level", id="go-up", className="btn"),
                    html.Button("Clear", id="clear-selection", className="btn btn-ghost"),
                ],
                className="button-row",
            ),
            html.P(
                "Click an area on the map to select it; drill down to see its parts.",
                className="hint",
            ),
        ],
        className="sidebar",
    )


def _map(data: DashboardData, view: v.View) -> dl.Map:
    areas = dl.GeoJSON(
        id="areas",
        data=data.view_geometry(view),
        style=MAP_STYLE,
        hoverStyle={"variable": "gcrm.hoverStyle"},
        hideout={"colors": {}, "selected": None},
        zoomToBounds=True,
        attribution=ATTRIBUTION,
    )
    points = [
        dl.GeoJSON(
            id=kind,
            data=EMPTY,
            cluster=True,
            zoomToBoundsOnClick=True,
            superClusterOptions={"radius": 60, "maxZoom": 17},
            pointToLayer={"variable": "gcrm.pointToLayer"},
            clusterToLayer={"variable": "gcrm.clusterToLayer"},
            hideout=p.point_hideout("none") if kind == "customers" else {"kind": kind},
        )
        for kind in POINT_LAYERS
    ]
    return dl.Map(
        [
            areas,
            *points,
            dl.ScaleControl(position="bottomleft", imperial=False),
            dl.AttributionControl(prefix=f"Leaflet | {ATTRIBUTION}", position="bottomright"),
        ],
        id="map",
        center=[60.1675, 24.9400],
        zoom=13,
        zoomSnap=0.25,
        attributionControl=False,
        style={"height": "100%", "width": "100%"},
    )


def legend(classes: Classes, *, title: str, measure: str) -> list[Any]:
    """Legend children: a title and one swatch row per class."""
    rows = [
        html.Div(
            [html.Span(className="swatch", style={"backgroundColor": color}), html.Span(text)],
            className="legend-row",
        )
        for color, text in p.legend_items(classes, measure=measure)
    ]
    return [html.Div(title, id="legend-title", className="legend-title"), *rows]


def point_legend(colour_by: str) -> list[Any]:
    """Legend of the customer points: a title and one swatch row per colour."""
    rows = [
        html.Div(
            [html.Span(className="swatch dot", style={"backgroundColor": color}), html.Span(text)],
            className="legend-row",
        )
        for color, text in p.point_legend_items(colour_by)
    ]
    title = "Customers by geocode precision" if colour_by == "precision" else "Points"
    return [html.Div(title, id="point-legend-title", className="legend-title"), *rows]


def kpi_row(cards: Sequence[tuple[str, str, str]], *, scope: str) -> list[Any]:
    """KPI cards for the scope named ``scope``."""
    return [
        html.Div(
            [
                html.Div(label, className="kpi-label"),
                html.Div(value, id=f"kpi-{key}", className="kpi-value"),
                html.Div(scope, className="kpi-scope"),
            ],
            className="kpi card",
        )
        for key, label, value in cards
    ]


def top_table(
    rows: Sequence[dict[str, Any]], *, value_header: str, selected: str | None
) -> html.Table:
    """The top-areas table; the selected area's row is highlighted."""
    header = html.Tr(
        [html.Th("#"), html.Th("Area"), html.Th("Code"), html.Th(value_header), html.Th("Share")]
    )
    body = [
        html.Tr(
            [
                html.Td(r["rank"]),
                html.Td(r["name"]),
                html.Td(r["code"], className="muted"),
                html.Td(r["value"], className="num"),
                html.Td(r["share"], className="num muted"),
            ],
            className="selected" if r["area"] == selected else None,
        )
        for r in rows
    ]
    if not rows:
        body = [html.Tr(html.Td("No areas with data", colSpan=5, className="muted"))]
    return html.Table([html.Thead(header), html.Tbody(body)], className="table")


def selection_panel(crumbs: Sequence[tuple[str | None, str]], *, selected: str | None) -> list[Any]:
    """Breadcrumb from the region to the drilled-in area, and the selected area's name."""
    trail: list[Any] = []
    for i, (_, name) in enumerate(crumbs):
        if i:
            trail.append(html.Span("›", className="crumb-sep"))
        trail.append(html.Span(name, className="crumb"))
    return [
        html.Div(trail, id="breadcrumb", className="breadcrumb"),
        html.Div(selected or "No area selected", id="selection-name", className="selection-name"),
    ]


def build_layout(data: DashboardData) -> html.Div:
    """The whole page, opened on the coarsest level of the region."""
    view = v.initial_view(data.levels, data.cube)
    return html.Div(
        [
            dcc.Store(id="view", data=view),
            dcc.Store(id="geo-key", data={"level": view["level"], "parent": None}),
            html.Header(
                [
                    html.Div(
                        [
                            html.Span("g", className="logo-mark"),
                            html.Span("gcrm", className="logo-text"),
                        ],
                        className="logo",
                    ),
                    html.Div("Geographic CRM · Regional dashboard", className="header-subtitle"),
                    html.Div(data.region_name, className="header-region"),
                ],
                className="header",
            ),
            html.Div(
                [
                    sidebar(data, view),
                    html.Main(
                        [
                            html.Div(id="kpis", className="kpi-row"),
                            html.Div(
                                [
                                    _map(data, view),
                                    html.Div(id="legend", className="legend"),
                                    html.Div(id="point-legend", className="legend point-legend"),
                                ],
                                className="map-card card",
                            ),
                            html.Div(
                                [
                                    html.Div(
                                        [
                                            html.H3(id="chart-title", className="card-title"),
                                            dcc.Graph(id="chart", config={"displayModeBar": False}),
                                        ],
                                        className="card chart-card",
                                    ),
                                    html.Div(
                                        [
                                            html.H3(id="table-title", className="card-title"),
                                            html.Div(id="top-areas"),
                                        ],
                                        className="card table-card",
                                    ),
                                ],
                                className="panels",
                            ),
                        ],
                        className="main",
                    ),
                ],
                className="body",
            ),
            html.Footer(
                [
                    html.Span(f"Map data {ATTRIBUTION}. "),
                    html.Span(
                        "Districts, postcode areas and hexagons are derived; customers are synthetic."
                    ),
                ],
                className="footer",
            ),
        ],
        className="page",
    )
