"""H3 hexagon levels: built over a tiny world, stored by the importer, enriched and drilled
in the cube; and the rule that places a hexagon straddling two parents."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely
from shapely import box
from sqlalchemy import Connection, text

from gcrm.areas.hexes import (
    build_hex_levels,
    build_hexes,
    hex_level_name,
    parent_by_centroid,
    parse_resolutions,
)
from gcrm.core import NotFoundError, ValidationError
from gcrm.cube import build_region_cube, children, select_measure
from gcrm.enrich import enrich_points
from tests.areas.world import CRS, X0, Y0, build_world

#: Two 1 km squares side by side (the world's zones Z1 west, Z2 east), EPSG:3067.
SQUARES = gpd.GeoDataFrame(
    {"code": ["Z1", "Z2"]},
    geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)],
    crs=CRS,
)


def test_parse_resolutions_sorts_and_rejects_what_is_not_h3() -> None:
    assert parse_resolutions("9, 7,8,7") == [7, 8, 9]
    assert hex_level_name(8) == "h3_r8"
    for bad in ("7,16", "seven", ""):
        with pytest.raises(ValidationError, match="--resolution"):
            parse_resolutions(bad)


def test_hexes_tile_the_parents_and_sit_under_the_one_holding_their_centroid() -> None:
    hexes = build_hexes(SQUARES, resolution=9, level="h3_r9")
    union = shapely.union_all(SQUARES.geometry.values)
    assert hexes.crs == SQUARES.crs
    assert hexes["code"].map(h3.get_resolution).eq(9).all()
    assert hexes.geometry.area.sum() == pytest.approx(union.area, rel=1e-9)
    geoms = hexes.geometry.to_numpy()
    assert not shapely.overlaps(geoms[:, None], geoms).any()
    centroids = hexes.geometry.centroid
    west = centroids.x < X0 + 1000
    assert set(hexes.loc[west, "parent_code"]) == {"Z1"}
    assert set(hexes.loc[~west, "parent_code"]) == {"Z2"}
    # Some hexagons straddle the border x = X0 + 1000 and still have one parent each.
    straddling = hexes.geometry.bounds.pipe(lambda b: (b.minx < X0 + 1000) & (b.maxx > X0 + 1000))
    assert straddling.sum() >= 2


def test_a_child_whose_centroid_no_parent_holds_goes_to_its_largest_overlap() -> None:
    # 100 x 100 m in Z1, 50 x 100 m in Z2 and 100 x 100 m far north of both: the centroid
    # (y = 1310 m) lies in no parent, and Z1 holds the larger part.
    parts = shapely.MultiPolygon(
        [
            box(X0 + 100, Y0 + 100, X0 + 200, Y0 + 200),
            box(X0 + 1800, Y0 + 100, X0 + 1850, Y0 + 200),
            box(X0 + 1000, Y0 + 3000, X0 + 1100, Y0 + 3100),
        ]
    )
    inside = box(X0 + 1500, Y0 + 100, X0 + 1600, Y0 + 200)
    assert not SQUARES.geometry.contains(parts.centroid).any()
    codes = parent_by_centroid(np.array([parts, inside], dtype=object), SQUARES)
    assert codes.tolist() == ["Z1", "Z2"]


def test_hex_levels_are_stored_nested_enriched_and_drilled_in_the_cube(
    conn: Connection, tmp_path: Path
) -> None:
    build_world(conn, tmp_path)
    built = build_hex_levels(conn, resolutions=[9, 8, 7], rejects_path=tmp_path / "rejects.csv")

    assert [(lv.level, lv.parent_level) for lv in built.levels] == [
        ("h3_r7", "zone"),
        ("h3_r8", "h3_r7"),
        ("h3_r9", "h3_r8"),
    ]
    levels = conn.execute(
        text("SELECT level, parent_level, rank FROM gcrm.area_levels ORDER BY rank, level")
    ).all()
    assert [tuple(r) for r in levels] == [
        ("zone", None, 1),
        ("h3_r7", "zone", 2),
        ("h3_r8", "h3_r7", 3),
        ("h3_r9", "h3_r8", 4),
    ]
    report = built.area_report
    assert report.rejected == 0
    assert report.rows_read == sum(lv.areas for lv in built.levels)
    assert report.rows_read == report.inserted + report.updated + report.unchanged + report.rejected
    orphans = conn.execute(
        text("SELECT count(*) FROM gcrm.areas WHERE level LIKE 'h3_r%' AND parent_code IS NULL")
    ).scalar_one()
    assert orphans == 0

    enrich_points(conn)
    codes = dict(
        conn.execute(
            text(
                "SELECT external_id, area_codes->>'h3_r9' FROM gcrm.customers ORDER BY external_id"
            )
        ).all()
    )
    places = text("SELECT external_id, ST_Y(geom), ST_X(geom) FROM gcrm.customers")
    lonlat = {r[0]: (r[1], r[2]) for r in conn.execute(places)}
    assert codes == {c: h3.latlng_to_cell(*lonlat[c], 9) for c in codes}

    ds = build_region_cube(conn)
    assert {"h3_r7", "h3_r8", "h3_r9"} <= set(ds["level"].values.tolist())
    # Drill from a zone down to its hexagons, one level at a time.
    r7 = children(ds, "zone:Z1")
    assert r7 and all(a.startswith("h3_r7:") for a in r7)
    total = float(select_measure(ds, "customers", level="h3_r9").sum())
    assert total == float(select_measure(ds, "customers", level="zone").sum()) == 4
    r8 = [a for p in r7 for a in children(ds, p)]
    r9 = [a for p in r8 for a in children(ds, p)]
    assert r9 and all(a.startswith("h3_r9:") for a in r9)


def test_hex_levels_need_a_known_level_or_a_single_top_level(
    conn: Connection, tmp_path: Path
) -> None:
    build_world(conn, tmp_path)
    with pytest.raises(NotFoundError, match="--under 'county'"):
        build_hex_levels(conn, resolutions=[8], under="county", rejects_path=tmp_path / "r.csv")
    build_hex_levels(conn, resolutions=[8], rejects_path=tmp_path / "r.csv")
    with pytest.raises(ValidationError, match="not coarser than resolution 7"):
        build_hex_levels(conn, resolutions=[7], under="h3_r8", rejects_path=tmp_path / "r.csv")
