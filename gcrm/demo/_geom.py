"""Small vectorised geometry helpers shared by the demo builders."""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["assign_to_areas", "polygonal_parts"]

_POLYGONAL = [3, 6]  # shapely type ids of Polygon and MultiPolygon


def polygonal_parts(geometry: np.ndarray) -> np.ndarray:
    """Keep only the polygonal parts of each geometry (``make_valid`` / clipping leftovers).

    Parameters
    ----------
    geometry
        Array of shapely geometries.

    Returns
    -------
    numpy.ndarray
        Polygons and MultiPolygons; a geometry without any polygonal part becomes an empty
        Polygon.
    """
    out = np.asarray(geometry, dtype=object).copy()
    mixed = np.flatnonzero(~np.isin(shapely.get_type_id(out), _POLYGONAL))
    # Only the few collections that make_valid or an intersection produced are visited.
    for i in mixed:
        parts = shapely.get_parts(out[i])
        polygons = parts[np.isin(shapely.get_type_id(parts), _POLYGONAL)]
        out[i] = shapely.union_all(polygons) if len(polygons) else shapely.Polygon()
    return out


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
