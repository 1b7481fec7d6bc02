"""Bulk I/O on a real PostGIS: binary COPY in, binary COPY out, and their fallbacks.

Each fast path is checked against what PostgreSQL stored (plain SQL) and against the path it
replaces: the CSV loader and the psycopg-cursor reader are the references.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import Connection, text

from gcrm.core import STORAGE_CRS
from gcrm.store import (
    bulk_in,
    bulk_out,
    copy_frame,
    read_geodataframe,
    stage_frame,
    to_ewkb_hex,
    write_geodataframe,
)

ALL_TYPES = (
    "i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, b boolean, t text, v varchar(40), "
    "c char(3), by bytea, geom geometry(Point, 4326)"
)
TRICKY_TEXT = 'Sö\'uth, "quoted"\ttab\nnew line\r\\N \\. 東京 🌍'
F4_TENTH = float(np.float32(0.1))  # 0.1 as float4, widened


@pytest.fixture
def copy_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="gcrm.store")
    return caplog


def _went_as_csv(caplog: pytest.LogCaptureFixture) -> bool:
    return any("as CSV" in record.getMessage() for record in caplog.records)


def _read_old_way(conn: Connection, sql: str, params: dict | None = None) -> gpd.GeoDataFrame:
    """The reader as it was before COPY: psycopg's binary cursor, Python objects."""
    raw = conn.connection.driver_connection
    query = bulk_out._PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))
    frame, geoms = bulk_out._read_via_cursor(raw, query, params or {}, geom_col="geom")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS))


def _every_type_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "i2": pd.array([1, -32768, 32767, None], dtype="Int16"),
            "i4": np.array([2, -(2**31), 2**31 - 1, 0], dtype=np.int64),
            "i8": pd.array([3, None, 2**63 - 1, -(2**63)], dtype="Int64"),
            "f4": [0.1, np.nan, -1.5, np.inf],
            "f8": [0.1, np.nan, 1e308, -0.0],
            "b": pd.array([True, None, False, True], dtype="boolean"),
            "t": ["plain", None, "", TRICKY_TEXT],
            "v": pd.array(["ä", "", None, "x" * 40], dtype="str"),
            "c": ["ab", "abc", None, ""],
            "by": [b"\x00\x01", b"", None, bytes(range(256))],
        },
        geometry=[Point(24.5, 60.1), None, Point(-180, -90), Point(1e-9, 89.999999999)],
        crs="EPSG:4326",
    ).rename_geometry("geom")


def test_binary_copy_loads_every_type_with_nulls(
    conn: Connection, copy_log: pytest.LogCaptureFixture
) -> None:
    conn.execute(text(f"CREATE TEMP TABLE every ({ALL_TYPES})"))
    assert copy_frame(conn, "every", _every_type_frame()) == 4
    assert not _went_as_csv(copy_log)
    rows = conn.execute(
        text(
            "SELECT i4, i2, i8, f4::float8, f8, b, t, v, c, by, "
            "ST_SRID(geom), ST_X(geom), ST_Y(geom) FROM every"
        )
    ).all()
    by_i4 = {row[0]: tuple(row[1:]) for row in rows}
    # NaN and None load as NULL, and so do empty strings in text columns (not in bytea).
    assert by_i4 == {
        2: (1, 3, F4_TENTH, 0.1, True, "plain", "ä", "ab ", b"\x00\x01", 4326, 24.5, 60.1),
        -(2**31): (-32768, None, None, None, None, None, None, "abc", b"", None, None, None),
        2**31 - 1: (32767, 2**63 - 1, -1.5, 1e308, False, None, None, None, None, 4326, -180, -90),
        0: (
            None,
            -(2**63),
            float("inf"),
            -0.0,
            True,
            TRICKY_TEXT,
            "x" * 40,
            None,
            bytes(range(256)),
            4326,
            1e-9,
            89.999999999,
        ),
    }


