"""A directed road graph built from ``gcrm.roads``, for drive times and catchments.

Noding
------
OpenStreetMap ways are not split at every junction: two ways meet at a vertex they share,
which may lie inside either of them. Other sources (hand-drawn lines, some municipal
extracts, the benchmark grid) also cross without a shared vertex. The graph therefore has a
node at

- every vertex of every line, identified by its coordinates in the metric CRS rounded to
  :data:`NODE_TOLERANCE_M` (so a vertex shared by several ways is one node), and
- every point where two segments cross or touch inside one of them (``node_crossings=True``):
  candidate pairs come from a :class:`shapely.STRtree` over the segments, and the crossing
  parameters from one vectorised numpy solve over all pairs. Collinear overlaps are not
  merged.

Noding crossings also joins bridges to the roads under them where a source does not record
grade separation (gcrm.roads has no layer/bridge column); pass ``node_crossings=False`` for
clean OSM data where every real junction is a shared vertex.

Costs
-----
Every segment between two consecutive nodes is an edge. Its length is measured in the UTM
zone of the network's centre (scale error under 0.1 % inside the zone, far below the
uncertainty of a speed limit); its cost is ``length / speed`` in seconds, with ``speed_kmh``
from the road or, where missing or not positive, :data:`DEFAULT_SPEED_KMH` by class.
A two-way road gives an edge each way; a ``oneway`` road only one, in the direction the line
is drawn. Parallel edges keep the cheapest.

This module builds the graph in memory; :mod:`gcrm.routing.graph_store` reads it from PostGIS,
where it is stored once per roads import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from gcrm.core import STORAGE_CRS, ValidationError

__all__ = [
    "DEFAULT_SPEED_KMH",
    "FALLBACK_SPEED_KMH",
    "NODE_TOLERANCE_M",
    "RoadGraph",
    "build_road_graph",
    "build_road_network",
    "metric_crs_for",
    "road_graph_from_matrix",
    "road_speeds",
]

#: Free-flow speeds by OSM highway class, used where a road has no ``speed_kmh``. They follow
#: the default urban limits of most European countries (Finland: 50 in built-up areas,
#: 30-40 on residential streets) and OSRM's car profile for the link and service classes.
DEFAULT_SPEED_KMH: Mapping[str, float] = {
    "motorway": 100.0,
    "motorway_link": 60.0,
    "trunk": 80.0,
    "trunk_link": 50.0,
    "primary": 50.0,
    "primary_link": 40.0,
    "secondary": 50.0,
    "secondary_link": 40.0,
    "tertiary": 40.0,
    "tertiary_link": 30.0,
    "unclassified": 40.0,
    "residential": 30.0,
    "living_street": 10.0,
    "service": 20.0,
    "road": 30.0,
}
#: Speed of a road whose class is not in :data:`DEFAULT_SPEED_KMH` and has no speed of its own.
FALLBACK_SPEED_KMH = 30.0
#: Vertices closer than this (after projection) are one node.
NODE_TOLERANCE_M = 0.01


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """A directed road graph: travel seconds between nodes, node positions, a KD-tree.

    Attributes
    ----------
    matrix
        ``n x n`` CSR matrix; ``matrix[u, v]`` is the seconds to drive from node ``u`` to ``v``.
    node_xy
        ``(n, 2)`` node coordinates in :attr:`crs` (metres).
    crs
        The metric CRS of :attr:`node_xy` and of :attr:`tree`, e.g. ``"EPSG:32635"``.
    snap_nodes
        The nodes points snap to: those of the largest strongly connected component, from
        which every other node of it can be reached and back. Dead ends of one-way streets
        cut at the edge of an extract, and islands, would otherwise strand the points that
        snap to them.
    tree
        A :class:`scipy.spatial.cKDTree` over the :attr:`snap_nodes`' coordinates.
    """

    matrix: sp.csr_matrix
    node_xy: np.ndarray
    crs: str
    snap_nodes: np.ndarray
    tree: cKDTree = field(repr=False)

    @property
    def n_nodes(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.matrix.nnz)

    @cached_property
    def reversed(self) -> sp.csr_matrix:
        """The graph with every edge turned round: searches *to* a node run on it."""
        return self.matrix.T.tocsr()

    @cached_property
    def _to_metric(self) -> pyproj.Transformer:
        return pyproj.Transformer.from_crs(STORAGE_CRS, self.crs, always_xy=True)

    @cached_property
    def _to_storage(self) -> pyproj.Transformer:
        return pyproj.Transformer.from_crs(self.crs, STORAGE_CRS, always_xy=True)

    def to_metric(self, lonlat: np.ndarray) -> np.ndarray:
        """Project ``(n, 2)`` longitude/latitude (EPSG:4326) to the graph's metric CRS."""
        xy = _as_points(lonlat, name="lonlat")
        x, y = self._to_metric.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    def to_storage(self, xy: np.ndarray) -> np.ndarray:
        """Back from the graph's metric CRS to longitude/latitude (EPSG:4326)."""
        lon, lat = self._to_storage.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    def snap(self, lonlat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The nearest snapping node of each point, and the straight-line distance in metres."""
        distance_m, index = self.tree.query(self.to_metric(lonlat))
        return self.snap_nodes[index], distance_m

    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(u, v, seconds)`` of every directed edge."""
        u = np.repeat(np.arange(self.n_nodes), np.diff(self.matrix.indptr))
        return u, self.matrix.indices.astype(np.int64), self.matrix.data


def _as_points(values: np.ndarray, *, name: str) -> np.ndarray:
    xy = np.asarray(values, dtype=float).reshape(-1, 2) if np.size(values) else np.empty((0, 2))
    if xy.ndim != 2 or xy.shape[1] != 2:
        msg = f"{name} has shape {np.shape(values)}; pass an (n, 2) array of x, y"
        raise ValidationError(msg)
    return xy


def metric_crs_for(bounds: tuple[float, float, float, float]) -> str:
    """The UTM zone (WGS 84) of the centre of ``bounds`` (lon/lat), as ``"EPSG:xxxx"``."""
    minx, miny, maxx, maxy = bounds
    return _utm_crs(round((minx + maxx) / 2, 2), round((miny + maxy) / 2, 2))


@lru_cache(maxsize=64)
def _utm_crs(lon: float, lat: float) -> str:
    # A look-up in PROJ's database (~60 ms): cached per centre rounded to 0.01 degree.
    info = query_utm_crs_info(
        datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat)
    )
    return f"{info[0].auth_name}:{info[0].code}"


