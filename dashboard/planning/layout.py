"""The Planning page: pick or design a territory plan, see it on the map with its balance
chart and table, move units between territories (what-if), save the edit as a new version,
compare two plans, publish a plan and download its report by territory. Every id starts
with ``pl-``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from dashboard.layout import ATTRIBUTION, Account, page_header
from dashboard.planning import model as pm
from gcrm.maps import MAX_ZOOM
from gcrm.web import OWN_BASEMAP, Basemap

__all__ = [
    "PATH",
    "PlanningChoices",
    "diff_tables",
    "planning_page",
    "planning_skeleton",
    "territory_table",
]

#: Where the page is served.
PATH = "/planning"
EMPTY = {"type": "FeatureCollection", "features": []}
_HIDE = {"display": "none"}
_LABELS = {"display": "flex", "alignItems": "center", "gap": "6px"}
#: Why the report buttons are disabled.
REPORT_HINT = "Publish the plan to report by territory."


@dataclass(frozen=True)
class PlanningChoices:
    """The options of the page's lists that come from the database, and whether the user
    may design and save plans (``plan_territories``)."""

    plans: list[dict[str, Any]] = field(default_factory=list)
    levels: list[dict[str, str]] = field(default_factory=list)
    can_plan: bool = False


def _control(label: str, component: Any) -> html.Div:
    return html.Div([html.Label(label, className="control-label"), component], className="control")


def _plan_controls(choices: PlanningChoices) -> list[Any]:
    return [
        html.H2("Plan", className="sidebar-title"),
        _control(
            "Plan",
            dcc.Dropdown(id="pl-plan", options=choices.plans, placeholder="Pick a stored plan"),
        ),
        html.Div(id="pl-published", className="hint"),
        _control(
            "Compare with",
            dcc.Dropdown(id="pl-compare", options=choices.plans, placeholder="A second plan"),
        ),
    ]


def _publish_controls(choices: PlanningChoices) -> list[Any]:
    """Publish (roles that may plan; confirmed first) and the report of the published plan
    (every role that reads plans)."""
    return [
        html.H2("Publish and report", className="sidebar-title"),
        html.Div(
            dcc.ConfirmDialogProvider(
                html.Button("Publish", id="pl-publish-button", className="btn btn-primary"),
                id="pl-publish",
                message=pm.publish_message(None),
            ),
            id="pl-publish-controls",
            className="button-row",
            style=None if choices.can_plan else _HIDE,
        ),
        dcc.Loading(html.Div(id="pl-publish-status", className="hint"), type="dot"),
        html.Div(
            [
                html.Button("Report (PDF)", id="pl-report-pdf", className="btn", disabled=True),
                html.Button("Report (XLSX)", id="pl-report-xlsx", className="btn", disabled=True),
            ],
            className="button-row",
        ),
        html.Div(REPORT_HINT, id="pl-report-hint", className="hint"),
        dcc.Loading(html.Div(id="pl-report-status", className="hint"), type="dot"),
        dcc.Download(id="pl-report-download"),
    ]


def _design_controls(choices: PlanningChoices) -> html.Div:
    level = choices.levels[-1]["value"] if choices.levels else None
    return html.Div(
        [
            html.H2("Design a new plan", className="sidebar-title"),
            _control("Name", dcc.Input(id="pl-name", type="text", className="text-input")),
            _control(
                "Level",
                dcc.Dropdown(id="pl-level", options=choices.levels, value=level, clearable=False),
            ),
            _control("Territories (k)", dcc.Input(id="pl-k", type="number", min=1, value=10)),
            _control(
                "Balance",
                dcc.Checklist(
                    id="pl-criteria",
                    options=[{"label": label, "value": key} for key, label in pm.CRITERIA.items()],
                    value=pm.DEFAULT_BALANCE,
                    className="checklist",
                    labelStyle=_LABELS,
                ),
            ),
            _control("Seed", dcc.Input(id="pl-seed", type="number", min=0, value=0)),
            html.Div(
                html.Button("Design and save", id="pl-design-button", className="btn btn-primary"),
                className="button-row",
            ),
            dcc.Loading(html.Div(id="pl-design-status", className="hint"), type="dot"),
        ],
        id="pl-design",
        style=None if choices.can_plan else _HIDE,
    )


def _edit_controls(choices: PlanningChoices) -> list[Any]:
    return [
        html.H2("What if", className="sidebar-title"),
        _control(
            "Move clicked units to",
            dcc.Dropdown(
                id="pl-target", options=[], placeholder="Target territory", clearable=False
            ),
        ),
        html.P(
            "Choose a territory (or click its row in the table), then click units on the map.",
            className="hint",
        ),
        html.Div(
            [
                html.Button("Undo", id="pl-undo", className="btn"),
                html.Span(id="pl-moves-info", className="hint"),
            ],
            className="button-row",
        ),
        html.Div(
            [
                _control(
                    "Save as (name)",
                    dcc.Input(
                        id="pl-save-name",
                        type="text",
                        placeholder="the plan's name",
                        className="text-input",
                    ),
                ),
                html.Div(
                    html.Button("Save as new version", id="pl-save", className="btn btn-primary"),
                    className="button-row",
                ),
            ],
            id="pl-save-controls",
            style=None if choices.can_plan else _HIDE,
        ),
        html.Div(id="pl-edit-status", className="hint"),
        html.Div(id="pl-message", className="hint error-text"),
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
                id="pl-units",
                data=EMPTY,
                style={"variable": "gcrmPlanning.unitStyle"},
                onEachFeature={"variable": "gcrmPlanning.unitTooltip"},
                hideout=pm.unit_hideout([], {}),
                zoomToBounds=True,
            ),
            dl.GeoJSON(
                id="pl-outlines",
                data=EMPTY,
                style={"variable": "gcrmPlanning.outlineStyle"},
                interactive=False,
            ),
            dl.GeoJSON(
                id="pl-diff-units",
                data=EMPTY,
                style={"variable": "gcrmPlanning.diffStyle"},
                interactive=False,
            ),
            dl.ScaleControl(position="bottomleft", imperial=False),
            dl.AttributionControl(prefix=f"Leaflet | {ATTRIBUTION}", position="bottomright"),
        ],
        id="pl-map",
        center=[60.1675, 24.9400],
        zoom=10,
        zoomSnap=0.25,
        attributionControl=False,
        style={"height": "100%", "width": "100%"},
    )


def territory_table(
    rows: Sequence[Mapping[str, Any]], *, criteria: Sequence[str], target: int | None
) -> html.Table:
    """The territories: colour, number, name, rep, units, each criterion's total and
    deviation, Polsby-Popper, contiguous (a territory in pieces in red). A click on a row
    makes its territory the target of the next moves."""
    heads = ["", "Territory", "Name", "Rep", "Units"]
    for c in criteria:
        heads += [pm.CRITERIA.get(c, c), f"{pm.CRITERIA.get(c, c)} ±%"]
    heads += ["Polsby-Popper", "Moment of inertia", "Contiguous"]
    body = []
    # k rows (tens): plain components built in a loop.
    for r in rows:
        cells = [
            html.Td(html.Span(className="pl-swatch", style={"background": r["colour"]})),
            html.Td(r["territory"], className="num"),
            html.Td(r["name"]),
            html.Td(r["rep"]),
            html.Td(r["units"], className="num pl-units-count"),
        ]
        for c in criteria:
            deviation = r.get(f"{c}_deviation")
            outside = deviation is not None and abs(deviation) > 100 * pm.BAND
            cells += [
                html.Td(f"{r[c]:,.0f}" if r.get(c) is not None else "", className="num"),
                html.Td(
                    "" if deviation is None else f"{deviation:+.1f}",
                    className="num pl-outside" if outside else "num",
                ),
            ]
        cells += [
            html.Td(r["polsby_popper"], className="num"),
            html.Td(r.get("moment_of_inertia"), className="num"),
            html.Td(
                "yes" if r["contiguous"] else "no",
                className="pl-contiguous" if r["contiguous"] else "pl-contiguous pl-bad",
            ),
        ]
        chosen = target is not None and int(target) == r["territory"]
        data: dict[str, Any] = {"data-territory": str(r["territory"])}
        body.append(
            html.Tr(
                cells,
                id={"type": "pl-row", "territory": r["territory"]},
                className="pl-row target" if chosen else "pl-row",
                **data,
            )
        )
    header = html.Tr([html.Th(h) for h in heads])
    return html.Table([html.Thead(header), html.Tbody(body)], className="table pl-table")


def _data_code(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"data-code": str(row["code"])} if "code" in row else {}


def _simple_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, cls: str) -> Any:
    if not rows:
        return html.P("No unit changes territory.", className="hint")
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(c.capitalize()) for c in columns])),
            html.Tbody(
                [
                    html.Tr(
                        [html.Td("" if r.get(c) is None else r[c]) for c in columns],
                        **_data_code(r),
                    )
                    for r in rows
                ]
            ),
        ],
        className=f"table {cls}",
    )


def diff_tables(
    flows: Sequence[Mapping[str, Any]], moved: Sequence[Mapping[str, Any]]
) -> list[Any]:
    """The comparison: flows (from -> to with units, customers, revenue) and the moved units."""
    flow_columns = [
        c for c in ("from", "to", "units", "customers", "revenue") if not flows or c in flows[0]
    ]
    moved_columns = [
        c
        for c in ("code", "name", "from", "to", "customers", "revenue")
        if not moved or c in moved[0]
    ]
    return [
        html.H4("Flows", className="card-subtitle"),
        _simple_table(flows, flow_columns, cls="pl-flows"),
        html.H4("Moved units", className="card-subtitle"),
        _simple_table(moved, moved_columns, cls="pl-moved"),
    ]


def _page(
    choices: PlanningChoices,
    *,
    region_name: str,
    account: Account | None,
    basemap: Basemap,
    header: bool = True,
) -> html.Div:
    sidebar = html.Aside(
        [
            *_plan_controls(choices),
            *_publish_controls(choices),
            _design_controls(choices),
            *_edit_controls(choices),
        ],
        className="sidebar",
    )
    main = html.Main(
        [
            html.Div(html.Div(id="pl-summary", className="pl-summary"), className="card pl-status"),
            html.Div(_map(basemap), className="map-card card"),
            html.Div(
                [
                    html.Div(
                        [
                            html.H3("Balance", className="card-title"),
                            dcc.Graph(
                                id="pl-chart",
                                figure={"data": [], "layout": {"height": 300}},
                                config={"displayModeBar": False},
                            ),
                        ],
                        className="card chart-card",
                    ),
                    html.Div(
                        [
                            html.H3("Territories", className="card-title"),
                            html.Div(id="pl-table", className="pl-table-scroll"),
                        ],
                        className="card table-card",
                    ),
                ],
                className="pl-panels",
            ),
            html.Div(
                [
                    html.H3("Comparison", className="card-title"),
                    html.Div(id="pl-diff-summary", className="hint"),
                    html.Div(id="pl-diff", className="pl-table-scroll"),
                ],
                className="card pl-diff-card",
            ),
        ],
        className="main",
    )
    return html.Div(
        [
            dcc.Location(id="pl-url", refresh=False),
            dcc.Store(id="pl-state", data=pm.empty_state()),
            dcc.Store(id="pl-drawn"),
            dcc.Store(id="pl-diff-key"),
            dcc.Store(id="pl-link"),
            dcc.Store(id="pl-link-written"),
            dcc.Store(id="pl-publications"),
            *([page_header(region_name, account, page=PATH)] if header else []),
            html.Div([sidebar, main], className="body"),
            html.Footer(
                html.Span(f"Map data {ATTRIBUTION}. Territories of the plans stored in gcrm."),
                className="footer",
            ),
        ],
        className="page",
        id="pl-page",
    )


def planning_page(
    choices: PlanningChoices,
    *,
    region_name: str,
    account: Account | None = None,
    basemap: Basemap = OWN_BASEMAP,
) -> html.Div:
    """The Planning page for one user: the stored plans, the levels, and the design and
    save controls when their role may plan."""
    return _page(choices, region_name=region_name, account=account, basemap=basemap)


def planning_skeleton() -> html.Div:
    """The page's components with no data, for the app's validation layout."""
    return _page(PlanningChoices(), region_name="", account=None, basemap=OWN_BASEMAP, header=False)
