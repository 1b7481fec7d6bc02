"""Refreshing a built cube after an import: only the cells whose data changed.

A full build reads every order (at 15 million orders the orders alone take most of half a
minute). After an import of orders or customers, or an enrichment, most cells are as they
were: the cube remembers what its cells were made of (``attrs["fingerprints"]``, written by
:func:`~gcrm.cube.build_region_cube`: per month of orders, and for the customers, where the
customers with orders are, and the leads, a number that changes when anything it covers
changes), and :func:`refresh_region_cube` recomputes

- revenue and orders (and their splits by channel and by branch) of the months whose
  orders changed (all months when any customer
  changed: one with orders may now be in another area or segment, and telling which would
  cost a pass over the orders joined to the customers, most of a full build);
- customers, active, new, churned and the geocoding precision counts when any customer
  changed (one pass over the customers, not the orders);
- leads when any lead changed;
- the score measures (expected churn, revenue at risk, value at stake) when any stored score
  or any customer changed;

and rebuilds the whole cube when what it is indexed by changed: the areas, the segments, the
branches, a channel the cube has not seen, the months the data spans (a month beyond the
cube's last), or when the cube has no fingerprints or no split by channel and branch (built
before they existed). Area statistics and profiles are not refreshed: an import of
areas or area statistics needs ``gcrm cube build``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import xarray as xr
from sqlalchemy import Connection

from gcrm.areas import read_region
from gcrm.cube.build import (
    BY_VARIABLES,
    LATEST,
    build_region_cube,
    cube_grid,
    customer_measures,
    leads_measure,
    order_measures,
    precision_measure,
    read_branches,
    read_fingerprints,
    read_orders,
    score_measures,
)

__all__ = ["RefreshReport", "refresh_region_cube"]


@dataclass(frozen=True)
class RefreshReport:
    """What a refresh recomputed."""

    full: bool
    reason: str
    months: tuple[str, ...] = ()
    customers: bool = False
    leads: bool = False
    seconds: float = 0.0
    scores: bool = False

    @property
    def changed(self) -> bool:
        """Whether the refresh recomputed anything (else the cube is as it was)."""
        return self.full or bool(self.months) or self.customers or self.leads or self.scores

    def summary(self) -> str:
        """One line for the command line."""
        if self.full:
            return f"cube rebuilt ({self.reason}) in {self.seconds:.1f} s"
        parts = []
        if self.months:
            shown = ", ".join(self.months[:6]) + (" ..." if len(self.months) > 6 else "")
            parts.append(f"orders of {len(self.months)} month(s) ({shown})")
        if self.customers:
            parts.append("customer counts")
        if self.leads:
            parts.append("leads")
        if self.scores:
            parts.append("scores")
        done = ", ".join(parts) if parts else "nothing had changed"
        return f"cube refreshed: {done} in {self.seconds:.1f} s"


def refresh_region_cube(conn: Connection, ds: xr.Dataset) -> tuple[xr.Dataset, RefreshReport]:
    """``ds`` brought up to date with the database, recomputing only what changed.

    Returns the refreshed cube (a new Dataset; ``ds`` is left as it was) and what was done.
    """
    start = time.perf_counter()
    reason = _needs_full_build(conn, ds)
    if reason:
        fresh = build_region_cube(conn, vintage=_vintage(ds))
        return fresh, RefreshReport(True, reason, seconds=time.perf_counter() - start)
    old = json.loads(ds.attrs["fingerprints"])
    now = read_fingerprints(conn)
    out = ds.copy(deep=True)
    area_index = pd.Index(ds["area"].values)
    grid = {
        "areas": area_index,
        "months": pd.DatetimeIndex(ds["month"].values),
        "segments": pd.Index(ds["segment"].values),
    }
    labels = [m.strftime("%Y-%m") for m in grid["months"]]
    orders_now: dict[str, str] = now["orders"]  # type: ignore[assignment]
    customers = now["customers"] != old["customers"]
    # A changed customer may be one with orders, now in another area or segment.
    changed = (
        labels if customers else [m for m in labels if orders_now.get(m) != old["orders"].get(m)]
    )
    if changed:
        firsts = [date.fromisoformat(f"{m}-01") for m in changed]
        rows, _prints = read_orders(conn, firsts)
        channels = pd.Index(ds["channel"].values)
        new = sorted(set(rows.loc[rows["by"] == "channel", "member"]) - set(channels))
        if new:
            fresh = build_region_cube(conn, vintage=_vintage(ds))
            reason = f"orders have a channel the cube has not seen: {', '.join(map(str, new))}"
            return fresh, RefreshReport(True, reason, seconds=time.perf_counter() - start)
        members = {"channel": channels, "branch": pd.Index(ds["branch"].values)}
        cells = order_measures(rows, **grid, members=members)
        idx = np.array([labels.index(m) for m in changed])
        for name, (_dims, values) in cells.items():
            out[name][:, idx] = values[:, idx]
    if customers:
        for name, (_dims, values) in customer_measures(conn, **grid).items():
            out[name][:] = values
        out["customers_by_precision"][:] = precision_measure(conn, area_index)[1]
    leads = now["leads"] != old["leads"]
    if leads:
        out["leads"][:] = leads_measure(conn, area_index)[1]
    scores = customers or now.get("scores") != old.get("scores")
    if scores:
        for name, (dims, values) in score_measures(
            conn, areas=area_index, segments=grid["segments"]
        ).items():
            out[name] = (dims, values)
    # A branch renamed keeps its code (a new or removed code rebuilds the cube).
    out = out.assign_coords(branch_name=("branch", read_branches(conn)["name"].to_numpy(object)))
    region = read_region(conn)
    out.attrs.update(
        fingerprints=json.dumps(now),
        refreshed_at=pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
        region_name=region.name,
        currency=region.currency or "",
    )
    report = RefreshReport(
        False,
        "",
        months=tuple(changed),
        customers=customers,
        leads=leads,
        seconds=time.perf_counter() - start,
        scores=scores,
    )
    return out, report


def _vintage(ds: xr.Dataset) -> str | None:
    vintage = ds.attrs.get("statistics_vintage")
    return None if vintage in (None, "", LATEST) else str(vintage)


def _needs_full_build(conn: Connection, ds: xr.Dataset) -> str:
    """Why ``ds`` cannot be refreshed cell by cell ("" when it can)."""
    if "fingerprints" not in ds.attrs:
        return "the cube was built before incremental refreshes"
    if any(v not in ds for by in BY_VARIABLES.values() for v in by.values()):
        return "the cube was built before revenue and orders by channel and branch"
    if ds.attrs.get("month_range") != "data":
        return "the cube was built for a given month range"
    areas, months, segments = cube_grid(conn)
    if list(areas["id"]) != [str(a) for a in ds["area"].values]:
        return "the areas changed"
    if list(segments) != [str(s) for s in ds["segment"].values]:
        return "the segments changed"
    if list(read_branches(conn)["code"]) != [str(b) for b in ds["branch"].values]:
        return "the branches changed"
    if not months.equals(pd.DatetimeIndex(ds["month"].values)):
        return f"the data now spans {months[0]:%Y-%m} to {months[-1]:%Y-%m}"
    return ""
