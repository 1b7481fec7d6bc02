"""Small vectorised geometry helpers shared by the demo builders."""

from __future__ import annotations

import numpy as np
import shapely

from gcrm.core import ValidationError
from gcrm.ingest.osm import polygonal_parts

__all__ = ["assign_to_areas", "polygonal_parts", "sample_points_in_polygons"]

_POLYGONAL = [3, 6]  # shapely type ids of Polygon and MultiPolygon
#: Candidates drawn per point and round, as a multiple of 1 / (polygon area / bounding box
#: area): about 1.5 expected hits, so roughly one point in five needs another round.
_EXPECTED_HITS = 1.5
_MAX_CANDIDATES = 1000


def assign_to_areas(points: np.ndarray, areas: np.ndarray) -> np.ndarray:
    """Index of the area each point lies in; ties on shared edges go to the lowest index.

    Points in no area go to the nearest one, so every point is counted exactly once.

    Parameters
    ----------
    points
        Array of shapely Points.
    areas
        Array of shapely (Multi)Polygons in the same CRS, one level of a tiling.

    Returns
    -------
    numpy.ndarray
        Integer index into ``areas`` for every point.
    """
    tree = shapely.STRtree(areas)
    point_idx, area_idx = tree.query(points, predicate="intersects")
    order = np.lexsort((area_idx, point_idx))
    point_idx, area_idx = point_idx[order], area_idx[order]
    first = np.unique(point_idx, return_index=True)[1]
    result = np.full(len(points), -1, dtype=np.int64)
    result[point_idx[first]] = area_idx[first]
    unmatched = np.flatnonzero(result < 0)
    if len(unmatched):
        nearest = tree.query_nearest(points[unmatched], all_matches=False)
        result[unmatched[nearest[0]]] = nearest[1]
    return result


def sample_points_in_polygons(
    polygons: np.ndarray, which: np.ndarray, *, rng: np.random.Generator
) -> np.ndarray:
    """Uniform random points, the i-th inside ``polygons[which[i]]``.

    Rejection sampling in each polygon's bounding box, vectorised over all points: every
    round draws a few candidates per unplaced point (more for polygons that fill little of
    their box) and keeps the first candidate that falls inside.

    Parameters
    ----------
    polygons
        Array of shapely (Multi)Polygons with positive area, in a projected CRS (uniform in
        its coordinates).
    which
        Integer index into ``polygons``, one per point wanted.
    rng
        Source of every random draw; the same state gives the same points.

    Returns
    -------
    numpy.ndarray
        Coordinates, shape ``(len(which), 2)``.

    Raises
    ------
    ValidationError
        If a polygon that ``which`` points to has no area (no point could ever land in it).
    """
    polygons = np.asarray(polygons, dtype=object)
    which = np.asarray(which, dtype=np.int64)
    used = np.unique(which)
    empty = used[shapely.area(polygons[used]) <= 0]
    if len(empty):
        msg = (
            f"polygons at indices {empty[:5].tolist()} have no area, so no point can be placed "
            "in them; drop them from `which` or pass polygons with a positive area"
        )
        raise ValidationError(msg)
    shapely.prepare(polygons)
    bounds = shapely.bounds(polygons)
    box_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    fill = shapely.area(polygons) / np.where(box_area > 0, box_area, 1.0)
    per_point = np.clip(np.ceil(_EXPECTED_HITS / np.maximum(fill, 1e-9)), 1, _MAX_CANDIDATES)
    xy = np.full((len(which), 2), np.nan)
    todo = np.arange(len(which))
    while len(todo):
        owner = np.repeat(todo, per_point[which[todo]].astype(np.int64))
        box = bounds[which[owner]]
        u = rng.random((len(owner), 2))
        cx = box[:, 0] + u[:, 0] * (box[:, 2] - box[:, 0])
        cy = box[:, 1] + u[:, 1] * (box[:, 3] - box[:, 1])
        hits = np.flatnonzero(shapely.contains_xy(polygons[which[owner]], cx, cy))
        placed, first = np.unique(owner[hits], return_index=True)
        xy[placed, 0] = cx[hits[first]]
        xy[placed, 1] = cy[hits[first]]
        todo = todo[np.isnan(xy[todo, 0])]
    return xy
