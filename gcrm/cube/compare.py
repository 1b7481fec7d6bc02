"""Comparing slices of the cube: a period against the one before it or a year earlier, an
area against its parent and the region, and any two dimensions as a table (a pivot).

Built on the slices of :mod:`gcrm.cube.ops`: flows are summed over a period, stocks taken
at its last month, derived measures (penetration, churn rate) recomputed in each period,
never subtracted or summed from their values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from gcrm.core import PERIOD_HELP, ValidationError, is_all, parse_period
from gcrm.cube.build import ORDER_DIMENSIONS, ORDER_MEASURES
from gcrm.cube.ops import (
    ADDITIVE_KINDS,
    MEASURES,
    _areas_of,
    _check_measure,
    _period_mask,
    _region_value,
    _value,
    filter_orders,
    month_masks,
    order_members,
    safe_ratio,
    select_measure,
    top_level,
)

__all__ = [
    "COMPARE_BASES",
    "COMPARE_COLUMNS",
    "PIVOT_DIMENSIONS",
    "SHARE_COLUMNS",
    "area_shares",
    "base_period",
    "compare_periods",
    "pivot",
]

#: What a period can be compared with, besides an explicit period of the same grain.
COMPARE_BASES = ("previous", "yoy")
#: The columns of :func:`compare_periods`.
COMPARE_COLUMNS = ("value", "base", "change", "pct_change")
#: The columns of :func:`area_shares`.
SHARE_COLUMNS = ("value", "share_of_parent", "share_of_region")
#: The cube's dimensions a pivot can put on its rows and columns; channel and branch for
#: order measures only, and not both (the cube stores orders by each apart).
PIVOT_DIMENSIONS = ("area", "segment", "month", "channel", "branch")
_FREQ = {"year": "Y", "quarter": "Q", "month": "M"}
_PER_YEAR = {"year": 1, "quarter": 4, "month": 12}


def _label(p: pd.Period, grain: str) -> str:
    if grain == "year":
        return str(p.year)
    if grain == "quarter":
        return f"{p.year}-Q{p.quarter}"
    return f"{p.year}-{p.month:02d}"


def base_period(period: str, compare: str) -> str:
    """The period ``period`` is compared with.

    Parameters
    ----------
    period
        ``"2025"``, ``"2025-Q1"`` or ``"2025-03"``.
    compare
        ``"previous"``: the period before, of the same grain (2025-03 -> 2025-02, 2025-Q1 ->
        2024-Q4, 2025 -> 2024); ``"yoy"``: the same period a year earlier (2025-03 ->
        2024-03); or a period of the same grain (``"2023-Q1"``).

    Raises
    ------
    ValidationError
        When ``period`` is not a period, or ``compare`` is none of the above.
    """
    span = parse_period(period)
    if span.grain not in _FREQ:
        msg = f"period={period!r} cannot be compared; use {PERIOD_HELP}"
        raise ValidationError(msg)
    here = pd.Period(span.start, freq=_FREQ[span.grain])
    if compare == "previous":
        return _label(here - 1, span.grain)
    if compare == "yoy":
        return _label(here - _PER_YEAR[span.grain], span.grain)
    try:
        other = parse_period(compare)
    except ValidationError:
        msg = (
            f"compare={compare!r} is neither {' nor '.join(map(repr, COMPARE_BASES))} nor a "
            f"period; use previous, yoy or a period ({PERIOD_HELP})"
        )
        raise ValidationError(msg) from None
    if other.grain != span.grain:
        msg = (
            f"compare={compare!r} is a {other.grain} but period={period!r} is a {span.grain}; "
            f"compare with a {span.grain}, e.g. compare={base_period(period, 'yoy')!r}"
        )
        raise ValidationError(msg)
    return other.label


def _check_inside(ds: xr.Dataset, period: str, *, argument: str, fix: str) -> None:
    """A ValidationError unless every month of ``period`` is in the cube."""
    span = parse_period(period)
    months = pd.DatetimeIndex(ds["month"].values)
    stop = months[-1] + pd.offsets.MonthBegin(1)
    if pd.Timestamp(span.start) < months[0] or pd.Timestamp(span.stop) > stop:
        msg = (
            f"{argument} {period!r} is not wholly inside the cube (it covers "
            f"{months[0]:%Y-%m} to {months[-1]:%Y-%m}); {fix}"
        )
        raise ValidationError(msg)


def compare_periods(
    ds: xr.Dataset,
    measure: str,
    *,
    level: str,
    period: str,
    compare: str = "previous",
    segment: str | None = None,
    parent: str | None = None,
    channel: str | None = None,
    branch: str | None = None,
) -> pd.DataFrame:
    """A slice of the cube beside the same slice in another period.

    Parameters
    ----------
    measure
        A key of :data:`gcrm.cube.MEASURES`. Derived measures are recomputed in each period.
    level, segment, parent, channel, branch
        As for :func:`gcrm.cube.select_measure`.
    period
        The period looked at: ``"2025"``, ``"2025-Q1"`` or ``"2025-03"``.
    compare
        ``"previous"``, ``"yoy"`` or an explicit period of the same grain
        (:func:`base_period`).

    Returns
    -------
    pandas.DataFrame
        Indexed by area id, columns ``value``, ``base`` (the value in the compared period),
        ``change`` (value - base) and ``pct_change`` (change / abs(base): NaN where the base
        is 0 or missing, never infinite). ``attrs`` holds ``period`` and ``base_period``.

    Raises
    ------
    ValidationError
        When ``period`` is missing or not a period, ``compare`` is not a base, or either
        period is not wholly inside the cube's months (the message gives the range).
    """
    _check_measure(measure)
    if is_all(period):
        msg = (
            f"compare={compare!r} needs one period to compare, not period={period!r}; "
            "pass e.g. period='2025-03', '2025-Q1' or '2025'"
        )
        raise ValidationError(msg)
    base = base_period(period, compare)
    _check_inside(ds, period, argument="period", fix="choose a period in that range")
    _check_inside(
        ds,
        base,
        argument=f"compare={compare!r}: the base period",
        fix="choose a later period, or compare with a period in that range",
    )
    ds = filter_orders(ds, measure, channel=channel, branch=branch)
    value, before = (
        select_measure(ds, measure, level=level, period=p, segment=segment, parent=parent)
        for p in (period, base)
    )
    change = value - before
    out = pd.DataFrame(
        {
            "value": value,
            "base": before,
            "change": change,
            "pct_change": safe_ratio(change, before.abs()),
        }
    )
    out.attrs.update(period=period, base_period=base)
    return out


def _check_additive(measure: str) -> None:
    spec = _check_measure(measure)
    if spec.kind not in ADDITIVE_KINDS:
        additive = [m for m, s in MEASURES.items() if s.kind in ADDITIVE_KINDS]
        msg = (
            f"measure {measure!r} is a {spec.kind} measure: its values do not add up to a "
            f"parent's or the region's, so shares mean nothing; use one of {additive}"
        )
        raise ValidationError(msg)


def area_shares(
    ds: xr.Dataset,
    measure: str,
    *,
    level: str,
    period: str | None = None,
    segment: str | None = None,
    parent: str | None = None,
    channel: str | None = None,
    branch: str | None = None,
) -> pd.DataFrame:
    """Each area's value as a share of its parent area's and of the region's.

    Parameters are those of :func:`gcrm.cube.select_measure`; ``measure`` must be additive
    (a flow, a stock or a static count: :data:`gcrm.cube.ADDITIVE_KINDS`).

    Returns
    -------
    pandas.DataFrame
        Indexed by area id, columns ``value``, ``share_of_parent`` (NaN at the top level, or
        where the parent's value is 0) and ``share_of_region`` (of the sum over every area of
        ``level``, whatever ``parent``).

    Raises
    ------
    ValidationError
        When ``measure`` is not additive (a ratio or a derived measure).
    """
    _check_additive(measure)
    ds = filter_orders(ds, measure, channel=channel, branch=branch)
    options = {"period": period, "segment": segment}
    value = select_measure(ds, measure, level=level, parent=parent, **options)
    region = select_measure(ds, measure, level=level, **options).sum(min_count=1)
    parents = pd.Series(ds["parent"].values, index=ds["area"].values).reindex(value.index)
    with_parent = parents[parents != ""]
    parent_values = pd.Series(np.nan, index=value.index)
    if not with_parent.empty:
        mask = _period_mask(ds, period)
        of_parents = _value(ds.sel(area=sorted(set(with_parent))), measure, mask, segment)
        parent_values[with_parent.index] = of_parents.to_pandas().reindex(with_parent).to_numpy()
    return pd.DataFrame(
        {
            "value": value,
            "share_of_parent": safe_ratio(value, parent_values),
            "share_of_region": safe_ratio(value, pd.Series(region, index=value.index)),
        }
    )


def pivot(
    ds: xr.Dataset,
    measure: str,
    rows: str,
    columns: str,
    *,
    level: str | None = None,
    period: str | None = None,
    segment: str | None = None,
    parent: str | None = None,
    channel: str | None = None,
    branch: str | None = None,
) -> pd.DataFrame:
    """Two of the cube's dimensions as a table: area x segment, area x month, segment x
    channel, area x branch, month x channel ... (either way round).

    Each cell is the measure over the other dimensions' selection: the period (flows summed,
    stocks at its end), the segment (``None``/``"all"``: every segment), the channel or
    branch (order measures; None: every one), or the areas of ``level`` under ``parent``
    together (sums; derived measures recomputed from the sums; ratios weighted by area).

    Parameters
    ----------
    measure
        A key of :data:`gcrm.cube.MEASURES`; an order measure (revenue, orders) to pivot
        channels or branches.
    rows, columns
        Two different names of :data:`PIVOT_DIMENSIONS`, not channel and branch together.
    level
        The areas (rows or columns ``"area"``, or the areas summed) [default: the top level].
    period
        The months (one column each with ``"month"``) [default: the cube's range].
    segment, channel, branch
        The segment, channel or branch when that dimension is not pivoted [default: every
        one]; channel or branch as :func:`gcrm.cube.filter_orders` takes them.
    parent
        Only the children of this area id.

    Returns
    -------
    pandas.DataFrame
        Index named ``rows``, columns named ``columns``: area ids, segment names, months as
        ``"2025-03"``, channels or branch codes.

    Raises
    ------
    ValidationError
        When ``rows`` or ``columns`` is not a dimension of the cube or both are the same, a
        dimension pivoted is also given as a filter, channels or branches are pivoted for a
        measure that is not an order measure, or with the other one (or each other).
    """
    _check_measure(measure)
    for argument, dim in (("rows", rows), ("columns", columns)):
        if dim not in PIVOT_DIMENSIONS:
            msg = (
                f"{argument}={dim!r} is not a dimension of the cube; use two of "
                f"{list(PIVOT_DIMENSIONS)}"
            )
            raise ValidationError(msg)
    if rows == columns:
        msg = (
            f"rows and columns are both {rows!r}; pivot two different dimensions of "
            f"{list(PIVOT_DIMENSIONS)}"
        )
        raise ValidationError(msg)
    dims = (rows, columns)
    filters = {"segment": segment, "channel": channel, "branch": branch}
    for dim, value in filters.items():
        if dim in dims and not is_all(value):
            msg = f"{dim}={value!r} with {dim}s pivoted; drop {dim} (each is a row or column)"
            raise ValidationError(msg)
    views = _order_views(ds, measure, dims, channel=channel, branch=branch)
    area_index = _areas_of(ds, level=level or top_level(ds), parent=parent)
    segments = [str(s) for s in ds["segment"].values] if "segment" in dims else [segment]
    months = month_masks(ds, period) if "month" in dims else [("", _period_mask(ds, period))]
    cells = []
    # Loops over channels or branches, segments and months (a few, dozens): each cell reuses
    # the slice logic.
    for member, view in views:
        sub = view.isel(area=area_index)
        for seg in segments:
            for month, mask in months:
                if "area" in dims:
                    values = _value(sub, measure, mask, seg).to_numpy()
                    areas = sub["area"].to_numpy()
                else:
                    values = np.array([_region_value(sub, measure, mask, seg)])
                    areas = np.array([""], dtype=object)
                cells.append(
                    pd.DataFrame(
                        {"area": areas, "segment": seg, "month": month, "v": values}
                    ).assign(channel=member, branch=member)
                )
    table = pd.concat(cells, ignore_index=True).pivot(index=rows, columns=columns, values="v")
    order = {
        "area": list(ds["area"].values[area_index]),
        "segment": segments,
        "month": [m for m, _ in months],
        "channel": [m for m, _ in views],
        "branch": [m for m, _ in views],
    }
    table = table.reindex(index=order[rows], columns=order[columns])
    table.index.name, table.columns.name = rows, columns
    table.attrs.update(measure=measure)
    return table


def _order_views(
    ds: xr.Dataset,
    measure: str,
    dims: tuple[str, str],
    *,
    channel: str | None,
    branch: str | None,
) -> list[tuple[str, xr.Dataset]]:
    """``(member, cube)`` per channel or branch when one is pivoted (the cube's revenue and
    orders those of the member), else ``[("", the cube filtered as asked)]``."""
    pivoted = [d for d in dims if d in ORDER_DIMENSIONS]
    if not pivoted:
        return [("", filter_orders(ds, measure, channel=channel, branch=branch))]
    if len(pivoted) == 2:
        msg = (
            "rows and columns are channel and branch: the cube stores revenue and orders by "
            "channel and by branch separately; pivot one of them with area, segment or month"
        )
        raise ValidationError(msg)
    (dim,) = pivoted
    if measure not in ORDER_MEASURES:
        msg = (
            f"measure {measure!r} by {dim}: channel and branch split order measures "
            f"({', '.join(ORDER_MEASURES)}) only; pick one of {list(ORDER_MEASURES)} or "
            f"pivot {[d for d in PIVOT_DIMENSIONS if d not in ORDER_DIMENSIONS]}"
        )
        raise ValidationError(msg)
    members = order_members(ds, dim)
    if not members:
        msg = f"{dim}s pivoted: this cube was built before orders were split by {dim}; run `gcrm cube build`"
        raise ValidationError(msg)
    given = {"channel": channel, "branch": branch}
    return [(member, filter_orders(ds, measure, **{**given, dim: member})) for member in members]
