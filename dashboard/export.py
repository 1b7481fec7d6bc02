"""Exporting the dashboard's view: the table as CSV or XLSX, the map as a standalone HTML page
or a PNG image, each with the filters that made it.

An export is of what the screen shows: the same level, parent, selection, measure, period,
comparison, segment, classes and hot spots, and every other control of the page's link
(:data:`dashboard.callbacks.LINKED_CONTROLS`, passed in), computed by the same functions of
:mod:`dashboard.panels` the panels call. The table export holds every area of the table's
scope, not only the top rows shown.

A spreadsheet user gets plain columns: the CSV has a header row and one row per area (what
the view was is in the file's name), the XLSX an ``Areas`` sheet (bold, frozen header) and a
``View`` sheet listing the filters and the date of export.
"""

from __future__ import annotations

import inspect
import io
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dash
import geopandas as gpd
import pandas as pd
from dash import Input, Output, State, ctx, dcc, html, no_update
from openpyxl.utils import get_column_letter

from dashboard import panels as p
from dashboard import view as v
from dashboard.cache import DashboardData
from gcrm.core import GcrmError, ValidationError, is_all
from gcrm.cube import HOTSPOT_METHODS, MEASURES, measure_unit
from gcrm.io import fit_columns, style_header, write_frame
from gcrm.maps import NO_DATA_COLOUR, SCHEMES, format_value, is_share
from gcrm.maps.png import render_map_png
from gcrm.maps.view_map import render_view_html

__all__ = [
    "EXPORTS",
    "ViewExport",
    "describe_view",
    "export_block",
    "export_file",
    "file_name",
    "register_export_callbacks",
    "view_areas",
    "view_table",
]

#: Export buttons: component id -> (label, file format).
EXPORTS: dict[str, tuple[str, str]] = {
    "export-csv": ("Table CSV", "csv"),
    "export-xlsx": ("Table XLSX", "xlsx"),
    "export-html": ("Map HTML", "html"),
    "export-png": ("Map PNG", "png"),
}
#: Controls of the link that change no exported figure or colour: the point, heat and other
#: overlay layers are not drawn in an export, the forecast is the chart's.
_NOT_EXPORTED = frozenset({"points", "forecast", "layers", "heat", "campaign", "campaign_by"})
#: How the known controls are named in an export; another control is named by its key.
_CONTROL_LABELS = {
    "measure": "Measure",
    "period": "Period",
    "compare": "Compare with",
    "segment": "Segment",
    "scheme": "Classes",
    "hotspots": "Hot spots",
    "method": "Hot spot method",
}
#: Controls passed to the panels by name (below); others reach them through _slice_filters.
_SLICE_KEYS = frozenset(
    {"measure", "period", "compare", "segment", "scheme", "hotspots", "channel", "branch"}
)


@dataclass(frozen=True)
class ViewExport:
    """What an export of one view holds: the map's colours and legend, the table, and the
    filters that describe them (``(name, value)`` pairs, in the order of the page)."""

    view: v.View
    controls: dict[str, Any]
    title: str
    scope: str
    filters: list[tuple[str, str]]
    colours: dict[str, str]
    legend: list[tuple[str, str]]
    labels: dict[str, str]
    table: pd.DataFrame
    table_scope: str
    exported_at: datetime
    notes: list[str] = field(default_factory=list)

    def title_lines(self) -> list[str]:
        """The map's title, where it is, the filters, and the date of export: one line each."""
        shown = [(k, text) for k, text in self.filters if k not in ("Region", "Exported")]
        return [
            self.title,
            self.scope,
            " · ".join(f"{k}: {text}" for k, text in shown),
            f"Exported {_stamp(self.exported_at)} from gcrm",
        ]


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _slice_filters(func: Callable[..., Any], controls: Mapping[str, Any]) -> dict[str, Any]:
    """The order filter the panels apply (channel or branch, :func:`dashboard.panels.order_filter`)
    and any other control that ``func`` takes as a keyword: a control added to the link
    reaches the export's figures as soon as the panel functions take it."""
    orders, _ = p.order_filter(
        controls["measure"], channel=controls.get("channel"), branch=controls.get("branch")
    )
    params = inspect.signature(func).parameters
    other = {k: val for k, val in controls.items() if k not in _SLICE_KEYS and k in params}
    return {**other, **orders}