def test_binary_and_csv_copy_store_the_same_rows(
    conn: Connection, copy_log: pytest.LogCaptureFixture
) -> None:
    columns = "i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, b boolean, t text, geom geometry"
    conn.execute(text(f"CREATE TEMP TABLE fast ({columns})"))
    conn.execute(text(f"CREATE TEMP TABLE slow ({columns}, d date)"))
    rng = np.random.default_rng(1)
    n = 300
    frame = gpd.GeoDataFrame(
        {
            "i2": pd.array(rng.integers(-999, 999, n), dtype="Int16"),
            "i4": np.arange(n),
            "i8": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 2**40, n))),
            "f4": np.round(rng.random(n), 3),
            "f8": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "b": rng.random(n) < 0.5,
            "t": [None if i % 7 == 0 else f'name {i}, "{i}"\n{"é" * (i % 5)}' for i in range(n)],
        },
        geometry=shapely.points(rng.random((n, 2))),
        crs="EPSG:4326",
    ).rename_geometry("geom")
    frame.loc[frame.index % 11 == 0, "geom"] = None
    frame["i8"] = frame["i8"].astype("Int64")
    copy_frame(conn, "fast", frame)
    assert not _went_as_csv(copy_log)
    copy_frame(conn, "slow", frame.assign(d=dt.date(2024, 1, 31)))  # date: CSV
    assert _went_as_csv(copy_log)
    select = "SELECT i2, i4, i8, f4, f8, b, t, ST_AsEWKB(geom) FROM {} ORDER BY i4"
    fast = conn.execute(text(select.format("fast"))).all()
    slow = conn.execute(text(select.format("slow"))).all()
    assert len(fast) == n
    assert fast == slow


def test_int2_and_int4_targets_take_values_in_range_and_reject_the_rest(
    conn: Connection, copy_log: pytest.LogCaptureFixture
) -> None:
    conn.execute(text("CREATE TEMP TABLE small (a int2, b int4)"))
    frame = pd.DataFrame({"a": np.array([-(2**15), 0, 2**15 - 1]), "b": [-(2**31), 7, 2**31 - 1]})
    copy_frame(conn, "small", frame)
    assert not _went_as_csv(copy_log)
    assert conn.execute(text("SELECT a, b FROM small ORDER BY a")).all() == [
        (-(2**15), -(2**31)),
        (0, 7),
        (2**15 - 1, 2**31 - 1),
    ]
    # Out of range: the frame goes as CSV and PostgreSQL names the problem.
    with pytest.raises(psycopg.errors.NumericValueOutOfRange, match="smallint"):
        copy_frame(conn, "small", pd.DataFrame({"a": [2**15], "b": [1]}))
    assert _went_as_csv(copy_log)


def test_mixed_geometries_and_srids_load_as_ewkb_with_srid_4326(
    conn: Connection, copy_log: pytest.LogCaptureFixture
) -> None:
    conn.execute(text("CREATE TEMP TABLE shapes (id int8, geom geometry)"))
    geoms = [
        Point(24.9, 60.2),
        Polygon([(0, 0), (1, 0), (1, 1), (0, 0)]),
        LineString([(0, 0, 1), (1, 1, 2)]),
        shapely.Point(),
        None,
    ]
    frame = gpd.GeoDataFrame({"id": range(5)}, geometry=geoms, crs="EPSG:4326").rename_geometry(
        "geom"
    )
    copy_frame(conn, "shapes", frame)
    assert not _went_as_csv(copy_log)
    rows = conn.execute(text("SELECT ST_AsText(geom), ST_SRID(geom) FROM shapes ORDER BY id")).all()
    assert rows == [
        ("POINT(24.9 60.2)", 4326),
        ("POLYGON((0 0,1 0,1 1,0 0))", 4326),
        ("LINESTRING Z (0 0 1,1 1 2)", 4326),
        ("POINT EMPTY", 4326),
        (None, None),
    ]
    back = read_geodataframe(conn, "SELECT id, ST_AsBinary(geom) AS geom FROM shapes ORDER BY id")
    assert back.geometry.values[4] is None
    assert shapely.equals_exact(back.geometry.values[:3], np.array(geoms[:3]), tolerance=0).all()
    assert back.geometry.values[3].is_empty


