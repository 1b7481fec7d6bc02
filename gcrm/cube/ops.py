"""OLAP operations on the region cube: slice by level, period and segment; roll up time;
drill from an area to its children. Derived measures are recomputed, never summed."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from gcrm.areas import PROFILE_MEASURES
from gcrm.core import (
    APPROXIMATE_PRECISIONS,
    NotFoundError,
    ValidationError,
    is_all,
    parse_period,
)
from gcrm.cube.build import FLOW_MEASURES, STATIC_MEASURES, STOCK_MEASURES

__all__ = [
    "MEASURES",
    "Measure",
    "children",
    "cube_levels",
    "periods",
    "rollup_period",
    "select_measure",
    "time_series",
]


@dataclass(frozen=True)
class Measure:
    """A measure of the cube: how it is labelled and how it aggregates over time."""

    label: str
    kind: str  # flow (summed over time), stock (value at period end), static, ratio (static, not additive), derived
    unit: str


MEASURES: dict[str, Measure] = {
    "customers": Measure("Customers (signed up)", "stock", "customers"),
    "active": Measure("Active customers", "stock", "customers"),
    "new": Measure("New customers", "flow", "customers"),
    "churned": Measure("Churned customers", "flow", "customers"),
    "revenue": Measure("Revenue", "flow", "EUR"),
    "orders": Measure("Orders", "flow", "orders"),
    "leads": Measure("Leads", "static", "leads"),
    # Statistics or estimates: statistic_source / _vintage / _method say which, per area.
    "population": Measure("Population", "static", "people"),
    "households": Measure("Households", "static", "households"),
    "penetration": Measure("Penetration (active customers per household)", "derived", "ratio"),
    "churn_rate": Measure("Churn rate (churned / customers at start)", "derived", "ratio"),
    "approximate": Measure(
        "Customers placed approximately (street level or coarser)", "static", "customers"
    ),
    "approximate_share": Measure("Share of customers placed approximately", "derived", "ratio"),
    "area_km2": Measure("Area", "static", "km²"),
    "dwellings": Measure("Dwellings", "static", "dwellings"),
    "dwellings_detached": Measure("Dwellings in detached houses", "static", "dwellings"),
    "dwellings_terraced": Measure(
        "Dwellings in semi-detached and terraced houses", "static", "dwellings"
    ),
    "dwellings_apartment": Measure("Dwellings in apartment blocks", "static", "dwellings"),
    "businesses": Measure("Businesses", "static", "businesses"),
    "buildings": Measure("Buildings", "static", "buildings"),
    "road_km": Measure("Road length", "static", "km"),
    "building_density_per_km2": Measure("Building density", "ratio", "per km²"),
    "residential_floor_share": Measure("Residential share of floor area", "ratio", "share"),
    "buildings_detached_share": Measure("Detached houses (share of buildings)", "ratio", "share"),
    "buildings_terraced_share": Measure(
        "Semi-detached and terraced houses (share of buildings)", "ratio", "share"
    ),
    "buildings_apartment_share": Measure("Apartment blocks (share of buildings)", "ratio", "share"),
    "buildings_nonresidential_share": Measure(
        "Non-residential buildings (share of buildings)", "ratio", "share"
    ),
    "buildings_low_share": Measure(
        "Buildings of 1-2 storeys (share of those with known storeys)", "ratio", "share"
    ),
    "buildings_mid_share": Measure(
        "Buildings of 3-5 storeys (share of those with known storeys)", "ratio", "share"
    ),
    "buildings_high_share": Measure(
        "Buildings of 6 storeys or more (share of those with known storeys)", "ratio", "share"
    ),
    "mean_levels": Measure("Mean storeys (buildings with known storeys)", "ratio", "storeys"),
    "zoning_residential_share": Measure("Zoned residential (share of area)", "ratio", "share"),
    "zoning_commercial_share": Measure("Zoned commercial (share of area)", "ratio", "share"),
    "zoning_industrial_share": Measure("Zoned industrial (share of area)", "ratio", "share"),
    "zoning_mixed_share": Measure("Zoned mixed (share of area)", "ratio", "share"),
    "zoning_other_share": Measure("Zoned other (share of area)", "ratio", "share"),
}


def _check_measure(measure: str) -> Measure:
    if measure not in MEASURES:
        msg = f"measure {measure!r} unknown; expected one of {list(MEASURES)}"
        raise ValidationError(msg)
    return MEASURES[measure]


def cube_levels(ds: xr.Dataset) -> list[dict[str, object]]:
    """The levels in the cube, top first: ``[{level, parent_level, rank}, ...]``."""
    return list(json.loads(ds.attrs["levels"]))


def _check_level(ds: xr.Dataset, level: str) -> None:
    known = [lv["level"] for lv in cube_levels(ds)]
    if level not in known:
        msg = f"level {level!r} unknown; expected one of {known}"
        raise ValidationError(msg)


def periods(ds: xr.Dataset) -> list[str]:
    """Every valid period label: years, quarters and months in the cube's range."""
    months = pd.DatetimeIndex(ds["month"].values)
    years = sorted({str(m.year) for m in months})
    quarters = sorted({f"{m.year}-Q{m.quarter}" for m in months})
    return years + quarters + [m.strftime("%Y-%m") for m in months]


