"""A map as a PNG image, drawn on the server with Pillow: no browser, no tiles, no network.

The areas are projected to Web Mercator (EPSG:3857, the CRS of the dashboard's map, so the
image has the shapes people saw on screen), fitted into the map frame and filled with one
colour each; a title band above lists the title lines (the first in bold), a panel on the
right holds the legend, and a footer the attribution. Polygons are drawn at twice the size
and scaled down, which smooths their edges while the inside of an area keeps its exact colour.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import geopandas as gpd
import numpy as np
import shapely
from PIL import Image, ImageDraw, ImageFont

from gcrm.core import ValidationError
from gcrm.maps.style import NO_DATA_COLOUR, OSM_ATTRIBUTION

__all__ = ["PNG_SIZE", "WEB_MERCATOR", "MapFrame", "map_frame", "pixel_geometry", "render_map_png"]

#: The image's size in pixels, width by height.
PNG_SIZE = (1600, 1200)
#: Web Mercator: the dashboard's map draws in it, so the image keeps the shapes seen there.
WEB_MERCATOR = "EPSG:3857"
_MIN_SIZE = (480, 360)
_BACKGROUND = "#f4f4f4"
_PAPER = "#ffffff"
_INK = "#1a1a1a"
_MUTED = "#595959"
#: The dashboard's area outlines (dashboard/assets/gcrm.js): white, the selected area red.
_OUTLINE = "#ffffff"
_SELECTED = "#d7301f"
_SUPERSAMPLE = 2
_SEP = " · "
_MARGIN = 24
_LEGEND_WIDTH = 380
_FOOTER = 30
_TITLE_PX, _LINE_PX, _LEGEND_PX, _SMALL_PX = 34, 21, 19, 15


@dataclass(frozen=True)
class MapFrame:
    """Where the map is drawn in the image: the box ``(left, top, right, bottom)`` in pixels,
    and the title band's height above it."""

    box: tuple[int, int, int, int]
    title_height: int


@cache
def _font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # DejaVu has the glyphs of area names and currencies (ä, ö, €, ›); Pillow's own font,
    # the fallback, has few beyond ASCII.
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(name, size)
    except OSError:
        return ImageFont.load_default(size=size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: object, width: int) -> list[str]:
    """``text`` in lines no wider than ``width`` pixels, broken at " · " or spaces."""

    def fits(candidate: str) -> bool:
        return draw.textlength(candidate, font=font) <= width  # type: ignore[arg-type]

    lines: list[str] = []
    line = ""
    for part in text.split(_SEP):
        candidate = f"{line}{_SEP}{part}" if line else part
        if fits(candidate):
            line = candidate
            continue
        if line:
            lines.append(line)
        line = part
        while not fits(line) and " " in line:  # a part too long on its own: break at spaces
            words = line.split(" ")
            cut = len(words) - 1
            while cut > 1 and not fits(" ".join(words[:cut])):
                cut -= 1
            lines.append(" ".join(words[:cut]))
            line = " ".join(words[cut:])
    lines.append(line)
    return lines


def _title_block(
    draw: ImageDraw.ImageDraw, title_lines: Sequence[str], width: int
) -> list[tuple[str, object]]:
    """``(line, font)`` of the title band: the first title line bold and large, the rest
    plain, each wrapped to ``width``."""
    block: list[tuple[str, object]] = []
    for i, text in enumerate(title_lines):
        font = _font(_TITLE_PX, bold=True) if i == 0 else _font(_LINE_PX)
        block += [(line, font) for line in _wrap(draw, str(text), font, width)]
    return block


def _line_height(font: object) -> int:
    return int(getattr(font, "size", _LINE_PX) * 1.35)


