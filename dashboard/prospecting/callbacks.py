"""The Prospecting page's callbacks: controls to :mod:`.model`, reads to :mod:`.data`,
results to the table, the map, the route list and the downloads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard.cache import DashboardData
from dashboard.prospecting import data as pd_
from dashboard.prospecting import model as pm
from dashboard.prospecting.layout import lead_table, route_list
from gcrm.core import GcrmError
from gcrm.routing import route_gpx
from gcrm.web import current_request_principal

__all__ = ["SEARCH_CONTROLS", "register_prospecting_callbacks", "shown"]

#: The controls a search reads: keyword of model.search_of_controls -> (component, prop).
SEARCH_CONTROLS: dict[str, tuple[str, str]] = {
    "origin_kind": ("pr-origin-kind", "value"),
    "origin_text": ("pr-origin-text", "value"),
    "branch": ("pr-branch", "value"),
    "click": ("pr-click", "data"),
    "mode": ("pr-mode", "value"),
    "radius_m": ("pr-radius", "value"),
    "minutes": ("pr-minutes", "value"),
    "area": ("pr-area", "value"),
    "drawn": ("pr-draw", "geojson"),
    "categories": ("pr-categories", "value"),
    "zoning": ("pr-zoning", "value"),
    "min_score": ("pr-min-score", "value"),
    "customers": ("pr-customers", "value"),
}
#: The controls a link sets (model.search_of_query), in SEARCH_CONTROLS' names.
LINK_CONTROLS = [k for k in SEARCH_CONTROLS if k != "drawn"]
_SHOW: dict[str, Any] = {}
_HIDE = {"display": "none"}


def shown(origin_kind: str | None, mode: str | None) -> dict[str, dict[str, Any]]:
    """Which controls show for an origin kind and a mode: component id -> style."""
    kind, mode = origin_kind or "address", mode or "radius"
    visible = {
        "pr-origin-text-control": kind in ("address", "customer"),
        "pr-branch-control": kind == "branch",
        "pr-radius-control": mode == "radius",
        "pr-minutes-control": mode == "drive",
        "pr-area-control": mode == "area",
        "pr-polygon-hint": mode == "polygon",
    }
    return {cid: _SHOW if on else _HIDE for cid, on in visible.items()}


def _principal_may_read_leads() -> bool:
    principal = current_request_principal()
    return principal is not None and principal.can("read_leads")


def _may_read_customers() -> bool:
    principal = current_request_principal()
    return principal is not None and principal.can("read_customers")


def _area_shape(data: DashboardData, area: str | None) -> dict[str, Any] | None:
    if not area or ":" not in area:
        return None
    level = area.split(":", 1)[0]
    try:
        features = data.geometry(level)["features"]
    except GcrmError:
        return None
    return next((dict(f["geometry"]) for f in features if f.get("id") == area), None)


def _summary(found: pd_.Found) -> str:
    n = len(found.leads)
    where = found.reach_note
    origin = f" from {found.origin.label}" if found.origin is not None else ""
    text = f"{n} lead{'s' if n != 1 else ''}{origin}. {where}."
    if found.capped:
        text += f" More than {pm.MAX_RESULTS} found: showing the first {pm.MAX_RESULTS}; narrow the search."
    return text


def _origin_layer(found: pd_.Found) -> dict[str, Any]:
    if found.origin is None:
        return pm.feature_collection()
    point = {"type": "Point", "coordinates": [found.origin.lon, found.origin.lat]}
    return pm.feature_collection([{"type": "Feature", "geometry": point, "properties": {}}])


def _reach_layer(found: pd_.Found) -> dict[str, Any]:
    if found.reach is None:
        return pm.feature_collection()
    return pm.feature_collection([{"type": "Feature", "geometry": found.reach, "properties": {}}])


def register_prospecting_callbacks(app: dash.Dash, current: Callable[[], DashboardData]) -> None:
    """Attach the Prospecting page's callbacks to ``app``; ``current()`` is the dashboard
    data of the request's user (their engine under their scope, their areas)."""
    graphs = pd_.GraphCache()

    def search_again(search: pm.Search, *, action: str) -> pd_.Found:
        if not _principal_may_read_leads():
            msg = "your role may not read leads; ask an administrator for the prospector role"
            raise PermissionError(msg)
        data = current()
        shape = _area_shape(data, search.get("area")) if search["mode"] == "area" else None
        return pd_.run_search(
            data.engine,
            search,
            graphs=graphs,
            names=_may_read_customers(),
            area_shape=shape,
            action=action,
        )

    @app.callback(
        *(Output(cid, "style") for cid in shown(None, None)),
        Input("pr-origin-kind", "value"),
        Input("pr-mode", "value"),
    )
    def controls(kind, mode):  # type: ignore[no-untyped-def]
        return tuple(shown(kind, mode).values())

    @app.callback(
        Output("pr-click", "data"),
        Input("pr-map", "clickData"),
        State("pr-origin-kind", "value"),
        prevent_initial_call=True,
    )
    def map_click(click, kind):  # type: ignore[no-untyped-def]
        latlng = (click or {}).get("latlng") or {}
        if kind != "click" or "lat" not in latlng:
            raise PreventUpdate
        return {"lon": float(latlng["lng"]), "lat": float(latlng["lat"])}

    @app.callback(
        Output("pr-click-info", "children"),
        Input("pr-click", "data"),
        Input("pr-origin-kind", "value"),
    )
    def click_info(click, kind):  # type: ignore[no-untyped-def]
        if kind != "click":
            return ""
        if not click:
            return "Click on the map to set the origin."
        return f"Origin: {click['lat']:.5f}, {click['lon']:.5f} (click again to move it)"

    @app.callback(
        *(Output(*SEARCH_CONTROLS[k]) for k in LINK_CONTROLS),
        Output("pr-search-button", "n_clicks"),
        Input("pr-url", "search"),
        State("pr-search-button", "n_clicks"),
    )
    def open_link(query, n_clicks):  # type: ignore[no-untyped-def]
        controls = pm.search_of_query(query)
        if not controls:
            raise PreventUpdate
        values = tuple(controls.get(k, no_update) for k in LINK_CONTROLS)
        # A link with a whole search runs it, as if the button were pressed.
        return (*values, (n_clicks or 0) + 1 if pm.link_runs(controls) else no_update)

    @app.callback(
        Output("pr-search", "data"),
        Output("pr-rows", "data"),
        Output("pr-sort", "data"),
        Output("pr-selected", "data"),
        Output("pr-leads", "data"),
        Output("pr-reach", "data"),
        Output("pr-origin", "data"),
        Output("pr-summary", "children"),
        Output("pr-score-note", "children"),
        Output("pr-message", "children"),
        Output("pr-link", "data"),
        Output("pr-plan", "data"),
        Output("pr-route", "children"),
        Output("pr-route-line", "data"),
        Output("pr-route-summary", "children"),
        Input("pr-search-button", "n_clicks"),
        *(State(*target) for target in SEARCH_CONTROLS.values()),
        prevent_initial_call=True,
    )
    def search(_n, *values):  # type: ignore[no-untyped-def]
        controls = dict(zip(SEARCH_CONTROLS, values, strict=True))
        try:
            spec = pm.search_of_controls(**controls)
            found = search_again(spec, action="dashboard prospecting search")
        except (GcrmError, PermissionError) as exc:
            return (*(no_update for _ in range(9)), str(exc), *(no_update for _ in range(5)))
        leads = found.leads
        return (
            spec,
            {"columns": pm.result_columns(leads), "rows": pm.result_rows(leads)},
            {"by": None, "desc": False},
            [],
            pm.lead_features(leads),
            _reach_layer(found),
            _origin_layer(found),
            _summary(found),
            pm.score_note(leads, found.backtest),
            "",
            pm.query_of_search(spec),
            None,
            [],
            pm.feature_collection(),
            "",
        )

    app.clientside_callback(
        ClientsideFunction(namespace="gcrm", function_name="replaceQuery"),
        Output("pr-link-written", "data"),
        Input("pr-link", "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("pr-table", "children"),
        Output("pr-page-info", "children"),
        Output("pr-page-prev", "disabled"),
        Output("pr-page-next", "disabled"),
        Input("pr-rows", "data"),
        Input("pr-sort", "data"),
        Input("pr-selected", "data"),
        Input("pr-page", "data"),
    )
    def table(found, sort, selected, page):  # type: ignore[no-untyped-def]
        if not found or not found["rows"]:
            text = "No lead matches this search." if found else "No search yet."
            return html.P(text, className="hint"), "", True, True
        sort = sort or {}
        rows = pm.sort_rows(found["rows"], by=sort.get("by"), descending=bool(sort.get("desc")))
        shown_rows, page, pages = pm.page_of(rows, page)
        first = page * pm.PAGE_SIZE + 1
        info = f"{first}-{first + len(shown_rows) - 1} of {len(rows)}"
        table = lead_table(found["columns"], shown_rows, sort=sort, selected=selected or [])
        return table, info, page == 0, page == pages - 1

    @app.callback(
        Output("pr-page", "data"),
        Input("pr-page-prev", "n_clicks"),
        Input("pr-page-next", "n_clicks"),
        Input("pr-rows", "data"),
        Input("pr-sort", "data"),
        State("pr-page", "data"),
        prevent_initial_call=True,
    )
    def turn_page(_prev, _next, _rows, _sort, page):  # type: ignore[no-untyped-def]
        step = {"pr-page-prev": -1, "pr-page-next": 1}.get(str(ctx.triggered_id))
        if step is None:  # a new search or sort starts at the first page
            return 0 if page else no_update  # (on it already: no second drawing)
        return max(0, int(page or 0) + step)  # table() clamps past the last page

    @app.callback(
        Output("pr-sort", "data", allow_duplicate=True),
        Input({"type": "pr-sort", "col": ALL}, "n_clicks"),
        State("pr-sort", "data"),
        prevent_initial_call=True,
    )
    def sort_by(_clicks, sort):  # type: ignore[no-untyped-def]
        if not ctx.triggered or not ctx.triggered[0]["value"]:  # drawn anew, not clicked
            raise PreventUpdate
        return pm.next_sort(sort, ctx.triggered_id["col"])

    @app.callback(
        Output("pr-selected", "data", allow_duplicate=True),
        Input({"type": "pr-row", "lead": ALL}, "n_clicks"),
        State("pr-selected", "data"),
        prevent_initial_call=True,
    )
    def pick(_clicks, selected):  # type: ignore[no-untyped-def]
        if not ctx.triggered or not ctx.triggered[0]["value"]:
            raise PreventUpdate
        return pm.toggle(selected or [], ctx.triggered_id["lead"])

    @app.callback(
        Output("pr-leads", "data", allow_duplicate=True),
        Input("pr-selected", "data"),
        State("pr-leads", "data"),
        prevent_initial_call=True,
    )
    def select(selected, layer):  # type: ignore[no-untyped-def]
        chosen = set(selected or [])
        features = [
            {**f, "properties": {**f["properties"], "selected": f["id"] in chosen}}
            for f in (layer or {}).get("features", [])
        ]
        return pm.feature_collection(features)

    @app.callback(
        Output("pr-plan", "data", allow_duplicate=True),
        Output("pr-route", "children", allow_duplicate=True),
        Output("pr-route-line", "data", allow_duplicate=True),
        Output("pr-route-summary", "children", allow_duplicate=True),
        Input("pr-plan-button", "n_clicks"),
        State("pr-search", "data"),
        State("pr-selected", "data"),
        State("pr-start-time", "value"),
        State("pr-day-hours", "value"),
        prevent_initial_call=True,
    )
    def plan(_n, spec, selected, start_time, day_hours):  # type: ignore[no-untyped-def]
        ids = list(selected or [])
        if not spec:
            return no_update, [], no_update, "Find leads first, then select the ones to visit."
        if not ids:
            return (
                no_update,
                [],
                no_update,
                "Select leads in the table (click their rows), then plan.",
            )
        try:
            found = search_again(spec, action="dashboard prospecting route")
            planned = pd_.plan_visits(
                current().engine,
                found,
                ids,
                graphs=graphs,
                start_time=start_time,
                day_hours=day_hours,
            )
        except (GcrmError, PermissionError) as exc:
            return no_update, [], no_update, str(exc)
        rows_ = pm.route_rows(planned.stops)
        kept = {"ids": ids, "start_time": start_time, "day_hours": day_hours}
        return (
            kept,
            route_list(rows_),
            pm.route_features(planned.path),
            pd_.route_summary(planned),
        )

    @app.callback(
        Output("pr-download", "data"),
        Output("pr-export-status", "children"),
        Input("pr-export-csv", "n_clicks"),
        Input("pr-export-xlsx", "n_clicks"),
        Input("pr-export-gpx", "n_clicks"),
        State("pr-search", "data"),
        State("pr-plan", "data"),
        prevent_initial_call=True,
    )
    def export(_csv, _xlsx, _gpx, spec, planned):  # type: ignore[no-untyped-def]
        fmt = str(ctx.triggered_id).rsplit("-", 1)[-1]
        if not spec:
            return no_update, "Find leads first: the export is the table's leads."
        if fmt == "gpx" and not planned:
            return no_update, "Plan a route first: the GPX file is the route."
        try:
            found = search_again(spec, action=f"dashboard prospecting export {fmt}")
            if fmt == "gpx":
                planned_again = pd_.plan_visits(
                    current().engine,
                    found,
                    planned["ids"],
                    graphs=graphs,
                    start_time=planned.get("start_time"),
                    day_hours=planned.get("day_hours"),
                )
                content = route_gpx(planned_again).encode("utf-8")
                name = "route.gpx"
            else:
                content = pd_.export_found(found, fmt)
                name = f"leads.{fmt}"
        except (GcrmError, PermissionError) as exc:
            return no_update, str(exc)
        return dcc.send_bytes(content, name), f"Exported {name}"
