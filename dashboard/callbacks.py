"""Callbacks: route inputs to :mod:`dashboard.view`, :mod:`dashboard.panels` and
:mod:`dashboard.layout`, nothing more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from dashboard import layout as lay
from dashboard import panels as p
from dashboard import view as v
from dashboard.cache import DashboardData
from dashboard.campaign_layer import NO_CAMPAIGN, campaign_layer, campaign_options
from dashboard.export import register_export_callbacks
from dashboard.link import query_of_state, state_of_query
from dashboard.risk import register_risk_callbacks
from gcrm.core import NotFoundError, ValidationError, is_all
from gcrm.cube import FORECAST_MEASURES, MEASURES, Forecast
from gcrm.maps import Classes

__all__ = [
    "CLUSTER_ZOOM_STEP",
    "LINKED_CONTROLS",
    "MAX_ZOOM",
    "campaign_choropleth",
    "chart_forecast",
    "forecast_choropleth",
    "next_view",
    "register_callbacks",
    "zoom_in",
]


def next_view(
    trigger: str | None,
    view: v.View,
    *,
    level: str,
    click: dict[str, Any] | None,
    data: DashboardData,
) -> v.View:
    """The view after the control named ``trigger`` fired."""
    if trigger == "level":
        return view if level == view["level"] else v.view_for_level(level)
    if trigger == "areas" and click:
        area = click.get("properties", {}).get("area") or click.get("id")
        return v.click_area(view, area, data.levels)
    if trigger == "drill-down":
        return v.drill_down(view, data.levels)
    if trigger == "go-up":
        return v.go_up(view, data.cube)
    if trigger == "clear-selection":
        return v.select_area(view, None)
    return view


def _segment(segment: str | None) -> str | None:
    return None if is_all(segment) else segment


def forecast_choropleth(
    data: DashboardData,
    view: v.View,
    *,
    measure: str,
    segment: str | None,
    scheme: str,
    notes: list[str],
) -> tuple[dict[str, Any], list[Any]]:
    """The map's hideout and legend for a forecast measure (:data:`panels.FORECAST_MAP_MEASURES`):
    each area's forecast, its intervals in the tooltip; ``notes`` go under the legend."""
    ds = data.cube
    title, note = p.forecast_legend(ds, measure=measure)
    source = p.FORECAST_MAP_MEASURES[measure]
    try:
        table = data.area_forecasts(
            level=view["level"],
            measure=source,
            segment=_segment(segment),
            parent=view.get("parent") or None,
            horizon=p.FORECAST_MONTHS,
        )
    except ValidationError as exc:
        hideout: dict[str, Any] = {"colors": {}, "selected": view.get("selected"), "tooltips": {}}
        empty = Classes(breaks=(), colours=(), scheme=scheme)
        text = " ".join([f"No forecast: {exc}", *notes])
        return hideout, lay.legend(empty, title=title, measure=source, ds=ds, note=text)
    classes = p.choropleth_classes(table["forecast"], scheme=scheme)
    hideout = {
        "colors": p.area_colours(table["forecast"], classes),
        "selected": view.get("selected"),
        "tooltips": p.forecast_tooltips(table, ds, measure=measure),
    }
    text = " ".join([note, *notes])
    return hideout, lay.legend(classes, title=title, measure=source, ds=ds, note=text)


def chart_forecast(
    data: DashboardData, view: v.View, *, measure: str, segment: str | None
) -> tuple[Forecast | None, str]:
    """The forecast the chart continues its series with, and the note beneath the chart
    (the backtest; or why there is no forecast)."""
    if measure not in FORECAST_MEASURES:
        return None, p.no_forecast_note(measure)
    try:
        result = data.forecast(
            measure=measure,
            area=v.scope_area(view),
            level=view["level"],
            segment=_segment(segment),
            horizon=p.FORECAST_MONTHS,
        )
    except ValidationError as exc:
        return None, f"No forecast: {exc}"
    return result, p.forecast_note(result)


