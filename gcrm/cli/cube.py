"""``gcrm cube build`` and ``gcrm cube show``: the area x month x segment cube (revenue and
orders also by channel and by branch); slices, comparisons of periods, shares, running
totals and pivots."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click
import pandas as pd
import xarray as xr
from tqdm import tqdm

from gcrm.access import Principal, list_users, principal_by_name, scoped_engine
from gcrm.cli.context import Context, pass_ctx, requires
from gcrm.cli.options import (
    area_option,
    branch_option,
    channel_option,
    level_option,
    measure_option,
    out_option,
    parent_option,
    period_option,
    segment_option,
    vintage_option,
)
from gcrm.cube import (
    MEASURES,
    PIVOT_DIMENSIONS,
    area_shares,
    build_region_cube,
    build_scope_cubes,
    compare_periods,
    describe_sources,
    load_cube,
    pivot,
    save_cube,
    select_measure,
    time_series,
)
from gcrm.io import TABLE_FORMATS, check_suffix, write_frame

__all__ = ["cube", "format_table"]


@click.group("cube")
def cube() -> None:
    """The area x month x segment cube (xarray, saved as Zarr)."""


@cube.command("build")
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m"]),
    default=None,
    help="First month [default: first order].",
)
@click.option(
    "--end",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m"]),
    default=None,
    help="Last month [default: last order].",
)
@out_option(
    required=False,
    directory=True,
    aliases=("--output",),
    help="Zarr store to write [default: DATA_DIR/cube.zarr].",
)
@vintage_option()
@click.option(
    "--scopes/--no-scopes",
    default=True,
    show_default=True,
    help="Also build the cube of every user's scope (what each user's dashboard and API "
    "read), so that no request waits for one.",
)
@pass_ctx
def build_cmd(
    ctx: Context,
    start: datetime | None,
    end: datetime | None,
    out: Path | None,
    vintage: str | None,
    scopes: bool,
) -> None:
    """Build the cube from the database (run `gcrm enrich` first).

    Population, households, dwellings and the other area statistics are read at their
    latest vintage, or at --vintage; the cube records which (and each figure's source).
    Then the cube of each user's scope is built under that scope (row-level security: only
    their customers), kept in DATA_DIR/cubes/ (--no-scopes: on first use instead).
    """
    with ctx.engine.connect() as conn:
        ds = build_region_cube(
            conn,
            start=start.date() if start else None,
            end=end.date() if end else None,
            vintage=vintage,
        )
    path = save_cube(ds, out or ctx.settings.cube_path)
    months = pd.DatetimeIndex(ds["month"].values)
    click.echo(
        f"cube: {ds.sizes['area']} areas x {ds.sizes['month']} months "
        f"({months[0]:%Y-%m}..{months[-1]:%Y-%m}) x {ds.sizes['segment']} segments -> {path}"
    )
    click.echo(
        f"  revenue and orders also by {ds.sizes['channel']} channels "
        f"({', '.join(map(str, ds['channel'].values))}) and by {ds.sizes['branch']} branches"
    )
    for measure in ("population", "households"):
        described = describe_sources(ds, measure)
        if described:
            click.echo(f"  {measure}: {described}")
    if scopes and path == ctx.settings.cube_path:
        _build_scope_cubes(ctx)


def _build_scope_cubes(ctx: Context) -> None:
    """The cube of every enabled user's scope, under that scope."""
    with ctx.owner_engine.connect() as conn:
        users = list_users(conn)
        principals = [
            principal_by_name(conn, name)
            for name in users.loc[~users["disabled"].astype(bool), "name"]
        ]
    if not principals:
        return
    engine = scoped_engine(ctx.settings.app_database_url or ctx.settings.database_url)
    try:
        distinct = {p.scope_key for p in principals} - {"all", "none"}
        with tqdm(total=len(distinct), desc="scope cubes", unit="scope") as bar:

            def step(principal: Principal, outcome: str) -> None:
                bar.set_postfix_str(f"{principal.describe_scope()}: {outcome}")
                bar.update(1)

            done = build_scope_cubes(engine, ctx.settings.cube_path, principals, on_scope=step)
    finally:
        engine.dispose()
    click.echo(
        f"scope cubes: {done['built']} built, {done['fresh']} already fresh, "
        f"{done['empty']} scopes without customers"
    )


def format_table(frame: pd.DataFrame) -> str:
    """A plain-text table with thousands separators."""

    def fmt(v: object) -> str:
        if isinstance(v, float):
            if pd.isna(v):
                return "-"
            return f"{v:,.3f}" if abs(v) < 10 and v != int(v) else f"{v:,.0f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)

    return frame.map(fmt).to_string(index=False)


