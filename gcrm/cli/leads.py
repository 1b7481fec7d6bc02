"""``gcrm leads``: nearby leads and lead lists."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from gcrm.access import record_access
from gcrm.cli.context import Context, pass_ctx, requires
from gcrm.cli.options import area_option, out_option
from gcrm.core import ValidationError
from gcrm.exports import EXPORT_FORMATS, export_points
from gcrm.leads import (
    CUSTOMER_MODES,
    SORTS,
    export_leads,
    find_leads_by_drive_time,
    find_leads_within,
    find_nearby_leads,
    format_lead_table,
    read_polygon,
    resolve_origin,
)
from gcrm.scoring import (
    LEAD_SCORE_STAGES,
    format_backtest,
    latest_run,
    read_lead_scores,
    reasons_text,
    run_lead_backtest,
    score_leads,
)

__all__ = ["leads"]


def _search_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--min-score, --customers and --sort: the same in every lead search."""
    f = click.option(
        "--sort",
        type=click.Choice(SORTS),
        default=None,
        help="Order: distance, drive_time (with --minutes) or score (best first, unscored "
        "last) [default: the search's own measure; score with --min-score].",
    )(f)
    f = click.option(
        "--customers",
        type=click.Choice(CUSTOMER_MODES),
        default="exclude",
        show_default=True,
        help="Leads that are already customers (a customer record names the lead, or a "
        "customer of the same name stands within 50 m): leave out, keep only, or include.",
    )(f)
    return click.option(
        "--min-score",
        type=click.FloatRange(0, 1),
        default=None,
        help="Only leads whose lead score (gcrm leads score) is at least this, e.g. 0.7.",
    )(f)


@click.group()
def leads() -> None:
    """Prospecting: leads near an address, a customer or a point, or inside an area."""


@leads.command("near")
@click.argument("address", required=False)
@click.option("--customer", "customer_id", default=None, help="Search around this customer id.")
@click.option("--lon", type=float, default=None, help="Origin longitude (EPSG:4326).")
@click.option("--lat", type=float, default=None, help="Origin latitude (EPSG:4326).")
@click.option(
    "--radius-m",
    type=float,
    default=None,
    help="Radius, metres [default: 1000]. Not with --minutes.",
)
@click.option(
    "--minutes",
    type=float,
    default=None,
    help="Drive time by road from the origin, minutes (at most 180); rows carry drive_time_s. "
    "Not with --radius-m.",
)
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many.")
@click.option("--category", "categories", multiple=True, help="Keep this category (repeatable).")
@click.option(
    "--zoning",
    "zoning",
    multiple=True,
    help="Keep this zoning class (repeatable), e.g. commercial.",
)
@area_option(help="Only leads in this area, e.g. district:D01.")
@_search_options
@out_option(required=False, help=f"Also write the list ({', '.join(EXPORT_FORMATS)}).")
@requires("read_leads")
@pass_ctx
def near(
    ctx: Context,
    address: str | None,
    customer_id: str | None,
    lon: float | None,
    lat: float | None,
    radius_m: float | None,
    minutes: float | None,
    limit: int,
    categories: tuple[str, ...],
    zoning: tuple[str, ...],
    area: str | None,
    min_score: float | None,
    customers: str,
    sort: str | None,
    out: Path | None,
) -> None:
    """List the leads nearest to ADDRESS, a customer or a point, by distance or drive time.

    Give exactly one origin: an ADDRESS (geocoded offline), --customer ID, or --lon and --lat.
    Search by --radius-m (straight line, the default) or by --minutes (drive time on the road
    graph of `gcrm import roads`, quickest first); the two are mutually exclusive.

    \b
    Examples:
      gcrm leads near "Mannerheimintie 10, Helsinki"
      gcrm leads near "Fredrikinkatu 20" --radius-m 500 --category cafe --category restaurant
      gcrm leads near --customer C00042 --zoning commercial -o calls.xlsx
      gcrm leads near --lon 24.94 --lat 60.17 --limit 20 -o leads.gpkg
      gcrm leads near --customer C00042 --minutes 15 --limit 200 -o calls.xlsx
      gcrm leads near "Bulevardi 2" --minutes 15 --min-score 0.7 -o best.xlsx
      gcrm leads near --lon 24.94 --lat 60.17 --customers only

    Leads that are already customers are left out unless --customers only|include. Rows
    carry score, percentile and reasons where `gcrm leads score` scored the lead.
    """
    if radius_m is not None and minutes is not None:
        msg = (
            f"--radius-m {radius_m:g} and --minutes {minutes:g} are mutually exclusive; "
            "search by one of them"
        )
        raise ValidationError(msg)
    filters: dict[str, Any] = {
        "limit": limit,
        "categories": list(categories) or None,
        "zoning_classes": list(zoning) or None,
        "area": area,
        "min_score": min_score,
        "customers": customers,
        "sort": sort,
    }
    with ctx.engine.connect() as conn:
        origin = resolve_origin(conn, address=address, customer_id=customer_id, lon=lon, lat=lat)
        if minutes is not None:
            found = find_leads_by_drive_time(conn, origin, minutes=minutes, **filters)
            reach = f"{minutes:g} min drive"
        else:
            radius_m = 1000.0 if radius_m is None else radius_m
            found = find_nearby_leads(
                conn, lon=origin.lon, lat=origin.lat, radius_m=radius_m, **filters
            )
            reach = f"{radius_m:g} m"
    click.echo(
        f"{len(found)} leads within {reach} of {origin.label} "
        f"({origin.lat:.5f}, {origin.lon:.5f}; precision {origin.precision})"
    )
    click.echo(format_lead_table(found))
    if out is not None:
        path = export_leads(found, out, origin=origin)
        with ctx.engine.begin() as conn:
            record_access(
                conn,
                action="leads near",
                rows=len(found),
                fields=[c for c in found.columns if c != found.geometry.name],
                target=str(path),
                detail={
                    "origin": origin.label,
                    "radius_m": radius_m,
                    "minutes": minutes,
                    "min_score": min_score,
                    "customers": customers,
                },
            )
        click.echo(f"written to {path}")


