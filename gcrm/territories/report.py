"""Territory reports per area level: an XLSX workbook, an offline HTML page, a PDF (a cover and a
page per territory) and a GeoPackage of the territories with their KPIs."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, Figure
from sqlalchemy import Connection

from gcrm.access import record_access
from gcrm.areas import read_areas, read_region
from gcrm.core import NotFoundError, Period, ValidationError
from gcrm.io import write_frame
from gcrm.maps import build_territory_map, format_value, save_offline
from gcrm.territories.kpis import (
    KPIS,
    kpi_sources,
    monthly_series,
    resolve_period,
    territory_kpis,
    top_customers,
    totals,
    unplaced_customers,
    with_vintage,
)
from gcrm.territories.pdf import PDF_MAX_TERRITORIES, PdfCover, PdfProgress, write_pdf
from gcrm.territories.xlsx import write_workbook

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "REPORT_BALANCE",
    "REPORT_FORMATS",
    "TerritoryReport",
    "build_territory_report",
    "format_sources",
    "format_summary",
    "territory_balance",
]

#: What a report can be written as, in the order they are written.
REPORT_FORMATS = ("xlsx", "html", "pdf", "gpkg")
#: The KPIs whose balance against the mean the PDF and the GeoPackage show by default.
REPORT_BALANCE = ("customers", "revenue")

_SERIES = ("revenue", "active")
_UNITS = {"count": "", "money": "money", "share": "share"}
_STYLE = """
<style>
body {font-family: system-ui, sans-serif; margin: 0; color: #222;}
.gcrm-report {padding: 12px 24px 48px; max-width: 1200px;}
.gcrm-report table {border-collapse: collapse; margin: 8px 0 16px; font-size: 13px;}
.gcrm-report th, .gcrm-report td {border: 1px solid #ccc; padding: 3px 8px;}
.gcrm-report td {text-align: right;}
.gcrm-report td:first-child, .gcrm-report td.text {text-align: left;}
.gcrm-report tr.total {font-weight: bold; background: #f3f3f3;}
.gcrm-report section {border-top: 2px solid #ddd; margin-top: 24px;}
</style>
"""


@dataclass(frozen=True)
class TerritoryReport:
    """What :func:`build_territory_report` wrote, and the summary it wrote."""

    #: The files written, by format (``xlsx``, ``html``, ``pdf``, ``gpkg``), in that order.
    paths: dict[str, Path]
    summary: pd.DataFrame
    #: Where the statistics among the KPIs come from: measure, source, vintage, method, areas.
    sources: pd.DataFrame
    #: Each territory's balance: per criterion its value, share and deviation from the mean.
    balance: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: What was left out and why (a PDF of too many areas), for the caller to show.
    notes: tuple[str, ...] = ()

    def _path(self, fmt: str) -> Path:
        if fmt not in self.paths:
            msg = f"the report has no {fmt} file; ask for it with formats=[..., {fmt!r}]"
            raise NotFoundError(msg)
        return self.paths[fmt]

    @property
    def xlsx(self) -> Path:
        """The workbook (NotFoundError when it was not asked for)."""
        return self._path("xlsx")

    @property
    def html(self) -> Path:
        """The offline page (NotFoundError when it was not asked for)."""
        return self._path("html")

    @property
    def pdf(self) -> Path:
        """The PDF (NotFoundError when it was not asked for or left out)."""
        return self._path("pdf")

    @property
    def gpkg(self) -> Path:
        """The GeoPackage (NotFoundError when it was not asked for)."""
        return self._path("gpkg")


def _fmt(key: str, value: float) -> str:
    return format_value(value, unit=_UNITS[KPIS[key].fmt])


def _summary_table(summary: pd.DataFrame, total: pd.Series) -> str:
    head = "".join(f"<th>{html.escape(k.label)}</th>" for k in KPIS.values())
    rows = [
        "<tr><td>{}</td><td class='text'>{}</td>{}</tr>".format(
            html.escape(str(r["code"])),
            html.escape(str(r["name"])),
            "".join(f"<td>{_fmt(k, r[k])}</td>" for k in KPIS),
        )
        for _, r in summary.iterrows()
    ]
    rows.append(
        "<tr class='total'><td>Total</td><td></td>"
        + "".join(f"<td>{_fmt(k, total[k])}</td>" for k in KPIS)
        + "</tr>"
    )
    return f"<table><tr><th>Code</th><th>Name</th>{head}</tr>{''.join(rows)}</table>"


def _section(row: pd.Series, *, monthly: pd.DataFrame, top: pd.DataFrame) -> str:
    kpis = "".join(
        f"<tr><td>{html.escape(k.label)}</td><td>{_fmt(key, row[key])}</td></tr>"
        for key, k in KPIS.items()
    )
    months = "".join(
        f"<tr><td>{month:%Y-%m}</td><td>{format_value(r.revenue, unit='money')}</td>"
        f"<td>{format_value(r.active)}</td></tr>"
        for month, r in monthly.iterrows()
    )
    customers = (
        "".join(
            f"<tr><td>{r.rank}</td><td class='text'>{html.escape(str(r.name))}</td>"
            f"<td class='text'>{html.escape(str(r.external_id))}</td>"
            f"<td class='text'>{html.escape(str(r.segment))}</td>"
            f"<td>{format_value(r.revenue, unit='money')}</td>"
            f"<td>{r.orders}</td></tr>"
            for r in top.itertuples(index=False)
        )
        or "<tr><td colspan='6' class='text'>no orders in the period</td></tr>"
    )
    return (
        f"<section id='{html.escape(str(row['area_id']))}'>"
        f"<h2>{html.escape(str(row['name']))} <small>({html.escape(str(row['code']))})</small></h2>"
        f"<table>{kpis}</table>"
        "<h3>Monthly</h3><table><tr><th>Month</th><th>Revenue</th><th>Active</th></tr>"
        f"{months}</table>"
        "<h3>Top customers by revenue</h3><table><tr><th>#</th><th>Name</th><th>Id</th>"
        f"<th>Segment</th><th>Revenue</th><th>Orders</th></tr>{customers}</table></section>"
    )


def _sources_note(sources: pd.DataFrame) -> str:
    """The sources and vintages of the statistics among the KPIs, as a list."""
    if sources.empty:
        return "<p class='note'>Population and households: no statistics loaded.</p>"
    items = "".join(
        f"<li>{html.escape(KPIS[r.measure].label)}: {html.escape(str(r.source))}, "
        f"{html.escape(str(r.vintage))}"
        + (f" ({html.escape(str(r.method))})" if r.method else "")
        + f" [{int(r.areas)} area(s)]</li>"
        for r in sources.itertuples(index=False)
    )
    return f"<div class='gcrm-sources'><h3>Sources</h3><ul>{items}</ul></div>"


def format_sources(sources: pd.DataFrame) -> str:
    """The sources of the statistics among the KPIs as plain-text lines."""
    return "\n".join(
        f"{KPIS[r.measure].label}: {r.source}, {r.vintage}"
        + (f" ({r.method})" if r.method else "")
        + f" [{int(r.areas)} area(s)]"
        for r in sources.itertuples(index=False)
    )


def _precision_note(conn: Connection) -> str:
    unplaced = unplaced_customers(conn)
    return (
        "<p class='note'>Precision columns count every customer on file by how precisely the "
        "address was placed (rooftop best, locality coarsest), whatever the period. "
        f"{unplaced:,} customer(s) could not be placed at all and stand in no territory.</p>"
    )


def _write_html(
    conn: Connection,
    path: Path,
    *,
    level: str,
    map_kpi: str,
    period: Period,
    summary: pd.DataFrame,
    total: pd.Series,
    series: dict[str, pd.DataFrame],
    top: pd.DataFrame,
    sources: pd.DataFrame,
) -> Path:
    kpi = KPIS[map_kpi]
    m = build_territory_map(
        conn,
        level=level,
        values=summary.set_index("area_id")[map_kpi],
        title=kpi.label,
        unit=_UNITS[kpi.fmt],
        height="520px",
    )
    figure = m.get_root()
    assert isinstance(figure, Figure)  # a folium Map's root is always its Figure
    figure.header.add_child(Element(_STYLE), name="gcrm_report_style")
    by_code = dict(list(top.groupby("code", sort=False)))
    sections = "".join(
        _section(
            row,
            monthly=pd.DataFrame({s: series[s][row["area_id"]] for s in _SERIES}),
            top=by_code.get(row["code"], top.iloc[0:0]),
        )
        for _, row in summary.iterrows()
    )
    body = (
        f"<div class='gcrm-report'><h1>Territories by {html.escape(level)}</h1>"
        f"<p>Period {html.escape(period.label)}. Map: {html.escape(kpi.label)}.</p>"
        f"{_summary_table(summary, total)}{_sources_note(sources)}{_precision_note(conn)}"
        f"{sections}</div>"
    )
    # The map is the figure's first body child; the report follows it.
    figure.html.add_child(Element(body), name="gcrm_report_body")
    return save_offline(figure, path)


def territory_balance(summary: pd.DataFrame, *, criteria: Sequence[str]) -> pd.DataFrame:
    """Each territory against the others: per criterion its value, ``<criterion>_share`` of
    the total and ``<criterion>_deviation`` from the mean of all territories (``0.04``: 4 %
    above it; NaN where the mean is 0).

    Parameters
    ----------
    summary
        One row per territory (:func:`gcrm.territories.territory_kpis`).
    criteria
        KPIs that add up over territories (not a share), e.g. ``["customers", "revenue"]``.

    Returns
    -------
    pandas.DataFrame
        ``area_id``, ``code``, ``name``, then ``<c>``, ``<c>_share``, ``<c>_deviation`` per
        criterion, in the order of ``summary``.
    """
    out = summary[["area_id", "code", "name"]].copy()
    for c in _checked_balance(criteria):
        values = summary[c].astype(float)
        total, mean = values.sum(), values.mean()
        out[c] = values
        out[f"{c}_share"] = values / total if total else np.nan
        out[f"{c}_deviation"] = values / mean - 1 if mean else np.nan
    return out


def _checked_balance(criteria: Sequence[str]) -> list[str]:
    summable = [k for k, kpi in KPIS.items() if kpi.fmt != "share"]
    unknown = [c for c in criteria if c not in summable]
    if unknown or not criteria:
        msg = (
            f"balance={list(criteria)!r}: {unknown or 'no criterion'} cannot be balanced; "
            f"use KPIs that add up, e.g. --balance customers,revenue (one of {summable})"
        )
        raise ValidationError(msg)
    return list(dict.fromkeys(criteria))


def _checked_formats(
    formats: Sequence[str] | None, *, level: str, areas: int
) -> tuple[list[str], tuple[str, ...]]:
    """The formats to write and the notes on what was left out."""
    too_many = (
        f"level {level!r} has {areas:,} areas, and a PDF has a page per territory (at most "
        f"{PDF_MAX_TERRITORIES}); report on a coarser --level, e.g. a published plan's "
        "'territory', or leave pdf out of --format"
    )
    if formats is None:
        if areas > PDF_MAX_TERRITORIES:
            return [f for f in REPORT_FORMATS if f != "pdf"], (f"no PDF: {too_many}",)
        return list(REPORT_FORMATS), ()
    wanted = [f.strip().lower().lstrip(".") for f in formats]
    unknown = [f for f in wanted if f not in REPORT_FORMATS]
    if unknown or not wanted:
        msg = (
            f"formats={list(formats)!r}: {unknown or 'none given'} not a report format; "
            f"use some of {list(REPORT_FORMATS)}, e.g. --format pdf,gpkg"
        )
        raise ValidationError(msg)
    if "pdf" in wanted and areas > PDF_MAX_TERRITORIES:
        raise ValidationError(too_many)
    return [f for f in REPORT_FORMATS if f in wanted], ()


def _write_gpkg(
    path: Path, *, areas: gpd.GeoDataFrame, balance: pd.DataFrame, summary: pd.DataFrame
) -> Path:
    """The layer ``territories``: polygons with level, code, name, every KPI (by its key) and
    the balance's shares and deviations."""
    extra = balance.drop(columns=["code", "name", *[c for c in balance if c in KPIS]])
    table = summary[["area_id", "code", "name", *KPIS]].merge(extra, on="area_id", how="left")
    table.insert(1, "level", areas["level"].iloc[0])
    shapes = areas[["area_id", "geometry"]].merge(table, on="area_id", how="right")
    layer = gpd.GeoDataFrame(shapes, geometry="geometry", crs=areas.crs)
    return write_frame(
        layer[[*table.columns, "geometry"]], path, layer="territories", formats=(".gpkg",)
    )


def _pdf_cover(
    conn: Connection, cube: xr.Dataset, *, level: str, period: Period, sources: pd.DataFrame
) -> PdfCover:
    region = read_region(conn)
    built = str(cube.attrs.get("built_at", "")).replace("T", " ")
    lines = [
        "Customers, revenue, orders and leads: the CRM's records per territory"
        + (f", as of the cube built {built}" if built else "")
        + ".",
        *(
            format_sources(sources).splitlines()
            if not sources.empty
            else ["Population and households: no statistics loaded."]
        ),
    ]
    return PdfCover(
        region=region.name,
        level=level,
        period=period.label,
        sources=lines,
        currency=region.currency,
    )


def build_territory_report(
    conn: Connection,
    *,
    cube: xr.Dataset,
    level: str,
    out_dir: Path,
    period: str | None = None,
    map_kpi: str = "revenue",
    top_n: int = 10,
    vintage: str | None = None,
    formats: Sequence[str] | None = None,
    balance: Sequence[str] = REPORT_BALANCE,
    progress: PdfProgress | None = None,
) -> TerritoryReport:
    """Report on the territories (the areas of ``level``): KPIs, monthly series, top customers.

    Parameters
    ----------
    conn
        Connection to the gcrm database (top customers by revenue, area geometry).
    cube
        The region cube (:func:`gcrm.cube.build_region_cube`).
    level
        Area level whose areas are the territories (a published plan's level is
        ``territory``).
    out_dir
        Folder for ``territories_<level>.xlsx``, ``.html``, ``.pdf`` and ``.gpkg``.
    period
        ``"2025-03"``, ``"2025-Q1"``, ``"2025"``, or None for the whole cube range. Flows are
        summed over it, stocks taken at its end.
    map_kpi
        The KPI colouring the map (a key of :data:`gcrm.territories.kpis.KPIS`).
    top_n
        How many top customers to list per territory.
    vintage
        The vintage of population and households (read from the database); None: as in the
        cube (the vintage it was built at, the latest by default).
    formats
        Some of :data:`REPORT_FORMATS`. None: all four, except the PDF when ``level`` has more
        than :data:`gcrm.territories.pdf.PDF_MAX_TERRITORIES` areas (said in ``notes``).
    balance
        KPIs that add up (customers, revenue, leads, ...) whose balance against the mean the
        PDF and the GeoPackage show.
    progress
        Called as the PDF is made: ``progress(stage, done, total)``, stages ``"maps"`` and
        ``"pages"`` (:func:`gcrm.territories.pdf.write_pdf`).

    Returns
    -------
    TerritoryReport
        Paths of the files, the summary (one row per territory), the sources of its
        statistics (shown in every file) and the balance. The report names customers: it is
        recorded in the audit log on ``conn``'s transaction (commit it).

    Raises
    ------
    ValidationError
        When ``period``, ``map_kpi``, ``top_n``, ``formats`` or ``balance`` is invalid, or a
        PDF is asked of more areas than it is made for.
    NotFoundError
        When ``level`` has no areas, or ``vintage`` is the vintage of no figure.
    """
    if map_kpi not in KPIS:
        msg = f"map_kpi={map_kpi!r} is not a territory KPI; use one of {list(KPIS)}"
        raise ValidationError(msg)
    if top_n < 1:
        msg = f"top_n={top_n!r} must be at least 1, e.g. 10"
        raise ValidationError(msg)
    criteria = _checked_balance(balance)
    resolved = resolve_period(cube, period)
    summary = territory_kpis(cube, level=level, period=period)
    if summary.empty:
        levels = sorted(set(cube["level"].to_numpy().tolist()))
        msg = f"level={level!r} has no areas in the cube; use one of {levels}"
        raise NotFoundError(msg)
    wanted, notes = _checked_formats(formats, level=level, areas=len(summary))
    if vintage is None:
        sources = kpi_sources(cube, area_ids=list(summary["area_id"]))
    else:
        summary, sources = with_vintage(conn, summary, level=level, vintage=vintage)
    total = totals(summary)
    weights = territory_balance(summary, criteria=criteria)
    top = top_customers(conn, level=level, period=resolved, n=top_n)
    out_dir = Path(out_dir)
    record_access(
        conn,
        action="territories report",
        rows=len(top),
        fields=["external_id", "name", "segment", "status", "revenue", "orders"],
        target=str(out_dir),
        detail={"level": level, "period": resolved.label, "formats": wanted},
    )
    stem = out_dir / f"territories_{level}"
    paths: dict[str, Path] = {}
    series = (
        monthly_series(cube, area_ids=list(summary["area_id"]), period=resolved, measures=_SERIES)
        if {"xlsx", "html"} & set(wanted)
        else {}
    )
    if "xlsx" in wanted:
        paths["xlsx"] = write_workbook(
            stem.with_suffix(".xlsx"),
            summary=summary,
            total=total,
            period_label=resolved.label,
            series=series,
            top=top,
            sources=sources,
        )
    if "html" in wanted:
        paths["html"] = _write_html(
            conn,
            stem.with_suffix(".html"),
            level=level,
            map_kpi=map_kpi,
            period=resolved,
            summary=summary,
            total=total,
            series=series,
            top=top,
            sources=sources,
        )
    if "pdf" in wanted or "gpkg" in wanted:
        areas = read_areas(conn, level=level)
    if "pdf" in wanted:
        paths["pdf"] = write_pdf(
            stem.with_suffix(".pdf"),
            cover=_pdf_cover(conn, cube, level=level, period=resolved, sources=sources),
            summary=summary,
            balance=weights,
            criteria=criteria,
            areas=areas,
            top=top,
            progress=progress,
        )
    if "gpkg" in wanted:
        paths["gpkg"] = _write_gpkg(
            stem.with_suffix(".gpkg"), areas=areas, balance=weights, summary=summary
        )
    return TerritoryReport(
        paths=paths, summary=summary, sources=sources, balance=weights, notes=notes
    )


def format_summary(summary: pd.DataFrame) -> str:
    """The summary as a plain-text table, numbers formatted for people."""
    table = summary[["code", "name"]].copy()
    for key, kpi in KPIS.items():
        unit = "share" if kpi.fmt == "share" else ""
        table[kpi.label] = [format_value(v, unit=unit) for v in summary[key]]
    return table.to_string(index=False)