#: The controls a link carries (:mod:`dashboard.link`): key -> component id.
LINKED_CONTROLS: dict[str, str] = {
    "measure": "measure",
    "period": "period",
    "compare": "compare",
    "segment": "segment",
    "channel": "channel",
    "branch": "branch",
    "scheme": "scheme",
    "points": "point-layers",
    "hotspots": "hotspots",
    "method": "hotspot-method",
    "forecast": "show-forecast",
    "layers": "map-layers",
    "heat": "heat-of",
    "campaign": "campaign",
    "campaign_by": "campaign-by",
}

#: Zoom levels a click on a cluster zooms in by (each halves a cell's side twice).
CLUSTER_ZOOM_STEP = 2
#: Leaflet's deepest zoom with OSM-style tiles.
MAX_ZOOM = 19


def zoom_in(zoom: float | None) -> float:
    """The zoom a click on a cluster goes to from ``zoom``."""
    return min(MAX_ZOOM, (zoom or 0) + CLUSTER_ZOOM_STEP)


def campaign_choropleth(
    data: DashboardData, view: v.View, *, campaign: str, of: str, scheme: str
) -> tuple[dict[str, Any], list[Any]]:
    """The map's hideout and legend when a campaign is chosen: the view's areas by its
    response rate or uplift (:func:`dashboard.campaign_layer.campaign_layer`)."""
    try:
        results = data.campaign_results(campaign, level=view["level"])
    except (NotFoundError, ValidationError) as exc:
        hideout: dict[str, Any] = {"colors": {}, "selected": view.get("selected"), "tooltips": {}}
        empty = Classes(breaks=(), colours=(), scheme=scheme)
        return hideout, lay.legend(empty, title="Campaign", measure="change", note=str(exc))
    ids = v.areas_in_view(data.cube, level=view["level"], parent=view.get("parent"))
    layer = campaign_layer(results, data.cube, ids, of=of or "rate", scheme=scheme)
    hideout = {
        "colors": layer.colours,
        "selected": view.get("selected"),
        "tooltips": layer.tooltips,
    }
    return hideout, lay.legend(layer.classes, title=layer.title, measure="change", note=layer.note)


def _campaign_ids(data: DashboardData) -> list[str]:
    """The campaigns a link may choose: those the user sees a member of."""
    return [o["value"] for o in campaign_options(data.campaigns()) if o["value"] != NO_CAMPAIGN]


def _geometry_for(data: DashboardData, old: v.View, new: v.View) -> Any:
    """The areas to draw after the view went from ``old`` to ``new``: their geometry when the
    level or the parent drilled into changed, else ``no_update`` (the map keeps its areas)."""
    if (old["level"], old.get("parent")) == (new["level"], new.get("parent")):
        return no_update
    return data.view_geometry(new)