@leads.command("within")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@area_option(help="Leads in this area (their area code), e.g. district:D01.")
@click.option("--limit", type=int, default=10_000, show_default=True, help="At most this many.")
@click.option("--category", "categories", multiple=True, help="Keep this category (repeatable).")
@click.option(
    "--zoning",
    "zoning",
    multiple=True,
    help="Keep this zoning class (repeatable), e.g. commercial.",
)
@_search_options
@out_option(required=False, help=f"Also write the list ({', '.join(EXPORT_FORMATS)}).")
@requires("read_leads")
@pass_ctx
def within(
    ctx: Context,
    file: Path | None,
    area: str | None,
    limit: int,
    categories: tuple[str, ...],
    zoning: tuple[str, ...],
    min_score: float | None,
    customers: str,
    sort: str | None,
    out: Path | None,
) -> None:
    """List the leads inside the polygons of FILE (GeoJSON, GeoPackage...) or in an --area.

    Give FILE, --area LEVEL:CODE, or both (leads inside the polygon and in the area).

    \b
    Examples:
      gcrm leads within drawn.geojson -o calls.xlsx
      gcrm leads within --area district:D02 --category cafe -o cafes.gpkg
      gcrm leads within drawn.geojson --min-score 0.6 --customers exclude -o best.xlsx
    """
    if file is None and area is None:
        msg = "FILE and --area are both missing; pass a GeoJSON file or --area LEVEL:CODE"
        raise ValidationError(msg)
    polygon = read_polygon(file) if file is not None else None
    with ctx.engine.connect() as conn:
        found = find_leads_within(
            conn,
            polygon=polygon,
            area=area,
            limit=limit,
            categories=list(categories) or None,
            zoning_classes=list(zoning) or None,
            min_score=min_score,
            customers=customers,
            sort=sort,
        )
    inside = " and ".join(x for x in (file and f"{file}", area and f"area {area}") if x)
    click.echo(f"{len(found)} leads inside {inside}")
    click.echo(format_lead_table(found))
    if out is not None:
        path = export_leads(found, out)
        with ctx.engine.begin() as conn:
            record_access(
                conn,
                action="leads within",
                rows=len(found),
                fields=[c for c in found.columns if c != found.geometry.name],
                target=str(path),
                detail={"file": str(file) if file else None, "area": area},
            )
        click.echo(f"written to {path}")


