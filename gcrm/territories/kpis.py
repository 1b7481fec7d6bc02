"""Territory KPIs: from the cube (measures per area) and from SQL (top customers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from gcrm.areas import read_area_stats
from gcrm.core import PRECISIONS, Period, is_all, parse_period
from gcrm.cube import (
    MEASURES,
    active_at_start,
    churn_rate,
    measure_sources,
    safe_ratio,
    select_measure,
)
from gcrm.store import load_queries

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "KPIS",
    "PRECISION_KPIS",
    "STATISTIC_KPIS",
    "Kpi",
    "kpi_sources",
    "monthly_series",
    "resolve_period",
    "territory_kpis",
    "top_customers",
    "totals",
    "unplaced_customers",
    "with_vintage",
]


@dataclass(frozen=True)
class Kpi:
    """A column of the territory summary: label and display format."""

    label: str
    #: ``count``, ``money`` or ``share``.
    fmt: str


#: Summary columns, in order. ``churn_rate`` and ``penetration`` are ratios, never summed:
#: the totals row recomputes them from the sums of their parts (churned / active at start).
#: The churn rate is the cube's (:func:`gcrm.cube.churn_rate`), labelled in the same words.
KPIS: dict[str, Kpi] = {
    "customers": Kpi("Customers", "count"),
    "active": Kpi("Active", "count"),
    "revenue": Kpi("Revenue", "money"),
    "churned": Kpi("Churned", "count"),
    "active_at_start": Kpi("Active at period start", "count"),
    "churn_rate": Kpi(MEASURES["churn_rate"].label, "share"),
    "leads": Kpi("Leads", "count"),
    "population": Kpi("Population", "count"),
    "households": Kpi("Households", "count"),
    "penetration": Kpi("Penetration", "share"),
    "orders": Kpi("Orders", "count"),
}
#: Customers by geocode precision, best first: how far each territory's numbers can be
#: trusted. Counted over every customer on file (the cube's ``customers_by_precision``).
PRECISION_KPIS: dict[str, Kpi] = {
    f"precision_{p}": Kpi(f"Precision: {p}", "count") for p in PRECISIONS
}
KPIS.update(PRECISION_KPIS)
_CUBE_MEASURES = [k for k in KPIS if k in MEASURES]
#: KPIs read from the area statistics: their sources and vintages go with every report.
STATISTIC_KPIS = ("population", "households")
_SOURCE_COLUMNS = ["measure", "source", "vintage", "method", "areas"]
_SQL = load_queries(__package__, "kpis.sql")


def resolve_period(cube: xr.Dataset, period: str | None) -> Period:
    """The dates of ``period`` (``"2025-03"``, ``"2025-Q1"``, ``"2025"``); for None (or
    ``"all"``) the whole range of ``cube``, labelled ``"2024-01 – 2025-12"``."""
    if not is_all(period):
        return parse_period(str(period))
    months = pd.DatetimeIndex(cube["month"].to_numpy())
    first, last = months.min(), months.max()
    stop = (last + pd.offsets.MonthBegin(1)).date()
    return Period(f"{first:%Y-%m} – {last:%Y-%m}", "range", first.date(), stop)


def territory_kpis(cube: xr.Dataset, *, level: str, period: str | None = None) -> pd.DataFrame:
    """One row per area of ``level``: code, name and every KPI of :data:`KPIS`.

    Flows (revenue, orders, churned, ...) are summed over the period and stocks (customers,
    active) taken at its last month, by :func:`gcrm.cube.select_measure`; the churn rate is
    the cube's, churned in the period / active at its start (:func:`gcrm.cube.churn_rate`).
    """
    values = {m: select_measure(cube, m, level=level, period=period) for m in _CUBE_MEASURES}
    values["active_at_start"] = active_at_start(cube, level=level, period=period)
    frame = pd.DataFrame(values).astype(float)
    areas = cube["area"].to_index()
    on_level = np.asarray(cube["level"].to_numpy() == level)
    names = pd.DataFrame(
        {"code": cube["code"].to_numpy()[on_level], "name": cube["name"].to_numpy()[on_level]},
        index=areas[on_level],
    )
    frame = names.join(frame, how="left").join(_precision_counts(cube, names.index))
    frame.index.name = "area_id"
    return frame.reset_index()[["area_id", "code", "name", *KPIS]].sort_values(
        "code", ignore_index=True
    )


def _precision_counts(cube: xr.Dataset, area_ids: pd.Index) -> pd.DataFrame:
    """Customers per area id and precision, columns ``precision_<p>`` (NaN: an older cube)."""
    columns = list(PRECISION_KPIS)
    if "customers_by_precision" not in cube:
        return pd.DataFrame(np.nan, index=area_ids, columns=columns)
    counts = cube["customers_by_precision"].sel(area=list(area_ids)).to_pandas()
    counts.columns = [f"precision_{p}" for p in counts.columns]
    return counts.reindex(columns=columns, fill_value=0).astype(float)


def unplaced_customers(conn: Connection) -> int:
    """Customers with no location at all: they stand in no territory."""
    return int(
        conn.execute(text("SELECT count(*) FROM gcrm.customers WHERE geom IS NULL")).scalar_one()
    )


def totals(summary: pd.DataFrame) -> pd.Series:
    """The totals row of a summary: counts summed, ratios recomputed from the sums."""
    sums = summary[[k for k, kpi in KPIS.items() if kpi.fmt != "share"]].sum(min_count=1)
    sums["churn_rate"] = churn_rate(float(sums["churned"]), float(sums["active_at_start"]))
    sums["penetration"] = safe_ratio(float(sums["active"]), float(sums["households"]))
    return sums[list(KPIS)]


def monthly_series(
    cube: xr.Dataset, *, area_ids: list[str], period: Period, measures: tuple[str, ...]
) -> dict[str, pd.DataFrame]:
    """Per measure, a frame of month x area (segments summed) over ``period``."""
    months = pd.DatetimeIndex(cube["month"].to_numpy())
    keep = (months >= pd.Timestamp(period.start)) & (months < pd.Timestamp(period.stop))
    out = {}
    for measure in measures:
        da = cube[measure].sel(area=area_ids).isel(month=np.flatnonzero(keep)).sum("segment")
        out[measure] = da.transpose("month", "area").to_pandas()
    return out


def top_customers(conn: Connection, *, level: str, period: Period, n: int = 10) -> pd.DataFrame:
    """The ``n`` customers with the most revenue in ``period`` in each area of ``level``.

    Columns: code, rank, external_id, name, segment, status, revenue, orders.
    """
    result = conn.execute(
        text(_SQL["top_customers"]),
        {"level": level, "start": period.start, "end": period.stop, "n": n},
    )
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    return frame.astype({"rank": int, "revenue": float, "orders": int})


def kpi_sources(cube: xr.Dataset, *, area_ids: list[str]) -> pd.DataFrame:
    """Where the statistics among the KPIs of ``area_ids`` come from, as the cube records it:
    columns measure, source, vintage, method, areas (one row per provenance)."""
    frames = [measure_sources(cube, m, areas=area_ids).assign(measure=m) for m in STATISTIC_KPIS]
    return pd.concat(frames, ignore_index=True).reindex(columns=_SOURCE_COLUMNS)


def with_vintage(
    conn: Connection, summary: pd.DataFrame, *, level: str, vintage: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary with population and households of ``vintage`` read from the database (the
    cube holds one vintage), penetration recomputed; and where those figures come from.

    Raises
    ------
    NotFoundError
        When no figure has that vintage.
    """
    stats = read_area_stats(conn, levels=[level], measures=list(STATISTIC_KPIS), vintage=vintage)
    out = summary.copy()
    for measure in STATISTIC_KPIS:
        rows = stats[stats["measure"] == measure].set_index("code")["value"]
        out[measure] = out["code"].map(rows).astype(float)
    out["penetration"] = safe_ratio(out["active"], out["households"])
    sources = (
        stats.groupby(["measure", "source", "vintage", "method"], sort=False)["code"]
        .nunique()
        .rename("areas")
        .reset_index()
    )
    return out, sources[_SOURCE_COLUMNS]
