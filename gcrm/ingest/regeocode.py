"""Geocoding the customers already stored again, after a better reference was imported.

``gcrm geocode --customers [--where precision=street,postcode]``: the customers (all, or
those placed at the given precisions) are read in batches by id, geocoded with the same
ladder as on import (:func:`gcrm.geocode.geocode_frame`) and written back where anything
changed. **One transaction per batch**: a batch lands whole or not at all and holds its
customers' rows only while it runs (an import of the same customers waits for it); a run that
stops half-way leaves the batches done so far, each consistent, and running the command
again finishes the rest (a customer geocoded twice gets the same answer). The report says
how many customers moved from which precision to which.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

from gcrm.core import PRECISIONS, ValidationError, check_precisions
from gcrm.geocode import geocode_frame
from gcrm.ingest.crm import customer_locations
from gcrm.ingest.runs import log_import_run
from gcrm.ingest.validate import ImportReport
from gcrm.store import load_queries, stage_frame

__all__ = ["DEFAULT_BATCH_SIZE", "RegeocodeReport", "parse_where", "regeocode_customers"]

_SQL = load_queries(__package__, "regeocode.sql")
#: Customers per batch (and per transaction): a few seconds of the ladder each.
DEFAULT_BATCH_SIZE = 10_000
#: Closer than this (degrees, about 1 mm) is the same place.
_SAME_PLACE_DEG = 1e-8


@dataclass
class RegeocodeReport:
    """What a run did: customers considered, changed, moved, and by precision."""

    considered: int = 0
    changed: int = 0
    moved: int = 0
    batches: int = 0
    #: (precision before, precision after) -> customers.
    transitions: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, before: pd.Series, after: pd.Series) -> None:
        """Count the precisions of one batch, before and after."""
        for (old, new), n in pd.crosstab(before, after).stack().items():
            if n:
                self.transitions[(old, new)] = self.transitions.get((old, new), 0) + int(n)

    def summary(self) -> str:
        """Lines for the terminal: totals, then one line per precision before -> after."""
        order = {p: i for i, p in enumerate(PRECISIONS)}
        lines = [
            f"customers geocoded again: {self.considered} in {self.batches} batches; "
            f"{self.changed} changed, {self.moved} moved"
        ]
        for (old, new), n in sorted(
            self.transitions.items(),
            key=lambda kv: (order.get(kv[0][0], 99), order.get(kv[0][1], 99)),
        ):
            change = (
                "unchanged"
                if old == new
                else ("better" if order.get(new, 99) < order.get(old, 99) else "worse")
            )
            lines.append(f"  {old:>12} -> {new:<12} {n:>9}  ({change})")
        return "\n".join(lines)


def parse_where(options: Sequence[str]) -> tuple[str, ...] | None:
    """``("precision=street,postcode",)`` (``--where``) -> the precisions; None for all.

    Raises
    ------
    ValidationError
        When an option is not ``precision=P[,P...]`` with known precisions.
    """
    precisions: list[str] = []
    for option in options:
        key, sep, values = option.partition("=")
        if not sep or key.strip().lower() != "precision":
            msg = (
                f"--where {option!r}: customers are chosen by precision only; write e.g. "
                "--where precision=street,postcode"
            )
            raise ValidationError(msg)
        precisions.extend(values.split(","))
    return check_precisions(precisions, argument="--where precision") if options else None


def _run_batch(
    conn: Connection,
    *,
    after: str,
    size: int,
    precisions: list[str] | None,
    use_cache: bool,
    report: RegeocodeReport,
) -> tuple[int, str]:
    """Geocode and write one batch on ``conn``; return its size and its last id."""
    rows = conn.execute(
        text(_SQL["batch"]), {"after": after, "size": size, "precisions": precisions}
    )
    batch = pd.DataFrame(rows.fetchall(), columns=list(rows.keys()))
    if batch.empty:
        return 0, after
    parts = batch[["street", "housenumber", "postcode", "city"]].astype("string").fillna("")
    geo = geocode_frame(conn, parts, use_cache=use_cache)
    located = customer_locations(geo).replace({"": None})
    located.insert(0, "external_id", batch["external_id"])
    stage = stage_frame(conn, located, like="gcrm.customer_records", name="_stage_regeocode")
    changed = conn.execute(text(_SQL["update"].format(stage=stage))).rowcount
    old_xy = batch[["lon", "lat"]].to_numpy(float)
    new_xy = geo[["lon", "lat"]].to_numpy(float)
    same = (np.isnan(old_xy).all(axis=1) & np.isnan(new_xy).all(axis=1)) | (
        np.abs(old_xy - new_xy) < _SAME_PLACE_DEG
    ).all(axis=1)
    report.considered += len(batch)
    report.changed += int(changed)
    report.moved += int((~same).sum())
    report.batches += 1
    report.add(batch["geocode_precision"], geo["precision"])
    return len(batch), str(batch["external_id"].iloc[-1])


def regeocode_customers(
    engine: Engine,
    *,
    precisions: Sequence[str] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    use_cache: bool = True,
    on_start: Callable[[int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> RegeocodeReport:
    """Geocode the stored customers again, in batches of one transaction each.

    Parameters
    ----------
    engine
        The owner's engine (customers of every scope).
    precisions
        Only customers placed at these precisions now (e.g. ``("street", "postcode")``);
        None: every customer.
    batch_size
        Customers per batch and transaction.
    use_cache
        Use and fill the geocode cache (emptied whenever the reference changes).
    on_start
        Called once with the number of customers the run will consider (a progress total).
    on_batch
        Called with the size of each batch once it is committed.

    Returns
    -------
    RegeocodeReport
        Customers considered, changed, moved, and how many went from which precision to
        which. The run is also recorded in ``gcrm.import_runs`` (kind ``customers-geocode``).

    Raises
    ------
    ValidationError
        When a precision is unknown or ``batch_size`` is not positive.
    """
    if batch_size < 1:
        msg = f"batch_size={batch_size!r} must be at least 1; e.g. --batch-size 10000"
        raise ValidationError(msg)
    wanted = list(check_precisions(precisions, argument="precision")) if precisions else None
    with engine.connect() as conn:
        total = int(conn.execute(text(_SQL["count"]), {"precisions": wanted}).scalar_one())
    if on_start is not None:
        on_start(total)
    report, after = RegeocodeReport(), ""
    while True:
        with engine.begin() as conn:
            size, after = _run_batch(
                conn,
                after=after,
                size=batch_size,
                precisions=wanted,
                use_cache=use_cache,
                report=report,
            )
        if size == 0:
            break
        if on_batch is not None:
            on_batch(size)
    with engine.begin() as conn:
        log_import_run(
            conn,
            ImportReport(
                kind="customers-geocode",
                source="gcrm geocode --customers"
                + (f" --where precision={','.join(wanted)}" if wanted else ""),
                rows_read=report.considered,
                updated=report.changed,
                unchanged=report.considered - report.changed,
            ),
        )
    return report
