"""Page layout and the small component builders the callbacks fill in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dash_leaflet as dl
import xarray as xr
from dash import dcc, html

from dashboard import panels as p
from dashboard import view as v
from dashboard.cache import DashboardData
from dashboard.campaign_layer import CAMPAIGN_OF, NO_CAMPAIGN, campaign_options
from dashboard.export import export_block
from dashboard.link import CONTROLS, HEAT_OF, MAP_LAYERS, POINT_LAYERS
from dashboard.risk import risk_panel
from gcrm.access import PERMISSIONS
from gcrm.cube import HOTSPOT_METHODS
from gcrm.maps import MAX_ZOOM, Classes
from gcrm.maps.style import NO_DATA_COLOUR, OSM_ATTRIBUTION
from gcrm.web import CSRF_FIELD, OWN_BASEMAP, Basemap

__all__ = [
    "ATTRIBUTION",
    "PAGES",
    "POINT_LAYERS",
    "Account",
    "account_badge",
    "build_layout",
    "catchment_legend",
    "heat_legend",
    "hotspot_legend",
    "kpi_row",
    "layout_skeleton",
    "legend",
    "notice_page",
    "page_header",
    "point_info",
    "point_legend",
    "selection_panel",
    "top_table",
]

ATTRIBUTION = OSM_ATTRIBUTION
MAP_STYLE = {"variable": "gcrm.areaStyle"}
EMPTY: dict[str, Any] = {"type": "FeatureCollection", "features": []}


def _control(label: str, component: Any) -> html.Div:
    return html.Div([html.Label(label, className="control-label"), component], className="control")


def _dropdown(cid: str, options: list[dict[str, str]], value: str) -> dcc.Dropdown:
    return dcc.Dropdown(id=cid, options=options, value=value, clearable=False, searchable=False)


@dataclass(frozen=True)
class Account:
    """Who is logged in, for the header: name, role, scope, and the session's CSRF token
    for the logout form (None: no login, ``GCRM_AUTH=off``)."""

    name: str
    role: str
    scope: str
    csrf_token: str | None


@dataclass(frozen=True)
class _Choices:
    """The options of the sidebar's dropdowns that depend on the user's cube."""

    levels: list[dict[str, str]]
    periods: list[dict[str, str]]
    segments: list[dict[str, str]]
    channels: list[dict[str, str]] = field(default_factory=list)
    branches: list[dict[str, str]] = field(default_factory=list)
    campaigns: list[dict[str, str]] = field(
        default_factory=lambda: [{"label": "None", "value": NO_CAMPAIGN}]
    )


def account_badge(account: Account | None) -> html.Div:
    """The header's account: name, role and scope, and a logout button (a form that posts
    the CSRF token to ``/logout``)."""
    if account is None:
        return html.Div(id="account", className="account")
    parts: list[Any] = [
        html.Span(account.name, id="account-name", className="account-name"),
        html.Span(account.role, id="account-role", className="account-role"),
        html.Span(account.scope, id="account-scope", className="account-scope"),
    ]
    if account.csrf_token is None:
        parts.append(html.Span("login off", className="account-role"))
    else:
        parts.append(
            html.Form(
                [
                    dcc.Input(type="hidden", name=CSRF_FIELD, value=account.csrf_token),
                    html.Button("Log out", id="logout", type="submit", className="btn btn-logout"),
                ],
                id="logout-form",
                method="post",
                action="/logout",
            )
        )
    return html.Div(parts, id="account", className="account")


def sidebar(view: v.View, choices: _Choices) -> html.Aside:
    """Controls (level, measure, period, segment, classes) and the selection panel."""
    return html.Aside(
        [
            html.H2("View", className="sidebar-title"),
            _control("Area level", _dropdown("level", choices.levels, view["level"])),
            _control("Measure", _dropdown("measure", p.measure_options(), CONTROLS["measure"])),
            _control("Period", _dropdown("period", choices.periods, CONTROLS["period"])),
            _control(
                "Compare with", _dropdown("compare", p.compare_options(), CONTROLS["compare"])
            ),
            _control("Segment", _dropdown("segment", choices.segments, CONTROLS["segment"])),
            # Orders only (revenue, orders); one of the two at a time (panels.order_filter).
            _control("Channel", _dropdown("channel", choices.channels, CONTROLS["channel"])),
            _control("Branch", _dropdown("branch", choices.branches, CONTROLS["branch"])),
            _control("Classes", _dropdown("scheme", p.scheme_options(), CONTROLS["scheme"])),
            _control(
                "Hot spots",
                html.Div(
                    [
                        dcc.Checklist(
                            id="hotspots",
                            options=[{"label": "Show hot spots of the measure", "value": "on"}],
                            value=["on"] if CONTROLS["hotspots"] else [],
                            className="checklist",
                            labelStyle={"display": "flex", "alignItems": "center", "gap": "6px"},
                        ),
                        # alpha 0.05 with the false discovery rate, 999 permutations: stated
                        # in the legend (gcrm hotspots sets them all).
                        _dropdown(
                            "hotspot-method",
                            [{"label": label, "value": m} for m, label in HOTSPOT_METHODS.items()],
                            CONTROLS["method"],
                        ),
                    ]
                ),
            ),
            _control(
                "Forecast",
                dcc.Checklist(
                    id="show-forecast",
                    options=[{"label": "Show forecast (next 12 months)", "value": "on"}],
                    value=["on"] if CONTROLS["forecast"] else [],
                    className="checklist",
                    labelStyle={"display": "flex", "alignItems": "center", "gap": "6px"},
                ),
            ),
            _control(
                "Campaign",
                html.Div(
                    [
                        # Colours the areas instead of the measure (dashboard.campaign_layer).
                        _dropdown("campaign", choices.campaigns, CONTROLS["campaign"]),
                        dcc.RadioItems(
                            id="campaign-by",
                            options=[{"label": t, "value": k} for k, t in CAMPAIGN_OF.items()],
                            value=CONTROLS["campaign_by"],
                            className="checklist",
                            inline=True,
                            labelStyle={
                                "display": "inline-flex",
                                "alignItems": "center",
                                "gap": "6px",
                            },
                        ),
                    ]
                ),
            ),
            _control(
                "Layers",
                dcc.Checklist(
                    id="map-layers",
                    options=[{"label": label, "value": k} for k, label in MAP_LAYERS.items()],
                    value=CONTROLS["layers"],
                    className="checklist",
                    labelStyle={"display": "flex", "alignItems": "center", "gap": "6px"},
                ),
            ),
            _control(
                "Heat of",
                dcc.RadioItems(
                    id="heat-of",
                    options=[{"label": label, "value": k} for k, label in HEAT_OF.items()],
                    value=CONTROLS["heat"],
                    className="checklist",
                    inline=True,
                    labelStyle={"display": "inline-flex", "alignItems": "center", "gap": "6px"},
                ),
            ),
            _control(
                "Points (clustered by view)",
                dcc.Checklist(
                    id="point-layers",
                    options=[{"label": k.capitalize(), "value": k} for k in POINT_LAYERS],
                    value=CONTROLS["points"],
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
            html.Div(
                "Click a cluster to zoom in, a point to see its name. Points follow the "
                "segment and period, not the channel or branch (those filter orders).",
                id="point-info",
                className="hint",
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
            export_block(),
        ],
        className="sidebar",
    )


#: The pane of the branch markers (gcrm.branchToLayer puts them there).
BRANCH_PANE = "gcrm-branches"


def _extra_layers() -> dict[str, dl.GeoJSON]:
    """The layers of the sidebar's "Layers", empty until shown: catchments and heat cells
    (translucent, not interactive: clicks go through to the areas), branch markers."""
    return {
        "catchments": dl.GeoJSON(
            id="catchments",
            data=EMPTY,
            style={"variable": "gcrm.catchmentStyle"},
            interactive=False,
        ),
        "heat": dl.GeoJSON(
            id="heat", data=EMPTY, style={"variable": "gcrm.heatStyle"}, interactive=False
        ),
        "branches": dl.GeoJSON(
            id="branches",
            data=EMPTY,
            pointToLayer={"variable": "gcrm.branchToLayer"},
            hideout={"pane": BRANCH_PANE},
        ),
    }


def _map(geometry: dict[str, Any], basemap: Basemap) -> dl.Map:
    # Under the areas: gcrm's own tiles of its roads, zones and buildings (no request leaves
    # the machine), or GCRM_BASEMAP_URL's.
    tiles = dl.TileLayer(
        url=basemap.url,
        attribution=basemap.attribution,
        maxZoom=MAX_ZOOM,
        maxNativeZoom=basemap.max_native_zoom,
    )
    areas = dl.GeoJSON(
        id="areas",
        data=geometry,
        style=MAP_STYLE,
        hoverStyle={"variable": "gcrm.hoverStyle"},
        onEachFeature={"variable": "gcrm.areaTooltip"},
        hideout={"colors": {}, "selected": None, "tooltips": {}},
        zoomToBounds=True,
        attribution=ATTRIBUTION,
    )
    # Clusters come counted from PostGIS for the map's view (gcrm.maps.sources); the browser
    # draws what it gets, clusters and single points alike, with gcrm.pointToLayer.
    points = [
        dl.GeoJSON(
            id=kind,
            data=EMPTY,
            pointToLayer={"variable": "gcrm.pointToLayer"},
            hideout=p.point_hideout("none") if kind == "customers" else {"kind": kind},
        )
        for kind in POINT_LAYERS
    ]
    layers = _extra_layers()
    return dl.Map(
        [
            tiles,
            # Panes keep the order whatever is redrawn last: areas, catchments, heat under
            # the points (Leaflet's overlay pane, 400), branches over the clusters (600).
            dl.Pane(areas, name="gcrm-areas", style={"zIndex": 380}),
            dl.Pane(layers["catchments"], name="gcrm-catchments", style={"zIndex": 385}),
            dl.Pane(layers["heat"], name="gcrm-heat", style={"zIndex": 390}),
            *points,
            dl.Pane(layers["branches"], name=BRANCH_PANE, style={"zIndex": 620}),
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


def legend(
    classes: Classes,
    *,
    title: str,
    measure: str,
    ds: xr.Dataset | None = None,
    note: str | None = None,
) -> list[Any]:
    """Legend children: a title, one swatch row per class, and a ``note`` if any (why a
    comparison is not shown, say). ``measure="change"`` labels classes as percentages."""
    items = (
        [*classes.legend(unit="share"), (NO_DATA_COLOUR, "no data")]
        if measure == "change"
        else p.legend_items(classes, measure=measure, ds=ds)
    )
    return _legend_box(title, items, note=note)


def hotspot_legend(title: str, rows: Sequence[tuple[str, str]], *, method: str) -> list[Any]:
    """Legend children of the hot spot layer: a title, one row per class, and the method,
    alpha and correction (:func:`dashboard.panels.hotspot_legend`)."""
    return _legend_box(title, rows, note=method)


def _legend_box(
    title: str, items: Sequence[tuple[str, str]], *, note: str | None, prefix: str = "legend"
) -> list[Any]:
    rows = [
        html.Div(
            [html.Span(className="swatch", style={"backgroundColor": color}), html.Span(text)],
            className="legend-row",
        )
        for color, text in items
    ]
    notes = [html.Div(note, id=f"{prefix}-note", className="legend-note")] if note else []
    return [html.Div(title, id=f"{prefix}-title", className="legend-title"), *rows, *notes]


def heat_legend(heat: Mapping[str, Any]) -> list[Any]:
    """Legend of the heat layer (:func:`gcrm.maps.heat_in_view`): its title (what a cell
    counts and its size) and one swatch row per class."""
    rows = [(str(colour), str(text)) for colour, text in heat.get("legend", [])]
    if not rows:
        return [html.Div("Heat: no customer in view", className="legend-title")]
    return _legend_box(str(heat["title"]), rows, note=None, prefix="heat")


def catchment_legend(catchments: Mapping[str, Any] | None, *, note: str | None = None) -> list[Any]:
    """Legend of the catchments (:func:`gcrm.maps.catchment_geojson`): one row per drive
    time; or only ``note`` (no road graph: how to import one)."""
    rows = [(str(c), str(t)) for c, t in (catchments or {}).get("legend", [])]
    return _legend_box("Drive time to a branch", rows, note=note, prefix="catchment")


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


def point_info(kind: str, name: str, point_id: str) -> list[Any]:
    """What the sidebar says of a clicked point: its name (text, never markup) and id."""
    label = "Customer" if kind == "customers" else "Lead"
    return [
        html.Span(f"{label} ", className="muted"),
        html.Strong(name, id="point-name"),
        html.Span(f" ({point_id})", className="muted"),
    ]


def kpi_row(
    cards: Sequence[tuple[str, str, str]],
    *,
    scope: str,
    base: Mapping[str, str] | None = None,
    note: str | None = None,
) -> list[Any]:
    """KPI cards for the scope named ``scope``; ``base`` gives a card its base period's
    figure (e.g. "2024-Q2: €1,140"), ``note`` a line after the cards (why there is no
    comparison, say)."""
    base = base or {}
    row: list[Any] = [
        html.Div(
            [
                html.Div(label, className="kpi-label"),
                html.Div(value, id=f"kpi-{key}", className="kpi-value"),
                *(
                    [html.Div(base[key], id=f"kpi-base-{key}", className="kpi-base")]
                    if key in base
                    else []
                ),
                html.Div(scope, className="kpi-scope"),
            ],
            className="kpi card",
        )
        for key, label, value in cards
    ]
    if note:
        row.append(html.Div(note, id="compare-note", className="kpi card compare-note"))
    return row


def top_table(
    rows: Sequence[dict[str, Any]],
    *,
    value_header: str,
    selected: str | None,
    base_header: str | None = None,
) -> html.Table:
    """The top-areas table; the selected area's row is highlighted. Rows with ``base`` and
    ``change`` (a comparison, :func:`dashboard.panels.table_rows`) get those two columns,
    the first headed ``base_header``."""
    compared = bool(rows) and "base" in rows[0]
    extra = [html.Th(base_header or "Base"), html.Th("Change")] if compared else []
    header = html.Tr(
        [
            html.Th("#"),
            html.Th("Area"),
            html.Th("Code"),
            html.Th(value_header),
            html.Th("Share"),
            *extra,
        ]
    )
    body = [
        html.Tr(
            [
                html.Td(r["rank"]),
                html.Td(r["name"]),
                html.Td(r["code"], className="muted"),
                html.Td(r["value"], className="num"),
                html.Td(r["share"], className="num muted"),
                *(
                    [html.Td(r["base"], className="num"), html.Td(r["change"], className="num")]
                    if compared
                    else []
                ),
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
    for i, (area, name) in enumerate(crumbs):
        if i:
            trail.append(html.Span("›", className="crumb-sep"))
        # Each step goes back to that area's parts (the region's: the top level).
        trail.append(html.Button(name, id={"type": "crumb", "area": area or ""}, className="crumb"))
    return [
        html.Div(trail, id="breadcrumb", className="breadcrumb"),
        html.Div(selected or "No area selected", id="selection-name", className="selection-name"),
    ]


def build_layout(
    data: DashboardData, *, account: Account | None = None, basemap: Basemap = OWN_BASEMAP
) -> html.Div:
    """The whole page of ``data``'s scope, opened on the coarsest level of the region, over
    ``basemap`` (gcrm's own tiles by default; :func:`gcrm.web.basemap_of` the settings')."""
    view = v.initial_view(data.levels, data.cube)
    choices = _Choices(
        levels=v.level_options(data.levels, data.cube),
        periods=p.period_options(data.cube),
        segments=p.segment_options(data.cube),
        channels=p.channel_options(data.cube),
        branches=p.branch_options(data.cube),
        campaigns=campaign_options(data.campaigns()),
    )
    return _page(
        view,
        choices,
        geometry=data.view_geometry(view),
        region_name=data.region_name,
        account=account,
        basemap=basemap,
    )


def layout_skeleton() -> html.Div:
    """The page's components with no data: what Dash validates callbacks against and sends
    to every browser (``validation_layout``), so it must hold nobody's areas or figures."""
    return _page(
        v.view_for_level(""), _Choices([], [], []), geometry=EMPTY, region_name="", account=None
    )