def _comparison(ds: Any, controls: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(note, base period)`` of ``controls``, as the dashboard decides them."""
    return p.comparison_or_note(ds, period=controls.get("period"), compare=controls.get("compare"))


def _map_layer(
    data: DashboardData, view: v.View, controls: Mapping[str, Any], base: str | None
) -> tuple[str, dict[str, str], list[tuple[str, str]], dict[str, str], list[str]]:
    """``(title, colour by area, legend rows, label by area, notes)`` of the map, as the
    choropleth callback draws it: hot spots, a comparison, or the measure's classes."""
    ds = data.cube
    measure, period, segment = controls["measure"], controls["period"], controls["segment"]
    label, unit = MEASURES[measure].label, measure_unit(ds, measure)
    notes: list[str] = []
    if controls.get("hotspots"):
        try:
            result = data.hotspots(
                level=view["level"],
                measure=measure,
                period=None if is_all(period) else period,
                segment=None if is_all(segment) else segment,
                parent=view.get("parent") or None,
                **_slice_filters(data.hotspots, controls),
            )
        except ValidationError as exc:
            notes.append(f"No hot spots: {exc}")
        else:
            title, rows, method = p.hotspot_legend(result)
            labels = dict(zip(result["area_id"].astype(str), result["cluster"], strict=True))
            return title, p.hotspot_colours(result), list(rows), labels, [method]
    if base is not None:
        table = p.view_comparison(
            ds,
            view,
            measure=measure,
            period=period,
            compare=controls["compare"],
            segment=segment,
            **_slice_filters(p.view_comparison, controls),
        )
        classes = p.diverging_classes(table["pct_change"])
        legend = [*classes.legend(unit="share"), (NO_DATA_COLOUR, "no data")]
        labels = {str(a): p.change_text(float(r.value), float(r.base)) for a, r in table.iterrows()}
        title = f"{label} · {p.period_label(period)} · % change vs {p.period_label(base)}"
        return title, p.area_colours(table["pct_change"], classes), legend, labels, notes
    values = p.view_values(
        ds,
        view,
        measure=measure,
        period=period,
        segment=segment,
        **_slice_filters(p.view_values, controls),
    )
    classes = p.choropleth_classes(values, scheme=controls["scheme"])
    labels = {str(a): format_value(float(x), unit=unit) for a, x in values.items()}
    title = f"{label} · {p.period_label(period)}"
    legend = p.legend_items(classes, measure=measure, ds=ds)
    return title, p.area_colours(values, classes), legend, labels, notes


def view_table(
    data: DashboardData, view: v.View, controls: Mapping[str, Any]
) -> tuple[pd.DataFrame, str, str | None]:
    """Every area of the dashboard's table (its level and parent: the selected area's
    children when it has any, else the map's areas), ranked as the table ranks them.

    Returns
    -------
    tuple
        ``(table, level, parent)``; the table's columns are Rank, Code, Area, the measure
        in the period, Share (a fraction) and, when the view compares periods, the measure
        in the base period, Change and Change % (a fraction). Areas without a value come
        last, without a rank.
    """
    ds = data.cube
    measure, period, segment = controls["measure"], controls["period"], controls["segment"]
    level, parent = v.table_scope(view, data.levels)
    scope = {"level": level, "parent": parent}
    _, base = _comparison(ds, controls)
    label, unit = MEASURES[measure].label, measure_unit(ds, measure)
    named = f"{label} ({unit})" if len(unit) == 3 and unit.isupper() else label
    if base is None:
        values = p.view_values(
            ds,
            scope,
            measure=measure,
            period=period,
            segment=segment,
            **_slice_filters(p.view_values, controls),
        )
        compared = None
    else:
        compared = p.view_comparison(
            ds,
            scope,
            measure=measure,
            period=str(period),
            compare=str(controls["compare"]),
            segment=segment,
            **_slice_filters(p.view_comparison, controls),
        )
        values = compared["value"]
    ranked = values.dropna().sort_values(ascending=False, kind="stable")
    missing = values[values.isna()]
    order = [*ranked.index, *missing.index]
    ids = [str(a) for a in order]
    table = pd.DataFrame(
        {
            "Rank": pd.array([*range(1, len(ranked) + 1), *[None] * len(missing)], dtype="Int64"),
            "Code": [str(c) for c in ds["code"].sel(area=ids).values],
            "Area": [str(n) for n in ds["name"].sel(area=ids).values],
            f"{named}, {p.period_label(period)}": values.reindex(order).to_numpy(float),
            "Share": p.value_shares(values, measure=measure).reindex(order).to_numpy(float),
        },
        index=pd.Index(ids, name="area_id"),
    )
    if compared is not None:
        rows = compared.reindex(order)
        table[f"{named}, {p.period_label(base)}"] = rows["base"].to_numpy(float)
        table["Change"] = rows["change"].to_numpy(float)
        table["Change %"] = rows["pct_change"].to_numpy(float)
    table.attrs["unit"] = unit
    return table, level, parent


def _control_text(data: DashboardData, key: str, value: Any, base: str | None) -> str:
    """How the value of control ``key`` reads in an export."""
    if key == "measure":
        return MEASURES[value].label
    if key == "period":
        return p.period_label(value)
    if key == "compare":
        text = p.COMPARE_OPTIONS.get(str(value), str(value))
        return f"{text} ({base})" if base else text
    if key == "segment":
        options = {o["value"]: o["label"] for o in p.segment_options(data.cube)}
        return options.get(value, str(value)) if not is_all(value) else "All segments"
    if key == "scheme":
        return SCHEMES.get(str(value), str(value))
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        return ", ".join(str(x) for x in value) or "none"
    return "all" if value is None or is_all(value) else str(value)


def _filters(
    data: DashboardData,
    view: v.View,
    controls: Mapping[str, Any],
    *,
    base: str | None,
    hotspots: bool,
    compared: bool,
    now: datetime,
) -> list[tuple[str, str]]:
    ds = data.cube
    rows = [
        ("Region", data.region_name),
        ("Area level", v.level_label(data.levels, view["level"])),
    ]
    if view.get("parent"):
        crumbs = v.breadcrumb(view, ds, region_name=data.region_name)
        rows.append(("Within", " › ".join(name for _, name in crumbs)))
    if view.get("selected"):
        rows.append(("Selected", v.area_label(ds, view["selected"], region_name="")))
    for key, value in controls.items():
        if key in _NOT_EXPORTED or (key == "method" and not hotspots):
            continue
        text = _control_text(data, key, value, base)
        if key == "method":
            text = HOTSPOT_METHODS.get(str(value), str(value))
        if key == "scheme" and (hotspots or compared):
            text = "hot spot classes" if hotspots else "% change, diverging around 0"
        rows.append((_CONTROL_LABELS.get(key, key.replace("_", " ").capitalize()), text))
    rows.append(("Exported", _stamp(now)))
    return rows


def describe_view(
    data: DashboardData,
    view: v.View,
    controls: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> ViewExport:
    """The export of ``view`` with ``controls`` (key -> value, as the page's link holds
    them: :data:`dashboard.link.CONTROLS` for the defaults; ``hotspots`` true or false).

    Raises
    ------
    gcrm.core.ValidationError
        When a control's value is not valid for the cube (an unknown measure, period,
        segment or scheme).
    """
    controls = {**dict(controls)}
    for key in ("measure", "period", "compare", "segment", "scheme"):
        controls.setdefault(key, None)
    if controls["measure"] not in MEASURES:
        msg = f"measure={controls['measure']!r} is not a cube measure; use one of {list(MEASURES)}"
        raise ValidationError(msg)
    controls["scheme"] = controls["scheme"] or "quantiles"
    now = now or datetime.now(UTC)
    ds = data.cube
    note, base = _comparison(ds, controls)
    _, order_note = p.order_filter(
        controls["measure"], channel=controls.get("channel"), branch=controls.get("branch")
    )
    title, colours, legend, labels, notes = _map_layer(data, view, controls, base)
    hotspots = title.startswith("Hot spots")
    table, level, parent = view_table(data, view, controls)
    where = v.area_label(ds, parent, region_name=data.region_name)
    crumbs = v.breadcrumb(view, ds, region_name=data.region_name)
    scope = (
        " › ".join(name for _, name in crumbs) + " · " + v.level_label(data.levels, view["level"])
    )
    if view.get("selected"):
        scope += f" · selected: {v.area_label(ds, view['selected'], region_name='')}"
    return ViewExport(
        view=dict(view),
        controls=controls,
        title=title,
        scope=scope,
        filters=_filters(
            data,
            view,
            controls,
            base=base,
            hotspots=hotspots,
            compared=base is not None,
            now=now,
        ),
        colours=colours,
        legend=legend,
        labels=labels,
        table=table,
        table_scope=f"{v.level_label(data.levels, level)} in {where}",
        exported_at=now,
        notes=[n for n in (note, order_note, *notes) if n],
    )


# ------------------------------------------------------------------ files


def view_areas(data: DashboardData, export: ViewExport) -> gpd.GeoDataFrame:
    """The map's areas of ``export`` (the geometry the dashboard draws), with their name,
    code and shown value (``label``), EPSG:4326."""
    features = data.view_geometry(export.view)["features"]
    if not features:
        msg = f"the view {export.view!r} has no areas to draw; pick another level or parent"
        raise ValidationError(msg)
    areas = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
    areas = areas.rename(columns={"area": "area_id"})
    areas["label"] = [export.labels.get(str(a), "–") for a in areas["area_id"]]
    return areas


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def file_name(export: ViewExport, suffix: str) -> str:
    """A file name that says what the export is of, e.g.
    ``gcrm-revenue-hex-in-kamppi-2025-q2-vs-2024-q2-business-20250601-1200.csv``."""
    c, view = export.controls, export.view
    parts = [c["measure"], view["level"]]
    if view.get("parent"):
        parts += ["in", str(view["parent"]).split(":", 1)[-1]]
    if not is_all(c.get("period")):
        parts.append(str(c["period"]))
    base = next((text for k, text in export.filters if k == "Compare with" and "(" in text), None)
    if base:
        parts += ["vs", base.rsplit("(", 1)[-1].rstrip(")")]
    if c.get("hotspots"):
        parts.append("hotspots" if c.get("method", "gi") == "gi" else f"{c['method']}-hotspots")
    for key, value in c.items():
        if key in _SLICE_KEYS or key in _NOT_EXPORTED or key == "method":
            continue
        if not isinstance(value, str):
            continue
        if not is_all(value):
            parts.append(value)
    for key in ("segment", "channel", "branch"):
        if isinstance(c.get(key), str) and not is_all(c[key]):
            parts.append(c[key])
    parts.append(export.exported_at.astimezone(UTC).strftime("%Y%m%d-%H%M"))
    return f"gcrm-{_slug('-'.join(str(x) for x in parts))}.{suffix}"


def _table_csv(export: ViewExport) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = write_frame(export.table, Path(folder) / "areas.csv", layer="areas")
        return path.read_bytes()


def _table_xlsx(export: ViewExport) -> bytes:
    table, unit = export.table, str(export.table.attrs.get("unit", ""))
    view_rows = pd.DataFrame(
        [*export.filters, ("Table", export.table_scope), ("Areas", str(len(table)))],
        columns=["Filter", "Value"],
    )
    value_format = "0.0%" if is_share(unit) else "#,##0.00"
    formats = {
        col: "0.0%" if col in ("Share", "Change %") else value_format for col in table.columns[3:]
    }
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in (("Areas", table), ("View", view_rows)):
            frame.to_excel(writer, sheet_name=name, index=False)
            ws = writer.sheets[name]
            style_header(ws)
            fit_columns(ws, frame)
        ws = writer.sheets["Areas"]
        for col, fmt in formats.items():
            letter = get_column_letter(table.columns.get_loc(col) + 1)
            for (cell,) in ws[f"{letter}2:{letter}{len(table) + 1}"]:
                cell.number_format = fmt
    return buffer.getvalue()


def export_file(data: DashboardData, export: ViewExport, fmt: str) -> tuple[bytes, str]:
    """The bytes and file name of ``export`` as ``fmt``: ``"csv"`` or ``"xlsx"`` (the
    table), ``"html"`` or ``"png"`` (the map).

    Raises
    ------
    gcrm.core.ValidationError
        When ``fmt`` is not one of those, or the view has no areas.
    """
    if fmt == "csv":
        return _table_csv(export), file_name(export, fmt)
    if fmt == "xlsx":
        return _table_xlsx(export), file_name(export, fmt)
    if fmt not in ("html", "png"):
        formats = sorted(f for _, f in EXPORTS.values())
        msg = f"fmt={fmt!r} is not an export format; use one of {formats}"
        raise ValidationError(msg)
    areas = view_areas(data, export)
    common: dict[str, Any] = {
        "fill": export.colours,
        "legend": export.legend,
        "title_lines": export.title_lines(),
        "legend_title": export.title,
        "highlight": export.view.get("selected"),
    }
    if fmt == "png":
        return render_map_png(areas, notes=export.notes, **common), file_name(export, fmt)
    fields = [("name", "Area"), ("code", "Code"), ("label", export.title)]
    page = render_view_html(areas, tooltip_fields=fields, **common)
    return page.encode("utf-8"), file_name(export, fmt)


# ------------------------------------------------------------------ page


def export_block() -> html.Div:
    """The sidebar's export buttons, the download they fill, and a line that says what was
    exported (or why not)."""
    return html.Div(
        [
            html.H2("Export", className="sidebar-title"),
            html.Div(
                [
                    html.Button(label, id=bid, className="btn")
                    for bid, (label, _) in EXPORTS.items()
                ],
                className="button-row export-row",
            ),
            dcc.Download(id="export-download"),
            html.Div(
                "Exports hold this view: its areas, measure, period and filters.",
                id="export-note",
                className="hint",
            ),
        ],
        className="export",
    )


def register_export_callbacks(
    app: dash.Dash,
    current: Callable[[], DashboardData],
    *,
    controls: Mapping[str, str],
) -> None:
    """Attach the export buttons' callback to ``app``. ``controls`` is the page's linked
    controls (key -> component id, :data:`dashboard.callbacks.LINKED_CONTROLS`): each one's
    value is read into the export, so a control added there is exported too."""
    keys = list(controls)

    @app.callback(
        Output("export-download", "data"),
        Output("export-note", "children"),
        *(Input(bid, "n_clicks") for bid in EXPORTS),
        State("view", "data"),
        *(State(cid, "value") for cid in controls.values()),
        prevent_initial_call=True,
    )
    def export(*args: Any) -> tuple[Any, str]:
        view, values = args[len(EXPORTS)], args[len(EXPORTS) + 1 :]
        state = {
            # A checklist of one option (hot spots, say) is on or off.
            k: bool(val) if isinstance(val, list) and set(val) <= {"on"} else val
            for k, val in zip(keys, values, strict=True)
        }
        fmt = EXPORTS[str(ctx.triggered_id)][1]
        data = current()
        try:
            described = describe_view(data, view, state)
            content, name = export_file(data, described, fmt)
        except GcrmError as exc:
            return no_update, f"Not exported: {exc}"
        return dcc.send_bytes(content, name), f"Exported {name}"
