"""Territory plans out: the list of plans, a plan's territories and units as GeoPackage, XLSX
or CSV, reps from a file, and the diff of two plans as tables, a workbook and an offline map.

A plan stores only which territory each unit is in; its figures (totals, deviations,
compactness, contiguity) are computed again here with
:func:`~gcrm.territories.design.evaluate_assignment` on the units of the plan's level as the
reader may see them (row-level security: a scoped user sees the areas, customers and orders
of their scope, so their export holds their scope's units and totals).

The diff functions are shared by the command line, the API and the dashboard:
:func:`plan_diff_tables` reads and shapes everything once (:class:`PlanDiffTables`), and
:func:`write_plan_diff` / :func:`render_plan_diff_html` write it.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template
from openpyxl.utils import get_column_letter
from sqlalchemy import Connection, text

from gcrm.access import record_access
from gcrm.core import ValidationError
from gcrm.io import check_suffix, fit_columns, read_table, style_header, write_frame
from gcrm.maps.offline import render_offline
from gcrm.maps.style import territory_colour
from gcrm.maps.view_map import build_view_map
from gcrm.store import load_queries
from gcrm.territories.design import DESIGN_CRITERIA, DesignResult, read_design_units
from gcrm.territories.plans import Plan, PlanDiff, diff_plans, list_plans, read_plan
from gcrm.territories.whatif import evaluate_assignment

__all__ = [
    "DIFF_FORMATS",
    "LIST_FORMATS",
    "PLAN_FORMATS",
    "PlanDiffTables",
    "PlanTables",
    "plan_diff_tables",
    "plan_tables",
    "plans_table",
    "read_reps",
    "render_plan_diff_html",
    "write_plan",
    "write_plan_diff",
    "write_plan_diff_html",
    "write_plans_table",
]

_SQL = load_queries(__package__, "plan_io.sql")

#: What ``gcrm territories export`` writes: territories and units, or the unit table.
PLAN_FORMATS = (".gpkg", ".xlsx", ".csv")
#: What the list of plans and a diff's workbook are written as.
LIST_FORMATS = (".csv", ".xlsx")
DIFF_FORMATS = (".xlsx",)
#: Always summed in a diff, besides the criteria the two plans balance.
_DIFF_WEIGHTS = ("customers", "revenue")
_MOVED_OUTLINE = "#000000"


@dataclass(frozen=True)
class PlanTables:
    """A stored plan with its figures, as the reader sees the units now."""

    plan: Plan
    #: The plan evaluated on the units of its level (balance criteria: the plan's).
    result: DesignResult
    #: One row per territory, dissolved from its units: ``territory``, ``name``, ``rep``,
    #: ``base``, ``units``, each criterion and ``<criterion>_deviation``, ``polsby_popper``,
    #: ``contiguous``, ``geometry`` (EPSG:4326).
    territories: gpd.GeoDataFrame
    #: One row per unit: ``code``, ``name``, ``territory``, ``territory_name``, ``rep``, each
    #: criterion, ``geometry`` (EPSG:4326).
    units: gpd.GeoDataFrame


@dataclass(frozen=True)
class PlanDiffTables:
    """What changes from plan ``a`` to plan ``b``, shaped for a workbook, an API or a page."""

    diff: PlanDiff
    #: ``a``, ``b`` (labels), ``level``, ``units``, ``units_moved``, ``units_moved_share``,
    #: ``customers``, ``customers_moved``, ``customers_moved_share``, ``revenue``,
    #: ``revenue_moved``, ``revenue_moved_share``, and with accounts
    #: ``accounts_moved``, ``accounts_revenue_12m_moved``.
    summary: dict[str, Any]
    #: One row per (from, to): ``from_territory``, ``from_name``, ``to_territory``,
    #: ``to_name``, ``units``, ``customers``, ``revenue`` (and other criteria of the plans).
    flows: pd.DataFrame
    #: One row per moved unit: ``code``, ``name``, ``from_territory``, ``from_name``,
    #: ``to_territory``, ``to_name``, ``customers``, ``revenue`` (...).
    moved_units: pd.DataFrame
    #: The customers of the moved units: ``customer_id``, ``name`` (only with ``names``),
    #: ``code``, ``from_territory``, ``from_name``, ``to_territory``, ``to_name``,
    #: ``revenue_12m``; None when not asked for.
    accounts: pd.DataFrame | None
    #: Whether ``accounts`` carries the customers' names.
    names: bool
    #: Every unit of the level: ``area_id``, ``code``, ``name``, ``from_territory``,
    #: ``to_territory``, ``to_name``, ``moved``, ``geometry`` (EPSG:4326).
    units: gpd.GeoDataFrame

    @property
    def a(self) -> Plan:
        """The plan compared from."""
        return self.diff.a

    @property
    def b(self) -> Plan:
        """The plan compared to."""
        return self.diff.b


def plans_table(conn: Connection) -> pd.DataFrame:
    """The stored plans, newest first, one row each, for a list or a file.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``plan`` (name@version), ``level``, ``k``, ``balance`` (``customers:1,
        revenue:1``), ``current``, ``reps`` (territories with a rep), ``max_deviation_<c>``
        per criterion any plan balances (empty where a plan does not), ``mean_polsby_popper``,
        ``created_by``, ``created_at`` (UTC, without zone).
    """
    plans = list_plans(conn)
    table = pd.DataFrame(
        {
            "id": plans["id"].astype(int),
            "plan": plans["name"] + "@" + plans["version"].astype(str),
            "level": plans["level"],
            "k": plans["k"].astype(int),
            "balance": [
                ",".join(f"{c}:{w:g}" for c, w in _ordered(b or {})) for b in plans["balance"]
            ],
            "current": plans["is_current"].astype(bool),
            "reps": plans["reps"].astype(int),
        }
    )
    criteria = [c for c in DESIGN_CRITERIA if any(c in (d or {}) for d in plans["max_deviation"])]
    for name in criteria:
        table[f"max_deviation_{name}"] = [
            float(d[name]) if d and name in d else np.nan for d in plans["max_deviation"]
        ]
    table["mean_polsby_popper"] = plans["mean_polsby_popper"].astype(float)
    table["created_by"] = plans["created_by"]
    created = pd.to_datetime(plans["created_at"], utc=True)
    table["created_at"] = created.dt.tz_localize(None)
    return table


def write_plans_table(table: pd.DataFrame, path: Path) -> Path:
    """Write :func:`plans_table` as CSV or XLSX; return ``path``.

    Raises
    ------
    ValidationError
        When the suffix is not .csv or .xlsx.
    """
    formats = {c: "0.0%" for c in table.columns if c.startswith("max_deviation_")}
    return write_frame(
        table,
        path,
        layer="plans",
        formats=LIST_FORMATS,
        number_formats={**formats, "mean_polsby_popper": "0.000"},
        argument="-o",
    )


def plan_tables(conn: Connection, plan: Plan | int | str) -> PlanTables:
    """Plan ``plan`` (a :class:`Plan` or a reference :func:`resolve_plan` takes) with its
    territories dissolved and the figures of its balance criteria.

    Parameters
    ----------
    conn
        A connection (row-level security applies to the units' weights).
    plan
        The plan, or its id, name, ``name@version`` or ``current``.

    Raises
    ------
    NotFoundError
        When no plan matches, or its level has no areas.
    ValidationError
        When an area of the plan's level has no territory in it (the areas changed).
    """
    found = plan if isinstance(plan, Plan) else read_plan(conn, plan)
    criteria = _criteria(found)
    units = read_design_units(conn, level=found.level, criteria=criteria)
    result = evaluate_assignment(
        units,
        _visible_assignment(found, units),
        balance={c: found.balance.get(c, 1.0) for c in criteria},
        adjacency=str(found.settings.get("adjacency", "queen")),
    )
    named = found.territories[["territory", "name", "rep", "base"]]
    polygons = result.territory_polygons().merge(named, on="territory", how="left")
    front = ["territory", "name", "rep", "base", "units"]
    territories = gpd.GeoDataFrame(
        polygons[[*front, *(c for c in polygons.columns if c not in front)]],
        geometry="geometry",
        crs=polygons.crs,
    )
    by_territory = named.set_index("territory")
    cells = result.units.assign(
        territory_name=result.units["territory"].map(by_territory["name"]),
        rep=result.units["territory"].map(by_territory["rep"]),
    )
    keep = ["code", "name", "territory", "territory_name", "rep", *criteria, "geometry"]
    return PlanTables(
        plan=found,
        result=result,
        territories=territories,
        units=gpd.GeoDataFrame(cells[keep], geometry="geometry", crs=cells.crs),
    )


def write_plan(tables: PlanTables, path: Path) -> Path:
    """Write a plan: a GeoPackage with layers ``territories`` and ``units``, an XLSX workbook
    with sheets Units and Territories, or the unit table as CSV; return ``path``.

    Raises
    ------
    ValidationError
        When the suffix is none of .gpkg, .xlsx, .csv.
    """
    path = Path(path)
    suffix = check_suffix(path, PLAN_FORMATS, argument="-o")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    if suffix == ".gpkg":
        territories = tables.territories.assign(
            rep=tables.territories["rep"].astype("string"),
            base=tables.territories["base"].astype("string"),
        )
        territories.to_file(path, layer="territories", driver="GPKG", engine="pyogrio")
        units = tables.units.assign(rep=tables.units["rep"].astype("string"))
        units.to_file(path, layer="units", driver="GPKG", engine="pyogrio")
        return path
    unit_table = pd.DataFrame(tables.units.drop(columns="geometry"))
    if suffix == ".csv":
        unit_table.to_csv(path, index=False)
        return path
    territory_table = pd.DataFrame(tables.territories.drop(columns="geometry"))
    _write_sheets(
        path,
        {"Units": unit_table, "Territories": territory_table},
        formats={
            **{c: "0.0%" for c in territory_table.columns if c.endswith("_deviation")},
            "polsby_popper": "0.000",
            "revenue": "#,##0.00",
        },
    )
    return path


def read_reps(path: Path) -> tuple[dict[int, str | None], dict[int, str]]:
    """Reps (and territory names) from a table with columns ``territory``, ``rep`` and
    optionally ``name`` (CSV or XLSX). An empty rep clears the territory's rep; an empty name
    keeps the name it has.

    Returns
    -------
    tuple
        Territory -> rep, territory -> name.

    Raises
    ------
    ValidationError
        When a column is missing or a territory is not a whole number.
    """
    frame = read_table(path, argument="--reps")
    missing = {"territory", "rep"} - set(frame.columns)
    if missing:
        msg = (
            f"--reps file {str(path)!r} lacks column(s) {sorted(missing)}; write one row per "
            "territory with columns territory,rep[,name]"
        )
        raise ValidationError(msg)
    reps: dict[int, str | None] = {}
    names: dict[int, str] = {}
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        value = str(row.territory).strip()
        if not value.isdigit():
            msg = (
                f"--reps file {str(path)!r}, row {i}: territory {value!r} is not a whole "
                "number; use the plan's territory numbers 1..k"
            )
            raise ValidationError(msg)
        reps[int(value)] = str(row.rep).strip() or None
        name = str(getattr(row, "name", "") or "").strip()
        if name:
            names[int(value)] = name
    return reps, names


def plan_diff_tables(
    conn: Connection,
    a: Plan | int | str,
    b: Plan | int | str,
    *,
    names: bool = False,
    accounts: bool = True,
    audit: bool = False,
    action: str = "territories diff",
) -> PlanDiffTables:
    """Which units, customers, revenue and accounts move from plan ``a`` to plan ``b``.

    Parameters
    ----------
    conn
        A connection (row-level security applies: a scoped user compares the units, customers
        and orders of their scope).
    a, b
        Two plans of the same level, or their references (id, name, ``name@version``,
        ``current``).
    names
        List the accounts with their names (the caller may read customers one by one,
        ``read_customers``); without, accounts are ids only.
    accounts
        Read the customers of the moved units.
    audit
        Record the read of the accounts in the audit log even without names (a download).
        A read with names is always recorded.
    action
        What the audit log calls the read (the command or the route).

    Raises
    ------
    NotFoundError
        When a plan is not found.
    ValidationError
        When the plans divide different levels.
    """
    plan_a = a if isinstance(a, Plan) else read_plan(conn, a)
    plan_b = b if isinstance(b, Plan) else read_plan(conn, b)
    if plan_a.level != plan_b.level:
        diff_plans(plan_a, plan_b)  # raises, naming both plans and levels
    criteria = list(dict.fromkeys([*_DIFF_WEIGHTS, *_criteria(plan_a), *_criteria(plan_b)]))
    units = read_design_units(conn, level=plan_a.level, criteria=criteria)
    # A scoped reader sees the areas of their scope: the diff is the diff of those units.
    codes = units["code"].astype(str)
    diff = diff_plans(_within(plan_a, codes), _within(plan_b, codes), weights=units)
    name_a = plan_a.territories.set_index("territory")["name"]
    name_b = plan_b.territories.set_index("territory")["name"]
    moved = diff.moved.assign(
        from_name=diff.moved["from_territory"].map(name_a),
        to_name=diff.moved["to_territory"].map(name_b),
    )
    moved_units = moved[
        ["code", "name", "from_territory", "from_name", "to_territory", "to_name", *criteria]
    ]
    flows = diff.flows.assign(
        from_name=diff.flows["from_territory"].map(name_a),
        to_name=diff.flows["to_territory"].map(name_b),
    )[["from_territory", "from_name", "to_territory", "to_name", "units", *criteria]]
    account_table = (
        _moved_accounts(conn, moved, level=plan_a.level, names=names, audit=audit, action=action)
        if accounts
        else None
    )
    return PlanDiffTables(
        diff=diff,
        summary=_diff_summary(diff, units, moved_units, account_table),
        flows=flows,
        moved_units=moved_units.reset_index(drop=True),
        accounts=account_table,
        names=names and accounts,
        units=_diff_units(units, plan_a, plan_b, name_b),
    )


def write_plan_diff(tables: PlanDiffTables, path: Path) -> Path:
    """Write a diff as an XLSX workbook: sheets Summary, Flows, Moved units and (when read)
    Moved accounts; return ``path``.

    Raises
    ------
    ValidationError
        When the suffix is not .xlsx.
    """
    path = Path(path)
    check_suffix(path, DIFF_FORMATS, argument="-o")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    summary = pd.DataFrame({"figure": list(tables.summary), "value": list(tables.summary.values())})
    sheets = {"Summary": summary, "Flows": tables.flows, "Moved units": tables.moved_units}
    if tables.accounts is not None:
        sheets["Moved accounts"] = tables.accounts
    _write_sheets(path, sheets, formats={"revenue": "#,##0.00", "revenue_12m": "#,##0.00"})
    return path


def render_plan_diff_html(tables: PlanDiffTables) -> str:
    """The diff as one offline HTML page: every unit coloured by its territory in plan ``b``,
    moved units outlined thick (tooltip: from -> to), a title block with the figures and a
    panel with the flows table. No network reference (vendored Leaflet, no tiles)."""
    units = tables.units
    # Each territory in its colour of the Planning page (30 colours, then again in turn).
    fill = units["to_territory"].map(territory_colour)
    names = units.drop_duplicates("to_territory").sort_values("to_territory")
    legend = [
        (territory_colour(t), f"{int(t)} {name}")
        for t, name in zip(names["to_territory"], names["to_name"], strict=True)
    ]
    s = tables.summary
    title = [
        f"Plan diff: {s['a']} -> {s['b']}",
        f"Level {s['level']}: {s['units_moved']:,} of {s['units']:,} units move "
        f"({s['units_moved_share']:.1%})",
        f"Customers moved: {s['customers_moved']:,.0f} ({s['customers_moved_share']:.1%}); "
        f"revenue moved: {s['revenue_moved']:,.0f} ({s['revenue_moved_share']:.1%})",
        "Colours: territories of the second plan; thick outline: units that move",
        f"Written {dt.date.today():%Y-%m-%d}",
    ]
    m = build_view_map(
        units,
        fill=dict(zip(units["area_id"], fill, strict=True)),
        legend=legend,
        legend_title="Territory (second plan)",
        title_lines=title,
        tooltip_fields=(("code", "Unit"), ("name", "Name"), ("to_name", "Territory")),
    )
    moved = units[units["moved"]]
    if not moved.empty:
        shown = moved.assign(
            move=(
                moved["from_territory"].astype(int).astype(str)
                + " -> "
                + moved["to_territory"].astype(int).astype(str)
            ),
            code=moved["code"].astype(str).map(html.escape),
        )[["code", "move", "geometry"]]
        folium.GeoJson(
            shown.to_json(drop_id=True),
            name="Moved units",
            style_function=lambda _f: {"fill": False, "color": _MOVED_OUTLINE, "weight": 3},
            tooltip=folium.GeoJsonTooltip(fields=["code", "move"], aliases=["Moved", "From -> to"]),
        ).add_to(m)
    _FlowsPanel(tables.flows).add_to(m)
    page = render_offline(m)
    heading = html.escape(title[0])
    return page.replace("<head>", f"<head>\n<title>{heading}</title>", 1)


def write_plan_diff_html(tables: PlanDiffTables, path: Path) -> Path:
    """Write :func:`render_plan_diff_html` to ``path`` (parents created); return ``path``.

    Raises
    ------
    ValidationError
        When the suffix is not .html.
    """
    path = Path(path)
    check_suffix(path, (".html",), argument="--html")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_plan_diff_html(tables), encoding="utf-8")
    return path


class _FlowsPanel(MacroElement):
    """The flows table in a map corner, scrolling when long."""

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>
.gcrm-flows {background: rgba(255,255,255,0.94); padding: 6px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 12px/1.4 sans-serif; max-height: 40vh;
  overflow: auto;}
.gcrm-flows table {border-collapse: collapse;}
.gcrm-flows th, .gcrm-flows td {border-bottom: 1px solid #ddd; padding: 2px 6px;}
.gcrm-flows td.n {text-align: right;}
</style>
{% endmacro %}
{% macro script(this, kwargs) %}
(function () {
    var box = L.control({position: 'bottomleft'});
    box.onAdd = function () {
        var div = L.DomUtil.create('div', 'gcrm-flows');
        div.innerHTML = {{ this.html|tojson }};
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
    };
    box.addTo({{ this._parent.get_name() }});
})();
{% endmacro %}
"""
    )

    def __init__(self, flows: pd.DataFrame) -> None:
        super().__init__()
        self._name = "FlowsPanel"
        rows = "".join(
            "<tr>"
            f"<td>{int(r.from_territory)} {html.escape(str(r.from_name))}</td>"
            f"<td>{int(r.to_territory)} {html.escape(str(r.to_name))}</td>"
            f"<td class='n'>{int(r.units):,}</td>"
            f"<td class='n'>{float(r.customers):,.0f}</td>"
            f"<td class='n'>{float(r.revenue):,.0f}</td>"
            "</tr>"
            for r in flows.itertuples(index=False)
        )
        body = rows or "<tr><td colspan='5'>No unit moves.</td></tr>"
        self.html = (
            "<b>Flows</b><table><tr><th>From</th><th>To</th><th>Units</th>"
            f"<th>Customers</th><th>Revenue</th></tr>{body}</table>"
        )


