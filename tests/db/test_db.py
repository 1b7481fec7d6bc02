"""The database boundary: migrations, COPY in, binary WKB out, clear connection errors."""

from __future__ import annotations

import geopandas as gpd
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point
from sqlalchemy import Connection, Engine, text

from gcrm.db import copy_frame, create_db_engine, init_schema, read_geodataframe
from gcrm.db.migrate import current_revision, head_revision
from gcrm.errors import DatabaseError


def test_schema_is_at_head_and_upgrade_is_idempotent(engine: Engine) -> None:
    assert current_revision(engine) == head_revision() == "0004"
    assert init_schema(engine) == "0004"
    with engine.connect() as conn:
        exts = {r[0] for r in conn.execute(text("SELECT extname FROM pg_extension"))}
    assert {"postgis", "pg_trgm", "fuzzystrmatch"} <= exts


def test_copy_in_and_wkb_out_round_trip(conn: Connection) -> None:
    gdf = gpd.GeoDataFrame(
        {"code": ["B1", "B2"], "name": ["North", 'Sö\'uth, "quoted"\ttab']},
        geometry=[Point(24.94, 60.17), Point(24.95, 60.16)],
        crs="EPSG:4326",
    ).rename_geometry("geom")
    assert copy_frame(conn, "gcrm.branches", gdf) == 2
    back = read_geodataframe(
        conn, "SELECT code, name, ST_AsBinary(geom) AS geom FROM gcrm.branches ORDER BY code"
    )
    assert_geodataframe_equal(back.rename_geometry("geom"), gdf, check_less_precise=False)


def test_unreachable_database_names_the_setting_and_the_fix() -> None:
    with pytest.raises(DatabaseError, match=r"GCRM_DATABASE_URL=.*make demo"):
        create_db_engine("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
