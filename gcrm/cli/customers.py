"""``gcrm customers``: customer lists with their enrichment, churn risk and expected value."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from gcrm.access import record_access
from gcrm.cli.context import Context, pass_ctx, requires
from gcrm.cli.options import area_option, out_option, precision_option, segment_option
from gcrm.cli.refresh import refresh_cube
from gcrm.core import ValidationError
from gcrm.exports import EXPORT_FORMATS, export_points
from gcrm.io import write_frame
from gcrm.privacy import forget_customer
from gcrm.scoring import (
    CHURN_FEATURES,
    CHURN_MODEL,
    CUSTOMER_SCORE_STAGES,
    VALUE_FEATURES,
    VALUE_MODEL,
    backtest_churn,
    backtest_value,
    read_customer_scores,
    record_run,
    score_customers,
)

__all__ = ["customers"]


@click.group()
def customers() -> None:
    """Customer lists out."""


@customers.command("export")
@out_option(formats=EXPORT_FORMATS)
@segment_option(multiple=True)
@click.option("--status", multiple=True, help="Keep this status (repeatable): active, churned.")
@area_option(help="Only customers in this area, e.g. district:D01.")
@precision_option()
@requires("read_customers")
@pass_ctx
def customers_export_command(
    ctx: Context,
    out: Path,
    segment: tuple[str, ...],
    status: tuple[str, ...],
    area: str | None,
    precision: tuple[str, ...] | None,
) -> None:
    """Export customers with geocoding, area codes and names at every level, zoning, road,
    drive time, the housing context of their area, and their scores: churn_risk and
    churn_reasons (`gcrm customers churn-risk`), expected_value_12m (`gcrm customers value`),
    empty where not scored.

    \b
    Examples:
      gcrm customers export -o customers.xlsx
      gcrm customers export -o smb_d01.csv --segment smb --status active --area district:D01
      gcrm customers export -o rough.gpkg --precision street,postcode
    """
    with ctx.engine.begin() as conn:  # commits the audit record
        path = export_points(
            conn,
            entity="customers",
            path=out,
            segment=segment,
            status=status,
            area=area,
            precision=precision or (),
        )
    click.echo(f"customers -> {path}")


@customers.command("forget")
@click.argument("customer_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def customers_forget_command(ctx: Context, customer_id: str, yes: bool) -> None:
    """Forget a customer: their record, orders, enrichment and what the geocode cache
    remembers of their address; the next cube build no longer counts them. Logged in the
    audit log (the id only). Cannot be undone.

    \b
    Example:
      gcrm customers forget C000042 --yes
    """
    if not yes:
        click.confirm(
            f"Forget customer {customer_id!r} everywhere? This cannot be undone", abort=True
        )
    with ctx.engine.begin() as conn:
        gone = forget_customer(conn, customer_id)
    click.echo(
        f"customer {gone.external_id!r} forgotten: record, {gone.orders} orders, "
        f"{gone.enrichment_rows} enrichment row(s), {gone.cache_entries} geocode cache entr(y/ies); "
        "rebuild the cube (gcrm cube build) to drop them from its figures now"
    )


def _as_of_option() -> Callable[[Any], Any]:
    return click.option(
        "--as-of",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="Score as of this day (YYYY-MM-DD) [default: the last day of the data].",
    )


def _backtest_option(what: str) -> Callable[[Any], Any]:
    return click.option(
        "--backtest",
        is_flag=True,
        help=f"Only backtest: {what}; print the figures, record them, and with -o FILE.json "
        "write them as JSON. Stores no score.",
    )


def _check_out(out: Path | None, *, backtest: bool) -> None:
    if out is None:
        return
    suffix = out.suffix.lower()
    if backtest and suffix != ".json":
        msg = f"-o {str(out)!r} with --backtest: the backtest is written as JSON; use e.g. -o backtest.json"
        raise ValidationError(msg)
    if not backtest and suffix not in EXPORT_FORMATS:
        msg = f"-o {str(out)!r} has extension {suffix or '(none)'!r}; use one of {', '.join(EXPORT_FORMATS)}"
        raise ValidationError(msg)


def _figures_line(figures: dict[str, Any], keys: tuple[str, ...]) -> str:
    return ", ".join(
        f"{k} {figures[k]:.3f}" if isinstance(figures.get(k), float) else f"{k} {figures.get(k)}"
        for k in keys
    )


def _print_backtest(result: dict[str, Any], keys: tuple[str, ...]) -> None:
    click.echo(f"backtest {result['cutoff']} -> {result.get('label_end') or result.get('until')}:")
    click.echo(f"  model           {_figures_line(result, keys)}")
    for name, figures in result["baselines"].items():
        click.echo(f"  {name:<15} {_figures_line(figures, keys)}")


def _backtest_only(
    ctx: Context, *, kind: str, out: Path | None, run: Callable[..., dict[str, Any]],
    as_of: date | None, model: str, features: list[str], keys: tuple[str, ...],
) -> None:  # fmt: skip
    with ctx.engine.begin() as conn:
        result = run(conn, as_of=as_of)
        run_id = record_run(
            conn, kind=kind, model=model, features=features, rows_scored=0, backtest=result
        )
    _print_backtest(result, keys)
    click.echo(f"recorded as run {run_id}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        click.echo(f"backtest -> {out}")


def _write_scores(ctx: Context, *, kind: str, out: Path) -> None:
    with ctx.engine.begin() as conn:  # commits the audit record
        table = read_customer_scores(conn, kind=kind)
        write_frame(table, out, layer=f"{kind}_scores", formats=EXPORT_FORMATS, argument="-o")
        record_access(
            conn,
            action=f"customers {'churn-risk' if kind == 'churn' else 'value'}",
            rows=len(table),
            fields=tuple(str(c) for c in table.columns if c != "geometry"),
            target=str(out),
        )
    click.echo(f"{len(table)} customers -> {out}")


_CHURN_KEYS = ("auc", "recall_top10", "precision_top10", "n", "positives")
_VALUE_KEYS = ("mae", "rmse", "spearman", "total_error_pct", "auc", "n")


@customers.command("churn-risk")
@out_option(
    required=False,
    help=f"Write the scores ({', '.join(EXPORT_FORMATS)}: customer_id, segment, churn_risk, "
    "revenue_12m, reasons, area_<level>, location); with --backtest a .json file.",
)
@_backtest_option("train on the data up to 6 months before the last day, rank the churns of "
                  "the last 6 months, against days since the last order and a random order")  # fmt: skip
@_as_of_option()
@pass_ctx
def customers_churn_risk_command(
    ctx: Context, out: Path | None, backtest: bool, as_of: datetime | None
) -> None:
    """Churn risk: each active customer's probability of churning in the next 6 months, with
    the three reasons that raised or lowered it most, stored for the API, the cube (expected
    churn and revenue at risk per area) and the dashboard.

    The model (a regularised logistic regression on recency, frequency, value, trend,
    tenure, segment, drive time to the nearest branch and area) learns from how customers
    stood 6 to 15 months ago and who churned in the 6 months after. Each run also backtests
    it (the same procedure 6 months earlier) and stores the figures with the scores. Runs
    as the operator (it writes); the built cube is refreshed.

    \b
    Examples:
      gcrm customers churn-risk
      gcrm customers churn-risk -o churn.xlsx
      gcrm customers churn-risk --backtest -o churn_backtest.json
    """
    _check_out(out, backtest=backtest)
    day = as_of.date() if as_of else None
    if backtest:
        _backtest_only(
            ctx, kind="churn", out=out, run=backtest_churn, as_of=day, model=CHURN_MODEL,
            features=list(CHURN_FEATURES), keys=_CHURN_KEYS,
        )  # fmt: skip
        return
    scored, result, run_id = _score_and_store(ctx, "churn", as_of=day, desc="churn risk")
    risk = scored.scores["churn_risk"]
    click.echo(
        f"churn risk of {len(risk)} active customers as of {scored.as_of} stored (run {run_id}): "
        f"mean {risk.mean():.3f}, expected churns in 6 months {risk.sum():.1f}"
    )
    _print_backtest(result, _CHURN_KEYS)
    if out is not None:
        _write_scores(ctx, kind="churn", out=out)
    refresh_cube(ctx)


def _score_and_store(
    ctx: Context, kind: str, *, as_of: date | None, desc: str
) -> tuple[Any, dict[str, Any], int]:
    """``score_customers`` in one transaction of the operator, with a progress bar."""
    with (
        tqdm(total=len(CUSTOMER_SCORE_STAGES), desc=desc, unit="step") as bar,
        ctx.engine.begin() as conn,
    ):

        def done(stage: str) -> None:
            bar.set_postfix_str(f"{stage} done")
            bar.update()

        stored = score_customers(conn, kind, as_of=as_of, progress=done)
    return stored.scored, stored.backtest, stored.run_id


@customers.command("value")
@out_option(
    required=False,
    help=f"Write the values ({', '.join(EXPORT_FORMATS)}: customer_id, segment, "
    "expected_value_12m, expected_orders_12m, reasons, area_<level>, location); with "
    "--backtest a .json file.",
)
@_backtest_option("fit on the data up to 12 months before the last day, predict each "
                  "customer's revenue of the last 12 months, against 'the last 12 months "
                  "repeat'")  # fmt: skip
@_as_of_option()
@pass_ctx
def customers_value_command(
    ctx: Context, out: Path | None, backtest: bool, as_of: datetime | None
) -> None:
    """Customer value: each active customer's expected revenue over the next 12 months
    (BG/NBD purchases x gamma-gamma spend, fitted on every customer's order history), stored
    for the cube (value at stake per area), campaign lists and territory balance.

    Each run also backtests the model (fitted 12 months earlier, against the revenue each
    customer then brought) beside "the last 12 months repeat", and stores the figures with
    the values. Runs as the operator (it writes); the built cube is refreshed.

    \b
    Examples:
      gcrm customers value
      gcrm customers value -o value.csv
      gcrm customers value --backtest -o value_backtest.json
    """
    _check_out(out, backtest=backtest)
    day = as_of.date() if as_of else None
    if backtest:
        _backtest_only(
            ctx, kind="value", out=out, run=backtest_value, as_of=day, model=VALUE_MODEL,
            features=list(VALUE_FEATURES), keys=_VALUE_KEYS,
        )  # fmt: skip
        return
    scored, result, run_id = _score_and_store(ctx, "value", as_of=day, desc="customer value")
    value = scored.scores["expected_value_12m"]
    click.echo(
        f"expected value of {len(value)} active customers as of {scored.as_of} stored "
        f"(run {run_id}): total {value.sum():,.0f} over the next 12 months"
    )
    _print_backtest(result, _VALUE_KEYS)
    if out is not None:
        _write_scores(ctx, kind="value", out=out)
    refresh_cube(ctx)