def register_callbacks(app: dash.Dash, current: Callable[[], DashboardData]) -> None:
    """Attach every callback of the page to ``app``; ``current()`` is the dashboard data of
    the request's user (their scope's cube and areas)."""
    register_export_callbacks(app, current, controls=LINKED_CONTROLS)
    register_risk_callbacks(app, current)

    # The areas' geometry comes with the view that needs it, in the same answer: a separate
    # callback on the view was a second and third round trip before the map could redraw.
    @app.callback(
        Output("view", "data"),
        Output("areas", "data"),
        Output("level", "value"),
        *(Output(cid, "value") for cid in LINKED_CONTROLS.values()),
        Input("level", "value"),
        Input("areas", "n_clicks"),
        Input("drill-down", "n_clicks"),
        Input("go-up", "n_clicks"),
        Input("clear-selection", "n_clicks"),
        Input("url", "search"),
        Input({"type": "crumb", "area": ALL}, "n_clicks"),
        State("view", "data"),
        # n_clicks counts every click, the same area's twice included; clickData says which.
        State("areas", "clickData"),
        prevent_initial_call=True,
    )
    def navigate(level, _click, _drill, _up, _clear, search, _crumbs, view, click):  # type: ignore[no-untyped-def]
        data = current()
        trigger = ctx.triggered_id
        if isinstance(trigger, dict):  # a step of the breadcrumb
            if not ctx.triggered[0]["value"]:  # drawn anew, not clicked
                raise PreventUpdate
            new = v.go_to_crumb(view, data.cube, trigger["area"] or None)
            if new == view:
                raise PreventUpdate
            geometry = _geometry_for(data, view, new)
            return new, geometry, new["level"], *(no_update for _ in LINKED_CONTROLS)
        if ctx.triggered_id == "url":  # the page opened (or went back): the link's view
            new, controls = state_of_query(
                search, levels=data.levels, ds=data.cube, campaigns=_campaign_ids(data)
            )
            for key in ("hotspots", "forecast"):  # checklists
                controls[key] = ["on"] if controls[key] else []
            geometry = _geometry_for(data, view, new)
            return new, geometry, new["level"], *(controls[key] for key in LINKED_CONTROLS)
        new = next_view(ctx.triggered_id, view, level=level, click=click, data=data)
        geometry = _geometry_for(data, view, new)
        return new, geometry, new["level"], *(no_update for _ in LINKED_CONTROLS)

    @app.callback(
        Output("link", "data"),
        Input("view", "data"),
        *(Input(cid, "value") for cid in LINKED_CONTROLS.values()),
    )
    def link(view, *values):  # type: ignore[no-untyped-def]
        return query_of_state(view, dict(zip(LINKED_CONTROLS, values, strict=True)))

    app.clientside_callback(
        ClientsideFunction(namespace="gcrm", function_name="replaceQuery"),
        Output("link-written", "data"),
        Input("link", "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("customers", "data"),
        Output("leads", "data"),
        Input("map", "bounds"),
        Input("point-layers", "value"),
        Input("segment", "value"),
        Input("period", "value"),
        State("map", "zoom"),
    )
    def point_layers(bounds, shown, segment, period, zoom):  # type: ignore[no-untyped-def]
        bbox = v.map_bbox(bounds)
        if bbox is None:  # the map has not reported its view yet; it will on moveend
            return lay.EMPTY, lay.EMPTY
        data = current()
        return tuple(
            data.points(k, bbox=bbox, zoom=zoom, segment=segment, period=period)
            if k in shown
            else lay.EMPTY
            for k in lay.POINT_LAYERS
        )

    @app.callback(Output("branches", "data"), Input("map-layers", "value"))
    def branch_layer(shown):  # type: ignore[no-untyped-def]
        return current().branches() if "branches" in (shown or []) else lay.EMPTY

    @app.callback(
        Output("heat", "data"),
        Output("heat-legend", "children"),
        Input("map", "bounds"),
        Input("map-layers", "value"),
        Input("heat-of", "value"),
        Input("segment", "value"),
        Input("period", "value"),
        State("map", "zoom"),
    )
    def heat_layer(bounds, shown, of, segment, period, zoom):  # type: ignore[no-untyped-def]
        bbox = v.map_bbox(bounds)
        if "heat" not in (shown or []) or bbox is None:
            return lay.EMPTY, []
        heat = current().heat(bbox=bbox, zoom=zoom, of=of, segment=segment, period=period)
        return heat, lay.heat_legend(heat)

    @app.callback(
        Output("catchments", "data"),
        Output("catchment-legend", "children"),
        Input("map-layers", "value"),
    )
    def catchment_layer(shown):  # type: ignore[no-untyped-def]
        if "catchments" not in (shown or []):
            return lay.EMPTY, []
        try:
            found = current().catchments()
        except NotFoundError as exc:  # no road graph (or no branch): the note names the fix
            return lay.EMPTY, lay.catchment_legend(None, note=str(exc))
        return found, lay.catchment_legend(found)

    @app.callback(
        Output("map", "viewport"),
        Output("point-info", "children"),
        Input("customers", "clickData"),
        Input("leads", "clickData"),
        State("map", "zoom"),
        prevent_initial_call=True,
    )
    def point_click(customer, lead, zoom):  # type: ignore[no-untyped-def]
        kind = ctx.triggered_id
        feature = (customer if kind == "customers" else lead) or {}
        props = feature.get("properties") or {}
        if "count" in props:  # a cluster: zoom in on it
            lon, lat = feature["geometry"]["coordinates"]
            return {"center": [lat, lon], "zoom": zoom_in(zoom)}, no_update
        if "id" not in props:
            return no_update, no_update
        try:
            name = current().point_name(kind, str(props["id"]))
        except NotFoundError as exc:  # gone since it was drawn, or no longer in scope
            return no_update, str(exc)
        return no_update, lay.point_info(kind, name, str(props["id"]))

    @app.callback(
        Output("customers", "hideout"),
        Output("point-legend", "children"),
        Input("point-colour", "value"),
    )
    def point_colour(colour_by):  # type: ignore[no-untyped-def]
        return p.point_hideout(colour_by), lay.point_legend(colour_by)

    @app.callback(
        Output("areas", "hideout"),
        Output("legend", "children"),
        Input("view", "data"),
        Input("measure", "value"),
        Input("period", "value"),
        Input("segment", "value"),
        Input("scheme", "value"),
        Input("compare", "value"),
        Input("hotspots", "value"),
        Input("hotspot-method", "value"),
        Input("channel", "value"),
        Input("branch", "value"),
        Input("campaign", "value"),
        Input("campaign-by", "value"),
    )
    def choropleth(  # type: ignore[no-untyped-def]
        view, measure, period, segment, scheme, compare, hotspots, method, channel, branch,
        campaign, campaign_by,
    ):  # fmt: skip
        data = current()
        ds = data.cube
        if campaign and campaign != NO_CAMPAIGN:  # the campaign layer instead of the measure
            return campaign_choropleth(
                data, view, campaign=str(campaign), of=campaign_by, scheme=scheme
            )
        orders, order_note = p.order_filter(measure, channel=channel, branch=branch)
        if measure in p.FORECAST_MAP_MEASURES:
            notes = ["No hot spots of a forecast."] if hotspots else []
            if compare not in (None, "none"):
                notes.append("A forecast is not compared with another period.")
            if not (is_all(channel) and is_all(branch)):
                notes.append("Forecasts are of all channels and branches.")
            return forecast_choropleth(
                data, view, measure=measure, segment=segment, scheme=scheme, notes=notes
            )
        label = MEASURES[measure].label
        note, base = p.comparison_or_note(ds, period=period, compare=compare)
        note = " ".join(n for n in (note, order_note) if n) or None
        if hotspots:
            try:
                result = data.hotspots(
                    level=view["level"],
                    measure=measure,
                    period=None if is_all(period) else period,
                    segment=None if is_all(segment) else segment,
                    parent=view.get("parent") or None,
                    method=method or "gi",
                    **orders,
                )
            except ValidationError as exc:
                note = f"No hot spots: {exc}"
            else:
                hideout = {
                    "colors": p.hotspot_colours(result),
                    "selected": view.get("selected"),
                    "tooltips": p.hotspot_tooltips(result),
                }
                title, rows, stated = p.hotspot_legend(result)
                return hideout, lay.hotspot_legend(title, rows, method=stated)
        if base is not None and not hotspots:
            table = p.view_comparison(
                ds, view, measure=measure, period=period, compare=compare, segment=segment, **orders
            )
            classes = p.diverging_classes(table["pct_change"])
            hideout = {
                "colors": p.area_colours(table["pct_change"], classes),
                "selected": view.get("selected"),
                "tooltips": p.change_tooltips(table, ds, measure=measure),
            }
            title = f"{label} · {p.period_label(period)} · % change vs {p.period_label(base)}"
            return hideout, lay.legend(classes, title=title, measure="change", note=note)
        values = p.view_values(ds, view, measure=measure, period=period, segment=segment, **orders)
        classes = p.choropleth_classes(values, scheme=scheme)
        title = f"{label} · {p.period_label(period)}"
        hideout = {
            "colors": p.area_colours(values, classes),
            "selected": view.get("selected"),
            "tooltips": p.area_tooltips(values, ds, measure=measure, period=period),
        }
        return hideout, lay.legend(classes, title=title, measure=measure, ds=ds, note=note)

    @app.callback(
        Output("kpis", "children"),
        Input("view", "data"),
        Input("period", "value"),
        Input("segment", "value"),
        Input("compare", "value"),
        Input("channel", "value"),
        Input("branch", "value"),
    )
    def kpis(view, period, segment, compare, channel, branch):  # type: ignore[no-untyped-def]
        data = current()
        ds = data.cube
        orders = {"channel": channel, "branch": branch}
        values = p.kpi_values(ds, view, period=period, segment=segment, **orders)
        scope = v.area_label(ds, v.scope_area(view), region_name=data.region_name)
        note, base = p.comparison_or_note(ds, period=period, compare=compare)
        note = " ".join(n for n in (note, p.kpi_note(**orders)) if n) or None
        if base is None:
            return lay.kpi_row(p.kpi_cards(values, ds=ds), scope=scope, note=note)
        before = p.kpi_values(ds, view, period=base, segment=segment, **orders)
        cards = p.kpi_cards(values, ds=ds, base=before, base_period=base)
        figures = {
            k: f"{p.period_label(base)}: {text}" for k, _, text in p.kpi_cards(before, ds=ds)
        }
        figures.pop("approximate", None)  # placed approximately: now, whatever the period
        return lay.kpi_row(cards, scope=scope, base=figures, note=note)

    @app.callback(
        Output("chart-title", "children"),
        Output("chart", "figure"),
        Output("chart-note", "children"),
        Input("view", "data"),
        Input("measure", "value"),
        Input("segment", "value"),
        Input("period", "value"),
        Input("compare", "value"),
        Input("show-forecast", "value"),
        Input("channel", "value"),
        Input("branch", "value"),
    )
    def chart(view, measure, segment, period, compare, show_forecast, channel, branch):  # type: ignore[no-untyped-def]
        data = current()
        ds = data.cube
        _, base = p.comparison_or_note(ds, period=period, compare=compare)
        # A forecast measure of the map charts its cube measure, forecast included.
        series = p.FORECAST_MAP_MEASURES.get(measure, measure)
        orders, note = p.order_filter(series, channel=channel, branch=branch)
        result = None
        if orders and (show_forecast or series != measure):
            note = "No forecast of one channel or branch: choose All channels and All branches."
        elif show_forecast or series != measure:
            result, note = chart_forecast(data, view, measure=series, segment=segment)
        title, figure = p.series_figure(
            ds,
            view,
            measure=series,
            segment=segment,
            region_name=data.region_name,
            period=period,
            base_period=base,
            forecast=result,
            channel=channel,
            branch=branch,
        )
        return title, figure, note

    @app.callback(
        Output("table-title", "children"),
        Output("top-areas", "children"),
        Input("view", "data"),
        Input("measure", "value"),
        Input("period", "value"),
        Input("segment", "value"),
        Input("compare", "value"),
        Input("channel", "value"),
        Input("branch", "value"),
    )
    def table(view, measure, period, segment, compare, channel, branch):  # type: ignore[no-untyped-def]
        data = current()
        ds = data.cube
        _, base = p.comparison_or_note(ds, period=period, compare=compare)
        source, values = p.FORECAST_MAP_MEASURES.get(measure, measure), None
        if source != measure:  # a forecast measure: the areas' forecasts, no comparison
            base = None
            level, parent = v.table_scope(view, data.levels)
            try:
                values = data.area_forecasts(
                    level=level,
                    measure=source,
                    segment=_segment(segment),
                    parent=parent,
                    horizon=p.FORECAST_MONTHS,
                )["forecast"]
            except ValidationError as exc:
                return f"No forecast: {exc}", lay.top_table([], value_header="", selected=None)
        level, parent, rows = p.table_rows(
            ds,
            view,
            data.levels,
            measure=source,
            period=period,
            segment=segment,
            compare=compare if base else None,
            values=values,
            channel=channel,
            branch=branch,
        )
        where = v.area_label(ds, parent, region_name=data.region_name)
        title = f"Top areas in {where} · {v.level_label(data.levels, level)}"
        header = p.measure_label(measure)
        return title, lay.top_table(
            rows,
            value_header=header,
            selected=view.get("selected"),
            base_header=p.period_label(base) if base else None,
        )

    @app.callback(
        Output("selection-panel", "children"),
        Output("drill-down", "disabled"),
        Output("go-up", "disabled"),
        Output("clear-selection", "disabled"),
        Input("view", "data"),
    )
    def selection(view):  # type: ignore[no-untyped-def]
        data = current()
        ds = data.cube
        crumbs = v.breadcrumb(view, ds, region_name=data.region_name)
        selected = view.get("selected")
        name = v.area_label(ds, selected, region_name=data.region_name) if selected else None
        can_drill = bool(selected) and v.child_level(data.levels, view["level"]) is not None
        panel = lay.selection_panel(crumbs, selected=name)
        return panel, not can_drill, not view.get("parent"), not selected