def _criteria(plan: Plan) -> list[str]:
    """The plan's balance criteria that units carry (customers when it names none)."""
    known = [c for c, _ in _ordered(plan.balance)]
    return known or ["customers"]


def _ordered(balance: Mapping[str, float]) -> list[tuple[str, float]]:
    """The known criteria of ``balance`` in the order of :data:`DESIGN_CRITERIA` (stored as
    JSONB, a plan's balance does not keep the order it was given in)."""
    return [(c, float(balance[c])) for c in DESIGN_CRITERIA if c in balance]


def _within(plan: Plan, codes: pd.Series) -> Plan:
    """``plan`` with the units among ``codes`` only."""
    assignment = plan.assignment[plan.assignment.index.isin(codes)]
    return plan if len(assignment) == len(plan.assignment) else replace(plan, assignment=assignment)


def _visible_assignment(plan: Plan, units: gpd.GeoDataFrame) -> dict[str, int]:
    """The plan's assignment of the units the reader sees (a scoped user sees the areas of
    their scope); every such unit must have a territory."""
    codes = set(units["code"].astype(str))
    missing = sorted(codes - set(plan.assignment.index.astype(str)))
    if missing:
        msg = (
            f"plan {plan.label}: area {missing[0]!r} of level {plan.level!r} has no territory "
            f"in it ({len(missing)} such areas): the level's areas changed since the plan was "
            f"saved; design it again (`gcrm territories design --level {plan.level} ... "
            "--name ...`)"
        )
        raise ValidationError(msg)
    return {str(c): int(t) for c, t in plan.assignment.items() if str(c) in codes}


