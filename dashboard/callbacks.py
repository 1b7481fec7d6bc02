"""Callbacks: route inputs to :mod:`dashboard.view`, :mod:`dashboard.panels` and
:mod:`dashboard.layout`, nothing more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash
import xarray as xr
from dash import ClientsideFunction, Input, Output, State, ctx, no_update

from dashboard import layout as lay
from dashboard import panels as p
from dashboard import view as v
from dashboard.cache import DashboardData
from dashboard.link import query_of_state, state_of_query
from gcrm.core import NotFoundError, ValidationError, is_all
from gcrm.cube import MEASURES

__all__ = [
    "CLUSTER_ZOOM_STEP",
    "LINKED_CONTROLS",
    "MAX_ZOOM",
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


def _comparison(
    ds: xr.Dataset, *, period: str | None, compare: str | None
) -> tuple[str | None, str | None]:
    """``(note, base period)``: the base period ``period`` is compared with, or why there is
    none to show (``note``; both None when no comparison was asked for)."""
    if compare in (None, "none"):
        return None, None
    if is_all(period):
        return "Choose a period to compare it with another.", None
    try:
        return None, p.comparison_base(ds, period=period, compare=compare)
    except ValidationError as exc:
        return f"No comparison: {exc}", None


#: The controls a link carries (:mod:`dashboard.link`): key -> component id.
LINKED_CONTROLS: dict[str, str] = {
    "measure": "measure",
    "period": "period",
    "compare": "compare",
    "segment": "segment",
    "scheme": "scheme",
    "points": "point-layers",
    "hotspots": "hotspots",
}

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
        *(Output(cid, "value") for cid in LINKED_CONTROLS.values()),
        Input("level", "value"),
        Input("areas", "n_clicks"),
        Input("drill-down", "n_clicks"),
        Input("go-up", "n_clicks"),
        Input("clear-selection", "n_clicks"),
        Input("url", "search"),
        State("view", "data"),
        # n_clicks counts every click, the same area's twice included; clickData says which.
        State("areas", "clickData"),
        prevent_initial_call=True,
    )
    def navigate(level, _click, _drill, _up, _clear, search, view, click):  # type: ignore[no-untyped-def]
        data = current()
        if ctx.triggered_id == "url":  # the page opened (or went back): the link's view
            new, controls = state_of_query(search, levels=data.levels, ds=data.cube)
            controls["hotspots"] = ["on"] if controls["hotspots"] else []  # a checklist
            return new, new["level"], *(controls[key] for key in LINKED_CONTROLS)
        new = next_view(ctx.triggered_id, view, level=level, click=click, data=data)
        return new, new["level"], *(no_update for _ in LINKED_CONTROLS)

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
        Input("compare", "value"),
        Input("hotspots", "value"),
    )
    def choropleth(view, measure, period, segment, scheme, compare, hotspots):  # type: ignore[no-untyped-def]
        data = current()
        ds = data.cube
        label = MEASURES[measure].label
        note, base = _comparison(ds, period=period, compare=compare)
        if hotspots:
            try:
                result = data.hotspots(
                    level=view["level"],
                    measure=measure,
                    period=None if is_all(period) else period,
                    segment=None if is_all(segment) else segment,
                    parent=view.get("parent") or None,
                )
            except ValidationError as exc:
                note = f"No hot spots: {exc}"
            else:
                hideout = {
                    "colors": p.hotspot_colours(result),
                    "selected": view.get("selected"),
                    "tooltips": p.hotspot_tooltips(result),
                }
                title, rows, method = p.hotspot_legend(result)
                return hideout, lay.hotspot_legend(title, rows, method=method)
        if base is not None and not hotspots:
            table = p.view_comparison(
                ds, view, measure=measure, period=period, compare=compare, segment=segment
            )
            classes = p.diverging_classes(table["pct_change"])
            hideout = {
                "colors": p.area_colours(table["pct_change"], classes),
                "selected": view.get("selected"),
                "tooltips": p.change_tooltips(table, ds, measure=measure),
            }
            title = f"{label} · {period} · % change vs {base}"
            return hideout, lay.legend(classes, title=title, measure="change", note=note)
        values = p.view_values(ds, view, measure=measure, period=period, segment=segment)
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
    )
    def kpis(view, period, segment, compare):  # type: ignore[no-untyped-def]
        data = current()
        ds = data.cube
        values = p.kpi_values(ds, view, period=period, segment=segment)
        scope = v.area_label(ds, v.scope_area(view), region_name=data.region_name)
        note, base = _comparison(ds, period=period, compare=compare)
        if base is None:
            return lay.kpi_row(p.kpi_cards(values, ds=ds), scope=scope, note=note)
        before = p.kpi_values(ds, view, period=base, segment=segment)
        cards = p.kpi_cards(values, ds=ds, base=before, base_period=base)
        figures = {k: f"{base}: {text}" for k, _, text in p.kpi_cards(before, ds=ds)}
        figures.pop("approximate", None)  # placed approximately: now, whatever the period
        return lay.kpi_row(cards, scope=scope, base=figures)

    @app.callback(
        Output("chart-title", "children"),
        Output("chart", "figure"),
        Input("view", "data"),
        Input("measure", "value"),
        Input("segment", "value"),
        Input("period", "value"),
        Input("compare", "value"),
    )
    def chart(view, measure, segment, period, compare):  # type: ignore[no-untyped-def]
        data = current()
        ds = data.cube
        _, base = _comparison(ds, period=period, compare=compare)
        return p.series_figure(
            ds,
            view,
            measure=measure,
            segment=segment,
            region_name=data.region_name,
            period=period,
            base_period=base,
        )

    @app.callback(
        Output("table-title", "children"),
        Output("top-areas", "children"),
        Input("view", "data"),
        Input("measure", "value"),
        Input("period", "value"),
        Input("segment", "value"),
        Input("compare", "value"),
    )
    def table(view, measure, period, segment, compare):  # type: ignore[no-untyped-def]
        data = current()
        ds = data.cube
        _, base = _comparison(ds, period=period, compare=compare)
        level, parent, rows = p.table_rows(
            ds,
            view,
            data.levels,
            measure=measure,
            period=period,
            segment=segment,
            compare=compare if base else None,
        )
        where = v.area_label(ds, parent, region_name=data.region_name)
        title = f"Top areas in {where} · {v.level_label(data.levels, level)}"
        header = MEASURES[measure].label
        return title, lay.top_table(
            rows, value_header=header, selected=view.get("selected"), base_header=base
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