def map_frame(title_lines: Sequence[str], *, size: tuple[int, int] = PNG_SIZE) -> MapFrame:
    """The map's box in an image of ``size`` with ``title_lines`` above it (what
    :func:`render_map_png` draws into)."""
    width, height = _check_size(size)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    block = _title_block(probe, title_lines, width - 2 * _MARGIN)
    title_height = _MARGIN + sum(_line_height(f) for _, f in block) + _MARGIN // 2
    box = (_MARGIN, title_height, width - _LEGEND_WIDTH - _MARGIN, height - _FOOTER - _MARGIN // 2)
    return MapFrame(box=box, title_height=title_height)


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    width, height = (int(s) for s in size)
    if width < _MIN_SIZE[0] or height < _MIN_SIZE[1]:
        msg = f"size={size!r} is too small for a map with a title and legend; use at least {_MIN_SIZE}"
        raise ValidationError(msg)
    return width, height


def pixel_geometry(areas: gpd.GeoDataFrame, box: tuple[int, int, int, int]) -> np.ndarray:
    """The areas' geometry in pixels of ``box`` (``left, top, right, bottom``): projected to
    Web Mercator, scaled to fit with the aspect kept, centred, y pointing down."""
    if areas.crs is None:
        msg = "areas has no CRS; set it (areas.set_crs('EPSG:4326')) before drawing"
        raise ValidationError(msg)
    geoms = areas.geometry.to_crs(WEB_MERCATOR).to_numpy()
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    left, top, right, bottom = box
    span_x, span_y = max(maxx - minx, 1e-9), max(maxy - miny, 1e-9)
    scale = 0.96 * min((right - left) / span_x, (bottom - top) / span_y)
    off_x = left + ((right - left) - span_x * scale) / 2
    off_y = top + ((bottom - top) - span_y * scale) / 2

    def to_pixels(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(
            [off_x + (xy[:, 0] - minx) * scale, off_y + (maxy - xy[:, 1]) * scale]
        )

    return np.asarray(shapely.transform(geoms, to_pixels))


def _rings(geometry: shapely.Geometry) -> list[tuple[list[tuple[float, float]], list[list]]]:
    """``(exterior, holes)`` coordinate lists of each polygon of ``geometry``."""
    polygons = [
        p for p in shapely.get_parts(geometry) if isinstance(p, shapely.Polygon) and not p.is_empty
    ]
    return [
        (
            [tuple(c) for c in np.asarray(p.exterior.coords)],
            [[tuple(c) for c in np.asarray(r.coords)] for r in p.interiors],
        )
        for p in polygons
    ]


def _draw_areas(
    geoms: np.ndarray,
    colours: Sequence[str],
    *,
    size: tuple[int, int],
    highlighted: Sequence[bool],
) -> Image.Image:
    """The areas filled and outlined on a transparent layer of ``size``."""
    k = _SUPERSAMPLE
    layer = Image.new("RGBA", (size[0] * k, size[1] * k), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    # Larger areas first: an area inside another's hole is drawn after it, on top.
    order = np.argsort(-shapely.area(geoms))
    for i in order:
        for exterior, holes in _rings(geoms[i]):
            draw.polygon([(x * k, y * k) for x, y in exterior], fill=colours[i])
            for hole in holes:
                draw.polygon([(x * k, y * k) for x, y in hole], fill=(0, 0, 0, 0))
    # Outlines after every fill, so a neighbour's fill never covers them; the selected
    # area's last, on top of its neighbours'.
    for selected_pass in (False, True):
        for i in order:
            if bool(highlighted[i]) != selected_pass:
                continue
            colour, width = (
                (_SELECTED, 4 * k) if selected_pass else (_OUTLINE, max(1, int(1.2 * k)))
            )
            for exterior, holes in _rings(geoms[i]):
                for ring in (exterior, *holes):
                    draw.line([(x * k, y * k) for x, y in ring], fill=colour, width=width)
    return layer.resize(size, Image.Resampling.LANCZOS)


def _draw_legend(
    draw: ImageDraw.ImageDraw,
    *,
    left: int,
    top: int,
    width: int,
    title: str,
    rows: Sequence[tuple[str, str]],
    notes: Sequence[str],
) -> None:
    """The legend panel: a bold title, one swatch row per class, then notes."""
    pad = 14
    title_font, row_font, note_font = (
        _font(_LEGEND_PX, bold=True),
        _font(_LEGEND_PX),
        _font(_SMALL_PX),
    )
    title_lines = _wrap(draw, title, title_font, width - 2 * pad) if title else []
    note_lines = [line for n in notes for line in _wrap(draw, n, note_font, width - 2 * pad)]
    row_h = 32
    height = (
        2 * pad
        + len(title_lines) * _line_height(title_font)
        + len(rows) * row_h
        + (8 + len(note_lines) * _line_height(note_font) if note_lines else 0)
    )
    draw.rectangle([left, top, left + width, top + height], fill=_PAPER, outline="#cccccc")
    y = top + pad
    for line in title_lines:
        draw.text((left + pad, y), line, fill=_INK, font=title_font)
        y += _line_height(title_font)
    for colour, text in rows:
        draw.rectangle([left + pad, y + 4, left + pad + 34, y + 24], fill=colour, outline="#999999")
        draw.text((left + pad + 46, y + 3), str(text), fill=_INK, font=row_font)
        y += row_h
    if note_lines:
        y += 8
    for line in note_lines:
        draw.text((left + pad, y), line, fill=_MUTED, font=note_font)
        y += _line_height(note_font)


def render_map_png(
    areas: gpd.GeoDataFrame,
    *,
    fill: Mapping[str, str],
    legend: Sequence[tuple[str, str]],
    title_lines: Sequence[str],
    legend_title: str = "",
    notes: Sequence[str] = (),
    highlight: str | None = None,
    attribution: str = OSM_ATTRIBUTION,
    size: tuple[int, int] = PNG_SIZE,
) -> bytes:
    """Draw ``areas`` filled with their colours, a title band, a legend and the attribution,
    as PNG bytes.

    Parameters
    ----------
    areas
        The areas to draw: a column ``area_id`` and polygons in any CRS that is set (they
        are projected to Web Mercator).
    fill
        Fill colour (``"#rrggbb"``) by area id; an area without one is drawn as no data
        (:data:`gcrm.maps.NO_DATA_COLOUR`).
    legend
        ``(colour, label)`` rows of the legend, in order.
    title_lines
        The title band's lines: the first in bold, the others (the filters, the date of
        export) below it; long lines are wrapped at " · ".
    legend_title
        The legend's heading.
    notes
        Lines under the legend's rows (why a comparison is not shown, a method).
    highlight
        The id of an area outlined as the dashboard outlines the selected area.
    attribution
        The data's attribution, in the footer.
    size
        ``(width, height)`` of the image in pixels.

    Returns
    -------
    bytes
        A PNG image of ``size``, RGB.

    Raises
    ------
    ValidationError
        When ``areas`` is empty, has no ``area_id`` column or no CRS, or ``size`` is too small.
    """
    width, height = _check_size(size)
    if "area_id" not in areas.columns or areas.empty:
        msg = (
            "areas must hold at least one area with an 'area_id' column; "
            f"got {len(areas)} rows and columns {list(areas.columns)}"
        )
        raise ValidationError(msg)
    frame = map_frame(title_lines, size=(width, height))
    image = Image.new("RGB", (width, height), _PAPER)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = frame.box
    draw.rectangle([left, top, right, bottom], fill=_BACKGROUND)

    ids = areas["area_id"].astype(str).to_numpy()
    geoms = pixel_geometry(areas, frame.box)
    colours = [fill.get(a, NO_DATA_COLOUR) for a in ids]
    layer = _draw_areas(geoms, colours, size=(width, height), highlighted=ids == highlight)
    image.paste(layer, (0, 0), layer)

    y = _MARGIN
    bold = _font(_TITLE_PX, bold=True)
    for line, font in _title_block(draw, title_lines, width - 2 * _MARGIN):
        colour = _INK if font is bold else _MUTED
        draw.text((_MARGIN, y), line, fill=colour, font=font)  # type: ignore[arg-type]
        y += _line_height(font)
    _draw_legend(
        draw,
        left=right + _MARGIN,
        top=top,
        width=_LEGEND_WIDTH - _MARGIN,
        title=legend_title,
        rows=legend,
        notes=notes,
    )
    draw.text(
        (_MARGIN, height - _FOOTER), f"Map data {attribution}", fill=_MUTED, font=_font(_SMALL_PX)
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
