"""``gcrm cube build`` and ``gcrm cube show``: the area x month x segment cube."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
import pandas as pd
from tqdm import tqdm

from gcrm.access import Principal, list_users, principal_by_name, scoped_engine
from gcrm.cli.context import Context, pass_ctx, requires
from gcrm.cli.options import (
    area_option,
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
    build_region_cube,
    build_scope_cubes,
    describe_sources,
    load_cube,
    save_cube,
    select_measure,
    time_series,
)

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


@cube.command("show")
@level_option(default="district")
@measure_option(default="active", choices=list(MEASURES))
@period_option()
@segment_option(default="all")
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
    "--top", type=int, default=20, show_default=True, help="With --by area: how many rows."
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
    parent: str | None,
    by: str,
    area: str | None,
    top: int,
    cube_path: Path | None,
) -> None:
    """Print a slice or a roll-up of the cube as a table.

    \b
    Examples:
      gcrm cube show --measure revenue --period 2025
      gcrm cube show --level hex --parent district:D03 --measure penetration
      gcrm cube show --measure revenue --by quarter --segment smb
    """
    if cube_path is not None and ctx.as_user is not None:
        msg = f"--cube with --as {ctx.as_user}: a user reads their scope's cube; drop --cube"
        raise click.UsageError(msg)
    ds = load_cube(cube_path or ctx.cube_path())
    label = MEASURES[measure].label
    if by == "area":
        values = select_measure(
            ds, measure, level=level, period=period, segment=segment, parent=parent
        )
        names = pd.Series(ds["name"].values, index=ds["area"].values)
        table = pd.DataFrame(
            {"area": values.index, "name": names.reindex(values.index).values, label: values.values}
        )
        table = table.sort_values(label, ascending=False, na_position="last").head(top)
        click.echo(f"{label} by {level}, period {period or 'all'}, segment {segment}")
        described = describe_sources(ds, measure, areas=list(values.index))
        if described:
            click.echo(f"source: {described}")
    else:
        series = time_series(ds, measure, area=area, level=level, segment=segment)
        if by != "month":
            kind = MEASURES[measure].kind
            grouper = series.index.to_period("Q" if by == "quarter" else "Y")
            series = (
                series.groupby(grouper).sum() if kind == "flow" else series.groupby(grouper).last()
            )
        table = pd.DataFrame({by: series.index.astype(str), label: series.values})
        click.echo(f"{label} by {by}, {area or 'whole region'}, segment {segment}")
    click.echo(format_table(table))
