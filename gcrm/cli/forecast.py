"""``gcrm cube forecast``: a measure's next months from the cube's history, with prediction
intervals and the backtest against the same month last year."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from gcrm.cli.context import Context, pass_ctx, requires
from gcrm.cli.cube import format_table
from gcrm.cli.options import (
    area_option,
    level_option,
    measure_option,
    out_option,
    parent_option,
    segment_option,
)
from gcrm.cube import MEASURES, load_cube, measure_unit
from gcrm.cube.forecast import FORECAST_MEASURES, Forecast, forecast, forecast_by_area
from gcrm.io import TABLE_FORMATS, check_suffix, write_frame

__all__ = ["forecast_command"]


@click.command("forecast")
@measure_option(default="revenue", choices=FORECAST_MEASURES)
@area_option(help="Forecast this area (LEVEL:CODE) [default: the total of --level].")
@level_option(
    help="Without --area: the level totalled [default: the top level]; with --by-area: the level of the areas."
)
@segment_option(default="all")
@click.option(
    "--horizon",
    type=int,
    default=12,
    show_default=True,
    help="Months to forecast (1 to 60).",
)
@click.option(
    "--by-area",
    is_flag=True,
    help="Instead: each area of --level over the next --horizon months (flows summed, "
    "stocks and rates at the last month), e.g. for a map.",
)
@parent_option()
@out_option(
    required=False,
    formats=TABLE_FORMATS,
    help="Also write the table: CSV (.csv) or Excel (.xlsx).",
)
@requires("view_aggregates")
@pass_ctx
def forecast_command(
    ctx: Context,
    measure: str,
    area: str | None,
    level: str | None,
    segment: str,
    horizon: int,
    by_area: bool,
    parent: str | None,
    out: Path | None,
) -> None:
    """Forecast revenue, active customers, churn (or another measure that changes month by
    month) from the cube's own history: exponential smoothing with 12-month seasonality when
    the cube holds two years or more, prediction intervals at 80% and 95%, and totals for the
    next 3, 6 and 12 months. The model is backtested on the last 12 months against the
    naive forecast (the same month a year earlier); both errors are printed.

    \b
    Examples:
      gcrm cube forecast --measure revenue
      gcrm cube forecast --measure active --area district:D01 --segment smb --horizon 6
      gcrm cube forecast --measure churned -o churn_forecast.xlsx
      gcrm cube forecast --measure revenue --by-area --level district -o next_year.csv
    """
    if out is not None:
        check_suffix(out, TABLE_FORMATS, argument="--out")
    if by_area and (area is not None or level is None):
        msg = "--by-area forecasts every area of a level: pass --level (and drop --area)"
        raise click.UsageError(msg)
    if parent is not None and not by_area:
        msg = "--parent keeps the children of an area with --by-area; for one area use --area"
        raise click.UsageError(msg)
    ds = load_cube(ctx.cube_path())
    unit = measure_unit(ds, measure)
    label = f"{MEASURES[measure].label} ({unit})" if unit else MEASURES[measure].label
    if by_area:
        assert level is not None  # checked above
        values = forecast_by_area(
            ds, measure, level=level, segment=segment, parent=parent, horizon=horizon
        )
        table = values.rename("forecast").rename_axis("area").reset_index()
        click.echo(f"{label}, next {horizon} months, each area of {level}, segment {segment}:")
        click.echo(format_table(table))
    else:
        result = forecast(ds, measure, area=area, level=level, segment=segment, horizon=horizon)
        table = _print(result, label)
    if out is not None:
        write_frame(
            table, out, layer="forecast", sheet="forecast", formats=TABLE_FORMATS, argument="--out"
        )
        click.echo(f"written to {out}")


def _print(result: Forecast, label: str) -> pd.DataFrame:
    """Print the forecast, totals, backtest and notes; return the table to write."""
    click.echo(
        f"{label} for {result.target}, segment {result.segment}: {result.model}, "
        f"from {result.history_months} months of history"
    )
    months = result.months.reset_index()
    months["month"] = months["month"].dt.strftime("%Y-%m")
    click.echo(format_table(months))
    if not result.totals.empty:
        click.echo("next months together (flows summed; stocks and rates at the last month):")
        click.echo(format_table(result.totals.reset_index()))
    if result.backtest is not None:
        click.echo(result.backtest.describe())
        months = months.assign(
            backtest_model_mae=result.backtest.mae_model,
            backtest_naive_mae=result.backtest.mae_naive,
        )
    for note in result.notes:
        click.echo(f"note: {note}")
    return months