def _period_mask(ds: xr.Dataset, period: str | None) -> np.ndarray:
    months = pd.DatetimeIndex(ds["month"].values)
    if is_all(period):
        return np.ones(len(months), dtype=bool)
    span = parse_period(str(period))
    mask = (months >= pd.Timestamp(span.start)) & (months < pd.Timestamp(span.stop))
    if not mask.any():
        first, last = months[0].strftime("%Y-%m"), months[-1].strftime("%Y-%m")
        msg = f"period {period!r} is outside the cube, which covers {first} to {last}"
        raise ValidationError(msg)
    return np.asarray(mask)


def _segment_sum(da: xr.DataArray, segment: str | None) -> xr.DataArray:
    if "segment" not in da.dims:
        return da
    if segment is None or segment in ("", "all"):
        return da.sum("segment")
    known = [str(s) for s in da["segment"].values]
    if segment not in known:
        msg = f"segment {segment!r} unknown; expected 'all' or one of {known}"
        raise ValidationError(msg)
    return da.sel(segment=segment, drop=True)


def _over_period(ds: xr.Dataset, name: str, mask: np.ndarray, segment: str | None) -> xr.DataArray:
    kind = MEASURES[name].kind
    da = _segment_sum(ds[name], segment)
    if kind in ("static", "ratio"):
        return da
    da = da.isel(month=np.flatnonzero(mask))
    return da.sum("month") if kind == "flow" else da.isel(month=-1, drop=True)


def _precision_value(ds: xr.Dataset, measure: str) -> xr.DataArray:
    counts = ds["customers_by_precision"]
    approx = counts.sel(precision=list(APPROXIMATE_PRECISIONS)).sum("precision")
    if measure == "approximate":
        return approx.rename("approximate")
    placed = counts.drop_sel(precision="none").sum("precision")
    return (approx / placed.where(placed > 0)).rename("approximate_share")


def _value(ds: xr.Dataset, measure: str, mask: np.ndarray, segment: str | None) -> xr.DataArray:
    if measure in ("approximate", "approximate_share"):
        return _precision_value(ds, measure)
    if measure == "penetration":
        active = _over_period(ds, "active", mask, segment)
        households = ds["households"]
        return (active / households.where(households > 0)).rename("penetration")
    if measure == "churn_rate":
        churned = _over_period(ds, "churned", mask, segment)
        first = int(np.flatnonzero(mask)[0])
        start = _segment_sum(ds["active"], segment).isel(month=first, drop=True)
        start = start + _segment_sum(ds["new"], segment).isel(month=first, drop=True)
        return (churned / start.where(start > 0)).rename("churn_rate")
    return _over_period(ds, measure, mask, segment).rename(measure)


def _areas_of(ds: xr.Dataset, *, level: str, parent: str | None) -> np.ndarray:
    _check_level(ds, level)
    keep = ds["level"].values == level
    if parent:
        if parent not in set(ds["area"].values):
            msg = f"parent area {parent!r} not in the cube; area ids look like 'district:D01'"
            raise NotFoundError(msg)
        keep &= ds["parent"].values == parent
    return np.flatnonzero(keep)