def notice_page(
    message: str, *, region_name: str, account: Account | None, page: str = "/"
) -> html.Div:
    """A page with the header and one message instead of the dashboard (e.g. a scope with no
    data yet); it holds none of the controls, so no callback runs. ``page``: the path of the
    page it stands for (its link is marked in the header)."""
    return html.Div(
        [
            _header(region_name, account, page=page),
            html.Main(
                html.Div(message, id="notice", className="card notice"), className="notice-main"
            ),
        ],
        className="page",
    )


#: The app's pages: path -> the header's link text.
PAGES = {"/": "Regional dashboard", "/prospecting": "Prospecting", "/planning": "Planning"}
#: Pages whose link shows only to roles with a permission: path -> permission.
PAGE_PERMISSIONS = {"/planning": "territory_reports"}


def _linked(path: str, account: Account | None) -> bool:
    permission = PAGE_PERMISSIONS.get(path)
    if permission is None:
        return True
    return account is not None and account.role in PERMISSIONS[permission]


def _nav(page: str, account: Account | None = None) -> html.Nav:
    # Plain links, not dcc.Link: each page is its own layout, read anew for its path.
    return html.Nav(
        [
            html.A(
                label,
                href=path,
                id=f"nav-{path.strip('/') or 'dashboard'}",
                className="nav-link current" if path == page else "nav-link",
            )
            for path, label in PAGES.items()
            if _linked(path, account)
        ],
        className="header-nav",
    )


