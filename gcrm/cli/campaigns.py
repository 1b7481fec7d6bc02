"""``gcrm campaigns``: target lists with a control group, their export, responses, results."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from gcrm.campaigns import (
    KINDS,
    RESULT_FORMATS,
    campaign_results,
    create_campaign,
    export_campaign,
    import_responses,
    list_campaigns,
    read_campaign,
    write_results,
)
from gcrm.cli.context import Context, pass_ctx, requires, takes_as_user
from gcrm.cli.options import file_argument, level_option, out_option, rejects_option
from gcrm.io import TABLE_FORMATS
from gcrm.maps import format_value

__all__ = ["campaigns"]

#: The permission exporting a campaign's contacts needs under ``--as``, by kind.
_EXPORT_PERMISSION = {"customers": "read_customers", "leads": "read_leads"}


@click.group()
def campaigns() -> None:
    """Campaigns: named target lists of customers or leads with a random control group.

    \b
    A campaign goes: create -> export (the mailing tool's list; logged) -> responses back
    -> results (response rate and uplift against the control group, per area).
      gcrm campaigns create spring-winback --kind customers --status active --cap 2000
      gcrm campaigns export spring-winback -o mailing.xlsx
      gcrm campaigns responses spring-winback replies.csv
      gcrm campaigns results spring-winback --level district -o results.html
    """


@campaigns.command("create")
@click.argument("name")
@click.option("--kind", type=click.Choice(KINDS), required=True, help="What the list holds.")
@click.option(
    "--area",
    "areas",
    multiple=True,
    metavar="LEVEL:CODE",
    help="Only members in this area (repeatable), e.g. district:D03 [default: anywhere].",
)
@click.option("--segment", multiple=True, help="Customers: keep this segment (repeatable).")
@click.option("--status", multiple=True, help="Customers: keep this status (repeatable).")
@click.option("--category", multiple=True, help="Keep this business category (repeatable).")
@click.option(
    "--min-score",
    type=float,
    default=None,
    help="Keep members scored at least this: leads by lead score (`gcrm leads score`), "
    "customers by churn risk (`gcrm customers churn-risk`).",
)
@click.option(
    "--rank-by-score",
    is_flag=True,
    help="With --cap keep the highest scored [default: a random sample].",
)
@click.option("--cap", type=click.IntRange(min=1), default=None, help="At most this many members.")
@click.option(
    "--control",
    "control_share",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.1,
    show_default=True,
    help="Share of the members held out as the control group (never contacted).",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the draw."
)
@click.option(
    "--start",
    "starts_on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day the campaign starts; orders from then count as its revenue [default: today].",
)
@pass_ctx
def create_command(
    ctx: Context,
    name: str,
    kind: str,
    areas: tuple[str, ...],
    segment: tuple[str, ...],
    status: tuple[str, ...],
    category: tuple[str, ...],
    min_score: float | None,
    rank_by_score: bool,
    cap: int | None,
    control_share: float,
    seed: int,
    starts_on: dt.datetime | None,
) -> None:
    """Select customers or leads into campaign NAME, with a random control group.

    The same criteria, data and --seed give the same groups.

    \b
    Examples:
      gcrm campaigns create smb-d03 --kind customers --area district:D03 --segment smb
      gcrm campaigns create cafes --kind leads --category cafe --min-score 0.6 \\
          --rank-by-score --cap 300 --control 0.2 --seed 1
      gcrm campaigns create winback --kind customers --status churned --start 2026-03-01
    """
    with ctx.engine.begin() as conn:
        made = create_campaign(
            conn,
            name=name,
            kind=kind,
            area=list(areas),
            segment=segment,
            status=status,
            category=category,
            min_score=min_score,
            rank_by_score=rank_by_score,
            cap=cap,
            control_share=control_share,
            seed=seed,
            starts_on=starts_on.date() if starts_on else None,
        )
    click.echo(
        f"campaign {made.name!r} (id {made.id}): {made.targets} targets, {made.controls} "
        f"controls, starts {made.starts_on}"
    )


@campaigns.command("list")
@requires("view_aggregates")
@pass_ctx
def list_command(ctx: Context) -> None:
    """List the campaigns, newest first, with their groups (in your scope under --as).

    \b
    Example:
      gcrm campaigns list
    """
    with ctx.engine.connect() as conn:
        table = list_campaigns(conn)
    if table.empty:
        click.echo("no campaigns yet; `gcrm campaigns create --help` shows how to make one")
        return
    shown = table[
        ["id", "name", "kind", "status", "starts_on", "targets", "controls", "created_by"]
    ]
    click.echo(shown.to_string(index=False))


@campaigns.command("show")
@click.argument("campaign")
@requires("view_aggregates")
@pass_ctx
def show_command(ctx: Context, campaign: str) -> None:
    """Show CAMPAIGN (a name or an id): criteria, groups, responders.

    \b
    Example:
      gcrm campaigns show spring-winback
    """
    with ctx.engine.connect() as conn:
        found = read_campaign(conn, campaign)
    cap = "none" if found.size_cap is None else str(found.size_cap)
    click.echo(
        f"campaign {found.name!r} (id {found.id}), {found.kind}, {found.status}\n"
        f"  criteria: {json.dumps(found.criteria)}\n"
        f"  cap {cap}, control share {found.control_share:g}, seed {found.seed}\n"
        f"  starts {found.starts_on}; made by {found.created_by} at {found.created_at:%Y-%m-%d %H:%M}\n"
        f"  {found.targets} targets, {found.controls} controls, {found.responders} responded"
    )


@campaigns.command("export")
@click.argument("campaign")
@out_option(formats=TABLE_FORMATS, help="The target list (.csv or .xlsx).")
@takes_as_user  # asks read_customers or read_leads itself, by the campaign's kind
@pass_ctx
def export_command(ctx: Context, campaign: str, out: Path) -> None:
    """Write the target group's contacts of CAMPAIGN for the mailing tool.

    Only targets are written (the control group is never contacted): rank, id, name,
    contacts and address. The export is logged (who, when, rows, fields; `gcrm audit`).

    \b
    Examples:
      gcrm campaigns export spring-winback -o mailing.xlsx
      gcrm --as anna campaigns export spring-winback -o anna.csv   # anna's scope only
    """
    with ctx.owner_engine.connect() as conn:
        kind = read_campaign(conn, campaign).kind
    ctx.require(_EXPORT_PERMISSION[kind])
    with ctx.engine.begin() as conn:
        written = export_campaign(conn, campaign, path=out)
        targets = read_campaign(conn, campaign).targets
    click.echo(f"{targets} targets written to {written}")


@campaigns.command("responses")
@click.argument("campaign")
@file_argument()
@rejects_option
@pass_ctx
def responses_command(ctx: Context, campaign: str, file: Path, rejects_path: Path | None) -> None:
    """Import the responses to CAMPAIGN from FILE (CSV or XLSX).

    Columns: external_id (or id, customer_id, lead_id), responded_at (or date), and
    optionally outcome (a word, e.g. ordered; empty: responded) and value. Controls'
    responses count too (that is how uplift is measured). Bad rows go to the rejects file
    with their row number and reason; importing the same file again changes nothing.

    \b
    Example:
      gcrm campaigns responses spring-winback replies.csv --rejects replies.bad.csv
    """
    with ctx.engine.begin() as conn:
        report = import_responses(conn, campaign, file, rejects_path=rejects_path)
    click.echo(report.summary())


@campaigns.command("results")
@click.argument("campaign")
@level_option(required=True, help="Area level of the results, e.g. district.")
@click.option(
    "--outcome",
    "outcomes",
    multiple=True,
    help="Count only responses of this outcome (repeatable) [default: every outcome].",
)
@out_option(
    formats=RESULT_FORMATS,
    required=False,
    help="Also write the results: .csv, .xlsx, or .html (an offline map of response rate and uplift).",
)
@requires("view_aggregates")
@pass_ctx
def results_command(
    ctx: Context, campaign: str, level: str, outcomes: tuple[str, ...], out: Path | None
) -> None:
    """Response rate and uplift of CAMPAIGN against its control group, per area and overall.

    Uplift is the targets' response rate minus the controls'; its 95% interval is the
    normal approximation of a difference of two proportions. Revenue per member counts
    orders from the campaign's start (customers campaigns).

    \b
    Examples:
      gcrm campaigns results spring-winback --level district
      gcrm campaigns results spring-winback --level district --outcome ordered -o results.html
      gcrm campaigns results spring-winback --level postcode -o results.xlsx
    """
    with ctx.engine.connect() as conn:
        results = campaign_results(conn, campaign, level=level, outcomes=outcomes or None)
        if out is not None:
            written = write_results(conn, results, path=out)
    shown = results[["area", "name", "targets", "controls"]].copy()
    for column in ("target_rate", "control_rate", "uplift", "uplift_low", "uplift_high"):
        shown[column] = [format_value(v, unit="share") for v in results[column]]
    click.echo(shown.to_string(index=False))
    if out is not None:
        click.echo(f"written to {written}")
