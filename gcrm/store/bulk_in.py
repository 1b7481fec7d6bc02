"""Bulk load: binary COPY into a table, encoded column by column.

Loading goes through ``COPY ... FROM STDIN`` (psycopg 3) into a table, usually a temporary
staging table (:mod:`gcrm.store.loading` then upserts from it in the same transaction). When
every column of the frame maps cleanly onto its target column (integers, floats, booleans,
strings, bytes, geometry), the rows travel in PostgreSQL's binary COPY format, encoded column
by column with NumPy and Arrow (no Python code per row); geometry goes as EWKB, built directly
from the coordinates when every geometry is a 2D point. Any other column sends the whole frame
down the CSV path (text written by pandas, geometry as hex EWKB), which PostgreSQL parses
itself.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from sqlalchemy import Connection

from gcrm.core.crs import STORAGE_SRID
from gcrm.store.wire import (
    EWKB_POINT_DTYPE,
    FIXED_WIRE,
    PGCOPY_HEADER,
    PGCOPY_TRAILER,
    TEXT_TYPES,
    WKB_POINT_EWKB,
    driver_connection,
    ewkb_point_records,
    packed_binary,
    quote_ident,
    to_ewkb_hex,
)

__all__ = ["copy_frame", "copy_frame_timed"]

_log = logging.getLogger(__name__)

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
    rows, _ = copy_frame_timed(conn, table, frame)
    return rows


def copy_frame_timed(conn: Connection, table: str, frame: pd.DataFrame) -> tuple[int, float]:
    """COPY ``frame`` into ``table``, binary when possible; return rows and encoding seconds."""
    raw = driver_connection(conn)
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
    cols = ", ".join(quote_ident(c) for c in data.columns)
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


def _copy_binary(
    raw: psycopg.Connection,
    table: str,
    names: list[str],
    columns: list[_Column],
    n_rows: int,
) -> tuple[int, float]:
    """COPY in binary format, chunk by chunk (memory stays bounded whatever the frame)."""
    cols = ", ".join(quote_ident(c) for c in names)
    encode_s = 0.0
    with raw.cursor() as cur:
        statement = f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT binary)"
        with cur.copy(statement) as copy:
            copy.write(PGCOPY_HEADER)
            bounds = _chunk_bounds(columns, n_rows)
            for start_row, stop_row in zip(bounds[:-1], bounds[1:], strict=True):
                start = time.perf_counter()
                rows = _encode_rows(columns, int(start_row), int(stop_row))
                encode_s += time.perf_counter() - start
                copy.write(rows)
            copy.write(PGCOPY_TRAILER)
    return n_rows, encode_s


# --- binary COPY encoding -------------------------------------------------------------------
#
# A binary COPY row is: int16 field count, then per field an int32 byte length (-1 for NULL)
# and the bytes, all big-endian. Each column is prepared once for the whole frame (so a value
# that does not convert sends the frame down the CSV path before anything is written), then
# encoded chunk by chunk into "pieces": runs of fixed-width fields become one NumPy record per
# row, variable-width fields become Arrow binary arrays, and Arrow concatenates the pieces of
# each row (binary_join_element_wise); the data buffer of the result is the COPY stream.

_INT_RANGE = {
    "int2": (-(2**15), 2**15 - 1),
    "int4": (-(2**31), 2**31 - 1),
    "int8": (-(2**63), 2**63 - 1),
}

#: A piece of a row: a fixed-width field (dtype, one value per row or one for all rows) or an
#: Arrow binary array without NULLs holding one variable-width field (or run of them) per row.
_Piece: TypeAlias = tuple[np.dtype[Any], Any] | pa.Array


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
        return [(prefix.dtype, prefix), packed_binary(values[valid], valid, width)]


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
        return 4 + EWKB_POINT_DTYPE.itemsize

    def pieces(self, start: int, stop: int) -> list[_Piece]:
        x, y = self.x[start:stop], self.y[start:stop]
        size = EWKB_POINT_DTYPE.itemsize
        fields: list[_Piece] = [
            (np.dtype("u1"), 1),
            (np.dtype("<u4"), WKB_POINT_EWKB),
            (np.dtype("<u4"), self.srid),
            (np.dtype("<f8"), x),
            (np.dtype("<f8"), y),
        ]
        if self.valid is None:
            return [(np.dtype(">i4"), size), *fields]
        valid = self.valid[start:stop]
        records = ewkb_point_records(x[valid], y[valid], self.srid)
        prefix = np.where(valid, size, -1).astype(">i4")
        return [(prefix.dtype, prefix), packed_binary(records, valid, size)]


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
        targets: dict[str, str] = dict(cur.fetchall())
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
        wire = FIXED_WIRE.get(target, np.dtype(">i4"))
        return _Fixed(np.zeros(len(arr), dtype=wire), np.zeros(len(arr), dtype=bool))
    if target in FIXED_WIRE:
        return _prepare_fixed(arr, target)
    if target in TEXT_TYPES and (
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
    return _Fixed(host.astype(FIXED_WIRE[target]), valid)


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
