"""Bulk read: a query as ``COPY (query) TO STDOUT (FORMAT binary)``, decoded by column.

Reading runs the query as a binary COPY on the caller's connection when every column has a
simple type (integers, floats, booleans, text, and the geometry column as WKB ``bytea`` or
``geometry``) and decodes the stream column by column with NumPy and Arrow; 2D points are read
as coordinates, other WKB is decoded by Shapely 2 in one vectorised call. Other column types
(dates, numeric, jsonb, arrays, ...) are read through psycopg's binary protocol into Python
objects.
"""

from __future__ import annotations

import io
import logging
import re
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import psycopg.errors
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from psycopg.pq import ExecStatus
from sqlalchemy import Connection

from gcrm.core.crs import STORAGE_CRS
from gcrm.store.wire import (
    FIXED_WIRE,
    PGCOPY_HEADER,
    PGCOPY_TRAILER,
    TEXT_TYPES,
    WKB_POINT_EWKB,
    driver_connection,
)

__all__ = ["copy_out", "read_geodataframe"]

_log = logging.getLogger(__name__)

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")

#: Type OIDs fixed by PostgreSQL itself; anything else (geometry included) is looked up.
_BUILTIN_TYPES = {
    16: "bool",
    17: "bytea",
    20: "int8",
    21: "int2",
    23: "int4",
    25: "text",
    700: "float4",
    701: "float8",
    1042: "bpchar",
    1043: "varchar",
}
#: The fixed-width types read by the COPY path: their wire format (the one COPY in writes)
#: and the dtype they are read into.
_READ_FIXED = {
    typ: (wire, np.dtype(bool if typ == "bool" else np.float64 if wire.kind == "f" else np.int64))
    for typ, wire in FIXED_WIRE.items()
}
#: Only statements that surely just read take the COPY path: COPY accepts a plain query, and
#: wrapping a data-modifying statement to describe it would fail.
_READ_ONLY = re.compile(r"^\s*(\(\s*)*(select|with)\b", re.IGNORECASE)
_WRITES = re.compile(
    r"\b(insert|update|delete|merge|into|for\s+(no\s+key\s+)?update|for\s+(key\s+)?share)\b",
    re.IGNORECASE,
)
_PGCOPY_SIGNATURE = PGCOPY_HEADER[:11]


def read_geodataframe(
    conn: Connection,
    sql: str,
    params: dict[str, Any] | None = None,
    *,
    geom_col: str = "geom",
) -> gpd.GeoDataFrame:
    """Run ``sql`` and return a GeoDataFrame in EPSG:4326.

    The query selects the geometry as ``ST_AsBinary(geom) AS <geom_col>`` (or the geometry
    itself). ``:name`` placeholders take their values from ``params``. The query runs on
    ``conn``, inside its transaction, so it sees that transaction's uncommitted rows and
    temporary tables.

    When every column has a simple type (``int2``/``int4``/``int8``, ``float4``/``float8``,
    ``boolean``, ``text``/``varchar``/``char``, and ``bytea`` or ``geometry`` for
    ``geom_col``), the rows come as ``COPY (query) TO STDOUT (FORMAT binary)`` (parameters
    bound client-side) and are decoded column by column with NumPy and Arrow. Otherwise they
    come through psycopg's binary protocol as Python objects (dates, ``Decimal``, dicts from
    ``jsonb``, ...). The frame is the same either way: integers as int64 (float64 when a value
    is NULL), floats as float64, booleans as bool (object when a value is NULL), strings as
    str. The WKB is decoded by Shapely 2 in one vectorised call, or read as coordinates by
    NumPy when every geometry is a 2D point.

    Parameters
    ----------
    conn
        A SQLAlchemy connection (psycopg 3 driver).
    sql
        One ``SELECT`` statement.
    params
        Values of the ``:name`` placeholders in ``sql``.
    geom_col
        The column holding the WKB; it becomes the active geometry.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per result row, geometry in EPSG:4326.
    """
    raw = driver_connection(conn)
    query = _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))
    read = _read_via_copy(raw, query, params or {}, geom_col=geom_col)
    frame, geoms = read or _read_via_cursor(raw, query, params or {}, geom_col=geom_col)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS), crs=STORAGE_CRS)


