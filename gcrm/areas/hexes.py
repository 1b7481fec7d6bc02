"""H3 hexagon levels for any region: the cells covering a level's areas, one level per
resolution, each nested under the next coarser one.

A hexagon is clipped to the areas it covers, so every level shares the region's edge. A
hexagon straddling two parents belongs to the parent that holds its centroid (the centroid of
the clipped hexagon, computed in the areas' own CRS); where no parent holds it (a hexagon cut
by a concave edge, a centroid on a shared border) it belongs to the parent it overlaps most.
Customers are placed in hexagons and in their parents independently, by their location
(``gcrm enrich``), so a straddling hexagon's customers count in the parent they stand in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from gcrm.areas.geometry import read_areas
from gcrm.areas.levels import AreaLevel, read_area_levels
from gcrm.core import STORAGE_CRS, NotFoundError, ValidationError
from gcrm.ingest import ImportReport, import_area_levels, import_frame
from gcrm.ingest.osm import polygonal_parts

__all__ = [
    "H3_LEVEL_PREFIX",
    "HexLevel",
    "HexLevels",
    "build_hex_levels",
    "build_hexes",
    "hex_level_name",
    "parent_by_centroid",
    "parse_resolutions",
]

#: Hexagon levels are named ``h3_r<resolution>``: ``h3_r7``, ``h3_r8``, ...
H3_LEVEL_PREFIX = "h3_r"
#: H3 resolutions run from 0 (continents) to 15 (about 1 m²).
_RESOLUTIONS = range(16)
#: A clipped hexagon keeping less than this share of its cell is a sliver of the edge: dropped.
SLIVER_SHARE = 1e-5


def hex_level_name(resolution: int) -> str:
    """The area level of H3 resolution ``resolution``, e.g. ``"h3_r8"``."""
    return f"{H3_LEVEL_PREFIX}{resolution}"


def parse_resolutions(value: str | Sequence[int]) -> list[int]:
    """H3 resolutions from ``"7,8,9"`` (or a sequence of ints), coarsest first, once each.

    Raises
    ------
    ValidationError
        When a resolution is not a whole number from 0 to 15, or none is given.
    """
    parts = value.split(",") if isinstance(value, str) else list(value)
    out: set[int] = set()
    for part in parts:
        text = str(part).strip()
        if not text.isdigit() or int(text) not in _RESOLUTIONS:
            msg = f"--resolution {str(value)!r}: {text!r} is not an H3 resolution; use whole numbers from 0 to 15, e.g. 7,8,9"
            raise ValidationError(msg)
        out.add(int(text))
    if not out:
        msg = f"--resolution {str(value)!r} names no resolution; use e.g. 7,8,9"
        raise ValidationError(msg)
    return sorted(out)


def build_hexes(
    parents: gpd.GeoDataFrame,
    *,
    resolution: int,
    level: str,
    region: shapely.Geometry | None = None,
    derivation: str | None = None,
) -> gpd.GeoDataFrame:
    """The H3 cells of ``resolution`` covering ``parents``, clipped, each with its parent.

    Parameters
    ----------
    parents
        The areas the hexagons nest under: ``code`` and (Multi)Polygon geometry, any CRS.
    resolution
        The H3 resolution (0-15; 7 is about 5 km², 8 about 0.7 km², 9 about 0.1 km²).
    level
        The level name the hexagons are given, e.g. ``"h3_r8"``.
    region
        What the hexagons cover, in the CRS of ``parents`` [default: the union of ``parents``].
    derivation
        How the level was made, as stored with each area [default: says the rule].

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``level, code, name, parent_code, derivation`` (``code`` the H3 cell index,
        ``parent_code`` the parent holding its centroid, see :func:`parent_by_centroid`),
        geometry in the CRS of ``parents``, by code.
    """
    if region is None:
        region = shapely.union_all(parents.geometry.values)
    region_ll = gpd.GeoSeries([region], crs=parents.crs).to_crs(STORAGE_CRS).iloc[0]
    shape = h3.geo_to_h3shape(region_ll)
    cells = sorted(h3.h3shape_to_cells_experimental(shape, resolution, contain="overlap"))
    # h3 has no array API for boundaries: one call per cell, thousands at most per city.
    polygons = [shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in cells]
    whole = gpd.GeoSeries(polygons, crs=STORAGE_CRS).to_crs(parents.crs).to_numpy()
    # Only cells on the edge need clipping: with the region prepared, the test of the others
    # is cheap, and an intersection with a long coastline is not.
    shapely.prepare(region)
    edge = ~shapely.contains_properly(region, whole)
    clipped = whole.copy()
    clipped[edge] = polygonal_parts(shapely.intersection(whole[edge], region))
    keep = shapely.area(clipped) > SLIVER_SHARE * shapely.area(whole)
    geoms = clipped[keep]
    codes = np.asarray(cells, dtype=object)[keep]
    return gpd.GeoDataFrame(
        {
            "level": level,
            "code": codes,
            "name": "hex " + pd.Series(codes, dtype=object),
            "parent_code": parent_by_centroid(geoms, parents),
            "derivation": derivation
            or f"H3 res-{resolution} cell clipped to the region; parent = the area holding its centroid",
        },
        geometry=geoms,
        crs=parents.crs,
    )


def parent_by_centroid(children: np.ndarray, parents: gpd.GeoDataFrame) -> np.ndarray:
    """Code of the parent holding each child's centroid; else of its largest overlap.

    Parameters
    ----------
    children
        (Multi)Polygons in the CRS of ``parents``.
    parents
        ``code`` and geometry.

    Returns
    -------
    numpy.ndarray
        A code per child (ties: the lowest code); ``""`` for a child touching no parent.
    """
    geoms, codes = parents.geometry.to_numpy(), parents["code"].to_numpy()
    tree = shapely.STRtree(geoms)
    child_idx, parent_idx = tree.query(shapely.centroid(children), predicate="within")
    by_centroid = _first_by_child(child_idx, codes[parent_idx], len(children))
    child_idx, parent_idx = tree.query(children, predicate="intersects")
    overlap = shapely.area(shapely.intersection(children[child_idx], geoms[parent_idx]))
    by_overlap = _first_by_child(child_idx, codes[parent_idx], len(children), rank=-overlap)
    return np.where(by_centroid != "", by_centroid, by_overlap)


def _first_by_child(
    child: np.ndarray, code: np.ndarray, n: int, *, rank: np.ndarray | None = None
) -> np.ndarray:
    """The first code of each child by ``rank`` then code; ``""`` for a child without any."""
    pairs = pd.DataFrame({"child": child, "rank": 0.0 if rank is None else rank, "code": code})
    best = pairs.sort_values(["child", "rank", "code"]).drop_duplicates("child")
    return best.set_index("child")["code"].reindex(range(n)).fillna("").to_numpy(dtype=object)


@dataclass(frozen=True)
class HexLevel:
    """One hexagon level built: its name, resolution, parent level and number of areas."""

    level: str
    resolution: int
    parent_level: str
    areas: int


@dataclass(frozen=True)
class HexLevels:
    """What :func:`build_hex_levels` built and how the import went."""

    levels: list[HexLevel]
    level_report: ImportReport
    area_report: ImportReport


def build_hex_levels(
    conn: Connection,
    *,
    resolutions: Sequence[int],
    under: str | None = None,
    rejects_path: Path,
) -> HexLevels:
    """Build and store H3 levels covering the areas of ``under``, one per resolution.

    Level ``h3_r<res>`` nests under the next coarser resolution, the coarsest under
    ``under``. The levels and areas are written by :mod:`gcrm.ingest` (the writer of
    ``gcrm.area_levels`` and ``gcrm.areas``), whose hierarchy check then runs; enrichment
    and the cube pick the new levels up like any other (run ``gcrm enrich``, then
    ``gcrm cube build``).

    Parameters
    ----------
    conn
        A connection inside the transaction the levels land in.
    resolutions
        H3 resolutions, e.g. ``[7, 8, 9]`` (see :func:`parse_resolutions`).
    under
        The level the coarsest hexagons nest under [default: the one top level, the level
        without a parent that is not a hexagon level].
    rejects_path
        Where areas the importer rejects are written.

    Returns
    -------
    HexLevels

    Raises
    ------
    ValidationError
        When ``under`` is not given and there is no single top level, or it is a hexagon
        level of a resolution not coarser than every one asked for.
    NotFoundError
        When ``under`` is not an area level or has no areas.
    """
    resolutions = parse_resolutions(resolutions)
    known = {lv.level: lv for lv in read_area_levels(conn)}
    under = _parent_level(known, under)
    coarsest = _resolution_of(under)
    if coarsest is not None and coarsest >= resolutions[0]:
        msg = f"--under {under!r} is not coarser than resolution {resolutions[0]}; pass a coarser level or finer resolutions"
        raise ValidationError(msg)
    parents = read_areas(conn, level=under)[["code", "geometry"]]
    region = shapely.union_all(parents.geometry.values)
    built, rows, parent_level = [], [], under
    for k, resolution in enumerate(resolutions, start=1):
        level = hex_level_name(resolution)
        derivation = (
            f"H3 res-{resolution} cell covering the {under} areas, clipped to them; "
            f"parent = the {parent_level} area holding its centroid (else of largest overlap)"
        )
        hexes = build_hexes(
            parents, resolution=resolution, level=level, region=region, derivation=derivation
        )
        built.append(hexes)
        rank = known[under].rank + k
        label = f"H3 hexagon (res {resolution})"
        rows.append((level, parent_level, rank, label, derivation))
        parents, parent_level = hexes[["code", "geometry"]], level
    source = f"H3 res {','.join(map(str, resolutions))} under {under}"
    level_frame = pd.DataFrame(
        rows, columns=["level", "parent_level", "rank", "label", "derivation"]
    )
    level_report = import_area_levels(conn, level_frame, source=source)
    areas = gpd.GeoDataFrame(pd.concat(built, ignore_index=True), crs=STORAGE_CRS)
    area_report = import_frame(conn, "areas", areas, source=source, rejects_path=rejects_path)
    levels = [
        HexLevel(row[0], res, row[1], len(hexes))
        for row, res, hexes in zip(rows, resolutions, built, strict=True)
    ]
    return HexLevels(levels, level_report, area_report)


def _resolution_of(level: str) -> int | None:
    """The H3 resolution of a hexagon level's name (``h3_r8``: 8), else None."""
    suffix = level.removeprefix(H3_LEVEL_PREFIX)
    return int(suffix) if suffix != level and suffix.isdigit() else None


def _parent_level(known: dict[str, AreaLevel], under: str | None) -> str:
    if under is not None:
        if under not in known:
            msg = f"--under {under!r} is not an area level; use one of {sorted(known)}"
            raise NotFoundError(msg)
        return under
    tops = [
        lv for lv, info in known.items() if info.parent_level is None and _resolution_of(lv) is None
    ]
    if len(tops) != 1:
        msg = f"there are {len(tops)} top levels {sorted(tops)}; pass --under LEVEL to say which the hexagons nest under"
        raise ValidationError(msg)
    return tops[0]
