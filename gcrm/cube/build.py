"""Building the region cube from PostGIS: area x month x segment, every level at once; the
order measures also per channel and per branch."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import xarray as xr
from sqlalchemy import Connection, text

from gcrm.areas import (
    PROFILE_MEASURES,
    ProfileFigures,
    check_vintage,
    profile_figures,
    read_area_stats,
    read_region,
)
from gcrm.core import PRECISIONS, NotFoundError, area_ids
from gcrm.store import load_queries

__all__ = [
    "BY_VARIABLES",
    "FLOW_MEASURES",
    "NO_BRANCH",
    "NO_CHANNEL",
    "ORDER_DIMENSIONS",
    "ORDER_MEASURES",
    "PROFILE_MEASURES",
    "SCORE_MEASURES",
    "SOURCE_VARIABLES",
    "STATIC_MEASURES",
    "STOCK_MEASURES",
    "build_region_cube",
    "score_measures",
]

FLOW_MEASURES = ("new", "churned", "revenue", "orders")
#: The measures of orders: the only ones with a channel and a branch.
ORDER_MEASURES = ("revenue", "orders")
#: The order dimensions, each stored on its own beside (area, month, segment): revenue and
#: orders per channel and per branch, never per channel and branch together (channels x
#: branches times the cube would not scale with many branches).
ORDER_DIMENSIONS = ("channel", "branch")
#: ``{measure: {dimension: variable}}``: ``revenue_by_channel`` on (area, month, segment,
#: channel) and so on; over its dimension each sums to the measure.
BY_VARIABLES = {m: {d: f"{m}_by_{d}" for d in ORDER_DIMENSIONS} for m in ORDER_MEASURES}
#: Where orders without a channel, or without a branch, are counted.
NO_CHANNEL = "unknown"
NO_BRANCH = "none"
STOCK_MEASURES = ("customers", "active")
STATIC_MEASURES = ("leads", "population", "households")
#: The customers' scores summed per area and segment (``gcrm customers churn-risk`` and
#: ``value``): "as of" the latest scoring, not by month. NaN everywhere until a kind of score
#: was computed; 0 in an area without scored customers.
SCORE_MEASURES = ("expected_churn", "revenue_at_risk", "value_at_stake")
ATTRIBUTION = "© OpenStreetMap contributors, ODbL (demo region); gcrm estimates where labelled"
#: Where each statistic of each area comes from: string variables on (area, statistic).
SOURCE_VARIABLES = ("statistic_source", "statistic_vintage", "statistic_method")
#: The vintage the cube's statistics were read at when none was asked for.
LATEST = "latest"


_SQL = load_queries(__package__, "cube.sql")


def _frame(conn: Connection, name: str, **params: object) -> pd.DataFrame:
    result = conn.execute(text(_SQL[name]), params)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _month_range(conn: Connection, start: date | None, end: date | None) -> pd.DatetimeIndex:
    first, last = conn.execute(text(_SQL["order_range"])).one()
    if first is None:
        first, last = conn.execute(text(_SQL["customer_range"])).one()
    if first is None:
        msg = "the database has no customers and no orders; run `gcrm import customers FILE` first"
        raise NotFoundError(msg)
    start = start or first
    end = end or last
    return pd.date_range(
        pd.Timestamp(start).to_period("M").to_timestamp(), pd.Timestamp(end), freq="MS"
    )


def _area_index(conn: Connection) -> pd.DataFrame:
    areas = _frame(conn, "areas")
    if areas.empty:
        msg = "the database has no areas; run `gcrm import areas FILE --levels LEVELS.csv` first"
        raise NotFoundError(msg)
    areas["id"] = area_ids(areas["level"], areas["code"])
    has_parent = areas["parent_level"].notna() & areas["parent_code"].notna()
    areas["parent"] = np.where(
        has_parent, area_ids(areas["parent_level"].fillna(""), areas["parent_code"].fillna("")), ""
    )
    return areas


def _to_grid(
    frame: pd.DataFrame,
    value: str,
    *,
    areas: pd.Index,
    months: pd.DatetimeIndex,
    segments: pd.Index,
    extra: tuple[str, pd.Index] | None = None,
) -> np.ndarray:
    """Dense (area, month, segment) array from long rows, or (area, month, segment, extra)
    with ``extra`` = (column, its labels); missing cells are 0."""
    shape = (len(areas), len(months), len(segments), *(() if extra is None else (len(extra[1]),)))
    out = np.zeros(shape, dtype=float)
    if frame.empty:
        return out
    ids = area_ids(frame["level"], frame["code"])
    index = [
        areas.get_indexer(ids),
        months.get_indexer(pd.to_datetime(frame["month"])),
        segments.get_indexer(frame["segment"]),
    ]
    if extra is not None:
        index.append(extra[1].get_indexer(frame[extra[0]]))
    ok = np.logical_and.reduce([i >= 0 for i in index])
    np.add.at(out, tuple(i[ok] for i in index), frame[value].to_numpy(float)[ok])
    return out


def _monthly_counts_to_stock(
    frame: pd.DataFrame, *, areas: pd.Index, months: pd.DatetimeIndex, segments: pd.Index
) -> tuple[np.ndarray, np.ndarray]:
    """Per-month counts inside the range, and the stock carried in from before it."""
    in_range = _to_grid(frame, "n", areas=areas, months=months, segments=segments)
    before = np.zeros((len(areas), len(segments)))
    if not frame.empty:
        early = frame[pd.to_datetime(frame["month"]) < months[0]]
        if not early.empty:
            a = areas.get_indexer(area_ids(early["level"], early["code"]))
            s = segments.get_indexer(early["segment"])
            ok = (a >= 0) & (s >= 0)
            np.add.at(before, (a[ok], s[ok]), early["n"].to_numpy(float)[ok])
    return in_range, before


def build_region_cube(
    conn: Connection,
    *,
    start: date | None = None,
    end: date | None = None,
    vintage: str | None = None,
) -> xr.Dataset:
    """Build the area x month x segment cube from the database.

    Every level of the area hierarchy is in the one ``area`` dimension (ids
    ``"<level>:<code>"``), with ``level``, ``code``, ``name`` and ``parent`` coordinates.
    Customers must have been enriched (``gcrm enrich``) so that they carry area codes.

    Parameters
    ----------
    start, end
        The month range; default: the range of the orders (or of the customers if there are
        no orders).
    vintage
        The vintage of the area statistics (population, households, dwellings, ...); None:
        the latest of each figure. Recorded in ``attrs["statistics_vintage"]``; where each
        figure comes from is in ``statistic_source`` / ``_vintage`` / ``_method``.

    Raises
    ------
    NotFoundError
        When the database has no areas, no customers and no orders, or ``vintage`` is the
        vintage of no figure.
    """
    check_vintage(conn, vintage)
    region = read_region(conn)
    areas = _area_index(conn)
    area_index = pd.Index(areas["id"])
    months = _month_range(conn, start, end)
    segments = pd.Index([r[0] for r in conn.execute(text(_SQL["segments"]))])
    grid = {"areas": area_index, "months": months, "segments": segments}

    orders, order_prints = read_orders(conn, None)
    branches = read_branches(conn)
    members = {"channel": order_channels(orders), "branch": pd.Index(branches["code"])}
    data = {
        **customer_measures(conn, **grid),
        **order_measures(orders, **grid, members=members),
        "leads": leads_measure(conn, area_index),
    }
    data.update(_static_measures(conn, area_index, vintage=vintage))
    profile = profile_figures(conn, vintage=vintage)
    data.update(_profile_measures(profile, area_index))
    sources, statistics = _sources(profile, area_index)
    data.update(sources)
    data["customers_by_precision"] = precision_measure(conn, area_index)
    data.update(score_measures(conn, areas=area_index, segments=segments))
    ds = xr.Dataset(
        data,
        coords={
            "area": np.asarray(area_index, dtype=object),
            "month": months.values,
            "segment": np.asarray(segments, dtype=object),
            "precision": np.asarray(PRECISIONS, dtype=object),
            "statistic": np.asarray(statistics, dtype=object),
            "channel": np.asarray(members["channel"], dtype=object),
            "branch": np.asarray(members["branch"], dtype=object),
            "branch_name": ("branch", branches["name"].to_numpy(object)),
            "level": ("area", areas["level"].to_numpy(object)),
            "code": ("area", areas["code"].to_numpy(object)),
            "name": ("area", areas["name"].to_numpy(object)),
            "parent": ("area", areas["parent"].to_numpy(object)),
        },
    )
    # Every level of the region: a user whose scope holds no area of a level gets empty
    # slices of it, not an unknown level.
    levels = (
        _frame(conn, "levels").astype(object).where(lambda d: d.notna(), None).to_dict("records")
    )
    ds.attrs.update(
        title="gcrm region cube",
        levels=json.dumps(levels),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        attribution=ATTRIBUTION,
        statistics_vintage=vintage or LATEST,
        # The region's own name and currency (gcrm region set); "" for no currency.
        region_name=region.name,
        currency=region.currency or "",
        # What the cells were made of (gcrm.cube.refresh): the next refresh recomputes only
        # what changed since.
        fingerprints=json.dumps(
            {"orders": order_prints, **_customer_fingerprints(conn), "scores": _scores_print(conn)}
        ),
        # A range given by the caller stays; one taken from the data follows it.
        month_range="given" if start or end else "data",
    )
    return ds


#: A cube variable as xarray.Dataset takes it: dimensions and values.
Variable = tuple[tuple[str, ...], np.ndarray]
_DIMS3: tuple[str, ...] = ("area", "month", "segment")


def customer_measures(
    conn: Connection, *, areas: pd.Index, months: pd.DatetimeIndex, segments: pd.Index
) -> dict[str, Variable]:
    """customers, active, new and churned per area, month and segment."""
    grid = {"areas": areas, "months": months, "segments": segments}
    new, new_before = _monthly_counts_to_stock(_frame(conn, "signups"), **grid)
    churned, churned_before = _monthly_counts_to_stock(_frame(conn, "churns"), **grid)
    customers = new_before[:, None, :] + np.cumsum(new, axis=1)
    active = customers - (churned_before[:, None, :] + np.cumsum(churned, axis=1))
    return {
        "customers": (_DIMS3, customers.astype(np.int64)),
        "active": (_DIMS3, active.astype(np.int64)),
        "new": (_DIMS3, new.astype(np.int64)),
        "churned": (_DIMS3, churned.astype(np.int64)),
    }


def order_measures(
    orders: pd.DataFrame,
    *,
    areas: pd.Index,
    months: pd.DatetimeIndex,
    segments: pd.Index,
    members: dict[str, pd.Index] | None = None,
) -> dict[str, Variable]:
    """revenue and orders per area, month and segment, and per channel and per branch
    (:data:`BY_VARIABLES`; ``members``: the labels of each order dimension, by default
    those the rows name), from rows of :func:`read_orders`."""
    grid = {"areas": areas, "months": months, "segments": segments}
    if members is None:
        named = sorted(set(orders.loc[orders["by"] == "branch", "member"]) - {NO_BRANCH})
        members = {"channel": order_channels(orders), "branch": pd.Index([*named, NO_BRANCH])}
    out: dict[str, Variable] = {}
    for dim in ("", *ORDER_DIMENSIONS):
        rows = orders[orders["by"] == dim]
        extra = ("member", members[dim]) if dim else None
        dims = (*_DIMS3, dim) if dim else _DIMS3
        revenue = _to_grid(rows, "revenue", **grid, extra=extra).round(2)
        counts = _to_grid(rows, "orders", **grid, extra=extra).astype(np.int64)
        out[BY_VARIABLES["revenue"][dim] if dim else "revenue"] = (dims, revenue)
        out[BY_VARIABLES["orders"][dim] if dim else "orders"] = (dims, counts)
    return out


def order_channels(orders: pd.DataFrame) -> pd.Index:
    """The channels of rows of :func:`read_orders`, in order, then :data:`NO_CHANNEL`
    always (as branches end with :data:`NO_BRANCH`): orders imported without a channel
    later are refreshed into the cube, not a reason to rebuild it."""
    found = set(orders.loc[orders["by"] == "channel", "member"])
    return pd.Index([*sorted(found - {NO_CHANNEL}), NO_CHANNEL])


def read_branches(conn: Connection) -> pd.DataFrame:
    """``code`` and ``name`` of every branch, in code order, then :data:`NO_BRANCH` (orders
    without a branch): the cube's branch dimension."""
    branches = _frame(conn, "branches")
    none = pd.DataFrame({"code": [NO_BRANCH], "name": ["No branch"]})
    return pd.concat([branches[["code", "name"]], none], ignore_index=True)


