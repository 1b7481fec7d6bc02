"""The regional dashboard's customers at risk: the active customers of the selected area (or
of the whole view) by churn risk, with their reasons, revenue at risk and expected value; how
far to trust the risk (the churn model's backtest); the list as a CSV or XLSX file.

Reads go through the request's engine (``services.data``): row-level security decides which
customers a user sees. Names only for users who may read customers (``read_customers``, as
``GET /api/customers/churn-risk`` decides); every read that shows names, and every download,
is recorded in the audit log (:func:`gcrm.access.record_access`). The shaping of rows, the
sort and the notes are plain functions, tested without a browser.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dash
import pandas as pd
import xarray as xr
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from sqlalchemy import Connection, Engine, text

from dashboard import view as v
from dashboard.cache import DashboardData
from gcrm.access import record_access
from gcrm.core import GcrmError, ValidationError
from gcrm.cube import measure_unit
from gcrm.io import write_frame
from gcrm.maps import format_value
from gcrm.scoring import latest_run, reasons_text
from gcrm.store import load_queries
from gcrm.web import current_request_principal

__all__ = [
    "DEFAULT_SORT",
    "EXPORT_LIMIT",
    "RISK_COLUMNS",
    "RISK_LIMIT",
    "AtRisk",
    "at_risk_frame",
    "churn_backtest_note",
    "export_at_risk",
    "next_sort",
    "read_at_risk",
    "register_risk_callbacks",
    "risk_panel",
    "risk_rows",
    "risk_summary",
    "risk_table",
]

_SQL = load_queries(__package__, "risk.sql")

#: Rows the panel shows (the riskiest first, or the first by the column sorted on).
RISK_LIMIT = 100
#: Rows a download holds at most: the whole list of the area, sorted as on screen.
EXPORT_LIMIT = 10_000
#: The list's columns: key -> heading. ``name`` only for users who may read customers.
RISK_COLUMNS: dict[str, str] = {
    "name": "Customer",
    "id": "Id",
    "segment": "Segment",
    "area": "Area",
    "churn_risk": "Churn risk",
    "revenue_12m": "Revenue 12 m",
    "revenue_at_risk": "At risk",
    "expected_value_12m": "Expected value 12 m",
    "reasons": "Top reasons",
}
#: Columns sorted on with a click; numbers sort largest first on the first click.
_NUMERIC = ("churn_risk", "revenue_12m", "revenue_at_risk", "expected_value_12m")
_SORTABLE = ("name", "id", "segment", "area", *_NUMERIC)
DEFAULT_SORT: dict[str, Any] = {"by": "churn_risk", "desc": True}
#: What a row of the list reads, as the audit log names the fields.
_FIELDS = ("id", "segment", "churn_risk", "revenue_12m", "expected_value_12m", "reasons")
NO_SCORES = "No churn scores yet: run `gcrm customers churn-risk` to score active customers."


@dataclass(frozen=True)
class AtRisk:
    """Customers at risk as read: rows (``id``, ``name`` (None without names), ``segment``,
    ``churn_risk``, ``revenue_12m``, ``revenue_at_risk``, ``expected_value_12m``,
    ``reasons`` (list of ``{"feature", "effect", "text"}``), ``area_code``), how many there
    are in all, whether names were read, and whether any customer in the user's scope has a
    churn score at all."""

    rows: list[dict[str, Any]]
    total: int
    names: bool
    scored: bool = True


def _check_sort(sort: Mapping[str, Any] | None, *, names: bool) -> tuple[str, bool]:
    sort = sort or DEFAULT_SORT
    by = str(sort.get("by") or DEFAULT_SORT["by"])
    if by not in _SORTABLE:
        msg = f"sort by={by!r} is not a column of the list; use one of {list(_SORTABLE)}"
        raise ValidationError(msg)
    if by == "name" and not names:  # an order by name would tell names
        return str(DEFAULT_SORT["by"]), True
    return by, bool(sort.get("desc"))


def _query(
    conn: Connection,
    *,
    area: str | None,
    show_level: str,
    by: str,
    descending: bool,
    names: bool,
    limit: int,
) -> list[dict[str, Any]]:
    level, code = area.split(":", 1) if area else (None, None)
    params = {
        "level": level,
        "code": code,
        "show_level": show_level,
        "by": by,
        "descending": descending,
        "names": names,
        "limit": limit,
    }
    return [dict(r) for r in conn.execute(text(_SQL["at_risk"]), params).mappings()]


def read_at_risk(
    engine: Engine,
    *,
    area: str | None,
    show_level: str,
    sort: Mapping[str, Any] | None = None,
    names: bool,
    limit: int = RISK_LIMIT,
    action: str = "dashboard customers at risk",
    audit: bool = False,
) -> AtRisk:
    """The active scored customers of ``area`` the request's user may see, by ``sort``.

    Parameters
    ----------
    engine
        The engine of the request's principal (``services.data``).
    area
        An area id (``"district:D01"``): its customers only; None: every customer in scope.
    show_level
        The level whose area code each row carries (``area_code``).
    sort
        ``{"by": column, "desc": bool}`` (:data:`DEFAULT_SORT`: riskiest first); a sort by
        name without ``names`` is the default sort.
    names
        Read the customers' names (the user may read customers); the read is then audited.
    limit
        At most this many rows.
    action
        What the audit log calls the read.
    audit
        Record the read even without names (a download: the list leaves the page).

    Raises
    ------
    ValidationError
        When ``sort`` names no column of the list, or ``area`` is not ``level:code``.
    """
    if area is not None and ":" not in area:
        msg = f"area={area!r} is not an area id; use LEVEL:CODE, e.g. district:D01"
        raise ValidationError(msg)
    by, descending = _check_sort(sort, names=names)
    with engine.begin() as conn:
        rows = _query(
            conn,
            area=area,
            show_level=show_level,
            by=by,
            descending=descending,
            names=names,
            limit=limit,
        )
        scored = bool(rows)
        if not rows and area is not None:  # none here: none anywhere in scope?
            anywhere = _query(
                conn,
                area=None,
                show_level=show_level,
                by=by,
                descending=True,
                names=False,
                limit=1,
            )
            scored = bool(anywhere)
        if rows and (names or audit):
            record_access(
                conn,
                action=action,
                rows=len(rows),
                fields=[*_FIELDS, "name"] if names else list(_FIELDS),
                target=area,
                detail={"sort": by, "descending": descending, "limit": limit},
            )
    total = int(rows[0]["total"]) if rows else 0
    return AtRisk(rows=rows, total=total, names=names, scored=scored)


def read_churn_run(engine: Engine) -> dict[str, Any] | None:
    """The newest churn run that has a backtest (:func:`gcrm.scoring.latest_run`)."""
    with engine.connect() as conn:
        return latest_run(conn, "churn", with_backtest=True)


def churn_backtest_note(run: Mapping[str, Any] | None) -> str:
    """How far to trust the churn risk, in one line: the backtest's AUC against its
    baselines ("ranked the last 6 months' churners with AUC 0.68; recency alone 0.63");
    or that there is no backtest, so no skill is claimed."""
    backtest = (run or {}).get("backtest")
    if isinstance(backtest, str):
        backtest = json.loads(backtest)
    if not isinstance(backtest, Mapping) or backtest.get("auc") is None:
        return "No backtest of the churn risk yet: run `gcrm customers churn-risk --backtest`."
    months = int(backtest.get("horizon_months") or 6)
    auc = float(backtest["auc"])
    line = f"Churn risk ranked the last {months} months' churners with AUC {auc:.2f}"
    if backtest.get("precision_top10") is not None:
        line += f" ({100 * float(backtest['precision_top10']):.0f} % of its top 10 % churned)"
    baselines = {
        name: float(fig["auc"])
        for name, fig in (backtest.get("baselines") or {}).items()
        if isinstance(fig, Mapping) and fig.get("auc") is not None
    }
    # The baselines that read one figure first ("recency alone"), chance last.
    others = [
        f"{name} alone {value:.2f}" if name != "random" else f"random {value:.2f}"
        for name, value in sorted(baselines.items(), key=lambda kv: kv[0] == "random")
    ]
    line += f"; {', '.join(others)}." if others else "."
    beaten_by = [name for name, value in baselines.items() if value >= auc]
    if beaten_by:  # no claim of skill the backtest does not show
        line += f" It ranks no better than {' or '.join(beaten_by)} here."
    return line


def _area_names(ds: xr.Dataset, level: str, codes: Sequence[Any]) -> dict[str, str]:
    wanted = {f"{level}:{c}" for c in codes if c}
    known = [a for a in ds.indexes["area"] if a in wanted]
    names = [str(n) for n in ds["name"].sel(area=known).values] if known else []
    return {str(a).split(":", 1)[1]: str(n) for a, n in zip(known, names, strict=True)}


def at_risk_frame(found: AtRisk, ds: xr.Dataset, *, show_level: str) -> pd.DataFrame:
    """The list as a table for a file: ``customer_id``, ``name`` (with names), ``segment``,
    ``area_code``, ``area_name``, the figures and ``reasons`` ("r1; r2; r3")."""
    rows = found.rows
    names = _area_names(ds, show_level, [r["area_code"] for r in rows])
    frame = pd.DataFrame(
        {
            "customer_id": [r["id"] for r in rows],
            "name": [r["name"] for r in rows],
            "segment": [r["segment"] for r in rows],
            "area_level": show_level,
            "area_code": [r["area_code"] or "" for r in rows],
            "area_name": [names.get(r["area_code"] or "", "") for r in rows],
            "churn_risk": [r["churn_risk"] for r in rows],
            "revenue_12m": [r["revenue_12m"] for r in rows],
            "revenue_at_risk": [r["revenue_at_risk"] for r in rows],
            "expected_value_12m": [r["expected_value_12m"] for r in rows],
            "reasons": [reasons_text(r["reasons"]) for r in rows],
        }
    )
    return frame if found.names else frame.drop(columns=["name"])


def export_at_risk(frame: pd.DataFrame, fmt: str) -> bytes:
    """:func:`at_risk_frame` as a CSV or XLSX file's bytes (risk as a percentage in XLSX).

    Raises
    ------
    ValidationError
        When ``fmt`` is neither ``csv`` nor ``xlsx``.
    """
    if fmt not in ("csv", "xlsx"):
        msg = f"format={fmt!r} is not a list export; use csv or xlsx"
        raise ValidationError(msg)
    with tempfile.TemporaryDirectory() as folder:
        path = write_frame(
            frame,
            Path(folder) / f"customers_at_risk.{fmt}",
            layer="customers_at_risk",
            formats=(".csv", ".xlsx"),
            number_formats={"churn_risk": "0.0%", "revenue_at_risk": "#,##0"},
        )
        return path.read_bytes()


def risk_rows(found: AtRisk, ds: xr.Dataset, *, show_level: str) -> list[dict[str, str]]:
    """The list's rows as the table shows them: rank, name or id, area name, risk as a
    percentage, money in the region's currency, the reasons joined."""
    money = measure_unit(ds, "revenue")
    names = _area_names(ds, show_level, [r["area_code"] for r in found.rows])
    return [
        {
            "rank": str(i),
            "id": str(r["id"]),
            "name": str(r["name"]) if found.names and r["name"] is not None else "",
            "segment": str(r["segment"] or ""),
            "area": names.get(r["area_code"] or "", r["area_code"] or "–"),
            "churn_risk": format_value(r["churn_risk"], unit="share"),
            "revenue_12m": format_value(r["revenue_12m"], unit=money),
            "revenue_at_risk": format_value(r["revenue_at_risk"], unit=money),
            "expected_value_12m": format_value(r["expected_value_12m"], unit=money),
            "reasons": reasons_text(r["reasons"]),
        }
        for i, r in enumerate(found.rows, start=1)
    ]