def road_speeds(classes: np.ndarray, speed_kmh: np.ndarray) -> np.ndarray:
    """``speed_kmh`` where positive, else the default of the road's class."""
    by_class = (
        pd.Series(classes, dtype=object).map(DEFAULT_SPEED_KMH).fillna(FALLBACK_SPEED_KMH)
    ).to_numpy(dtype=float)
    speeds = np.asarray(speed_kmh, dtype=float)
    return np.where(np.isfinite(speeds) & (speeds > 0), speeds, by_class)


def build_road_graph(
    lines: np.ndarray,
    *,
    classes: np.ndarray,
    speed_kmh: np.ndarray,
    oneway: np.ndarray,
    crs: str | None = None,
    node_crossings: bool = True,
) -> RoadGraph:
    """Build a :class:`RoadGraph` from LineStrings in EPSG:4326 and their attributes.

    Parameters
    ----------
    lines
        Shapely LineStrings (longitude/latitude).
    classes, speed_kmh, oneway
        One value per line: road class, speed (NaN where unknown), one-way flag.
    crs
        Metric CRS for lengths and snapping; default the UTM zone of the network's centre.
    node_crossings
        Also node segments that cross without a shared vertex.

    Returns
    -------
    RoadGraph
    """
    graph, _ = build_road_network(
        lines,
        classes=classes,
        speed_kmh=speed_kmh,
        oneway=oneway,
        crs=crs,
        node_crossings=node_crossings,
    )
    return graph