def _read_via_cursor(
    raw: psycopg.Connection, query: str, params: dict[str, Any], *, geom_col: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows as Python objects through psycopg's binary protocol (no SQLAlchemy per row)."""
    with raw.cursor(binary=True) as cur:
        cur.execute(query, params)
        columns = [d.name for d in cur.description] if cur.description else []
        frame = pd.DataFrame(cur.fetchall(), columns=columns)
    wkb = frame.pop(geom_col).to_numpy() if geom_col in frame else np.array([], dtype=object)
    return frame, shapely.from_wkb(wkb)


def _read_via_copy(
    raw: psycopg.Connection, query: str, params: dict[str, Any], *, geom_col: str
) -> tuple[pd.DataFrame, np.ndarray] | None:
    """Rows by binary COPY, decoded by column; None when a column's type is not simple."""
    if raw.info.encoding != "utf-8" or not _READ_ONLY.match(query) or _WRITES.search(query):
        return None
    try:
        with psycopg.ClientCursor(raw) as client:
            bound = client.mogrify(query, params)
    except psycopg.Error:
        return None  # let the server-side binding report it
    bound = bound.strip().rstrip(";")
    names, types = _describe(raw, bound)
    if names.count(geom_col) != 1 or len(set(names)) != len(names):
        return None
    simple = _READ_FIXED.keys() | TEXT_TYPES
    if types[names.index(geom_col)] not in ("bytea", "geometry") or any(
        t not in simple for n, t in zip(names, types, strict=True) if n != geom_col
    ):
        return None
    data, sizes = _copy_out(raw, f"COPY (\n{bound}\n) TO STDOUT (FORMAT binary)")
    try:
        stream = _CopyStream(data, sizes, n_fields=len(names))
        fields = [stream.next_field() for _ in names]
        stream.check_consumed()
    except _NotOneRowPerMessage:
        _log.debug("binary COPY rows span messages; reading %r through a cursor", query[:80])
        return None
    columns: dict[str, Any] = {}
    geoms = np.array([], dtype=object)
    for name, typ, (start, length) in zip(names, types, fields, strict=True):
        if name == geom_col:
            geoms = _decode_wkb(stream, start, length)
        elif typ in _READ_FIXED:
            columns[name] = _decode_fixed(stream, start, length, typ)
        else:
            columns[name] = stream.binary(start, length).cast(pa.large_string())
    if stream.n_rows == 0:  # as the cursor path: no rows, no types
        return pd.DataFrame(columns=[n for n in names if n != geom_col]), geoms
    if not columns:
        return pd.DataFrame(index=pd.RangeIndex(stream.n_rows)), geoms
    return pa.table(columns).to_pandas(), geoms


def _describe(raw: psycopg.Connection, query: str) -> tuple[list[str], list[str]]:
    """Column names and type names of ``query``, without running it."""
    with raw.cursor() as cur:
        cur.execute(f"SELECT * FROM (\n{query}\n) AS _gcrm_describe LIMIT 0")
        description = cur.description or []
        names = [d.name for d in description]
        oids = [d.type_code for d in description]
        unknown = [o for o in oids if o not in _BUILTIN_TYPES]
        looked_up: dict[int, str] = {}
        if unknown:
            cur.execute(
                "SELECT oid::int8, typname::text FROM pg_type WHERE oid = ANY(%s)", [unknown]
            )
            looked_up = dict(cur.fetchall())
    return names, [_BUILTIN_TYPES.get(o) or looked_up.get(o, "?") for o in oids]


def _copy_out(raw: psycopg.Connection, statement: str) -> tuple[memoryview, np.ndarray]:
    """Everything a ``COPY ... TO STDOUT`` sends, and the size of each message (a row).

    A tight loop over libpq's ``PQgetCopyData`` takes the server's one message per row in
    a third less time than iterating psycopg's ``Copy`` object; psycopg still starts the
    COPY and cleans up after an error.
    """
    out = io.BytesIO()
    write = out.write
    sizes: list[int] = []
    keep = sizes.append
    # cursor.copy() holds the connection's lock until the block ends.
    with raw.cursor() as cur, cur.copy(statement):
        pgconn = raw.pgconn
        while (got := pgconn.get_copy_data(0))[0] > 0:
            keep(write(got[1]))
        if got[0] == -2:
            raise psycopg.OperationalError(pgconn.get_error_message())
        results = []
        while (result := pgconn.get_result()) is not None:
            results.append(result)
        for result in results:
            if result.status != ExecStatus.COMMAND_OK:
                raise psycopg.errors.error_from_result(result, encoding=raw.info.encoding)
    return out.getbuffer(), np.array(sizes, dtype=np.int64)


def copy_out(conn: Connection, statement: str) -> memoryview:
    """Everything ``statement`` (a ``COPY ... TO STDOUT``) sends, on ``conn``'s transaction.

    A tight loop over libpq (see :func:`_copy_out`): for a million rows, seconds faster than
    iterating psycopg's ``Copy`` object row by row.
    """
    return _copy_out(driver_connection(conn), statement)[0]


class _NotOneRowPerMessage(Exception):
    """The server did not send each row of a COPY as one message of its own."""


class _CopyStream:
    """A binary COPY stream held in memory, read one field of every row at a time.

    Rows have variable length, but PostgreSQL sends each row of a COPY as one CopyData
    message (``CopySendEndOfRow``; the protocol allows other splits, and the field count at
    every row start is checked), so the start of every row is known, and each field's position
    follows from the lengths of the fields before it in the same row: one vectorised step per
    column. Values are read through sliding-window views (one element per byte offset) so that
    a field at any offset is one gather.
    """

    def __init__(self, data: memoryview, sizes: np.ndarray, *, n_fields: int) -> None:
        self.buf = np.frombuffer(data, dtype=np.uint8)
        if bytes(self.buf[:11]) != _PGCOPY_SIGNATURE:
            msg = "COPY TO STDOUT (FORMAT binary) sent no PGCOPY signature"
            raise psycopg.InterfaceError(msg)
        header = 19 + int(self.window(">i4")[15])
        if bytes(self.buf[-2:]) != PGCOPY_TRAILER:
            msg = "COPY TO STDOUT (FORMAT binary) sent no trailer"
            raise psycopg.InterfaceError(msg)
        # The header comes with the first message and the trailer ends the last one (each may
        # also be a message of its own); every other message is one row.
        sizes = sizes.copy()
        sizes[0] -= header
        sizes[-1] -= len(PGCOPY_TRAILER)
        rows = sizes[sizes > 0]
        self.row_end = header + np.cumsum(rows)
        self.row_start = self.row_end - rows
        self.n_rows = len(rows)
        if (rows < 2).any() or (self.window(">i2")[self.row_start] != n_fields).any():
            raise _NotOneRowPerMessage
        self.pos = self.row_start + 2

    def window(self, dtype: str) -> np.ndarray:
        """``view[k]`` is the value of ``dtype`` whose bytes start at offset ``k``."""
        dt = np.dtype(dtype)
        count = max(len(self.buf) - dt.itemsize + 1, 0)
        return np.ndarray((count,), dtype=dt, buffer=self.buf, strides=(1,))

    def next_field(self) -> tuple[np.ndarray, np.ndarray]:
        """Offset of the next field's bytes in every row, and its length (-1: NULL)."""
        if len(self.pos) and (self.pos + 4 > self.row_end).any():
            raise _NotOneRowPerMessage
        length = self.window(">i4")[self.pos].astype(np.int64)
        if (length < -1).any():
            raise _NotOneRowPerMessage
        start = self.pos + 4
        self.pos = start + np.maximum(length, 0)
        return start, length

    def binary(self, start: np.ndarray, length: np.ndarray) -> pa.Array:
        """The fields as an Arrow binary array (NULL where the length is -1)."""
        # An array over the whole buffer whose values alternate field, gap, field, gap, ...;
        # taking every other value copies the fields out in C++.
        n = len(start)
        if n == 0:
            return pa.array([], type=pa.large_binary())
        offsets = np.empty(2 * n + 1, dtype=np.int64)
        offsets[0:-1:2] = start
        offsets[1::2] = start + np.maximum(length, 0)
        offsets[-1] = offsets[-2]
        interleaved = pa.Array.from_buffers(
            pa.large_binary(), 2 * n, [None, pa.py_buffer(offsets), pa.py_buffer(self.buf)]
        )
        fields = interleaved.take(pa.array(np.arange(0, 2 * n, 2)))
        if (length < 0).any():
            fields = pc.if_else(pa.array(length >= 0), fields, pa.scalar(None, pa.large_binary()))
        return fields

    def check_consumed(self) -> None:
        """Every row's fields end where its message ends."""
        if (self.pos != self.row_end).any():
            raise _NotOneRowPerMessage


def _decode_fixed(stream: _CopyStream, start: np.ndarray, length: np.ndarray, typ: str) -> pa.Array:
    wire, host = _READ_FIXED[typ]
    valid = length >= 0
    if (length[valid] != wire.itemsize).any():
        msg = f"binary COPY field of type {typ} is not {wire.itemsize} bytes long"
        raise psycopg.InterfaceError(msg)
    values = stream.window(wire.str)[np.where(valid, start, 0)].astype(host)
    return pa.array(values, mask=None if valid.all() else ~valid)


def _decode_wkb(stream: _CopyStream, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Geometries from WKB fields: 2D points read as coordinates, anything else by Shapely."""
    points = _decode_points(stream, start, length)
    if points is not None:
        return points
    return shapely.from_wkb(stream.binary(start, length).to_numpy(zero_copy_only=False))


def _decode_points(stream: _CopyStream, start: np.ndarray, length: np.ndarray) -> np.ndarray | None:
    """Little-endian 2D points as WKB (21 bytes) or EWKB with SRID (25 bytes); else None."""
    valid = length >= 0
    sizes = np.unique(length[valid])
    if len(sizes) != 1 or sizes[0] not in (21, 25):
        return None
    size = int(sizes[0])
    at = start[valid]
    kind = stream.window("<u4")[at + 1]
    if (stream.buf[at] != 1).any() or (kind != (1 if size == 21 else WKB_POINT_EWKB)).any():
        return None
    coords = stream.window("<f8")
    xy = np.column_stack([coords[at + size - 16], coords[at + size - 8]])
    if np.isnan(xy).any():  # POINT EMPTY
        return None
    points = np.asarray(shapely.points(xy))
    if size == 25:
        srids = np.unique(stream.window("<u4")[at + 5])
        if len(srids) != 1:
            return None
        points = shapely.set_srid(points, int(srids[0]))
    if valid.all():
        return points
    geoms = np.full(len(valid), None, dtype=object)
    geoms[valid] = points
    return geoms
