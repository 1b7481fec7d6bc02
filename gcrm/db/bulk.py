"""Fast bulk I/O: binary COPY in, binary COPY out, decoded by column.

Loading goes through ``COPY ... FROM STDIN`` (psycopg 3) into a table, usually a temporary
staging table, followed by one set-based upsert in the same transaction. When every column of
the frame maps cleanly onto its target column (integers, floats, booleans, strings, bytes,
geometry), the rows travel in PostgreSQL's binary COPY format, encoded column by column with
NumPy and Arrow (no Python code per row); geometry goes as EWKB, built directly from the
coordinates when every geometry is a 2D point. Any other column sends the whole frame down the
CSV path (text written by pandas, geometry as hex EWKB), which PostgreSQL parses itself.

Reading runs the query as ``COPY (query) TO STDOUT (FORMAT binary)`` on the caller's
connection when every column has a simple type (integers, floats, booleans, text, and the
geometry column as WKB ``bytea`` or ``geometry``) and decodes the stream column by column with
NumPy and Arrow; 2D points are read as coordinates, other WKB is decoded by Shapely 2 in one
vectorised call. Other column types (dates, numeric, jsonb, arrays, ...) are read through
psycopg's binary protocol into Python objects.
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
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
from sqlalchemy import Connection, text

from gcrm.crs import STORAGE_CRS, STORAGE_SRID

__all__ = [
    "copy_frame",
    "copy_out",
    "ewkb_points",
    "read_geodataframe",
    "stage_frame",
    "to_ewkb_hex",
    "upsert_from_stage",
    "write_geodataframe",
]

_log = logging.getLogger(__name__)


def to_ewkb_hex(geoms: Any, *, srid: int = STORAGE_SRID) -> np.ndarray:
    """Encode geometries as hex EWKB with ``srid``; missing geometries become ``None``."""
    arr = np.asarray(geoms, dtype=object)
    arr = shapely.set_srid(arr, srid)
    return shapely.to_wkb(arr, hex=True, include_srid=True)


# --------------------------------------------------------------------------------------------
# COPY in
# --------------------------------------------------------------------------------------------

#: Rows and bytes per COPY chunk (the bytes bound also keeps a chunk's Arrow offsets in int32).
_COPY_CHUNK_ROWS = 200_000
_COPY_CHUNK_BYTES = 64 << 20


def copy_frame(conn: Connection, table: str, frame: pd.DataFrame) -> int:
    """COPY a DataFrame into ``table``; return the number of rows.

    The frame's columns name the target columns. When every column maps cleanly onto its
    target column's type (integer, float and boolean columns onto ``int2``/``int4``/``int8``/
    ``float4``/``float8``/``boolean``; strings onto ``text``/``varchar``/``char``, JSON text
    onto ``jsonb``; bytes onto ``bytea``; a GeoDataFrame's geometry, hex EWKB strings, or
    (E)WKB bytes such as :func:`ewkb_points` onto ``geometry``), the rows go
    in PostgreSQL's binary COPY format, encoded with NumPy and Arrow. Otherwise (dates,
    categoricals, mixed object columns, integers out of the target's range, ...) the frame
    goes as CSV text written by pandas, and PostgreSQL converts or rejects each value. Either
    way no Python code runs per row, and the result is the same:

    - missing values (None, NaN, NaT, pd.NA) load as NULL;
    - empty strings load as NULL too, in text, jsonb and geometry columns (the CSV path cannot tell
      them apart, and the binary path keeps that behaviour);
    - a GeoDataFrame's active geometry loads as EWKB with SRID 4326 (the storage SRID),
      whatever SRID the Shapely objects carry; the frame's CRS is not checked here.

    Parameters
    ----------
    conn
        A SQLAlchemy connection; the COPY runs in its current transaction, so ``table`` may
        be a temporary table or one created earlier in the same transaction.
    table
        The target table, schema-qualified and quoted as SQL needs it (``gcrm."my table"``).
    frame
        The rows; each column must exist in ``table``.

    Returns
    -------
    int
        The number of rows copied.
    """
    rows, _ = _copy_into(conn, table, frame)
    return rows


def _copy_into(conn: Connection, table: str, frame: pd.DataFrame) -> tuple[int, float]:
    """COPY ``frame`` into ``table``, binary when possible; return rows and encoding seconds."""
    raw = conn.connection.driver_connection
    columns = _binary_columns(raw, table, frame)
    if columns is None:
        return _copy_csv(raw, table, frame)
    return _copy_binary(raw, table, list(frame.columns), columns, len(frame))


def _copy_csv(raw: psycopg.Connection, table: str, frame: pd.DataFrame) -> tuple[int, float]:
    """COPY as CSV text written by pandas (in C), chunk by chunk; geometry as hex EWKB."""
    data = frame
    encode_s = 0.0
    if isinstance(data, gpd.GeoDataFrame):
        start = time.perf_counter()
        geom_col = data.geometry.name
        data = pd.DataFrame(data)
        data[geom_col] = to_ewkb_hex(data[geom_col].to_numpy())
        encode_s += time.perf_counter() - start
    cols = ", ".join(_quote_ident(c) for c in data.columns)
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy,
    ):
        for start_row in range(0, len(data), _COPY_CHUNK_ROWS):
            start = time.perf_counter()
            chunk = data.iloc[start_row : start_row + _COPY_CHUNK_ROWS]
            csv = chunk.to_csv(header=False, index=False, na_rep="")
            encode_s += time.perf_counter() - start
            copy.write(csv)
    return len(data), encode_s


_PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_PGCOPY_TRAILER = b"\xff\xff"


def _copy_binary(
    raw: psycopg.Connection,
    table: str,
    names: list[str],
    columns: list[_Column],
    n_rows: int,
) -> tuple[int, float]:
    """COPY in binary format, chunk by chunk (memory stays bounded whatever the frame)."""
    cols = ", ".join(_quote_ident(c) for c in names)
    encode_s = 0.0
    with raw.cursor() as cur:
        statement = f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT binary)"
        with cur.copy(statement) as copy:
            copy.write(_PGCOPY_HEADER)
            bounds = _chunk_bounds(columns, n_rows)
            for start_row, stop_row in zip(bounds[:-1], bounds[1:], strict=True):
                start = time.perf_counter()
                rows = _encode_rows(columns, int(start_row), int(stop_row))
                encode_s += time.perf_counter() - start
                copy.write(rows)
            copy.write(_PGCOPY_TRAILER)
    return n_rows, encode_s


def _quote_ident(name: object) -> str:
    return '"' + str(name).replace('"', '""') + '"'


# --- binary COPY encoding -------------------------------------------------------------------
#
# A binary COPY row is: int16 field count, then per field an int32 byte length (-1 for NULL)
# and the bytes, all big-endian. Each column is prepared once for the whole frame (so a value
# that does not convert sends the frame down the CSV path before anything is written), then
# encoded chunk by chunk into "pieces": runs of fixed-width fields become one NumPy record per
# row, variable-width fields become Arrow binary arrays, and Arrow concatenates the pieces of
# each row (binary_join_element_wise); the data buffer of the result is the COPY stream.

#: Wire format of fixed-width target types.
_FIXED_WIRE = {
    "int2": np.dtype(">i2"),
    "int4": np.dtype(">i4"),
    "int8": np.dtype(">i8"),
    "float4": np.dtype(">f4"),
    "float8": np.dtype(">f8"),
    "bool": np.dtype("u1"),
}
_INT_RANGE = {
    "int2": (-(2**15), 2**15 - 1),
    "int4": (-(2**31), 2**31 - 1),
    "int8": (-(2**63), 2**63 - 1),
}
_TEXT_TYPES = {"text", "varchar", "bpchar"}
_WKB_POINT_EWKB = 0x20000001  # wkbPoint with the EWKB SRID flag
_EWKB_POINT_DTYPE = np.dtype(
    [("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
)

#: A piece of a row: a fixed-width field (dtype, one value per row or one for all rows) or an
#: Arrow binary array without NULLs holding one variable-width field (or run of them) per row.
_Piece = tuple[np.dtype, Any] | pa.Array


@dataclass(frozen=True)
class _Fixed:
    """A fixed-width column, values already in wire format; ``valid`` is None when no NULLs."""

    values: np.ndarray
    valid: np.ndarray | None

    def row_bytes(self) -> int:
        return 4 + self.values.dtype.itemsize

    def pieces(self, start: int, stop: int) -> list[_Piece]:
        values = self.values[start:stop]
        width = values.dtype.itemsize
        if self.valid is None:
            return [(np.dtype(">i4"), width), (values.dtype, values)]
        valid = self.valid[start:stop]
        prefix = np.where(valid, width, -1).astype(">i4")
        return [(prefix.dtype, prefix), _packed(values[valid], valid, width)]


@dataclass(frozen=True)
class _Var:
    """A variable-width column as an Arrow string or binary array (NULLs allowed)."""

    values: pa.Array
    empty_is_null: bool

    def row_bytes(self) -> np.ndarray:
        return 4 + _value_lengths(self.values)

    def pieces(self, start: int, stop: int) -> list[_Piece]:
        arr = self.values.slice(start, stop - start)
        valid = arr.is_valid().to_numpy(zero_copy_only=False)
        if arr.null_count:
            # A NULL slot may own bytes in Arrow; after fill_null it owns none.
            arr = pc.fill_null(arr, pa.scalar(b"" if _is_binary(arr.type) else "", arr.type))
        arr = arr.cast(pa.binary())
        lengths = _value_lengths(arr)
        if self.empty_is_null:
            valid &= lengths > 0
        prefix = np.where(valid, lengths, -1).astype(">i4")
        payload = pa.Array.from_buffers(
            pa.binary(), len(arr), [None, arr.buffers()[1], arr.buffers()[2]], offset=arr.offset
        )
        return [(prefix.dtype, prefix), payload]


@dataclass(frozen=True)
class _Points:
    """2D points with one SRID, sent as 25-byte EWKB built from the coordinates."""

    x: np.ndarray
    y: np.ndarray
    valid: np.ndarray | None
    srid: int

    def row_bytes(self) -> int:
        return 4 + _EWKB_POINT_DTYPE.itemsize

    def pieces(self, start: int, stop: int) -> list[_Piece]:
        x, y = self.x[start:stop], self.y[start:stop]
        size = _EWKB_POINT_DTYPE.itemsize
        fields: list[_Piece] = [
            (np.dtype("u1"), 1),
            (np.dtype("<u4"), _WKB_POINT_EWKB),
            (np.dtype("<u4"), self.srid),
            (np.dtype("<f8"), x),
            (np.dtype("<f8"), y),
        ]
        if self.valid is None:
            return [(np.dtype(">i4"), size), *fields]
        valid = self.valid[start:stop]
        records = _ewkb_point_records(x[valid], y[valid], self.srid)
        prefix = np.where(valid, size, -1).astype(">i4")
        return [(prefix.dtype, prefix), _packed(records, valid, size)]


def _ewkb_point_records(x: np.ndarray, y: np.ndarray, srid: int) -> np.ndarray:
    """One 25-byte EWKB point (little-endian, with SRID) per coordinate pair."""
    records = np.empty(len(x), dtype=_EWKB_POINT_DTYPE)
    records["order"], records["type"], records["srid"] = 1, _WKB_POINT_EWKB, srid
    records["x"], records["y"] = x, y
    return records


_Column = _Fixed | _Var | _Points


def _is_binary(kind: pa.DataType) -> bool:
    return bool(pa.types.is_binary(kind) or pa.types.is_large_binary(kind))


def _value_lengths(arr: pa.Array) -> np.ndarray:
    """Byte length of each value of a string or binary array (int32 or int64 offsets)."""
    wide = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64 if wide else np.int32)
    return np.diff(offsets[arr.offset : arr.offset + len(arr) + 1]).astype(np.int64)


def _chunk_bounds(columns: list[_Column], n_rows: int) -> np.ndarray:
    """Row numbers where chunks start (and the end): at most _COPY_CHUNK_ROWS rows and,
    but for a single huge row, at most _COPY_CHUNK_BYTES bytes each."""
    bounds = np.arange(0, n_rows, _COPY_CHUNK_ROWS)
    row_bytes = sum((c.row_bytes() for c in columns), start=np.zeros(n_rows, dtype=np.int64))
    ends = np.cumsum(row_bytes)
    if len(ends) and ends[-1] > _COPY_CHUNK_BYTES:
        by_bytes = np.searchsorted(ends, np.arange(_COPY_CHUNK_BYTES, ends[-1], _COPY_CHUNK_BYTES))
        bounds = np.union1d(bounds, by_bytes)
    return np.append(bounds[bounds < n_rows], n_rows)


def _packed(values: np.ndarray, valid: np.ndarray, width: int) -> pa.Array:
    """An Arrow binary array with ``width`` bytes per valid row and none per NULL row."""
    offsets = np.zeros(len(valid) + 1, dtype=np.int32)
    np.cumsum(np.where(valid, width, 0), out=offsets[1:])
    data = np.ascontiguousarray(values).view(np.uint8)
    return pa.Array.from_buffers(
        pa.binary(), len(valid), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _encode_rows(columns: list[_Column], start: int, stop: int) -> Any:
    """Binary COPY rows ``start:stop`` (no header or trailer), as one bytes-like buffer."""
    n = stop - start
    pieces: list[pa.Array] = []
    fixed: list[tuple[np.dtype, Any]] = [(np.dtype(">i2"), len(columns))]
    for column in columns:
        for piece in column.pieces(start, stop):
            if isinstance(piece, tuple):
                fixed.append(piece)
            else:
                if fixed:
                    pieces.append(_records(fixed, n))
                    fixed = []
                pieces.append(piece)
    if fixed:
        pieces.append(_records(fixed, n))
    rows = pieces[0] if len(pieces) == 1 else pc.binary_join_element_wise(*pieces, b"")
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)
    begin, end = int(offsets[rows.offset]), int(offsets[rows.offset + n])
    return memoryview(rows.buffers()[2])[begin:end]


def _records(fields: list[tuple[np.dtype, Any]], n: int) -> pa.Array:
    """Fixed-width fields packed into one record per row, as an Arrow binary array."""
    dtype = np.dtype([(f"f{i}", dt) for i, (dt, _) in enumerate(fields)])
    records = np.empty(n, dtype=dtype)
    for i, (_, values) in enumerate(fields):
        records[f"f{i}"] = values
    offsets = np.arange(0, (n + 1) * dtype.itemsize, dtype.itemsize, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(records.view(np.uint8))]
    )


def _binary_columns(
    raw: psycopg.Connection, table: str, frame: pd.DataFrame
) -> list[_Column] | None:
    """Every column of ``frame`` prepared for binary COPY, or None to use CSV instead."""
    if raw.info.encoding != "utf-8" or len(frame) == 0 or not frame.columns.is_unique:
        return None
    with raw.cursor() as cur:
        cur.execute(
            "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped",
            [table],
        )
        targets = dict(cur.fetchall())
    geom_col = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    columns: list[_Column] = []
    for name in frame.columns:
        target = targets.get(str(name))
        column = None
        if target is not None:
            column = _prepare_column(frame[name], target, is_geometry=name == geom_col)
        if column is None:
            _log.debug(
                "COPY %s as CSV: column %r (target %s) has no binary path", table, name, target
            )
            return None
        columns.append(column)
    return columns


def _prepare_column(series: pd.Series, target: str, *, is_geometry: bool) -> _Column | None:
    if target == "geometry":
        if is_geometry:
            return _prepare_geometry(np.asarray(series.array, dtype=object))
        arr = _to_arrow(series)
        if arr is not None and _is_binary(arr.type):  # WKB / EWKB bytes, e.g. ewkb_points()
            return _Var(arr, empty_is_null=False)
        if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            return None
        wkb = _hex_to_binary(arr)
        return None if wkb is None else _Var(wkb, empty_is_null=True)
    if is_geometry or isinstance(series.dtype, gpd.array.GeometryDtype):
        return None
    arr = _to_arrow(series)
    if arr is None:
        return None
    if pa.types.is_null(arr.type):  # nothing but missing values
        wire = _FIXED_WIRE.get(target, np.dtype(">i4"))
        return _Fixed(np.zeros(len(arr), dtype=wire), np.zeros(len(arr), dtype=bool))
    if target in _FIXED_WIRE:
        return _prepare_fixed(arr, target)
    if target in _TEXT_TYPES and (
        pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
    ):
        return _Var(arr, empty_is_null=True)
    if target == "bytea" and (pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type)):
        return _Var(arr, empty_is_null=False)
    if target == "jsonb" and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return _jsonb(arr)
    return None


def _jsonb(arr: pa.Array) -> _Var:
    """JSON text as jsonb's binary wire format: a version byte (1), then the text. Empty
    strings are NULL, as on the CSV path; the server validates the JSON."""
    wide = pa.types.is_large_string(arr.type)
    raw = arr.cast(pa.large_binary() if wide else pa.binary())
    raw = pc.if_else(pc.equal(pc.binary_length(raw), 0), pa.scalar(None, raw.type), raw)
    version = pa.scalar(b"\x01", raw.type)
    return _Var(
        pc.binary_join_element_wise(version, raw, pa.scalar(b"", raw.type)), empty_is_null=False
    )


def _to_arrow(series: pd.Series) -> pa.Array | None:
    """The column as one Arrow array, NaN as NULL; None when Arrow cannot type it."""
    try:
        arr = pa.array(series, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if isinstance(arr, pa.ChunkedArray):  # over 2 GB of strings or bytes: widen the offsets
        if pa.types.is_string(arr.type) or pa.types.is_binary(arr.type):
            arr = arr.cast(pa.large_string() if pa.types.is_string(arr.type) else pa.large_binary())
        arr = arr.combine_chunks()
    return arr


def _prepare_fixed(arr: pa.Array, target: str) -> _Fixed | None:
    kind = arr.type
    if target == "bool":
        if not pa.types.is_boolean(kind):
            return None
    elif target in _INT_RANGE:
        if not pa.types.is_integer(kind):
            return None
        low, high = _INT_RANGE[target]
        bounds = pc.min_max(arr).as_py()
        if bounds["min"] is not None and (bounds["min"] < low or bounds["max"] > high):
            return None  # out of range: the CSV path lets PostgreSQL report it
    elif not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        return None
    valid = arr.is_valid().to_numpy(zero_copy_only=False) if arr.null_count else None
    values = pc.fill_null(arr, False if target == "bool" else 0) if arr.null_count else arr
    host = np.asarray(values.to_numpy(zero_copy_only=False))
    return _Fixed(host.astype(_FIXED_WIRE[target]), valid)


def _prepare_geometry(geoms: np.ndarray, *, srid: int = STORAGE_SRID) -> _Column:
    present = ~shapely.is_missing(geoms)
    found = geoms[present]
    all_points = bool(
        (shapely.get_type_id(found) == shapely.GeometryType.POINT).all()
        and not shapely.is_empty(found).any()
        and (shapely.get_coordinate_dimension(found) == 2).all()
    )
    if all_points:
        x = np.zeros(len(geoms))
        y = np.zeros(len(geoms))
        xy = shapely.get_coordinates(found)
        x[present], y[present] = xy[:, 0], xy[:, 1]
        return _Points(x, y, None if present.all() else present, srid)
    wkb = shapely.to_wkb(shapely.set_srid(geoms, srid), include_srid=True)
    return _Var(pa.array(wkb, type=pa.large_binary(), from_pandas=True), empty_is_null=False)


def _hex_pairs() -> np.ndarray:
    """Byte value of every pair of hex digits, indexed by the pair read as little-endian
    uint16; 256 for a pair that is not hex."""
    digits = np.full(256, -1, dtype=np.int32)
    digits[np.frombuffer(b"0123456789", dtype=np.uint8)] = np.arange(10)
    digits[np.frombuffer(b"abcdef", dtype=np.uint8)] = np.arange(10, 16)
    digits[np.frombuffer(b"ABCDEF", dtype=np.uint8)] = np.arange(10, 16)
    first, second = np.divmod(np.arange(65536), 256)[::-1]  # little-endian: low byte first
    high, low = digits[first], digits[second]
    return np.where((high >= 0) & (low >= 0), high * 16 + low, 256).astype(np.uint16)


_HEX_PAIRS = _hex_pairs()


def _hex_to_binary(arr: pa.Array) -> pa.Array | None:
    """Decode an Arrow array of hex strings into binary, NULL staying NULL; None when a value
    is not hex (PostgreSQL would read it as WKT, say)."""
    valid = arr.is_valid() if arr.null_count else None
    arr = arr.cast(pa.large_string())
    if valid is not None:
        arr = pc.fill_null(arr, "")  # a NULL slot may own bytes in Arrow; now it owns none
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[
        arr.offset : arr.offset + len(arr) + 1
    ]
    if (np.diff(offsets) % 2).any():
        return None
    data = arr.buffers()[2]
    chars = np.frombuffer(data, dtype=np.uint8) if data else np.zeros(0, dtype=np.uint8)
    pairs = _HEX_PAIRS[chars[offsets[0] : offsets[-1]].view("<u2")]
    if len(pairs) and pairs.max() > 255:
        return None
    out = pa.Array.from_buffers(
        pa.large_binary(),
        len(arr),
        [None, pa.py_buffer((offsets - offsets[0]) // 2), pa.py_buffer(pairs.astype(np.uint8))],
    )
    if valid is not None:
        out = pc.if_else(valid, out, pa.scalar(None, pa.large_binary()))
    return out


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------

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
    for typ, wire in _FIXED_WIRE.items()
}
#: Only statements that surely just read take the COPY path: COPY accepts a plain query, and
#: wrapping a data-modifying statement to describe it would fail.
_READ_ONLY = re.compile(r"^\s*(\(\s*)*(select|with)\b", re.IGNORECASE)
_WRITES = re.compile(
    r"\b(insert|update|delete|merge|into|for\s+(no\s+key\s+)?update|for\s+(key\s+)?share)\b",
    re.IGNORECASE,
)
_PGCOPY_SIGNATURE = _PGCOPY_HEADER[:11]


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
    raw = conn.connection.driver_connection
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
    simple = _READ_FIXED.keys() | _TEXT_TYPES
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


def ewkb_points(x: np.ndarray, y: np.ndarray, *, srid: int = STORAGE_SRID) -> pd.Series:
    """2D points as EWKB with ``srid``, built from coordinates in NumPy (no Shapely objects:
    making a million of those takes ~0.8 s); a column :func:`copy_frame` sends as is."""
    records = _ewkb_point_records(x, y, srid)
    arr = _packed(records, np.ones(len(records), dtype=bool), _EWKB_POINT_DTYPE.itemsize)
    return pd.Series(arr, dtype=pd.ArrowDtype(pa.binary()))


def copy_out(conn: Connection, statement: str) -> memoryview:
    """Everything ``statement`` (a ``COPY ... TO STDOUT``) sends, on ``conn``'s transaction.

    A tight loop over libpq (see :func:`_copy_out`): for a million rows, seconds faster than
    iterating psycopg's ``Copy`` object row by row.
    """
    return _copy_out(conn.connection.driver_connection, statement)[0]


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
        if bytes(self.buf[-2:]) != _PGCOPY_TRAILER:
            msg = "COPY TO STDOUT (FORMAT binary) sent no trailer"
            raise psycopg.InterfaceError(msg)
        # The header comes with the first message and the trailer ends the last one (each may
        # also be a message of its own); every other message is one row.
        sizes = sizes.copy()
        sizes[0] -= header
        sizes[-1] -= len(_PGCOPY_TRAILER)
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
    if (stream.buf[at] != 1).any() or (kind != (1 if size == 21 else _WKB_POINT_EWKB)).any():
        return None
    coords = stream.window("<f8")
    xy = np.column_stack([coords[at + size - 16], coords[at + size - 8]])
    if np.isnan(xy).any():  # POINT EMPTY
        return None
    points = shapely.points(xy)
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
    sql = (
        f"INSERT INTO {table} AS t ({target_cols}) SELECT {select} FROM {stage} s "
        + (f"WHERE {where} " if where else "")
        + f"ON CONFLICT ({conflict}) "
        + (
            f"DO UPDATE SET {set_clause} WHERE ({old}) IS DISTINCT FROM ({new}) "
            if value_cols
            else "DO NOTHING "
        )
        + "RETURNING (xmax = 0) AS inserted"
    )
    flags = [row[0] for row in conn.execute(text(sql))]
    inserted = sum(flags)
    return inserted, len(flags) - inserted


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
    at DEBUG level (logger ``gcrm.db.bulk``, record attribute ``timings``).

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
    _, timings["encode_s"] = _copy_into(conn, staging, frame)
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
        f"{_quote_ident(name)} {_PG_TYPES.get(dtype.kind, 'text')}"
        for name, dtype in gdf.drop(columns=geom_col).dtypes.items()
    ]
    return [*columns, f"geom geometry({gtype}, {STORAGE_SRID})"]


def _build_gist_index(conn: Connection, table: str) -> None:
    """GiST index on ``geom``, with enough ``maintenance_work_mem`` to sort in memory."""
    current, too_low = conn.execute(
        text(
            "SELECT current_setting('maintenance_work_mem'), "
            "pg_size_bytes(current_setting('maintenance_work_mem')) < pg_size_bytes(:mem)"
        ),
        {"mem": _INDEX_WORK_MEM},
    ).one()
    if too_low:
        conn.execute(text(f"SET LOCAL maintenance_work_mem = '{_INDEX_WORK_MEM}'"))
    conn.execute(text(f"CREATE INDEX ON {table} USING gist (geom)"))
    if too_low:
        conn.execute(
            text("SELECT set_config('maintenance_work_mem', :old, true)"), {"old": current}
        )
