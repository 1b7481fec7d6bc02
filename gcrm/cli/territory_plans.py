"""``gcrm territories plans | export | diff | assign | set-current``: stored territory plans
on the command line (the ``design`` command saves them with ``--name``).

The commands hang on the ``territories`` group of :mod:`gcrm.cli.territories`; importing
this module registers them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click
import pandas as pd
from tqdm import tqdm

from gcrm.cli.context import Context, pass_ctx, requires
from gcrm.cli.cube import format_table
from gcrm.cli.options import html_option, out_option
from gcrm.cli.territories import territories
from gcrm.core import ValidationError
from gcrm.territories import (
    DIFF_FORMATS,
    LIST_FORMATS,
    PLAN_FORMATS,
    PlanDiffTables,
    PlanTables,
    assign_reps,
    plan_diff_tables,
    plan_tables,
    plans_table,
    read_plan,
    read_reps,
    resolve_plan,
    set_current_plan,
    write_plan,
    write_plan_diff,
    write_plan_diff_html,
    write_plans_table,
)

__all__ = [
    "assign_command",
    "diff_command",
    "export_command",
    "plans_command",
    "set_current_command",
]


@territories.command("plans")
@out_option(formats=LIST_FORMATS, required=False, help="Also write the list (.csv, .xlsx).")
@requires("territory_reports")
@pass_ctx
def plans_command(ctx: Context, out: Path | None) -> None:
    """List the stored territory plans, newest first.

    Columns: id, name@version, level, k, balance, current (*), reps (territories with a
    rep of k), the largest deviation from the mean of each balanced criterion when saved,
    mean Polsby-Popper, who saved it and when (UTC).

    \b
    Examples:
      gcrm territories plans
      gcrm territories plans -o plans.xlsx
    """
    with ctx.engine.connect() as conn:
        table = plans_table(conn)
    if table.empty:
        click.echo(
            "no plan is stored yet; design and save one with "
            "`gcrm territories design --level zone --k 20 --name '2026 plan'`"
        )
    else:
        click.echo(format_table(_shown_plans(table)))
    if out is not None:
        click.echo(f"plans written to {write_plans_table(table, out)}")


@territories.command("export")
@click.argument("plan")
@out_option(formats=PLAN_FORMATS, help="Output file: .gpkg (territories and units), .xlsx, .csv.")
@requires("territory_reports")
@pass_ctx
def export_command(ctx: Context, plan: str, out: Path) -> None:
    """Write plan PLAN: territories dissolved from their units, with their figures.

    A GeoPackage has a `territories` layer (polygon, territory, name, rep, base, units, each
    balance criterion's total and deviation from the mean, polsby_popper, contiguous) and a
    `units` layer (code, name, territory, territory_name, rep, criteria); .xlsx has the
    sheets Units and Territories; .csv the unit table. The figures are computed now, on
    the customers and orders you may read (with --as, the user's scope).

    \b
    PLAN is an id (12), a name (its latest version), name@version, or 'current'.
    Examples:
      gcrm territories export current -o plan.gpkg
      gcrm territories export "2026 plan@2" -o plan.xlsx
      gcrm --as ann territories export 12 -o ann_plan.csv
    """
    with tqdm(total=2, desc="export", unit="step") as bar, ctx.engine.connect() as conn:
        bar.set_postfix_str("figures")
        tables = plan_tables(conn, plan)
        bar.update()
        bar.set_postfix_str("write")
        written = write_plan(tables, out)
        bar.update()
    click.echo(_format_plan(tables))
    click.echo(f"plan written to {written}")


@territories.command("diff")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@out_option(
    formats=DIFF_FORMATS,
    required=False,
    help="Workbook (.xlsx): Summary, Flows, Moved units, Moved accounts.",
)
@html_option(
    help="Also write an offline HTML map: units coloured by B's territories, moved units "
    "outlined, the flows table."
)
@requires("territory_reports")
@pass_ctx
def diff_command(ctx: Context, a: str, b: str, out: Path | None, html_out: Path | None) -> None:
    """Compare plans A and B of one level: which units, customers and revenue move where.

    Prints the summary and the flows (from -> to: units, customers, revenue). The workbook
    adds the moved units and the moved accounts (the customers of moved units with their
    revenue of the last 12 months): with names when you may read customers one by one
    (read_customers), else ids only; writing them is recorded in the audit log.

    \b
    A and B are ids (12), names (latest version), name@version, or 'current'.
    Examples:
      gcrm territories diff "2026 plan@1" "2026 plan@2"
      gcrm territories diff current "2026 plan" -o diff.xlsx --html diff.html
    """
    principal = ctx.principal()
    names = principal is None or principal.can("read_customers")
    written: list[str] = []
    steps = 1 + (out is not None) + (html_out is not None)
    with tqdm(total=steps, desc="diff", unit="step") as bar:
        bar.set_postfix_str("read")
        # A transaction that commits: writing the accounts is recorded in the audit log.
        with ctx.engine.begin() as conn:
            tables = plan_diff_tables(
                conn, a, b, names=names, accounts=out is not None, audit=out is not None
            )
        bar.update()
        if out is not None:
            bar.set_postfix_str("workbook")
            written.append(f"diff written to {write_plan_diff(tables, out)}")
            bar.update()
        if html_out is not None:
            bar.set_postfix_str("map")
            written.append(f"map written to {write_plan_diff_html(tables, html_out)}")
            bar.update()
    click.echo(_format_diff(tables))
    for line in written:
        click.echo(line)


@territories.command("assign")
@click.argument("plan")
@click.option(
    "--rep",
    "rep_specs",
    multiple=True,
    metavar="N=REP",
    help="Territory N's rep, e.g. --rep 3='Ann Lee' (an empty REP clears it); repeatable.",
)
@click.option(
    "--name",
    "name_specs",
    multiple=True,
    metavar="N=NAME",
    help="Territory N's name, e.g. --name 3=North; repeatable.",
)
@click.option(
    "--reps",
    "reps_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="CSV or XLSX with columns territory,rep[,name] (applied before --rep and --name).",
)
@requires("plan_territories")
@pass_ctx
def assign_command(
    ctx: Context,
    plan: str,
    rep_specs: Sequence[str],
    name_specs: Sequence[str],
    reps_path: Path | None,
) -> None:
    """Set the reps (and names) of plan PLAN's territories; print its territories.

    Reps and names are edited in place on that version of the plan: no new version is
    made. A name alone means its latest version; give name@version for an older one.

    \b
    PLAN is an id (12), a name (its latest version), name@version, or 'current'.
    Examples:
      gcrm territories assign current --rep 3="Ann Lee" --rep 4=bob --name 3=North
      gcrm territories assign "2026 plan" --reps reps.csv
    """
    reps, names = read_reps(reps_path) if reps_path is not None else ({}, {})
    reps.update({t: v.strip() or None for t, v in _pairs(rep_specs, option="--rep").items()})
    names.update(_pairs(name_specs, option="--name"))
    if not reps and not names:
        msg = "give --rep N=REP, --name N=NAME or --reps FILE; e.g. --rep 3='Ann Lee'"
        raise click.UsageError(msg)
    with ctx.engine.begin() as conn:
        plan_id = resolve_plan(conn, plan)
        assign_reps(conn, plan_id, reps, names=names)
        stored = read_plan(conn, plan_id)
    shown = stored.territories[["territory", "name", "rep", "base"]].fillna("")
    click.echo(f"plan {stored.label}: {len(reps)} rep(s), {len(names)} name(s) set")
    click.echo(shown.to_string(index=False))


@territories.command("set-current")
@click.argument("plan")
@requires("plan_territories")
@pass_ctx
def set_current_command(ctx: Context, plan: str) -> None:
    """Mark plan PLAN current (and no other): `current` then refers to it.

    \b
    PLAN is an id (12), a name (its latest version), name@version, or 'current'.
    Examples:
      gcrm territories set-current "2026 plan"
      gcrm territories set-current "2026 plan@1"
    """
    with ctx.engine.begin() as conn:
        plan_id = resolve_plan(conn, plan)
        set_current_plan(conn, plan_id)
        stored = read_plan(conn, plan_id)
    click.echo(f"plan {stored.label} is current")


def _pairs(specs: Sequence[str], *, option: str) -> dict[int, str]:
    """``["3=Ann Lee", "4=bob"]`` -> ``{3: "Ann Lee", 4: "bob"}``."""
    out: dict[int, str] = {}
    for spec in specs:
        number, sep, value = spec.partition("=")
        if not sep or not number.strip().isdigit():
            msg = (
                f"{option} {spec!r} is not N=VALUE with N a territory number; "
                f"write e.g. {option} 3={'North' if option == '--name' else 'Ann'}"
            )
            raise ValidationError(msg)
        out[int(number)] = value.strip()
    return out


def _shown_plans(table: pd.DataFrame) -> pd.DataFrame:
    """The plans as printed: current as *, reps of k, deviations as percentages."""
    shown = table.assign(
        current=table["current"].map({True: "*", False: ""}),
        reps=table["reps"].astype(str) + "/" + table["k"].astype(str),
        mean_polsby_popper=table["mean_polsby_popper"].map(_number),
        created_at=table["created_at"].dt.strftime("%Y-%m-%d %H:%M"),
    )
    for column in [c for c in table.columns if c.startswith("max_deviation_")]:
        shown[column] = table[column].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
    return shown.rename(columns=lambda c: c.replace("max_deviation_", "max dev ").replace("_", " "))


def _number(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.3f}"


def _format_plan(tables: PlanTables) -> str:
    """A plan's territories as printed after an export."""
    plan, result = tables.plan, tables.result
    lines = [
        f"plan {plan.label}: {len(tables.territories)} territories of "
        f"{len(tables.units)} units of level {plan.level!r}"
    ]
    for name in result.balance:
        lines.append(f"  {name}: max deviation from the mean {result.max_deviation[name]:.1%}")
    contiguous = int(tables.territories["contiguous"].sum())
    lines.append(f"  contiguous: {contiguous} of {len(tables.territories)}")
    lines.append(f"  mean Polsby-Popper: {result.mean_polsby_popper:.3f}")
    table = pd.DataFrame(tables.territories.drop(columns=["geometry", "base"]))
    table["contiguous"] = table["contiguous"].map({True: "yes", False: "no"})
    for column in [c for c in table.columns if c.endswith("_deviation")]:
        table[column] = table[column].map(lambda v: f"{v:+.1%}")
    table = table.fillna("")
    lines.append(format_table(table))
    return "\n".join(lines)


def _format_diff(tables: PlanDiffTables) -> str:
    """A diff as printed: the summary, then the flows."""
    s = tables.summary
    lines = [
        f"{s['a']} -> {s['b']} (level {s['level']!r})",
        f"  units moved: {s['units_moved']:,} of {s['units']:,} ({s['units_moved_share']:.1%})",
        f"  customers moved: {s['customers_moved']:,.0f} of {s['customers']:,.0f} "
        f"({s['customers_moved_share']:.1%})",
        f"  revenue moved: {s['revenue_moved']:,.2f} of {s['revenue']:,.2f} "
        f"({s['revenue_moved_share']:.1%})",
    ]
    if tables.flows.empty:
        lines.append("no unit changes territory")
    else:
        lines.append(format_table(tables.flows))
    return "\n".join(lines)