def _moved_accounts(
    conn: Connection,
    moved: pd.DataFrame,
    *,
    level: str,
    names: bool,
    audit: bool,
    action: str,
) -> pd.DataFrame:
    """The customers of the moved units with their move and 12 months' revenue."""
    rows = conn.execute(
        text(_SQL["moved_accounts"]),
        {"level": level, "codes": moved["code"].astype(str).tolist()},
    ).mappings()
    found = pd.DataFrame(rows, columns=["customer_id", "name", "code", "revenue_12m"])
    move = moved[["code", "from_territory", "from_name", "to_territory", "to_name"]]
    table = found.merge(move, on="code", how="left")
    columns = ["customer_id", *(["name"] if names else []), "code", *move.columns[1:]]
    table = table[[*columns, "revenue_12m"]]
    if len(table) and (names or audit):
        record_access(
            conn,
            action=action,
            rows=len(table),
            fields=[c for c in table.columns if c in ("customer_id", "name", "revenue_12m")],
            target=f"level:{level}",
            detail={"moved_units": len(moved)},
        )
    return table


def _diff_summary(
    diff: PlanDiff,
    units: pd.DataFrame,
    moved: pd.DataFrame,
    accounts: pd.DataFrame | None,
) -> dict[str, Any]:
    """The diff's headline figures."""
    summary: dict[str, Any] = {
        "a": diff.a.label,
        "b": diff.b.label,
        "level": diff.a.level,
        "units": diff.units,
        "units_moved": len(moved),
        "units_moved_share": diff.moved_share,
    }
    for name in _DIFF_WEIGHTS:
        total = float(units[name].sum())
        shifted = float(moved[name].sum())
        summary[name] = total
        summary[f"{name}_moved"] = shifted
        summary[f"{name}_moved_share"] = shifted / total if total else 0.0
    if accounts is not None:
        summary["accounts_moved"] = len(accounts)
        summary["accounts_revenue_12m_moved"] = float(accounts["revenue_12m"].sum())
    return summary