@leads.command("export")
@out_option(formats=EXPORT_FORMATS)
@area_option(help="Only leads in this area, e.g. district:D01.")
@click.option("--category", multiple=True, help="Keep this category (repeatable), e.g. cafe.")
@requires("read_leads")
@pass_ctx
def leads_export_command(
    ctx: Context, out: Path, area: str | None, category: tuple[str, ...]
) -> None:
    """Export leads with area codes and names at every level, zoning, road, drive time, the
    housing context of their area, and the lead score (score, percentile, reasons as
    "r1; r2; r3"; empty until `gcrm leads score`).

    \b
    Examples:
      gcrm leads export -o leads.xlsx
      gcrm leads export -o cafes_d02.geojson --category cafe --area district:D02
    """
    with ctx.engine.begin() as conn:  # commits the audit record
        path = export_points(conn, entity="leads", path=out, area=area, category=category)
    click.echo(f"leads -> {path}")


@leads.command("score")
@click.option(
    "--backtest",
    "backtest_only",
    is_flag=True,
    help="Only run the backtest (the scores stay as they are) and print its figures.",
)
@out_option(required=False, help="Write the backtest's figures as JSON (e.g. backtest.json).")
@click.option(
    "--level",
    default=None,
    help="Area level whose profile describes where a point stands [default: the first "
    "top-level one, e.g. district].",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the model.")
@requires("administer")
@pass_ctx
def score(
    ctx: Context, backtest_only: bool, out: Path | None, level: str | None, seed: int
) -> None:
    """Score every lead by how much it looks like your best customers, with reasons.

    The model (regularised logistic regression) compares SMB and corporate customers,
    weighted by their revenue over the last 12 months, with the leads, on what both have:
    category, the area's profile, zoning, road class, drive time and straight distance to
    the nearest branch, other businesses within 500 m and customers within 1 km. Each lead gets a score (0-1), its percentile and the three
    features that moved it most, in words; `gcrm leads near|within -o` and the API
    (/api/leads/{id}/score) carry them.

    The backtest hides the customers who signed up in the last 12 months, trains on the
    rest, puts them among the leads and measures how high they rank (AUC, recall and
    precision in the top 10 %), against a random order and the distance to the nearest
    branch in the same run. Scoring runs it too and keeps its figures with the run.

    \b
    Examples:
      gcrm leads score
      gcrm leads score --backtest -o backtest.json
      gcrm leads score --level postcode -o backtest.json
    """
    engine = ctx.owner_engine  # scores of every lead are rewritten: the owner's work
    figures: dict[str, Any] | None
    if backtest_only:
        run_id, figures = run_lead_backtest(engine, level=level, seed=seed)
        _print_backtest(figures)
    else:
        with tqdm(total=len(LEAD_SCORE_STAGES), desc="lead score", unit="stage") as bar:

            def stage(label: str) -> None:
                bar.set_postfix_str(label)
                bar.update(1)

            try:
                run_id = score_leads(engine, level=level, seed=seed, progress=stage)
            except ValidationError as exc:
                click.echo(f"backtest not run: {exc}", err=True)
                bar.reset()
                run_id = score_leads(engine, level=level, seed=seed, backtest=False, progress=stage)
        with engine.connect() as conn:
            run = latest_run(conn, "lead")
            latest = latest_run(conn, "lead", with_backtest=True)
            top = read_lead_scores(conn).nlargest(5, "score")
        if run is not None:
            click.echo(f"scored {run['rows_scored']} leads (run {run_id}): {run['model']}")
        for row in top.itertuples():
            click.echo(f"  {row.external_id}  {row.score:.3f}  {reasons_text(row.reasons)}")
        figures = latest["backtest"] if latest is not None else None
        if figures is None:
            click.echo("no backtest yet: run `gcrm leads score --backtest`")
        else:
            if latest is not None and latest["id"] != run_id:
                click.echo(
                    f"latest backtest (run {latest['id']}, {latest['created_at']:%Y-%m-%d}):"
                )
            _print_backtest(figures)
    if out is not None:
        if figures is None:
            msg = f"-o {out}: there is no backtest to write; run `gcrm leads score --backtest`"
            raise ValidationError(msg)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        click.echo(f"backtest written to {out}")


def _print_backtest(figures: dict[str, Any]) -> None:
    click.echo(
        f"backtest: {figures['hidden_customers']} customers who signed up after "
        f"{figures['cutoff']} hidden among {figures['leads']} leads; trained on "
        f"{figures['train_customers']} earlier customers"
    )
    click.echo(format_backtest(figures))