@pytest.mark.parametrize("srid", [None, 3067], ids=["no-srid", "other-srid"])
def test_points_load_with_srid_4326_whatever_srid_they_carry(
    conn: Connection, copy_log: pytest.LogCaptureFixture, srid: int | None
) -> None:
    conn.execute(text("CREATE TEMP TABLE pts (id int8, geom geometry(Point, 4326))"))
    points = shapely.points([[24.1, 60.1], [24.2, 60.2]])
    if srid is not None:
        points = shapely.set_srid(points, srid)
    frame = gpd.GeoDataFrame({"id": [1, 2]}, geometry=points, crs="EPSG:4326").rename_geometry(
        "geom"
    )
    copy_frame(conn, "pts", frame)
    assert not _went_as_csv(copy_log)
    assert conn.execute(text("SELECT ST_SRID(geom), ST_X(geom) FROM pts ORDER BY id")).all() == [
        (4326, 24.1),
        (4326, 24.2),
    ]


def test_hex_ewkb_strings_load_binary_and_wkt_goes_as_csv(
    conn: Connection, copy_log: pytest.LogCaptureFixture
) -> None:
    conn.execute(
        text("CREATE TEMP TABLE target (code text PRIMARY KEY, geom geometry(Point, 4326))")
    )
    geoms = [Point(24.9, 60.2), None, Point(25.0, 60.3)]
    frame = pd.DataFrame({"code": ["a", "b", "c"], "geom": to_ewkb_hex(geoms)})
    frame.loc[2, "geom"] = ""  # an empty string is NULL, as in CSV
    stage = stage_frame(conn, frame, like="target", name="_stage_target")
    assert not _went_as_csv(copy_log)
    assert conn.execute(text(f"SELECT code, ST_AsEWKT(geom) FROM {stage} ORDER BY code")).all() == [
        ("a", "SRID=4326;POINT(24.9 60.2)"),
        ("b", None),
        ("c", None),
    ]
    wkt = pd.DataFrame({"code": ["d"], "geom": ["SRID=4326;POINT(1 2)"]})
    copy_frame(conn, stage, wkt)
    assert _went_as_csv(copy_log)
    assert conn.execute(text(f"SELECT ST_AsText(geom) FROM {stage} WHERE code = 'd'")).scalar() == (
        "POINT(1 2)"
    )


