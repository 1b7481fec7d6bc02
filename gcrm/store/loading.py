"""Loading tables in one transaction: stage and upsert, or write a whole table and swap it in."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from gcrm.core.crs import STORAGE_CRS, STORAGE_SRID
from gcrm.store.bulk_in import copy_frame, copy_frame_timed
from gcrm.store.wire import quote_ident

__all__ = [
    "raised_setting",
    "stage_frame",
    "upsert_from_stage",
    "upsert_outcomes",
    "write_geodataframe",
]

_log = logging.getLogger(__name__)


def stage_frame(conn: Connection, frame: pd.DataFrame, *, like: str, name: str) -> str:
    """COPY ``frame`` into a temporary table shaped like table ``like``; return its name.

    The staging table drops at commit. Its ``geom`` column, if any, is untyped ``geometry``
    so that a set-based statement can repair or convert geometry before the real insert.
    """
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
    conn.execute(
        text(f"CREATE TEMP TABLE {name} ON COMMIT DROP AS SELECT {cols} FROM {like} WITH NO DATA")
    )
    if "geom" in frame.columns:
        conn.execute(text(f"ALTER TABLE {name} ALTER COLUMN geom TYPE geometry"))
    copy_frame(conn, name, frame)
    return name


def _upsert_sql(
    *,
    stage: str,
    table: str,
    key: Sequence[str],
    columns: Sequence[str],
    expressions: dict[str, str] | None,
    where: str | None,
    on_update: str | None,
    returning: str,
) -> str:
    expressions = expressions or {}
    select = ", ".join(expressions.get(c, f's."{c}"') for c in columns)
    target_cols = ", ".join(f'"{c}"' for c in columns)
    value_cols = [c for c in columns if c not in key]
    set_clause = ", ".join(
        [f'"{c}" = EXCLUDED."{c}"' for c in value_cols] + ([on_update] if on_update else [])
    )
    old = ", ".join(f't."{c}"' for c in value_cols)
    new = ", ".join(f'EXCLUDED."{c}"' for c in value_cols)
    conflict = ", ".join(f'"{c}"' for c in key)
    return (
        f"INSERT INTO {table} AS t ({target_cols}) SELECT {select} FROM {stage} s "
        + (f"WHERE {where} " if where else "")
        + f"ON CONFLICT ({conflict}) "
        + (
            f"DO UPDATE SET {set_clause} WHERE ({old}) IS DISTINCT FROM ({new}) "
            if value_cols
            else "DO NOTHING "
        )
        + f"RETURNING {returning}"
    )


def upsert_from_stage(
    conn: Connection,
    *,
    stage: str,
    table: str,
    key: Sequence[str],
    columns: Sequence[str],
    expressions: dict[str, str] | None = None,
    where: str | None = None,
    on_update: str | None = None,
) -> tuple[int, int]:
    """One set-based upsert from a staging table; return ``(inserted, updated)``.

    Rows whose values are all unchanged are not touched, so a re-run of the same file is a
    no-op. ``expressions`` maps a column to the SQL that computes it from the staging row
    (e.g. geometry repair); ``where`` filters staging rows; ``on_update`` adds assignments
    made only when a row really changed (e.g. ``updated_at = now()``).
    """
    sql = _upsert_sql(
        stage=stage,
        table=table,
        key=key,
        columns=columns,
        expressions=expressions,
        where=where,
        on_update=on_update,
        returning="(xmax = 0) AS inserted",
    )
    flags = [row[0] for row in conn.execute(text(sql))]
    inserted = sum(flags)
    return inserted, len(flags) - inserted


def upsert_outcomes(
    conn: Connection,
    *,
    stage: str,
    table: str,
    key: Sequence[str],
    columns: Sequence[str],
    expressions: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The upsert of :func:`upsert_from_stage`, returning which rows it wrote and how.

    Returns
    -------
    pandas.DataFrame
        One row per inserted or updated row: its ``key`` columns and ``inserted`` (True for a
        new row, False for a changed one). Unchanged rows are not in it.
    """
    returning = ", ".join([*(f't."{c}"' for c in key), "(xmax = 0) AS inserted"])
    sql = _upsert_sql(
        stage=stage,
        table=table,
        key=key,
        columns=columns,
        expressions=expressions,
        where=None,
        on_update=None,
        returning=returning,
    )
    rows = conn.execute(text(sql)).all()
    return pd.DataFrame(rows, columns=[*key, "inserted"])


_PG_TYPES = {
    "i": "bigint",
    "u": "bigint",
    "f": "double precision",
    "b": "boolean",
    "M": "timestamp",
}
#: The GiST build sorts every bounding box; with 256 MB the sort of 1,000,000 points stays in
#: memory (at the 64 MB default it spills to disk and takes ~0.3 s longer).
_INDEX_WORK_MEM = "256MB"