def _split_pivot(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[str, str] | None:
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 2 or parts[0] == parts[1] or not set(parts) <= set(PIVOT_DIMENSIONS):
        msg = (
            f"{value!r} is not two different dimensions of the cube; use ROWS,COLUMNS from "
            f"{', '.join(PIVOT_DIMENSIONS)}, e.g. area,segment or segment,channel"
        )
        raise click.BadParameter(msg)
    return parts[0], parts[1]


def _percent(values: pd.Series) -> pd.Series:
    return values * 100


def _orders_of(channel: str | None, branch: str | None) -> str:
    """``", channel web"`` for a title: the order filter, if any."""
    given = (("channel", channel), ("branch", branch))
    return "".join(f", {dim} {value}" for dim, value in given if value not in (None, "", "all"))


def _area_table(
    ds: xr.Dataset,
    measure: str,
    *,
    level: str,
    period: str | None,
    segment: str,
    parent: str | None,
    compare: str | None,
    shares: bool,
    channel: str | None = None,
    branch: str | None = None,
) -> tuple[str, pd.DataFrame]:
    """The heading and the rows of a slice (one row per area), best first."""
    label = MEASURES[measure].label
    options: dict[str, Any] = {
        "level": level,
        "segment": segment,
        "parent": parent,
        "channel": channel,
        "branch": branch,
    }
    orders = _orders_of(channel, branch)
    title = f"{label} by {level}, period {period or 'all'}, segment {segment}{orders}"
    if compare is not None:
        compared = compare_periods(ds, measure, period=period or "", compare=compare, **options)
        title = (
            f"{label} by {level}, {period} against {compared.attrs['base_period']} "
            f"({compare}), segment {segment}{orders}"
        )
        columns = {
            "value": compared["value"],
            "base": compared["base"],
            "change": compared["change"],
            "% change": _percent(compared["pct_change"]),
        }
        values = compared["value"]
    else:
        values = select_measure(ds, measure, period=period, **options)
        columns = {label: values}
    if shares:
        share = area_shares(ds, measure, period=period, **options)
        columns |= {
            "% of parent": _percent(share["share_of_parent"]),
            "% of region": _percent(share["share_of_region"]),
        }
    names = pd.Series(ds["name"].values, index=ds["area"].values).reindex(values.index)
    table = pd.DataFrame({"area": values.index, "name": names.to_numpy()})
    for column, series in columns.items():
        table[column] = series.reindex(values.index).to_numpy()
    order = values.sort_values(ascending=False, na_position="last").index
    return title, table.set_index("area", drop=False).loc[order].reset_index(drop=True)


def _series_table(
    ds: xr.Dataset,
    measure: str,
    *,
    by: str,
    area: str | None,
    level: str,
    segment: str,
    running_total: bool,
    channel: str | None = None,
    branch: str | None = None,
) -> tuple[str, pd.DataFrame]:
    """The heading and the rows of a time series rolled up to ``by``."""
    label = MEASURES[measure].label
    series = time_series(
        ds,
        measure,
        area=area,
        level=level,
        segment=segment,
        cumulative=running_total,
        channel=channel,
        branch=branch,
    )
    if by != "month":
        grouper = series.index.to_period("Q" if by == "quarter" else "Y")
        summed = MEASURES[measure].kind == "flow" and not running_total
        series = series.groupby(grouper).sum() if summed else series.groupby(grouper).last()
    if running_total:
        label = f"{label}, running total"
    table = pd.DataFrame({by: series.index.astype(str), label: series.values})
    where = f"{area or 'whole region'}, segment {segment}{_orders_of(channel, branch)}"
    return f"{label} by {by}, {where}", table


@cube.command("show")
@level_option(default="district")
@measure_option(default="active", choices=list(MEASURES))
@period_option()
@segment_option(default="all")
@channel_option()
@branch_option()
@parent_option()
@click.option(
    "--by",
    type=click.Choice(["area", "month", "quarter", "year"]),
    default="area",
    show_default=True,
    help="Rows: one per area (a slice), or a time series rolled up to month/quarter/year.",
)
@area_option(help="With --by month/quarter/year: this area (LEVEL:CODE) instead of the region.")
@click.option(
    "--compare",
    metavar="BASE",
    default=None,
    help="With --by area and --period: compare with the previous period of the same grain "
    "(previous: 2025-03 vs 2025-02, 2025-Q1 vs 2024-Q4), the same period a year earlier (yoy), "
    "or a PERIOD of the same grain; adds base, change and % change columns.",
)
@click.option(
    "--shares",
    is_flag=True,
    help="With --by area: add each area's % of its parent area and % of the region "
    "(additive measures only: counts, revenue).",
)
@click.option(
    "--pivot",
    "pivot_dims",
    metavar="ROWS,COLUMNS",
    callback=_split_pivot,
    default=None,
    help=f"Instead of --by: a table of two dimensions of the cube ({', '.join(PIVOT_DIMENSIONS)}), "
    "e.g. area,segment, segment,month (months of --period) or segment,channel (channel and "
    "branch: revenue and orders, one of them at a time).",
)
@click.option(
    "--running-total",
    is_flag=True,
    help="With --by month/quarter/year: the running total over the months (flows only).",
)
@click.option(
    "--top",
    type=int,
    default=20,
    show_default=True,
    help="With --by area: how many rows to print (-o writes them all).",
)
@out_option(
    required=False,
    formats=TABLE_FORMATS,
    help="Also write the whole table: CSV (.csv) or Excel (.xlsx).",
)
@click.option(
    "--cube",
    "cube_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Cube store [default: DATA_DIR/cube.zarr; with --as, the user's scope's cube].",
)
@requires("view_aggregates")
@pass_ctx
def show_cmd(
    ctx: Context,
    level: str,
    measure: str,
    period: str | None,
    segment: str,
    channel: str | None,
    branch: str | None,
    parent: str | None,
    by: str,
    area: str | None,
    compare: str | None,
    shares: bool,
    pivot_dims: tuple[str, str] | None,
    running_total: bool,
    top: int,
    out: Path | None,
    cube_path: Path | None,
) -> None:
    """Print a slice, a comparison, a roll-up or a pivot of the cube as a table.

    \b
    Examples:
      gcrm cube show --measure revenue --period 2025
      gcrm cube show --level hex --parent district:D03 --measure penetration
      gcrm cube show --measure revenue --by quarter --segment smb
      gcrm cube show --measure revenue --period 2025-03 --compare previous
      gcrm cube show --measure churn_rate --period 2025-Q1 --compare yoy -o churn.xlsx
      gcrm cube show --measure revenue --period 2025-Q2 --compare 2024-Q4 --shares
      gcrm cube show --measure revenue --by month --running-total
      gcrm cube show --measure active --period 2025 --pivot area,segment -o pivot.csv
      gcrm cube show --measure revenue --channel web --by quarter
      gcrm cube show --measure orders --branch B01 --period 2025 --compare yoy
      gcrm cube show --measure revenue --period 2025 --pivot segment,channel
    """
    if cube_path is not None and ctx.as_user is not None:
        msg = f"--cube with --as {ctx.as_user}: a user reads their scope's cube; drop --cube"
        raise click.UsageError(msg)
    if (compare or shares) and (by != "area" or pivot_dims):
        msg = "--compare and --shares work on a slice (--by area); drop --by or --pivot"
        raise click.UsageError(msg)
    if running_total and by == "area":
        msg = "--running-total needs a time series: add --by month (or quarter, year)"
        raise click.UsageError(msg)
    if compare is not None and period is None:
        msg = f"--compare {compare} needs one --period to compare, e.g. --period 2025-03"
        raise click.UsageError(msg)
    if out is not None:
        check_suffix(out, TABLE_FORMATS, argument="--out")
    ds = load_cube(cube_path or ctx.cube_path())
    if pivot_dims is not None:
        rows, columns = pivot_dims
        table = pivot(
            ds,
            measure,
            rows,
            columns,
            level=level,
            period=period,
            segment=segment,
            parent=parent,
            channel=channel,
            branch=branch,
        ).reset_index()
        title = (
            f"{MEASURES[measure].label}: {rows} x {columns}, period {period or 'all'}"
            f"{_orders_of(channel, branch)}"
        )
        shown = table
    elif by == "area":
        title, table = _area_table(
            ds,
            measure,
            level=level,
            period=period,
            segment=segment,
            parent=parent,
            compare=compare,
            shares=shares,
            channel=channel,
            branch=branch,
        )
        shown = table.head(top)
    else:
        title, table = _series_table(
            ds,
            measure,
            by=by,
            area=area,
            level=level,
            segment=segment,
            running_total=running_total,
            channel=channel,
            branch=branch,
        )
        shown = table
    click.echo(title)
    if by == "area" and pivot_dims is None:
        described = describe_sources(ds, measure, areas=list(table["area"]))
        if described:
            click.echo(f"source: {described}")
    click.echo(format_table(shown))
    if out is not None:
        write_frame(table, out, layer="cube", sheet="cube", formats=TABLE_FORMATS, argument="--out")
        click.echo(f"{len(table)} rows written to {out}")
