"""The offline basemap: 256-pixel PNG tiles of Web Mercator drawn from gcrm's own layers.

PostGIS clips and projects each layer to the tile's pixels (``tiles.sql``: ``ST_TileEnvelope``
and ``ST_AsMVTGeom``); Pillow draws them at twice the size and halves it (antialiasing) in a
quiet, light palette, so that the choropleth drawn over it stays readable. Layers, bottom up:
land (the background), built-up zones, green and water zones, buildings (from zoom
:data:`BUILDING_ZOOM`), roads by class (minor classes only at higher zooms).

A tile with nothing of gcrm's in it is the plain background tile. With a ``cache_dir``, tiles
are kept under ``cache_dir/<fingerprint>/z/x/y.png``: the fingerprint changes with every
import of the layers (and with the palette and SQL here), so a stale tile is never served.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import shapely
from PIL import Image, ImageDraw
from sqlalchemy import Connection, text

from gcrm.core import ValidationError
from gcrm.store import load_queries

__all__ = [
    "BASEMAP_COLOURS",
    "BUILDING_ZOOM",
    "MAX_ZOOM",
    "ROAD_STYLES",
    "TILE_SIZE",
    "RoadStyle",
    "basemap_fingerprint",
    "check_tile",
    "render_basemap_tile",
]

_SQL = load_queries(__package__, "tiles.sql")
#: Pixels across a tile, as Leaflet asks for them.
TILE_SIZE = 256
#: Drawn this many times larger, then reduced: antialiased edges at Pillow's speed.
_SUPERSAMPLE = 2
#: Pixels drawn around the tile (at the drawn size), so strokes crossing its edge join up.
_BUFFER_PX = 32
#: The deepest zoom served: about 15 cm a pixel at 60° N, finer than any layer gcrm holds.
MAX_ZOOM = 22
#: Buildings are drawn from this zoom (below it they are a few pixels each: a grey haze).
BUILDING_ZOOM = 14
#: Web Mercator's width in metres (EPSG:3857, 2 * pi * 6378137).
_WORLD_M = 40075016.685578488
#: Import kinds (gcrm.import_runs) whose layers the basemap draws.
_LAYER_KINDS = ("roads", "zones", "buildings")

#: A quiet palette after CARTO's Positron: light land, pale water and green, white roads.
BASEMAP_COLOURS: dict[str, str] = {
    "land": "#f4f3f0",
    "built": "#eeece8",
    "green": "#e0ead6",
    "water": "#cfdde6",
    "building": "#e2dfda",
    "building_edge": "#d6d2cc",
    "road_casing": "#d3d0ca",
    "road": "#ffffff",
    "major_road": "#fdf6e3",
}
#: OSM ``landuse`` values of ``gcrm.zones`` drawn as water and as green space.
_WATER_LANDUSE = ("basin", "reservoir", "pond", "salt_pond", "water")
_GREEN_LANDUSE = (
    "allotments",
    "cemetery",
    "flowerbed",
    "forest",
    "grass",
    "greenery",
    "meadow",
    "orchard",
    "park",
    "plant_nursery",
    "recreation_ground",
    "village_green",
    "vineyard",
)
#: Zoning classes (gcrm.core.ZONE_CLASSES) tinted as built-up land.
_BUILT_CLASSES = ("commercial", "industrial")


@dataclass(frozen=True)
class RoadStyle:
    """How one road class is drawn: from ``min_zoom``, ``width_px`` wide at zoom 14 (wider or
    narrower by half for each zoom level more or less), ``major`` roads in a warmer white,
    ``rank`` higher over lower where they cross."""

    min_zoom: int
    width_px: float
    rank: int
    major: bool = False


#: Road classes (OSM ``highway``, ``_link`` folded into its class); others as ``service``.
ROAD_STYLES: dict[str, RoadStyle] = {
    "motorway": RoadStyle(5, 7.0, 9, major=True),
    "trunk": RoadStyle(6, 6.5, 8, major=True),
    "primary": RoadStyle(8, 6.0, 7, major=True),
    "secondary": RoadStyle(10, 5.0, 6),
    "tertiary": RoadStyle(11, 4.5, 5),
    "residential": RoadStyle(13, 3.5, 4),
    "unclassified": RoadStyle(13, 3.5, 4),
    "living_street": RoadStyle(13, 3.0, 3),
    "road": RoadStyle(13, 3.0, 3),
    "service": RoadStyle(15, 2.0, 2),
    "track": RoadStyle(15, 1.5, 1),
}
_OTHER_ROAD = ROAD_STYLES["service"]
#: Roads narrower than this (final pixels) get no casing: a line of the casing's colour.
_CASED_FROM_PX = 2.5
#: Shapely's type id of a Polygon; the fewest coordinates of a ring and of a line worth drawing.
_POLYGON = 3
_RING_MIN = 3
_LINE_MIN = 2
#: Lines wider than this many drawn pixels get round ends (thinner ones are round enough).
_ROUND_ENDS_FROM = 2


def check_tile(*, z: int, x: int, y: int) -> None:
    """Check a tile address of Web Mercator's XYZ scheme (Leaflet's and OpenStreetMap's).

    Raises
    ------
    ValidationError
        When ``z`` is not in 0..MAX_ZOOM, or ``x`` or ``y`` not in 0..2**z - 1; the message
        names the value and the valid range.
    """
    if not 0 <= z <= MAX_ZOOM:
        msg = f"zoom z={z} is out of range; use 0..{MAX_ZOOM}"
        raise ValidationError(msg)
    last = 2**z - 1
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value <= last:
            msg = f"tile {name}={value} is out of range at zoom {z}; use 0..{last}"
            raise ValidationError(msg)


def basemap_fingerprint(conn: Connection) -> str:
    """What the tiles are drawn from, in 16 hex digits: the database, the last import of
    roads, zones or buildings, and this module's palette, styles and SQL."""
    row = conn.execute(text(_SQL["layers_stamp"]), {"kinds": list(_LAYER_KINDS)}).one()
    return hashlib.sha256(f"{row.database}:{row.stamp}:{_style_key()}".encode()).hexdigest()[:16]