def write_geodataframe(
    conn: Connection, gdf: gpd.GeoDataFrame, table: str, *, schema: str = "gcrm"
) -> int:
    """Write ``gdf`` as table ``schema.table`` (replacing it), the fast way, in one transaction.

    The new table is created under a temporary name, filled with COPY (binary when every
    column allows it, see :func:`copy_frame`), given its GiST index and statistics, and only
    then swapped in for the old one: readers see the old table or the new one, never a
    half-loaded one. This is what ``GeoDataFrame.to_postgis(..., if_exists="replace")`` does
    row batch by row batch. The index is built with ``maintenance_work_mem`` raised to 256 MB
    for the build (if it was lower), so that its sort stays in memory. Step timings are logged
    at DEBUG level (logger ``gcrm.store.loading``, record attribute ``timings``).

    Parameters
    ----------
    conn
        A SQLAlchemy connection; the caller commits.
    gdf
        The rows, in EPSG:4326. Integer, float, boolean and timestamp columns keep their
        type; any other column becomes ``text``. The geometry column becomes ``geom``.
    table
        The table name, without schema.
    schema
        The schema.

    Returns
    -------
    int
        The number of rows written.

    Raises
    ------
    ValueError
        When ``gdf`` is not in EPSG:4326.
    """
    if gdf.crs is None or gdf.crs.to_epsg() != STORAGE_SRID:
        msg = (
            f"write_geodataframe needs EPSG:{STORAGE_SRID}; got {gdf.crs}; "
            f"call gdf.to_crs('{STORAGE_CRS}') first"
        )
        raise ValueError(msg)
    staging = f'{schema}."{table}__loading"'
    timings: dict[str, float] = {}
    start = time.perf_counter()
    conn.execute(text(f"DROP TABLE IF EXISTS {staging}"))
    conn.execute(text(f"CREATE TABLE {staging} ({', '.join(_table_columns(gdf))})"))
    frame = gdf.rename_geometry("geom") if gdf.geometry.name != "geom" else gdf
    _, timings["encode_s"] = copy_frame_timed(conn, staging, frame)
    timings["copy_s"] = time.perf_counter() - start
    start = time.perf_counter()
    _build_gist_index(conn, staging)
    timings["index_s"] = time.perf_counter() - start
    start = time.perf_counter()
    conn.execute(text(f"ANALYZE {staging}"))
    timings["analyze_s"] = time.perf_counter() - start
    start = time.perf_counter()
    conn.execute(text(f'DROP TABLE IF EXISTS {schema}."{table}"'))
    conn.execute(text(f'ALTER TABLE {staging} RENAME TO "{table}"'))
    timings["swap_s"] = time.perf_counter() - start
    _log.debug(
        "write_geodataframe %s.%s: %d rows; %s",
        schema,
        table,
        len(gdf),
        ", ".join(f"{step} {seconds:.2f}" for step, seconds in timings.items()),
        extra={"timings": timings},
    )
    return len(gdf)


def _table_columns(gdf: gpd.GeoDataFrame) -> list[str]:
    """Column definitions for ``gdf``: one per attribute, then ``geom`` typed by its kinds."""
    geom_col = gdf.geometry.name
    types = shapely.get_type_id(gdf.geometry.values)
    kinds = {
        shapely.GeometryType(t)
        .name.title()
        .replace("string", "String")
        .replace("polygon", "Polygon")
        for t in np.unique(types[types >= 0])
    }
    gtype = kinds.pop() if len(kinds) == 1 else "Geometry"
    columns = [
        f"{quote_ident(name)} {_PG_TYPES.get(dtype.kind, 'text')}"
        for name, dtype in gdf.drop(columns=geom_col).dtypes.items()
    ]
    return [*columns, f"geom geometry({gtype}, {STORAGE_SRID})"]


def _build_gist_index(conn: Connection, table: str) -> None:
    """GiST index on ``geom``, with enough ``maintenance_work_mem`` to sort in memory."""
    with raised_setting(conn, "maintenance_work_mem", _INDEX_WORK_MEM):
        conn.execute(text(f"CREATE INDEX ON {table} USING gist (geom)"))


@contextmanager
def raised_setting(conn: Connection, setting: str, size: str) -> Iterator[None]:
    """``setting`` (a memory size, e.g. ``maintenance_work_mem``) at least ``size`` for the
    block, on the caller's transaction, then as it was."""
    current, too_low = conn.execute(
        text(
            "SELECT current_setting(:name), "
            "pg_size_bytes(current_setting(:name)) < pg_size_bytes(:size)"
        ),
        {"name": setting, "size": size},
    ).one()
    if too_low:
        conn.execute(text("SELECT set_config(:name, :size, true)"), {"name": setting, "size": size})
    yield
    if too_low:
        conn.execute(
            text("SELECT set_config(:name, :old, true)"), {"name": setting, "old": current}
        )
