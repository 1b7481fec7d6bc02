"""Drive time from every customer and lead to its nearest branch, stored with its enrichment.

The search is :func:`gcrm.routing.drive_times_to_branches` (one multi-source Dijkstra on the
road graph); this module reads the points, runs it and writes ``drive_time_s`` and
``branch_reached`` into each entity's enrichment table with COPY and one set-based upsert.
``gcrm enrich`` calls it for the points it enriches; ``gcrm drive-times`` for all of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from gcrm.core import POINT_ENTITIES, PointEntity, ValidationError
from gcrm.routing import RoadGraph, drive_times_to_branches, read_branch_points, read_road_graph
from gcrm.store import copy_frame, load_queries

__all__ = ["DRIVE_TIME_STAGES", "can_compute_drive_times", "compute_drive_times"]

#: Stage labels passed to ``on_stage``: one graph, then per entity: points, search, write.
DRIVE_TIME_STAGES = ("read road graph", "read points", "search", "write")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
_SQL = load_queries(__package__, "drive_times.sql")


def _read_points(
    conn: Connection, table: str, *, only_missing: bool, todo: str | None
) -> pd.DataFrame:
    where = "geom IS NOT NULL" + (" AND drive_time_s IS NULL" if only_missing else "")
    if todo is not None:
        where += f" AND external_id IN (SELECT external_id FROM {todo})"
    result = conn.execute(
        text(f"SELECT external_id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM {table} WHERE {where}")
    )
    return pd.DataFrame(result.fetchall(), columns=["external_id", "lon", "lat"])


def _clear_unlocated(conn: Connection, entity: PointEntity, *, todo: str | None) -> None:
    """A point that lost its location (geocoding failed after an edit) keeps no drive time."""
    only = f" AND r.external_id IN (SELECT external_id FROM {todo})" if todo is not None else ""
    conn.execute(text(entity.fill(_SQL["clear_unlocated"]) + only))


def _check_todo(todo: str | None) -> None:
    if todo is not None and not _IDENTIFIER.fullmatch(todo):
        msg = (
            f"todo={todo!r} is not a table name; pass the name of a (temp) table with an "
            "external_id column, e.g. '_todo'"
        )
        raise ValidationError(msg)


def can_compute_drive_times(conn: Connection) -> bool:
    """True when ``gcrm.roads`` and ``gcrm.branches`` both have rows."""
    return bool(
        conn.execute(
            text("SELECT EXISTS (SELECT FROM gcrm.roads) AND EXISTS (SELECT FROM gcrm.branches)")
        ).scalar_one()
    )


def _write(conn: Connection, entity: PointEntity, frame: pd.DataFrame) -> None:
    """COPY into a staging table, then one set-based upsert of the changed rows.

    A point with no enrichment row yet gets one holding only its drive time (``enriched_at``
    NULL, so ``gcrm enrich`` still computes the rest).
    """
    conn.execute(text("DROP TABLE IF EXISTS _drive_times"))
    conn.execute(text(_SQL["create_stage"]))
    copy_frame(conn, "_drive_times", frame)
    conn.execute(text(entity.fill(_SQL["upsert"])))
    conn.execute(text("DROP TABLE _drive_times"))


def compute_drive_times(
    conn: Connection,
    *,
    entities: Sequence[str] = ("customers", "leads"),
    only_missing: bool = False,
    todo: str | None = None,
    graph: RoadGraph | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write ``drive_time_s`` and ``branch_reached`` for every located customer and lead.

    Runs on ``conn``'s transaction; idempotent (rows whose values do not change are not
    touched). Unreachable points get NULL in both columns.

    Parameters
    ----------
    entities
        ``"customers"`` and/or ``"leads"``.
    only_missing
        Only points whose ``drive_time_s`` is NULL (new, or unreachable last time).
    todo
        Name of a table (e.g. a temp table) with an ``external_id`` column: only those
        points. Combines with ``only_missing``. ``gcrm enrich`` passes its ``_todo`` set.
    graph
        A graph already read; by default :func:`gcrm.routing.read_road_graph` (the stored
        graph, or built from ``gcrm.roads`` and stored).
    on_stage
        Called with a label before each stage (progress bars); see :data:`DRIVE_TIME_STAGES`.

    Returns
    -------
    dict
        Number of points computed per entity.

    Raises
    ------
    ValidationError
        When an entity is unknown, or ``todo`` is not a table name.
    NotFoundError
        When there are no roads or no branches.
    """
    unknown = [e for e in entities if e not in POINT_ENTITIES]
    if unknown:
        msg = f"entities {unknown!r} unknown; use any of {sorted(POINT_ENTITIES)}"
        raise ValidationError(msg)
    _check_todo(todo)
    step = on_stage or (lambda _label: None)
    step(DRIVE_TIME_STAGES[0])
    branches = read_branch_points(conn)
    graph = graph if graph is not None else read_road_graph(conn)
    codes = branches["code"].to_numpy(dtype=object)
    counts: dict[str, int] = {}
    for entity in entities:
        ent = POINT_ENTITIES[entity]
        step(f"{entity}: {DRIVE_TIME_STAGES[1]}")
        _clear_unlocated(conn, ent, todo=todo)
        points = _read_points(conn, ent.view, only_missing=only_missing, todo=todo)
        step(f"{entity}: {DRIVE_TIME_STAGES[2]}")
        seconds, branch = drive_times_to_branches(
            graph, points[["lon", "lat"]].to_numpy(dtype=float), branches[["lon", "lat"]].to_numpy()
        )
        step(f"{entity}: {DRIVE_TIME_STAGES[3]}")
        result = pd.DataFrame(
            {
                "external_id": points["external_id"],
                "drive_time_s": seconds,
                "branch_reached": np.where(branch >= 0, codes[np.maximum(branch, 0)], None),
            }
        )
        _write(conn, ent, result)
        counts[entity] = len(result)
    return counts
