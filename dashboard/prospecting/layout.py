"""The Prospecting page: where to search from and how, the filters, the ranked leads, the
map, the day's route and the exports. Every id starts with ``pr-`` (the dashboard's page
shares the app's callbacks and validation layout)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from dashboard.layout import ATTRIBUTION, Account, page_header
from dashboard.prospecting import model as pm
from gcrm.core import ZONE_CLASSES
from gcrm.maps import MAX_ZOOM
from gcrm.web import OWN_BASEMAP, Basemap

__all__ = [
    "PATH",
    "Choices",
    "lead_table",
    "prospecting_page",
    "prospecting_skeleton",
    "route_list",
]

#: Where the page is served.
PATH = "/prospecting"
EMPTY = pm.feature_collection()
_LABELS = {"display": "flex", "alignItems": "center", "gap": "6px"}
#: The table's columns that hold numbers (right-aligned).
_NUMERIC = {"rank", "drive_min", "distance_m", "score", "percentile"}


@dataclass(frozen=True)
class Choices:
    """The options of the page's lists that come from the user's data."""

    branches: list[dict[str, str]] = field(default_factory=list)
    categories: list[dict[str, str]] = field(default_factory=list)
    areas: list[dict[str, str]] = field(default_factory=list)


def _control(label: str, component: Any, *, cid: str | None = None) -> html.Div:
    children = [html.Label(label, className="control-label"), component]
    if cid is None:
        return html.Div(children, className="control")
    return html.Div(children, className="control", id=cid)


def _radio(cid: str, options: dict[str, str], value: str) -> dcc.RadioItems:
    return dcc.RadioItems(
        id=cid,
        options=[{"label": label, "value": key} for key, label in options.items()],
        value=value,
        className="checklist",
        labelStyle=_LABELS,
    )


def _origin_controls(choices: Choices) -> list[Any]:
    return [
        html.H2("Origin", className="sidebar-title"),
        _radio("pr-origin-kind", pm.ORIGIN_KINDS, "address"),
        _control(
            "Address or customer id",
            dcc.Input(
                id="pr-origin-text",
                type="text",
                placeholder="e.g. Mannerheimintie 10, Helsinki",
                debounce=True,
                className="text-input",
            ),
            cid="pr-origin-text-control",
        ),
        _control(
            "Branch",
            dcc.Dropdown(id="pr-branch", options=choices.branches, clearable=False),
            cid="pr-branch-control",
        ),
        html.Div(id="pr-click-info", className="hint"),
    ]


def _mode_controls(choices: Choices) -> list[Any]:
    return [
        html.H2("Search", className="sidebar-title"),
        _radio("pr-mode", pm.MODES, "radius"),
        _control(
            "Radius (m)",
            dcc.Input(id="pr-radius", type="number", min=1, value=pm.DEFAULT_RADIUS_M),
            cid="pr-radius-control",
        ),
        _control(
            "Drive time (minutes)",
            dcc.Input(id="pr-minutes", type="number", min=0.5, step=0.5, value=pm.DEFAULT_MINUTES),
            cid="pr-minutes-control",
        ),
        _control(
            "Area",
            dcc.Dropdown(id="pr-area", options=choices.areas, placeholder="level:code"),
            cid="pr-area-control",
        ),
        html.P(
            "Draw a polygon with the tool at the map's top right; the search runs inside it.",
            id="pr-polygon-hint",
            className="hint",
        ),
    ]


def _filter_controls(choices: Choices) -> list[Any]:
    return [
        html.H2("Filters", className="sidebar-title"),
        _control(
            "Category",
            dcc.Dropdown(id="pr-categories", options=choices.categories, multi=True),
        ),
        _control(
            "Zoning",
            dcc.Dropdown(
                id="pr-zoning",
                options=[{"label": z, "value": z} for z in ZONE_CLASSES],
                multi=True,
            ),
        ),
        _control(
            "Min score (0-1)",
            html.Div(
                [
                    dcc.Input(id="pr-min-score", type="number", min=0, max=1, step=0.05),
                ]
            ),
        ),
        _control(
            "Already customers",
            html.Div(
                [
                    dcc.RadioItems(
                        id="pr-customers",
                        options=[
                            {"label": label, "value": key}
                            for key, label in pm.CUSTOMER_CHOICES.items()
                        ],
                        value=pm.DEFAULT_CUSTOMERS,
                        className="checklist",
                        labelStyle=_LABELS,
                    ),
                ]
            ),
        ),
        html.Div(
            html.Button("Find leads", id="pr-search-button", className="btn btn-primary"),
            className="button-row",
        ),
        html.Div(id="pr-message", className="hint error-text"),
    ]


def _route_controls() -> list[Any]:
    return [
        html.H2("The day's route", className="sidebar-title"),
        _control("Start at", dcc.Input(id="pr-start-time", type="text", value="08:00")),
        _control("Day (hours)", dcc.Input(id="pr-day-hours", type="number", min=1, value=8)),
        html.Div(
            html.Button("Plan route", id="pr-plan-button", className="btn btn-primary"),
            className="button-row",
        ),
        html.P(
            "Select leads in the table, then plan: the route starts at the origin.",
            className="hint",
        ),
        html.H2("Export", className="sidebar-title"),
        html.Div(
            [
                html.Button("Leads CSV", id="pr-export-csv", className="btn"),
                html.Button("Leads XLSX", id="pr-export-xlsx", className="btn"),
                html.Button("Route GPX", id="pr-export-gpx", className="btn"),
            ],
            className="button-row",
        ),
        html.Div(id="pr-export-status", className="hint"),
        dcc.Download(id="pr-download"),
    ]


def _map(basemap: Basemap) -> dl.Map:
    return dl.Map(
        [
            dl.TileLayer(
                url=basemap.url,
                attribution=basemap.attribution,
                maxZoom=MAX_ZOOM,
                maxNativeZoom=basemap.max_native_zoom,
            ),
            dl.GeoJSON(
                id="pr-reach",
                data=EMPTY,
                style={"variable": "gcrmProspecting.reachStyle"},
                interactive=False,
            ),
            dl.GeoJSON(
                id="pr-route-line",
                data=EMPTY,
                style={"variable": "gcrmProspecting.routeStyle"},
                interactive=False,
            ),
            dl.GeoJSON(
                id="pr-leads",
                data=EMPTY,
                pointToLayer={"variable": "gcrmProspecting.leadToLayer"},
                zoomToBounds=True,
            ),
            dl.GeoJSON(
                id="pr-origin",
                data=EMPTY,
                pointToLayer={"variable": "gcrmProspecting.originToLayer"},
                interactive=False,
            ),
            dl.FeatureGroup(
                dl.EditControl(
                    id="pr-draw",
                    position="topright",
                    draw={
                        "polygon": True,
                        "rectangle": True,
                        "polyline": False,
                        "circle": False,
                        "marker": False,
                        "circlemarker": False,
                    },
                    edit={"edit": False},
                )
            ),
            dl.ScaleControl(position="bottomleft", imperial=False),
            dl.AttributionControl(prefix=f"Leaflet | {ATTRIBUTION}", position="bottomright"),
        ],
        id="pr-map",
        center=[60.1675, 24.9400],
        zoom=14,
        zoomSnap=0.25,
        attributionControl=False,
        style={"height": "100%", "width": "100%"},
    )


def lead_table(
    columns: Sequence[Mapping[str, str]],
    rows: Sequence[Mapping[str, Any]],
    *,
    sort: Mapping[str, Any] | None = None,
    selected: Sequence[str] = (),
) -> html.Table:
    """The leads as a table: a header button per column sorts by it (again: the other way),
    a click on a row selects it or lets it go (the box in its first cell says which)."""
    by, descending = (sort or {}).get("by"), bool((sort or {}).get("desc"))
    chosen = set(selected)
    header = html.Tr(
        [
            html.Th(""),
            *(
                html.Th(
                    html.Button(
                        c["name"] + ((" ▼" if descending else " ▲") if by == c["id"] else ""),
                        id={"type": "pr-sort", "col": c["id"]},
                        className="th-sort",
                    )
                )
                for c in columns
            ),
        ]
    )
    # Up to model.MAX_RESULTS rows of a few cells each: plain components, built in a loop.
    body = [
        html.Tr(
            [
                html.Td("☑" if r["id"] in chosen else "☐", className="pr-check"),
                *(
                    html.Td(
                        "" if r.get(c["id"]) is None else r[c["id"]],
                        className="num" if c["id"] in _NUMERIC else None,
                    )
                    for c in columns
                ),
            ],
            id={"type": "pr-row", "lead": r["id"]},
            className="pr-row selected" if r["id"] in chosen else "pr-row",
            **{"data-lead": r["id"]},
        )
        for r in rows
    ]
    return html.Table([html.Thead(header), html.Tbody(body)], className="table pr-lead-table")


def route_list(rows: Sequence[dict[str, Any]]) -> html.Ol:
    """The planned visits in order: arrival time, name and drive time from the stop before."""
    return html.Ol(
        [
            html.Li(
                [
                    html.Span(r["arrival"], className="route-arrival"),
                    html.Span(r["name"] or r["id"], className="route-name"),
                    html.Span(f"{r['drive_min']} min", className="muted route-drive"),
                ],
                className="route-stop",
                **{"data-lead": r["id"]},
            )
            for r in rows
        ],
        id="pr-route-stops",
        className="route-list",
    )


def _page(
    choices: Choices,
    *,
    region_name: str,
    account: Account | None,
    basemap: Basemap,
    header: bool = True,
) -> html.Div:
    sidebar = html.Aside(
        [
            *_origin_controls(choices),
            *_mode_controls(choices),
            *_filter_controls(choices),
            *_route_controls(),
        ],
        className="sidebar",
    )
    main = html.Main(
        [
            html.Div(
                [
                    html.Div(id="pr-summary", className="pr-summary"),
                    html.Div(id="pr-score-note", className="hint"),
                ],
                className="card pr-status",
            ),
            html.Div(_map(basemap), className="map-card card"),
            html.Div(
                [
                    html.Div(
                        [
                            html.H3("Leads", className="card-title"),
                            html.P(
                                "Click a heading to sort, a row to select it for the route.",
                                className="hint",
                            ),
                            html.Div(id="pr-table", className="pr-table-scroll"),
                            html.Div(
                                [
                                    html.Button("‹ Previous", id="pr-page-prev", className="btn"),
                                    html.Span(id="pr-page-info", className="hint"),
                                    html.Button("Next ›", id="pr-page-next", className="btn"),
                                ],
                                className="button-row pr-pager",
                            ),
                        ],
                        className="card table-card pr-table-card",
                    ),
                    html.Div(
                        [
                            html.H3("Route", className="card-title"),
                            html.Div(id="pr-route-summary", className="hint"),
                            html.Div(id="pr-route"),
                        ],
                        className="card pr-route-card",
                    ),
                ],
                className="pr-panels",
            ),
        ],
        className="main",
    )
    return html.Div(
        [
            dcc.Location(id="pr-url", refresh=False),
            dcc.Store(id="pr-search"),
            dcc.Store(id="pr-rows"),
            dcc.Store(id="pr-sort", data={"by": None, "desc": False}),
            dcc.Store(id="pr-selected", data=[]),
            dcc.Store(id="pr-page", data=0),
            dcc.Store(id="pr-click"),
            dcc.Store(id="pr-plan"),
            dcc.Store(id="pr-link"),
            dcc.Store(id="pr-link-written"),
            *([page_header(region_name, account, page=PATH)] if header else []),
            html.Div([sidebar, main], className="body"),
            html.Footer(
                html.Span(f"Map data {ATTRIBUTION}. Leads from the lists imported into gcrm."),
                className="footer",
            ),
        ],
        className="page",
        id="pr-page",
    )


def prospecting_page(
    choices: Choices,
    *,
    region_name: str,
    account: Account | None = None,
    basemap: Basemap = OWN_BASEMAP,
) -> html.Div:
    """The Prospecting page for one user: their branches, categories and areas."""
    return _page(choices, region_name=region_name, account=account, basemap=basemap)


def prospecting_skeleton() -> html.Div:
    """The page's components with no data, for the app's validation layout (without the
    header, whose ids the dashboard's skeleton holds already)."""
    return _page(Choices(), region_name="", account=None, basemap=OWN_BASEMAP, header=False)