def risk_summary(found: AtRisk, *, where: str, sort: Mapping[str, Any] | None = None) -> str:
    """The line above the list: "Showing 100 of 1,234 active customers in X, riskiest
    first"; or why there is none."""
    if not found.scored:
        return NO_SCORES
    if not found.rows:
        return f"No scored active customer in {where}."
    by, descending = _check_sort(sort, names=found.names)
    order = (
        "riskiest first"
        if (by, descending) == ("churn_risk", True)
        else f"by {RISK_COLUMNS[by].lower()}, {'largest' if descending else 'smallest'} first"
        if by in _NUMERIC
        else f"by {RISK_COLUMNS[by].lower()}"
    )
    return f"Showing {len(found.rows):,} of {found.total:,} active customers in {where}, {order}"


def next_sort(sort: Mapping[str, Any] | None, column: str) -> dict[str, Any]:
    """The sort after a click on ``column``'s heading: the same column the other way;
    another column largest first (numbers) or A to Z (texts)."""
    if column not in _SORTABLE:
        msg = f"column={column!r} cannot be sorted on; use one of {list(_SORTABLE)}"
        raise ValidationError(msg)
    if (sort or {}).get("by") == column:
        return {"by": column, "desc": not bool((sort or {}).get("desc"))}
    return {"by": column, "desc": column in _NUMERIC}