def build_road_network(
    lines: np.ndarray,
    *,
    classes: np.ndarray,
    speed_kmh: np.ndarray,
    oneway: np.ndarray,
    crs: str | None = None,
    node_crossings: bool = True,
) -> tuple[RoadGraph, pd.DataFrame]:
    """:func:`build_road_graph`, plus the table of its edges (what ``gcrm.road_edges`` stores).

    Parameters are those of :func:`build_road_graph`.

    Returns
    -------
    graph : RoadGraph
    edges : pandas.DataFrame
        One row per directed edge of ``graph.matrix``, in its (CSR) order: ``source``,
        ``target`` (node ids), ``cost_s``, ``length_m`` and ``line`` (index into ``lines`` of
        the road the edge runs along).
    """
    lines = np.asarray(lines, dtype=object)
    if crs is None:
        crs = metric_crs_for(tuple(shapely.total_bounds(lines)))
    start, end, line = _pieces(lines, crs=crs, node_crossings=node_crossings)
    node_xy, ids = _nodes(np.vstack([start, end]))
    metres = np.hypot(*(end - start).T)
    speeds = road_speeds(np.asarray(classes), np.asarray(speed_kmh, dtype=float))[line]
    edges = _directed_edges(
        ids[: len(start)],
        ids[len(start) :],
        pd.DataFrame({"cost_s": metres / (speeds / 3.6), "length_m": metres, "line": line}),
        oneway=np.asarray(oneway, dtype=bool)[line],
    )
    matrix = sp.csr_matrix(
        (edges["cost_s"].to_numpy(), (edges["source"].to_numpy(), edges["target"].to_numpy())),
        shape=(len(node_xy), len(node_xy)),
    )
    return road_graph_from_matrix(matrix, node_xy=node_xy, crs=crs), edges


def road_graph_from_matrix(
    matrix: sp.csr_matrix, *, node_xy: np.ndarray, crs: str, snap_nodes: np.ndarray | None = None
) -> RoadGraph:
    """A :class:`RoadGraph` from its cost matrix and node positions (in the metric ``crs``).

    ``snap_nodes`` defaults to the largest strongly connected component of ``matrix``.
    """
    if snap_nodes is None:
        snap_nodes = _largest_component(matrix)
    return RoadGraph(
        matrix=matrix,
        node_xy=node_xy,
        crs=crs,
        snap_nodes=snap_nodes,
        tree=cKDTree(node_xy[snap_nodes]),
    )