def render_basemap_tile(
    conn: Connection, *, z: int, x: int, y: int, cache_dir: Path | None = None
) -> bytes:
    """The basemap tile ``z/x/y`` as a 256x256 PNG, drawn from the layers in the database.

    Parameters
    ----------
    conn
        Connection to the gcrm database (it reads ``gcrm.roads``, ``gcrm.zones``,
        ``gcrm.buildings`` and ``gcrm.import_runs``: no customer data).
    z, x, y
        The tile in Web Mercator's XYZ scheme (``y`` counted from the north).
    cache_dir
        Keep tiles with data under ``cache_dir/<fingerprint>/z/x/y.png`` and serve them from
        there until the layers are imported again (tiles of other fingerprints are removed as
        the first tile of a new one is written). None: draw every time.

    Returns
    -------
    bytes
        PNG, RGB, 256x256; the plain background tile where gcrm holds nothing.

    Raises
    ------
    ValidationError
        When ``z``, ``x`` or ``y`` is out of range (:func:`check_tile`).
    """
    check_tile(z=z, x=x, y=y)
    if cache_dir is None:
        return _draw_tile(conn, z=z, x=x, y=y)
    fingerprint = basemap_fingerprint(conn)
    path = cache_dir / fingerprint / str(z) / str(x) / f"{y}.png"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    png = _draw_tile(conn, z=z, x=x, y=y)
    # Empty tiles are not kept: any address in the world can be asked for, and they are all
    # the same bytes, made once per process.
    if png is not _background_tile():
        _keep(path, png, cache_dir=cache_dir, fingerprint=fingerprint)
    return png


@cache
def _background_tile() -> bytes:
    """The plain land-coloured tile (one object per process)."""
    return _png(Image.new("RGB", (TILE_SIZE, TILE_SIZE), BASEMAP_COLOURS["land"]))


def _draw_tile(conn: Connection, *, z: int, x: int, y: int) -> bytes:
    size = TILE_SIZE * _SUPERSAMPLE
    params = {
        "z": z,
        "x": x,
        "y": y,
        "extent": size,
        "buffer": _BUFFER_PX,
        # Half a drawn pixel, in metres of EPSG:3857 at this zoom.
        "tolerance_m": _WORLD_M / 2**z / size / 2,
        "building_zoom": BUILDING_ZOOM,
        "road_classes": _road_classes(z),
        "water": list(_WATER_LANDUSE),
        "green": list(_GREEN_LANDUSE),
        "built": list(_BUILT_CLASSES),
    }
    rows = conn.execute(text(_SQL["tile_features"]), params).all()
    if not rows:
        return _background_tile()
    layers = np.array([r.layer for r in rows])
    kinds = np.array([r.kind or "" for r in rows])
    geoms = shapely.from_wkb([bytes(r.geom) for r in rows])
    image = Image.new("RGB", (size, size), BASEMAP_COLOURS["land"])
    for kind in ("built", "green", "water"):
        _fill(image, geoms[(layers == "zone") & (kinds == kind)], BASEMAP_COLOURS[kind])
    _fill(
        image,
        geoms[layers == "building"],
        BASEMAP_COLOURS["building"],
        edge=BASEMAP_COLOURS["building_edge"],
    )
    roads = layers == "road"
    _draw_roads(image, geoms[roads], kinds[roads], z=z)
    return _png(image.reduce(_SUPERSAMPLE))


def _road_classes(z: int) -> list[str]:
    return [name for name, style in ROAD_STYLES.items() if style.min_zoom <= z]