def risk_table(
    rows: Sequence[Mapping[str, Any]], *, names: bool, sort: Mapping[str, Any] | None = None
) -> html.Table:
    """The list as a table: a heading button per sortable column sorts by it (again: the
    other way); the customer's name only with ``names`` (else the id stands alone)."""
    by, descending = (sort or DEFAULT_SORT).get("by"), bool((sort or DEFAULT_SORT).get("desc"))
    columns = [c for c in RISK_COLUMNS if names or c != "name"]

    def heading(column: str) -> html.Th:
        label = RISK_COLUMNS[column]
        if column not in _SORTABLE:
            return html.Th(label)
        arrow = (" ▼" if descending else " ▲") if by == column else ""
        button = html.Button(
            label + arrow, id={"type": "risk-sort", "col": column}, className="th-sort"
        )
        return html.Th(button)

    header = html.Tr([html.Th("#"), *(heading(c) for c in columns)])
    # At most RISK_LIMIT rows of a few cells: plain components, built in a loop.
    body = [
        html.Tr(
            [
                html.Td(r["rank"], className="muted"),
                *(
                    html.Td(
                        r[c],
                        className="num" if c in _NUMERIC else "reasons" if c == "reasons" else None,
                    )
                    for c in columns
                ),
            ],
            className="risk-row",
            **{"data-customer": r["id"]},
        )
        for r in rows
    ]
    return html.Table([html.Thead(header), html.Tbody(body)], className="table risk-table")