def _diff_units(units: gpd.GeoDataFrame, a: Plan, b: Plan, name_b: pd.Series) -> gpd.GeoDataFrame:
    """Every unit of the level with its territory in both plans, for a map."""
    to = units["code"].astype(str).map(b.assignment)
    came = units["code"].astype(str).map(a.assignment)
    out = units[["code", "name", "geometry"]].assign(
        area_id=f"{b.level}:" + units["code"].astype(str),
        from_territory=came.astype("Int64"),
        to_territory=to.astype("Int64"),
        to_name=to.map(name_b).fillna("no territory"),
        moved=(came != to) & came.notna() & to.notna(),
    )
    out = out[out["to_territory"].notna()]
    front = ["area_id", "code", "name", "from_territory", "to_territory", "to_name", "moved"]
    return gpd.GeoDataFrame(out[[*front, "geometry"]], geometry="geometry", crs=units.crs)


def _write_sheets(
    path: Path, sheets: Mapping[str, pd.DataFrame], *, formats: Mapping[str, str]
) -> None:
    """A workbook of several sheets, each with a bold frozen header and fitted columns."""
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for sheet, table in sheets.items():
            table.to_excel(writer, sheet_name=sheet, index=False)
            ws = writer.sheets[sheet]
            style_header(ws)
            fit_columns(ws, table)
            for column, fmt in formats.items():
                if column not in table.columns:
                    continue
                letter = get_column_letter(table.columns.get_loc(column) + 1)
                for (cell,) in ws[f"{letter}2:{letter}{len(table) + 1}"]:
                    cell.number_format = fmt