def _road_width(style: RoadStyle, z: int) -> float:
    """Final pixels: ``width_px`` at zoom 14, x1.5 per zoom level, between 0.5 and 40."""
    return float(min(40.0, max(0.5, style.width_px * 1.5 ** (z - 14))))


def _draw_roads(image: Image.Image, geoms: np.ndarray, kinds: np.ndarray, *, z: int) -> None:
    """Casings of every road first, then the fills from the least to the most important, so
    that crossings join up and a main road runs over the streets that meet it."""
    styles = [ROAD_STYLES.get(str(kind), _OTHER_ROAD) for kind in kinds]
    order = np.argsort([style.rank for style in styles], kind="stable")
    styles = [styles[i] for i in order]
    width = np.array([_road_width(style, z) for style in styles])
    cased = width >= _CASED_FROM_PX
    draw = ImageDraw.Draw(image)
    casing = np.where(cased, width + 2, width) * _SUPERSAMPLE
    _stroke(draw, geoms[order], casing, [BASEMAP_COLOURS["road_casing"]] * len(styles))
    fills = [
        BASEMAP_COLOURS["major_road" if style.major else "road"]
        for style, wide in zip(styles, cased.tolist(), strict=True)
        if wide
    ]
    _stroke(draw, geoms[order][cased], width[cased] * _SUPERSAMPLE, fills)


def _stroke(
    draw: ImageDraw.ImageDraw, geoms: np.ndarray, widths: np.ndarray, colours: Sequence[str]
) -> None:
    """Lines with round joins and ends (Pillow draws neither end round), in order."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    pixels = [max(1, round(w)) for w in widths.tolist()]
    of = owner.tolist()
    # One call per line: Pillow draws one polyline at a time.
    for part, flat in _coordinates(parts):
        if len(flat) < 2 * _LINE_MIN:
            continue
        width, colour = pixels[of[part]], colours[of[part]]
        draw.line(flat, fill=colour, width=width, joint="curve")
        if width > _ROUND_ENDS_FROM:
            r = width / 2
            for cx, cy in ((flat[0], flat[1]), (flat[-2], flat[-1])):
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)


def _fill(image: Image.Image, geoms: np.ndarray, colour: str, *, edge: str | None = None) -> None:
    """Fill polygons with their holes: rings are drawn into a mask (holes cleared), then the
    colour is pasted through it; ``edge`` outlines the outer rings."""
    polygons = shapely.get_parts(geoms)
    polygons = polygons[shapely.get_type_id(polygons) == _POLYGON]
    if not len(polygons):
        return
    rings, owner = shapely.get_rings(polygons, return_index=True)
    exterior = np.r_[True, owner[1:] != owner[:-1]]
    mask = Image.new("L", image.size, 0)
    shape = ImageDraw.Draw(mask)
    outlines = []
    # One call per ring: Pillow fills one polygon at a time. A polygon's holes follow its
    # outer ring, so they are cleared from it before the next polygon is drawn.
    outer = exterior.tolist()
    for ring, flat in _coordinates(rings):
        if len(flat) < 2 * _RING_MIN:
            continue
        shape.polygon(flat, fill=255 if outer[ring] else 0)
        if outer[ring]:
            outlines.append(flat)
    image.paste(colour, mask=mask)
    if edge is not None:
        outline = ImageDraw.Draw(image)
        for flat in outlines:
            outline.line(flat, fill=edge, width=1)


def _coordinates(geoms: np.ndarray) -> Iterable[tuple[int, list[float]]]:
    """``(index in geoms, its coordinates as x0, y0, x1, ...)`` for each geometry with any,
    read in one call."""
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    if not len(index):
        return []
    starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
    flat = coords.ravel().tolist()
    bounds = [*(2 * starts).tolist(), len(flat)]
    return (
        (owner, flat[bounds[i] : bounds[i + 1]]) for i, owner in enumerate(index[starts].tolist())
    )


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def _keep(path: Path, png: bytes, *, cache_dir: Path, fingerprint: str) -> None:
    """Write ``png`` to ``path`` beside it and rename it into place (readers never see half a
    tile); the first tile of a new fingerprint removes the tiles of the others."""
    current = cache_dir / fingerprint
    if not current.exists():
        for old in cache_dir.glob("*"):
            if old.is_dir() and old.name != fingerprint:
                shutil.rmtree(old, ignore_errors=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.stem}.{uuid.uuid4().hex}.tmp")
        scratch.write_bytes(png)
        os.replace(scratch, path)
    except OSError:
        # A full disk or a directory removed by another process for a newer fingerprint: the
        # tile is still served, only not kept.
        return


@cache
def _style_key() -> str:
    parts = [
        repr(sorted(BASEMAP_COLOURS.items())),
        repr(sorted(ROAD_STYLES.items())),
        repr((_WATER_LANDUSE, _GREEN_LANDUSE, _BUILT_CLASSES, BUILDING_ZOOM, _SUPERSAMPLE)),
        *(_SQL[name] for name in _SQL),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