def page_header(region_name: str, account: Account | None, *, page: str = "/") -> html.Header:
    """The header of every page: logo, the pages' links (``page`` the current one's path),
    the region's name and the account."""
    return _header(region_name, account, page=page)


def _header(region_name: str, account: Account | None, *, page: str = "/") -> html.Header:
    return html.Header(
        [
            html.Div(
                [
                    html.Span("g", className="logo-mark"),
                    html.Span("gcrm", className="logo-text"),
                ],
                className="logo",
            ),
            html.Div("Geographic CRM", className="header-subtitle"),
            _nav(page, account),
            html.Div(region_name, id="header-region", className="header-region"),
            account_badge(account),
        ],
        className="header",
    )


def _page(
    view: v.View,
    choices: _Choices,
    *,
    geometry: dict[str, Any],
    region_name: str,
    account: Account | None,
    basemap: Basemap = OWN_BASEMAP,
) -> html.Div:
    return html.Div(
        [
            # The view in the link: read once as the page opens (search), written back with
            # history.replaceState (gcrm.js), so the link always shows the view.
            dcc.Location(id="url", refresh=False),
            dcc.Store(id="link"),
            dcc.Store(id="link-written"),
            dcc.Store(id="view", data=view),
            _header(region_name, account),
            html.Div(
                [
                    sidebar(view, choices),
                    html.Main(
                        [
                            html.Div(id="kpis", className="kpi-row"),
                            html.Div(
                                [
                                    _map(geometry, basemap),
                                    html.Div(id="legend", className="legend"),
                                    html.Div(id="point-legend", className="legend point-legend"),
                                    html.Div(
                                        [
                                            html.Div(id="heat-legend"),
                                            html.Div(id="catchment-legend"),
                                        ],
                                        className="layer-legends",
                                    ),
                                ],
                                className="map-card card",
                            ),
                            html.Div(
                                [
                                    html.Div(
                                        [
                                            html.H3(id="chart-title", className="card-title"),
                                            dcc.Graph(id="chart", config={"displayModeBar": False}),
                                            html.Div(id="chart-note", className="chart-note"),
                                        ],
                                        className="card chart-card",
                                    ),
                                    html.Div(
                                        [
                                            # Two panels, one shown (dashboard.risk).
                                            dcc.RadioItems(
                                                id="panel-tab",
                                                options=[
                                                    {"label": "Top areas", "value": "areas"},
                                                    {"label": "Customers at risk", "value": "risk"},
                                                ],
                                                value="areas",
                                                inline=True,
                                                className="panel-tabs",
                                            ),
                                            html.Div(
                                                [
                                                    html.H3(
                                                        id="table-title", className="card-title"
                                                    ),
                                                    html.Div(id="top-areas"),
                                                ],
                                                id="top-areas-panel",
                                            ),
                                            risk_panel(),
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