def select_measure(
    ds: xr.Dataset,
    measure: str,
    *,
    level: str,
    period: str | None = None,
    segment: str | None = None,
    parent: str | None = None,
) -> pd.Series:
    """One value per area of ``level``: a slice of the cube as a Series indexed by area id.

    Flows are summed over ``period``, stocks taken at its last month, static measures as they
    are, derived measures (penetration, churn rate) recomputed from their parts.

    Parameters
    ----------
    measure
        A key of :data:`MEASURES`.
    level
        The area level, e.g. ``"district"``.
    period
        ``"2025"``, ``"2025-Q1"``, ``"2025-03"``, or None for the cube's whole range.
    segment
        A segment name, or None / ``"all"`` for every segment.
    parent
        An area id (``"district:D01"``): keep only its children (drill-down).
    """
    _check_measure(measure)
    idx = _areas_of(ds, level=level, parent=parent)
    sub = ds.isel(area=idx)
    da = _value(sub, measure, _period_mask(ds, period), segment)
    return pd.Series(da.values, index=pd.Index(sub["area"].values, name="area"), name=measure)


def time_series(
    ds: xr.Dataset,
    measure: str,
    *,
    area: str | None = None,
    level: str | None = None,
    segment: str | None = None,
) -> pd.Series:
    """The measure month by month, for one area or for the whole region.

    Without ``area`` the region total is taken over the areas of ``level`` (default: the
    top level). Static measures are constant over time.
    """
    _check_measure(measure)
    if area is not None:
        if area not in set(ds["area"].values):
            msg = f"area {area!r} not in the cube; area ids look like 'district:D01'"
            raise NotFoundError(msg)
        sub = ds.sel(area=[area])
    else:
        level = level or str(cube_levels(ds)[0]["level"])
        sub = ds.isel(area=_areas_of(ds, level=level, parent=None))
    months = pd.DatetimeIndex(ds["month"].values)
    values = []
    for i in range(len(months)):
        # A loop over months (dozens), not rows: each step reuses the period logic.
        mask = np.zeros(len(months), dtype=bool)
        mask[i] = True
        if MEASURES[measure].kind == "derived":
            values.append(_region_derived(sub, measure, mask, segment))
        elif MEASURES[measure].kind == "ratio":
            # Not additive: the region's value is the mean weighted by area.
            weight = sub["area_km2"].where(sub[measure].notnull())
            values.append(
                float((sub[measure] * weight).sum() / weight.sum())
                if float(weight.sum())
                else float("nan")
            )
        else:
            values.append(float(_value(sub, measure, mask, segment).sum()))
    return pd.Series(values, index=pd.Index(months, name="month"), name=measure)


def _region_derived(sub: xr.Dataset, measure: str, mask: np.ndarray, segment: str | None) -> float:
    if measure == "approximate_share":
        counts = sub["customers_by_precision"].sum("area")
        placed = float(counts.drop_sel(precision="none").sum())
        approx = float(counts.sel(precision=list(APPROXIMATE_PRECISIONS)).sum())
        return approx / placed if placed else float("nan")
    if measure == "penetration":
        households = float(sub["households"].where(sub["households"] > 0).sum())
        active = float(_over_period(sub, "active", mask, segment).sum())
        return active / households if households else float("nan")
    churned = float(_over_period(sub, "churned", mask, segment).sum())
    first = int(np.flatnonzero(mask)[0])
    start = float(
        _segment_sum(sub["active"], segment).isel(month=first).sum()
        + _segment_sum(sub["new"], segment).isel(month=first).sum()
    )
    return churned / start if start else float("nan")


def rollup_period(ds: xr.Dataset, freq: str) -> xr.Dataset:
    """Roll the month dimension up to ``"quarter"`` or ``"year"``.

    Flows are summed; stocks take the last month of each period; static measures are kept.
    """
    rules = {"quarter": "QS", "year": "YS"}
    if freq not in rules:
        msg = f"freq {freq!r} unknown; expected one of {list(rules)}"
        raise ValidationError(msg)
    flows = ds[[m for m in FLOW_MEASURES if m in ds]].resample(month=rules[freq]).sum()
    stocks = ds[[m for m in STOCK_MEASURES if m in ds]].resample(month=rules[freq]).last()
    static = ds[[m for m in (*STATIC_MEASURES, *PROFILE_MEASURES) if m in ds]]
    out = xr.merge([flows, stocks, static])
    out.attrs = dict(ds.attrs)
    return out


def children(ds: xr.Dataset, area: str) -> list[str]:
    """Ids of the areas one level down from ``area`` (empty at the bottom level)."""
    return [str(a) for a in ds["area"].values[ds["parent"].values == area]]
