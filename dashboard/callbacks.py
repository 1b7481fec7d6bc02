"""Callbacks: route inputs to :mod:`dashboard.view`, :mod:`dashboard.panels` and
:mod:`dashboard.layout`, nothing more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash
from dash import Input, Output, State, ctx, no_update

from dashboard import layout as lay
from dashboard import panels as p
from dashboard import view as v
from dashboard.cache import DashboardData
from gcrm.core import NotFoundError
from gcrm.cube import MEASURES

__all__ = ["CLUSTER_ZOOM_STEP", "MAX_ZOOM", "next_view", "register_callbacks", "zoom_in"]


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
        return v.select_area(view, click.get("properties", {}).get("area") or click.get("id"))
    if trigger == "drill-down":
        return v.drill_down(view, data.levels)
    if trigger == "go-up":
        return v.go_up(view, data.cube)
    if trigger == "clear-selection":
        return v.select_area(view, None)
    return view


#: Zoom levels a click on a cluster zooms in by (each halves a cell's side twice).
CLUSTER_ZOOM_STEP = 2
#: Leaflet's deepest zoom with OSM-style tiles.
MAX_ZOOM = 19


def zoom_in(zoom: float | None) -> float:
    """The zoom a click on a cluster goes to from ``zoom``."""
    return min(MAX_ZOOM, (zoom or 0) + CLUSTER_ZOOM_STEP)


def register_callbacks(app: dash.Dash, current: Callable[[], DashboardData]) -> None:
    """Attach every callback of the page to ``app``; ``current()`` is the dashboard data of
    the request's user (their scope's cube and areas)."""

    @app.callback(
        Output("view", "data"),
        Output("level", "value"),
        Input("level", "value"),
        Input("areas", "clickData"),
        Input("drill-down", "n_clicks"),
        Input("go-up", "n_clicks"),
        Input("clear-selection", "n_clicks"),
        State("view", "data"),
        prevent_initial_call=True,
    )
    def navigate(level, click, _drill, _up, _clear, view):  # type: ignore[no-untyped-def]
        data = current()
        new = next_view(ctx.triggered_id, view, level=level, click=click, data=data)
        return new, new["level"]

    @app.callback(Output("geo-key", "data"), Input("view", "data"), State("geo-key", "data"))
    def geo_key(view, key):  # type: ignore[no-untyped-def]
        new = {"level": view["level"], "parent": view.get("parent")}
        return no_update if new == key else new

    @app.callback(Output("areas", "data"), Input("geo-key", "data"), prevent_initial_call=True)
    def area_geometry(key):  # type: ignore[no-untyped-def]
        data = current()
        return data.view_geometry(key)

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
    )
    def choropleth(view, measure, period, segment, scheme):  # type: ignore[no-untyped-def]
        ds = current().cube
        values = p.view_values(ds, view, measure=measure, period=period, segment=segment)
        classes = p.choropleth_classes(values, scheme=scheme)
        title = f"{MEASURES[measure].label} · {p.period_label(period)}"
        hideout = {
            "colors": p.area_colours(values, classes),
            "selected": view.get("selected"),
            "tooltips": p.area_tooltips(values, ds, measure=measure, period=period),
        }
        return hideout, lay.legend(classes, title=title, measure=measure, ds=ds)

    @app.callback(
        Output("kpis", "children"),
        Input("view", "data"),
        Input("period", "value"),
        Input("segment", "value"),
    )
    def kpis(view, period, segment):  # type: ignore[no-untyped-def]
        data = current()
        ds = data.cube
        values = p.kpi_values(ds, view, period=period, segment=segment)
        scope = v.area_label(ds, v.scope_area(view), region_name=data.region_name)
        return lay.kpi_row(p.kpi_cards(values, ds=ds), scope=scope)

    @app.callback(
        Output("chart-title", "children"),
        Output("chart", "figure"),
        Input("view", "data"),
        Input("measure", "value"),
        Input("segment", "value"),
    )
    def chart(view, measure, segment):  # type: ignore[no-untyped-def]
        data = current()
        ds = data.cube
        return p.series_figure(
            ds, view, measure=measure, segment=segment, region_name=data.region_name
        )

    @app.callback(
        Output("table-title", "children"),
        Output("top-areas", "children"),
        Input("view", "data"),
        Input("measure", "value"),
        Input("period", "value"),
        Input("segment", "value"),
    )
    def table(view, measure, period, segment):  # type: ignore[no-untyped-def]
        data = current()
        ds = data.cube
        level, parent, rows = p.table_rows(
            ds, view, data.levels, measure=measure, period=period, segment=segment
        )
        where = v.area_label(ds, parent, region_name=data.region_name)
        title = f"Top areas in {where} · {v.level_label(data.levels, level)}"
        header = MEASURES[measure].label
        return title, lay.top_table(rows, value_header=header, selected=view.get("selected"))

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
