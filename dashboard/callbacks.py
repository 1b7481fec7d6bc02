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
from gcrm.cube import MEASURES

__all__ = ["next_view", "register_callbacks"]


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
        Input("point-layers", "value"),
    )
    def point_layers(shown):  # type: ignore[no-untyped-def]
        data = current()
        return tuple(data.points(k) if k in shown else lay.EMPTY for k in ("customers", "leads"))

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
        return hideout, lay.legend(classes, title=title, measure=measure)

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
        return lay.kpi_row(p.kpi_cards(values), scope=scope)

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