def _pieces(
    lines: np.ndarray, *, crs: str, node_crossings: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ends (metric ``crs``) of the pieces between consecutive nodes, and each piece's line."""
    to_metric = pyproj.Transformer.from_crs(STORAGE_CRS, crs, always_xy=True)
    coords, line_of = shapely.get_coordinates(lines, return_index=True)
    x, y = to_metric.transform(coords[:, 0], coords[:, 1])
    xy = np.column_stack([x, y])
    same_line = line_of[1:] == line_of[:-1]
    start, end, seg_line = xy[:-1][same_line], xy[1:][same_line], line_of[:-1][same_line]
    piece_from, piece_to, piece_seg = _split_segments(start, end, node_crossings=node_crossings)
    return piece_from, piece_to, seg_line[piece_seg]


def _largest_component(matrix: sp.csr_matrix) -> np.ndarray:
    """Nodes of the largest strongly connected component."""
    _, labels = connected_components(matrix, directed=True, connection="strong")
    return np.flatnonzero(labels == np.bincount(labels).argmax())


def _split_segments(
    start: np.ndarray, end: np.ndarray, *, node_crossings: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut segments at the crossing points found in them; return the pieces and their segment."""
    n = len(start)
    seg = np.arange(n)
    t = [np.zeros(n), np.ones(n)]
    pts = [start, end]
    owner = [seg, seg]
    if node_crossings and n:
        cut_seg, cut_t, cut_xy = _crossings(start, end)
        t.append(cut_t)
        pts.append(cut_xy)
        owner.append(cut_seg)
    all_t, all_xy, all_seg = np.concatenate(t), np.vstack(pts), np.concatenate(owner)
    order = np.lexsort((all_t, all_seg))
    all_xy, all_seg = all_xy[order], all_seg[order]
    # Consecutive points of one segment, ordered along it, bound one piece each.
    inner = all_seg[1:] == all_seg[:-1]
    return all_xy[:-1][inner], all_xy[1:][inner], all_seg[:-1][inner]


def _crossings(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points where a segment meets another inside itself: ``(segment, t along it, xy)``."""
    segments = np.asarray(shapely.linestrings(np.stack([start, end], axis=1)))
    i, j = shapely.STRtree(segments).query(segments)
    keep = i < j
    i, j = i[keep], j[keep]
    d1, d2, r = end[i] - start[i], end[j] - start[j], start[j] - start[i]
    den = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (r[:, 0] * d2[:, 1] - r[:, 1] * d2[:, 0]) / den
        u = (r[:, 0] * d1[:, 1] - r[:, 1] * d1[:, 0]) / den
    len1, len2 = np.hypot(*d1.T), np.hypot(*d2.T)
    tol1, tol2 = (
        NODE_TOLERANCE_M / np.maximum(len1, 1e-12),
        NODE_TOLERANCE_M / np.maximum(len2, 1e-12),
    )
    meets = (np.abs(den) > 1e-12) & (t >= -tol1) & (t <= 1 + tol1) & (u >= -tol2) & (u <= 1 + tol2)
    inside_i = meets & (t > tol1) & (t < 1 - tol1)
    inside_j = meets & (u > tol2) & (u < 1 - tol2)
    # Where the crossing is an end of one segment, reuse that end exactly so both get one node.
    point = start[i] + t[:, None] * d1
    point = np.where((inside_i & ~inside_j & (u <= tol2))[:, None], start[j], point)
    point = np.where((inside_i & ~inside_j & (u >= 1 - tol2))[:, None], end[j], point)
    point = np.where((inside_j & ~inside_i & (t <= tol1))[:, None], start[i], point)
    point = np.where((inside_j & ~inside_i & (t >= 1 - tol1))[:, None], end[i], point)
    return (
        np.concatenate([i[inside_i], j[inside_j]]),
        np.concatenate([t[inside_i], u[inside_j]]),
        np.vstack([point[inside_i], point[inside_j]]),
    )


def _nodes(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique positions (rounded to the node tolerance) and each input's node id."""
    cells = np.round((xy - xy.min(axis=0)) / NODE_TOLERANCE_M).astype(np.int64)
    # One int64 key per cell: a region 20,000 km wide still fits in 31 bits per axis at 1 cm.
    key = (cells[:, 0] << 31) | cells[:, 1]
    _, first, ids = np.unique(key, return_index=True, return_inverse=True)
    return xy[first], ids.ravel()


def _directed_edges(
    u: np.ndarray, v: np.ndarray, pieces: pd.DataFrame, *, oneway: np.ndarray
) -> pd.DataFrame:
    """Directed edges ``source``, ``target`` + the columns of ``pieces``, sorted, unique."""
    two_way = ~oneway
    edges = pd.concat([pieces, pieces[two_way]], ignore_index=True)
    edges.insert(0, "source", np.concatenate([u, v[two_way]]))
    edges.insert(1, "target", np.concatenate([v, u[two_way]]))
    edges = edges[edges["source"].to_numpy() != edges["target"].to_numpy()]
    # Parallel edges (two ways over the same nodes) keep the cheapest; CSR would add them up.
    src, dst, cost = (edges[c].to_numpy() for c in ("source", "target", "cost_s"))
    edges = edges.iloc[np.lexsort((cost, dst, src))]
    src, dst = edges["source"].to_numpy(), edges["target"].to_numpy()
    first = np.ones(len(edges), dtype=bool)
    first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
    return edges[first].reset_index(drop=True)
