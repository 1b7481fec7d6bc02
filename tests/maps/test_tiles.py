"""The offline basemap's tiles (gcrm.maps.tiles): drawn from the demo's real layers, a plain
tile where gcrm holds nothing, tile addresses checked, and the disk cache kept and dropped."""

from __future__ import annotations

import io
import math
from pathlib import Path

import geopandas as gpd
import pytest
from PIL import Image, ImageColor
from shapely.geometry import LineString
from sqlalchemy import Connection, text

from gcrm.core import ValidationError
from gcrm.ingest import import_frame
from gcrm.maps import BASEMAP_COLOURS, MAX_ZOOM, check_tile, render_basemap_tile

LAND = ImageColor.getrgb(BASEMAP_COLOURS["land"])
ROAD = ImageColor.getrgb(BASEMAP_COLOURS["road"])


def _tile_pixel(lon: float, lat: float, z: int) -> tuple[int, int, int, int]:
    """Tile x, y and the pixel within it of a point (Web Mercator's XYZ scheme, 256 px)."""
    n = 2**z
    fx = (lon + 180.0) / 360.0 * n
    fy = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    x, y = int(fx), int(fy)
    return x, y, int((fx - x) * 256), int((fy - y) * 256)


def _image(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (256, 256)
    return image.convert("RGB")


def test_a_tile_over_the_demo_draws_its_roads_where_they_are(demo_conn: Connection) -> None:
    # The middle of the demo's longest secondary road (white, not a major road's cream).
    lon, lat = demo_conn.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_LineInterpolatePoint(geom, 0.5) AS p "
            "FROM gcrm.roads WHERE class = 'secondary' "
            "ORDER BY ST_Length(geom::geography) DESC, ref LIMIT 1) s"
        )
    ).one()
    z = 16
    x, y, px, py = _tile_pixel(lon, lat, z)

    image = _image(render_basemap_tile(demo_conn, z=z, x=x, y=y))

    colours = image.getcolors(maxcolors=256 * 256)
    assert colours is not None and len(colours) > 10  # roads, casings, buildings, land
    assert image.getpixel((px, py)) == ROAD
    assert ROAD != LAND


def test_a_tile_where_gcrm_holds_nothing_is_plain_land(demo_conn: Connection) -> None:
    x, y, _, _ = _tile_pixel(-150.0, 0.0, 10)  # the Pacific

    image = _image(render_basemap_tile(demo_conn, z=10, x=x, y=y))

    assert image.getcolors() == [(256 * 256, LAND)]


@pytest.mark.parametrize(
    ("tile", "named"),
    [
        ({"z": -1, "x": 0, "y": 0}, f"z=-1 is out of range; use 0..{MAX_ZOOM}"),
        ({"z": MAX_ZOOM + 1, "x": 0, "y": 0}, f"z={MAX_ZOOM + 1} is out of range"),
        ({"z": 3, "x": 8, "y": 0}, "x=8 is out of range at zoom 3; use 0..7"),
        ({"z": 3, "x": 0, "y": -1}, "y=-1 is out of range at zoom 3; use 0..7"),
    ],
)
def test_tile_addresses_out_of_range_are_refused_by_name(tile: dict[str, int], named: str) -> None:
    with pytest.raises(ValidationError, match=named.replace(".", r"\.")):
        check_tile(**tile)


def _import_road(conn: Connection, tmp_path: Path, *, lat: float) -> None:
    roads = gpd.GeoDataFrame(
        {"ref": ["tile-test-1"], "class": ["secondary"], "name": ["Tile Street"]},
        geometry=[LineString([(10.0, lat), (10.01, lat)])],
        crs="EPSG:4326",
    )
    import_frame(conn, "roads", roads, source="tiles test", rejects_path=tmp_path / "r.csv")


def test_tiles_are_kept_and_drawn_again_when_roads_are_imported(
    conn: Connection, tmp_path: Path
) -> None:
    cache = tmp_path / "tiles"
    _import_road(conn, tmp_path, lat=50.0)
    z = 15
    x, y, px, py = _tile_pixel(10.005, 50.0, z)

    first = render_basemap_tile(conn, z=z, x=x, y=y, cache_dir=cache)
    kept = list(cache.glob(f"*/{z}/{x}/{y}.png"))
    assert len(kept) == 1 and kept[0].read_bytes() == first
    assert _image(first).getpixel((px, py)) == ROAD

    # The second call reads the kept file: what is there is what comes back.
    marked = first + b"kept"
    kept[0].write_bytes(marked)
    assert render_basemap_tile(conn, z=z, x=x, y=y, cache_dir=cache) == marked

    # Roads imported again (the road moved north, out of this row of pixels): a new
    # fingerprint, the tile drawn anew, the old fingerprint's tiles gone.
    _import_road(conn, tmp_path, lat=50.0005)
    again = render_basemap_tile(conn, z=z, x=x, y=y, cache_dir=cache)
    assert again != marked
    assert _image(again).getpixel((px, py)) != ROAD
    assert not kept[0].exists()
    assert len(list(cache.glob(f"*/{z}/{x}/{y}.png"))) == 1


def test_empty_tiles_are_not_kept(conn: Connection, tmp_path: Path) -> None:
    cache = tmp_path / "tiles"
    x, y, _, _ = _tile_pixel(-150.0, 0.0, 12)

    render_basemap_tile(conn, z=12, x=x, y=y, cache_dir=cache)

    assert not list(cache.rglob("*.png"))