def read_orders(conn: Connection, months: list[date] | None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Revenue and orders per area, month and segment (``by`` ``""``), per channel and per
    branch (``by`` ``"channel"`` / ``"branch"``, the label in ``member``), of every month or
    only of ``months`` (their first days); and the fingerprint of each month read
    (``YYYY-MM``)."""
    sort = conn.execute(text(_SQL["sort_setting"])).scalar_one()
    # Local to the transaction (a failure rolls it back with the rest); why: cube.sql.
    conn.execute(text(_SQL["set_sort"]), {"value": "off"})
    frame = _frame(conn, "orders", months=months)
    conn.execute(text(_SQL["set_sort"]), {"value": sort})
    cells, prints = _cells_and_prints(frame)
    return cells, {
        pd.Timestamp(m).strftime("%Y-%m"): str(f)
        for m, f in zip(prints["month"], prints["fingerprint"], strict=True)
    }


def read_fingerprints(conn: Connection) -> dict[str, object]:
    """What the cube's cells are made of now, from the tables alone: per month of orders
    (the numbers the build's orders query returns with its cells), for all customers and for
    all leads (sums over the rows; any added, removed or changed row changes them)."""
    orders: dict[object, object] = dict(conn.execute(text(_SQL["order_fingerprints"])).all())
    return {
        "orders": {str(k): str(v) for k, v in orders.items()},
        **_customer_fingerprints(conn),
        "scores": _scores_print(conn),
    }


def _scores_print(conn: Connection) -> str:
    return str(conn.execute(text(_SQL["score_fingerprint"])).scalar_one())


def _customer_fingerprints(conn: Connection) -> dict[str, str]:
    row = conn.execute(text(_SQL["customer_fingerprints"])).one()
    return {"customers": str(row.customers), "leads": str(row.leads)}


def cube_grid(conn: Connection) -> tuple[pd.DataFrame, pd.DatetimeIndex, pd.Index]:
    """The areas (with ids and parents), the months of the data and the segments a cube of
    the database has now."""
    months = _month_range(conn, None, None)
    segments = pd.Index([r[0] for r in conn.execute(text(_SQL["segments"]))])
    return _area_index(conn), months, segments


def leads_measure(conn: Connection, area_index: pd.Index) -> Variable:
    """Leads per area."""
    leads = _frame(conn, "leads")
    values = np.zeros(len(area_index))
    if not leads.empty:
        idx = area_index.get_indexer(area_ids(leads["level"], leads["code"]))
        np.add.at(values, idx[idx >= 0], leads["n"].to_numpy(float)[idx >= 0])
    return (("area",), values.astype(np.int64))


def _cells_and_prints(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of a cube query with a level (cells) and those without (fingerprints)."""
    prints = frame["level"].isna().to_numpy()
    return frame[~prints].drop(columns="fingerprint"), frame[prints]


def _static_measures(
    conn: Connection, area_index: pd.Index, *, vintage: str | None
) -> dict[str, Variable]:
    out: dict[str, Variable] = {}
    stats = read_area_stats(conn, measures=["population", "households"], vintage=vintage)
    for measure in ("population", "households"):
        values = np.full(len(area_index), np.nan)
        rows = stats[stats["measure"] == measure]
        idx = area_index.get_indexer(area_ids(rows["level"], rows["code"]))
        values[idx[idx >= 0]] = rows["value"].to_numpy(float)[idx >= 0]
        out[measure] = (("area",), values)
    return out


def _profile_measures(
    profile: ProfileFigures, area_index: pd.Index
) -> dict[str, tuple[tuple[str], np.ndarray]]:
    long = profile.values[profile.values["measure"].isin(PROFILE_MEASURES)]
    wide = long.assign(area=area_ids(long["level"], long["code"])).pivot_table(
        index="area", columns="measure", values="value", aggfunc="first", dropna=False
    )
    wide = wide.reindex(index=area_index, columns=list(PROFILE_MEASURES))
    return {m: (("area",), wide[m].to_numpy(float)) for m in PROFILE_MEASURES}


def _sources(
    profile: ProfileFigures, area_index: pd.Index
) -> tuple[dict[str, tuple[tuple[str, str], np.ndarray]], list[str]]:
    """Source, vintage and method of each statistic of each area ("" where it has none),
    as string arrays on (area, statistic); and the statistics, in order."""
    rows = profile.provenance
    statistics = sorted(set(rows["measure"]))
    out = {}
    a = area_index.get_indexer(area_ids(rows["level"], rows["code"]))
    s = pd.Index(statistics).get_indexer(rows["measure"])
    ok = (a >= 0) & (s >= 0)
    for name, column in zip(SOURCE_VARIABLES, ("source", "vintage", "method"), strict=True):
        grid = np.full((len(area_index), len(statistics)), "", dtype=object)
        grid[a[ok], s[ok]] = rows[column].fillna("").to_numpy(object)[ok]
        out[name] = (("area", "statistic"), grid)
    return out, statistics


def score_measures(conn: Connection, *, areas: pd.Index, segments: pd.Index) -> dict[str, Variable]:
    """:data:`SCORE_MEASURES` on (area, segment), from the stored scores the reader may see:
    NaN everywhere for a kind of score never computed (no figure is not zero)."""
    frame = _frame(conn, "scores")
    out: dict[str, Variable] = {}
    scored = {"expected_churn": "churn_scored", "revenue_at_risk": "churn_scored"}
    for name in SCORE_MEASURES:
        values = np.zeros((len(areas), len(segments)))
        count = scored.get(name, "value_scored")
        if frame.empty or not frame[count].sum():
            values[:] = np.nan
        else:
            a = areas.get_indexer(area_ids(frame["level"], frame["code"]))
            s = segments.get_indexer(frame["segment"])
            ok = (a >= 0) & (s >= 0)
            np.add.at(values, (a[ok], s[ok]), frame[name].fillna(0.0).to_numpy(float)[ok])
        out[name] = (("area", "segment"), values)
    return out


def precision_measure(conn: Connection, area_index: pd.Index) -> Variable:
    """Customers per area and geocoding precision."""
    return (("area", "precision"), _precision_counts(conn, area_index))


def _precision_counts(conn: Connection, area_index: pd.Index) -> np.ndarray:
    frame = _frame(conn, "precision")
    out = np.zeros((len(area_index), len(PRECISIONS)), dtype=np.int64)
    if frame.empty:
        return out
    a = area_index.get_indexer(area_ids(frame["level"], frame["code"]))
    p = pd.Index(PRECISIONS).get_indexer(frame["precision"])
    ok = (a >= 0) & (p >= 0)
    np.add.at(out, (a[ok], p[ok]), frame["n"].to_numpy(np.int64)[ok])
    return out
