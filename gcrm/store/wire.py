"""PostgreSQL's binary COPY wire format and EWKB, shared by both directions of bulk I/O.

A binary COPY stream is a header, then per row an int16 field count and per field an int32
byte length (-1 for NULL) followed by the bytes, all big-endian, then a trailer. Geometry
travels as EWKB; 2D points are built from (and read back into) coordinates with NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import shapely
from sqlalchemy import Connection

from gcrm.core.crs import STORAGE_SRID

__all__ = [
    "EWKB_POINT_DTYPE",
    "FIXED_WIRE",
    "PGCOPY_HEADER",
    "PGCOPY_TRAILER",
    "TEXT_TYPES",
    "driver_connection",
    "WKB_POINT_EWKB",
    "ewkb_point_records",
    "ewkb_points",
    "packed_binary",
    "quote_ident",
    "to_ewkb_hex",
]

PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
PGCOPY_TRAILER = b"\xff\xff"
#: Wire format of fixed-width types.
FIXED_WIRE: dict[str, np.dtype[Any]] = {
    "int2": np.dtype(">i2"),
    "int4": np.dtype(">i4"),
    "int8": np.dtype(">i8"),
    "float4": np.dtype(">f4"),
    "float8": np.dtype(">f8"),
    "bool": np.dtype("u1"),
}
#: Text types read and written as UTF-8 bytes.
TEXT_TYPES = {"text", "varchar", "bpchar"}
WKB_POINT_EWKB = 0x20000001  # wkbPoint with the EWKB SRID flag
EWKB_POINT_DTYPE = np.dtype(
    [("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
)


def driver_connection(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under a SQLAlchemy connection (for COPY), inside its transaction.

    The SQLAlchemy transaction is begun first when it has not been yet: statements sent to
    the driver directly would otherwise run before the connection's ``begin`` hooks, outside
    the scope that :func:`gcrm.access.scoped_engine` sets for every transaction.
    """
    if not conn.in_transaction():
        conn.begin()
    raw = conn.connection.driver_connection
    if raw is None:
        msg = "the SQLAlchemy connection is closed; use it inside its `with` block"
        raise RuntimeError(msg)
    return raw


def quote_ident(name: object) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def to_ewkb_hex(geoms: Any, *, srid: int = STORAGE_SRID) -> np.ndarray:
    """Encode geometries as hex EWKB with ``srid``; missing geometries become ``None``."""
    arr = np.asarray(geoms, dtype=object)
    arr = shapely.set_srid(arr, srid)
    return shapely.to_wkb(arr, hex=True, include_srid=True)


def ewkb_point_records(x: np.ndarray, y: np.ndarray, srid: int) -> np.ndarray:
    """One 25-byte EWKB point (little-endian, with SRID) per coordinate pair."""
    records = np.empty(len(x), dtype=EWKB_POINT_DTYPE)
    records["order"], records["type"], records["srid"] = 1, WKB_POINT_EWKB, srid
    records["x"], records["y"] = x, y
    return records


def packed_binary(values: np.ndarray, valid: np.ndarray, width: int) -> pa.Array:
    """An Arrow binary array with ``width`` bytes per valid row and none per NULL row."""
    offsets = np.zeros(len(valid) + 1, dtype=np.int32)
    np.cumsum(np.where(valid, width, 0), out=offsets[1:])
    data = np.ascontiguousarray(values).view(np.uint8)
    return pa.Array.from_buffers(
        pa.binary(), len(valid), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def ewkb_points(x: np.ndarray, y: np.ndarray, *, srid: int = STORAGE_SRID) -> pd.Series:
    """2D points as EWKB with ``srid``, built from coordinates in NumPy (no Shapely objects:
    making a million of those takes ~0.8 s); a column :func:`gcrm.store.copy_frame` sends as is."""
    records = ewkb_point_records(x, y, srid)
    arr = packed_binary(records, np.ones(len(records), dtype=bool), EWKB_POINT_DTYPE.itemsize)
    return pd.Series(arr, dtype=pd.ArrowDtype(pa.binary()))