def test_copy_in_chunks_keeps_every_row_in_order(
    conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_in, "_COPY_CHUNK_ROWS", 64)
    monkeypatch.setattr(bulk_in, "_COPY_CHUNK_BYTES", 2_000)
    conn.execute(text("CREATE TEMP TABLE many (id int8, t text, geom geometry)"))
    n = 1_000
    frame = gpd.GeoDataFrame(
        {"id": np.arange(n), "t": ["x" * (i % 50) for i in range(n)]},
        geometry=[Point(i, -i) if i % 3 else LineString([(0, 0), (i, i)]) for i in range(n)],
        crs="EPSG:4326",
    ).rename_geometry("geom")
    columns = bulk_in._binary_columns(conn.connection.driver_connection, "many", frame)
    assert columns is not None
    bounds = bulk_in._chunk_bounds(columns, n)
    assert np.diff(bounds).max() <= 64
    assert len(bounds) - 1 > 2 * (n // 64)  # the bytes bound cut more chunks than the rows bound
    copy_frame(conn, "many", frame)
    back = read_geodataframe(conn, "SELECT id, t, geom FROM many ORDER BY id")
    expected = frame.assign(t=frame["t"].where(frame["t"] != "", None))
    assert_geodataframe_equal(back.rename_geometry("geom"), expected)


def test_columns_without_a_binary_path_go_as_csv(
    conn: Connection, copy_log: pytest.LogCaptureFixture
) -> None:
    conn.execute(text("CREATE TEMP TABLE misc (d date, j jsonb, n numeric, t text)"))
    frame = pd.DataFrame(
        {
            "d": [dt.date(2024, 2, 29), None],
            "j": ['{"a": [1, 2]}', None],
            "n": [Decimal("12345678901234567890.123"), None],
            "t": ["x", None],
        }
    )
    copy_frame(conn, "misc", frame)
    assert _went_as_csv(copy_log)
    assert conn.execute(text("SELECT d, j, n, t FROM misc ORDER BY t")).all() == [
        (dt.date(2024, 2, 29), {"a": [1, 2]}, Decimal("12345678901234567890.123"), "x"),
        (None, None, None, None),
    ]


def _fill_every(conn: Connection) -> None:
    conn.execute(text(f"CREATE TEMP TABLE every ({ALL_TYPES})"))
    copy_frame(conn, "every", _every_type_frame())


def test_copy_reader_matches_the_cursor_reader_on_every_type(conn: Connection) -> None:
    _fill_every(conn)
    sql = "SELECT i2, i4, i8, f4, f8, b, t, v, c, ST_AsBinary(geom) AS geom FROM every ORDER BY i4"
    back = read_geodataframe(conn, sql)
    assert_geodataframe_equal(back, _read_old_way(conn, sql))
    assert back["i4"].tolist() == [-(2**31), 0, 2, 2**31 - 1]
    assert back["f4"].iloc[2] == F4_TENTH
    assert back["t"].iloc[1] == TRICKY_TEXT
    assert back.geometry.values[0] is None
    assert str(back["i2"].dtype) == "float64" and str(back["i4"].dtype) == "int64"
    assert str(back["b"].dtype) == "object" and str(back["t"].dtype) == "str"


def test_copy_reader_matches_the_cursor_reader_on_a_few_hundred_rows(conn: Connection) -> None:
    conn.execute(
        text(
            "CREATE TEMP TABLE spots AS SELECT i::int8 AS id, 'spot ' || i AS name, "
            "CASE WHEN i % 9 = 0 THEN NULL ELSE random() END AS value, i % 2 = 0 AS even, "
            "ST_SetSRID(ST_MakePoint(24 + random(), 60 + random()), 4326) AS geom "
            "FROM generate_series(1, 400) i"
        )
    )
    for sql in (
        "SELECT id, name, value, even, ST_AsBinary(geom) AS geom FROM spots ORDER BY id",
        "SELECT id, name, geom FROM spots ORDER BY id",  # EWKB with SRID
        "SELECT id, ST_AsBinary(ST_Buffer(geom, 0.01, 2)) AS geom FROM spots ORDER BY id",
    ):
        back = read_geodataframe(conn, sql)
        assert len(back) == 400
        assert_geodataframe_equal(back, _read_old_way(conn, sql))
    gpd_back = gpd.read_postgis(
        text("SELECT id, name, value, even, geom FROM spots ORDER BY id"), conn, geom_col="geom"
    )
    ours = read_geodataframe(
        conn, "SELECT id, name, value, even, ST_AsBinary(geom) AS geom FROM spots ORDER BY id"
    )
    assert np.array_equal(
        shapely.get_coordinates(ours.geometry.values),
        shapely.get_coordinates(gpd_back.geometry.values),
    )
    pd.testing.assert_frame_equal(
        pd.DataFrame(ours.drop(columns="geometry")), pd.DataFrame(gpd_back.drop(columns="geom"))
    )


def test_read_binds_named_parameters_client_side(conn: Connection) -> None:
    _fill_every(conn)
    sql = (
        "SELECT i4, t, ST_AsBinary(geom) AS geom FROM every "
        "WHERE (i4 = ANY(:ids) OR t = :name OR f8 > :big) AND :flag AND CAST(:nothing AS text) IS NULL "
        "AND 'literal 100%' LIKE '%\\%' AND i4::text::int4 = i4 ORDER BY i4"
    )
    params = {"ids": [2, 0], "name": "it's", "big": 1e307, "flag": True, "nothing": None}
    back = read_geodataframe(conn, sql, params)
    assert back["i4"].tolist() == [0, 2, 2**31 - 1]
    assert_geodataframe_equal(back, _read_old_way(conn, sql, params))


def test_read_falls_back_for_dates_jsonb_and_numeric(conn: Connection) -> None:
    back = read_geodataframe(
        conn,
        "SELECT DATE '2024-02-29' AS d, '{\"a\": 1}'::jsonb AS j, 1.50::numeric AS n, "
        "ST_AsBinary(ST_Point(1, 2)) AS geom",
    )
    assert back.loc[0, "d"] == dt.date(2024, 2, 29)
    assert back.loc[0, "j"] == {"a": 1}
    assert back.loc[0, "n"] == Decimal("1.50")
    assert back.geometry.values[0].equals(Point(1, 2))


def test_read_of_no_rows_and_of_geometry_alone(conn: Connection) -> None:
    _fill_every(conn)
    empty = read_geodataframe(
        conn, "SELECT i4, t, ST_AsBinary(geom) AS geom FROM every WHERE false"
    )
    assert len(empty) == 0 and list(empty.columns) == ["i4", "t", "geometry"]
    assert_geodataframe_equal(
        empty, _read_old_way(conn, "SELECT i4, t, ST_AsBinary(geom) AS geom FROM every WHERE false")
    )
    alone = read_geodataframe(conn, "SELECT ST_AsBinary(geom) AS geom FROM every ORDER BY i4")
    assert len(alone) == 4 and list(alone.columns) == ["geometry"]
    assert alone.crs == STORAGE_CRS


def test_read_sees_the_callers_uncommitted_rows(conn: Connection) -> None:
    conn.execute(
        text(
            "INSERT INTO gcrm.branches (code, name, geom) VALUES ('T1', 'Test', ST_Point(1, 2, 4326))"
        )
    )
    back = read_geodataframe(
        conn,
        "SELECT code, ST_AsBinary(geom) AS geom FROM gcrm.branches WHERE code = :code",
        {"code": "T1"},
    )
    assert back["code"].tolist() == ["T1"]


def test_write_geodataframe_replaces_the_table_with_index_and_statistics(conn: Connection) -> None:
    gdf = gpd.GeoDataFrame(
        {"id": [1, 2, 3], "name": ["a", None, "c"], "score": [0.5, np.nan, 2.0]},
        geometry=[Point(24, 60), Point(25, 61), None],
        crs="EPSG:4326",
    )
    assert write_geodataframe(conn, gdf, "bulk_test") == 3
    assert write_geodataframe(conn, gdf.iloc[:2], "bulk_test") == 2  # replaces
    back = read_geodataframe(
        conn, "SELECT id, name, score, ST_AsBinary(geom) AS geom FROM gcrm.bulk_test ORDER BY id"
    )
    assert_geodataframe_equal(back, gdf.iloc[:2])
    index = conn.execute(
        text(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'gcrm' AND tablename = 'bulk_test'"
        )
    ).scalar_one()
    assert "USING gist (geom)" in index
    analyzed = conn.execute(
        text("SELECT reltuples FROM pg_class WHERE oid = 'gcrm.bulk_test'::regclass")
    ).scalar_one()
    assert analyzed == 2
    assert conn.execute(text("SHOW maintenance_work_mem")).scalar() == "64MB"
    with pytest.raises(ValueError, match="EPSG:4326"):
        write_geodataframe(conn, gdf.set_crs("EPSG:3067", allow_override=True), "bulk_test")


def test_copy_stream_notices_rows_that_do_not_match_messages(conn: Connection) -> None:
    # PostgreSQL sends one message per row; the reader checks it instead of trusting it.
    _fill_every(conn)
    raw = conn.connection.driver_connection
    data, sizes = bulk_out._copy_out(
        raw, "COPY (SELECT i4, t FROM every) TO STDOUT (FORMAT binary)"
    )
    stream = bulk_out._CopyStream(data, sizes, n_fields=2)
    for _ in range(2):
        stream.next_field()
    stream.check_consumed()
    merged = np.concatenate([sizes[:1], [sizes[1] + sizes[2]], sizes[3:]])
    with pytest.raises(bulk_out._NotOneRowPerMessage):
        stream = bulk_out._CopyStream(data, merged, n_fields=2)
        for _ in range(2):
            stream.next_field()
        stream.check_consumed()