def risk_panel() -> html.Div:
    """The panel's components, filled by :func:`register_risk_callbacks`: the backtest's
    line, the summary, the list and its downloads."""
    return html.Div(
        [
            html.Div(id="risk-note", className="chart-note"),
            html.Div(id="risk-summary", className="hint"),
            html.Div(id="risk-list", className="risk-list"),
            html.Div(
                [
                    html.Button("Download CSV", id="risk-export-csv", className="btn"),
                    html.Button("Download XLSX", id="risk-export-xlsx", className="btn"),
                    html.Span(id="risk-export-status", className="hint"),
                ],
                className="button-row",
            ),
            dcc.Store(id="risk-sort", data=DEFAULT_SORT),
            dcc.Download(id="risk-download"),
        ],
        id="risk-panel",
        style={"display": "none"},  # until its tab is chosen
    )


def _may_read_customers() -> bool:
    principal = current_request_principal()
    return principal is not None and principal.can("read_customers")


def _where(data: DashboardData, area: str | None) -> str:
    return v.area_label(data.cube, area, region_name=data.region_name)


def register_risk_callbacks(app: dash.Dash, current: Callable[[], DashboardData]) -> None:
    """Attach the panel's callbacks: the list (read when its tab is open), its sort and its
    downloads."""

    @app.callback(
        Output("top-areas-panel", "style"),
        Output("risk-panel", "style"),
        Input("panel-tab", "value"),
    )
    def show_tab(tab):  # type: ignore[no-untyped-def]
        hidden = {"display": "none"}
        return (hidden, {}) if tab == "risk" else ({}, hidden)

    @app.callback(
        Output("risk-summary", "children"),
        Output("risk-list", "children"),
        Output("risk-note", "children"),
        Input("view", "data"),
        Input("risk-sort", "data"),
        Input("panel-tab", "value"),
    )
    def risk_list(view, sort, tab):  # type: ignore[no-untyped-def]
        if tab != "risk":  # not shown: nothing read, nothing audited
            raise PreventUpdate
        data = current()
        area, names = v.scope_area(view), _may_read_customers()
        try:
            found = read_at_risk(
                data.engine, area=area, show_level=view["level"], sort=sort, names=names
            )
        except GcrmError as exc:
            return str(exc), [], no_update
        summary = risk_summary(found, where=_where(data, area), sort=sort)
        rows = risk_rows(found, data.cube, show_level=view["level"])
        table: list[Any] = [risk_table(rows, names=names, sort=sort)] if rows else []
        return summary, table, churn_backtest_note(read_churn_run(data.engine))

    @app.callback(
        Output("risk-sort", "data"),
        Input({"type": "risk-sort", "col": ALL}, "n_clicks"),
        State("risk-sort", "data"),
        prevent_initial_call=True,
    )
    def sort_by(_clicks, sort):  # type: ignore[no-untyped-def]
        if not isinstance(ctx.triggered_id, dict) or not ctx.triggered[0]["value"]:
            raise PreventUpdate  # the table drawn anew, not a click
        return next_sort(sort, ctx.triggered_id["col"])

    @app.callback(
        Output("risk-download", "data"),
        Output("risk-export-status", "children"),
        Input("risk-export-csv", "n_clicks"),
        Input("risk-export-xlsx", "n_clicks"),
        State("view", "data"),
        State("risk-sort", "data"),
        prevent_initial_call=True,
    )
    def download(_csv, _xlsx, view, sort):  # type: ignore[no-untyped-def]
        fmt = str(ctx.triggered_id).rsplit("-", 1)[-1]
        data = current()
        area = v.scope_area(view)
        try:
            found = read_at_risk(
                data.engine,
                area=area,
                show_level=view["level"],
                sort=sort,
                names=_may_read_customers(),
                limit=EXPORT_LIMIT,
                action=f"dashboard customers at risk export {fmt}",
                audit=True,
            )
            if not found.rows:
                return no_update, risk_summary(found, where=_where(data, area), sort=sort)
            frame = at_risk_frame(found, data.cube, show_level=view["level"])
            content = export_at_risk(frame, fmt)
        except GcrmError as exc:
            return no_update, f"Not exported: {exc}"
        name = f"customers_at_risk.{fmt}"
        return dcc.send_bytes(content, name), f"Exported {len(frame):,} customers to {name}"
