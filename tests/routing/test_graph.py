"""The road graph and drive times on a tiny hand-made network with known answers.

Built in UTM zone 35N metres (the graph's own metric CRS here), so lengths are exact:

                (500,500) ──C── (1000,500)
                   ▲                  │
    (0,0) ───A─── (500,0) ───A─── (1000,0)     A, C, D: two-way, 36 km/h (10 m/s)
      │            ▲                           B: (500,-500) -> (500,500), one-way
      D            B                              northwards, 72 km/h (20 m/s), crossing A
      │            │                              with no shared vertex
    (0,-500) ──D── (500,-500)
"""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely
from sqlalchemy import Connection, text

from gcrm.core import NotFoundError, ValidationError
from gcrm.routing import (
    ACCESS_SPEED_KMH,
    DEFAULT_SPEED_KMH,
    build_road_graph,
    catchment,
    drive_times_to_branches,
    read_road_graph,
)
from gcrm.store import copy_frame

UTM = "EPSG:32635"
X0, Y0 = 385_000.0, 6_672_000.0
TO_LONLAT = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)


def lonlat(*xy: tuple[float, float]) -> np.ndarray:
    arr = np.asarray(xy, dtype=float) + (X0, Y0)
    return np.column_stack(TO_LONLAT.transform(arr[:, 0], arr[:, 1]))


def access_s(metres: float) -> float:
    return metres / (ACCESS_SPEED_KMH / 3.6)


@pytest.fixture
def lines() -> np.ndarray:
    ways = [
        [(0, 0), (1000, 0)],
        [(500, -500), (500, 500)],
        [(500, 500), (1000, 500), (1000, 0)],
        [(500, -500), (0, -500), (0, 0)],
    ]
    return np.array([shapely.LineString(lonlat(*way)) for way in ways], dtype=object)


ATTRIBUTES = {
    "classes": np.array(["primary", "secondary", "residential", "residential"]),
    "speed_kmh": np.array([36.0, 72.0, 36.0, 36.0]),
    "oneway": np.array([False, True, False, False]),
}


@pytest.fixture
def graph(lines: np.ndarray):
    return build_road_graph(lines, **ATTRIBUTES, crs=UTM)


def node(graph, x: float, y: float) -> int:
    nodes, dist = graph.snap(lonlat((x, y)))
    assert dist[0] < 0.01
    return int(nodes[0])


def test_crossing_is_noded_and_oneway_respected(graph) -> None:
    assert graph.n_nodes == 7
    # A: two pieces each way; B: two pieces northwards only; C and D: two pieces each way.
    assert graph.n_edges == 14
    assert len(graph.snap_nodes) == 7
    west, mid, east = node(graph, 0, 0), node(graph, 500, 0), node(graph, 1000, 0)
    south, north = node(graph, 500, -500), node(graph, 500, 500)
    m = graph.matrix
    assert m[west, mid] == pytest.approx(50.0, abs=1e-6)
    assert m[mid, west] == pytest.approx(50.0, abs=1e-6)
    assert m[mid, east] == pytest.approx(50.0, abs=1e-6)
    assert m[south, mid] == pytest.approx(25.0, abs=1e-6)
    assert m[mid, north] == pytest.approx(25.0, abs=1e-6)
    assert m[mid, south] == 0 and m[north, mid] == 0


def test_without_crossing_noding_the_roads_do_not_meet(lines: np.ndarray) -> None:
    g = build_road_graph(lines, **ATTRIBUTES, crs=UTM, node_crossings=False)
    assert (g.n_nodes, g.n_edges) == (6, 11)


def test_missing_speed_uses_class_default() -> None:
    g = build_road_graph(
        shapely.linestrings([lonlat((0, 0), (300, 0))]),
        classes=np.array(["residential"]),
        speed_kmh=np.array([np.nan]),
        oneway=np.array([False]),
        crs=UTM,
    )
    assert g.matrix.data == pytest.approx(300 / (DEFAULT_SPEED_KMH["residential"] / 3.6))


def test_drive_times_match_hand_computed_values(graph) -> None:
    branches = lonlat((0, 0), (1000, 20))  # B1 stands 20 m off its node
    points = lonlat((500, -500), (500, 500), (1000, -10), (0, 30))
    seconds, branch = drive_times_to_branches(graph, points, branches)
    expected = [
        25 + 50,  # up B to the crossing, west along A to B0 (D would take 100 s)
        100 + access_s(20),  # B is one-way: round by C to (1000, 0), then to B1
        access_s(10) + access_s(20),  # to node (1000, 0), then to B1
        access_s(30),  # to node (0, 0), which is B0
    ]
    np.testing.assert_allclose(seconds, expected, rtol=1e-6, atol=1e-6)
    assert branch.tolist() == [0, 1, 1, 0]


def test_points_on_a_stranded_road_snap_to_the_main_network() -> None:
    # A one-way spur leads out of the network (as at the edge of an extract): a point on its
    # far end would be stranded, so it joins the network at the nearest node that is not.
    g = build_road_graph(
        np.array(
            [
                shapely.LineString(lonlat((0, 0), (100, 0), (200, 0))),
                shapely.LineString(lonlat((200, 0), (200, 300))),
            ]
        ),
        classes=np.array(["primary", "primary"]),
        speed_kmh=np.array([36.0, 36.0]),
        oneway=np.array([False, True]),
        crs=UTM,
    )
    seconds, branch = drive_times_to_branches(g, lonlat((200, 300)), lonlat((0, 0)))
    np.testing.assert_allclose(seconds, [access_s(300) + 20], rtol=1e-6)
    assert branch.tolist() == [0]


def test_drive_times_need_a_branch(graph) -> None:
    with pytest.raises(ValidationError, match="branches_xy is empty"):
        drive_times_to_branches(graph, lonlat((0, 0)), np.empty((0, 2)))


def test_catchment_grows_with_minutes(graph) -> None:
    origin = lonlat((0, 0))[0]
    areas = [catchment(graph, origin_xy=origin, minutes=m).area for m in (0.5, 1.0, 3.0)]
    assert 0 < areas[0] < areas[1] < areas[2]
    # Within 60 s of (0, 0): x = 550 on A (55 s), B 100 m south of the crossing (5 + 50 s),
    # D's (0, -400) (40 s); not B 100 m north of the crossing, one-way away from A.
    one = catchment(graph, origin_xy=origin, minutes=1.0)
    inside = shapely.points(lonlat((550, 0), (500, -100), (0, -400), (500, 100), (800, 0)))
    assert shapely.contains(one, inside).tolist() == [True, True, True, False, False]


def test_catchment_from_the_origin_follows_one_way_streets_forwards(graph) -> None:
    origin = lonlat((0, 0))[0]
    # Driving out of (0, 0) for 60 s: x = 550 on A (55 s), B northwards from the crossing
    # to (500, 200) (50 + 10 s), D's (0, -400) (40 s); not B south of the crossing, which
    # only leads north (the drive *to* (0, 0) takes it, and not B north of A).
    out = catchment(graph, origin_xy=origin, minutes=1.0, direction="from")
    inside = shapely.points(lonlat((550, 0), (500, -100), (0, -400), (500, 100), (800, 0)))
    assert shapely.contains(out, inside).tolist() == [True, False, True, True, False]
    back = catchment(graph, origin_xy=origin, minutes=1.0, direction="to")
    assert back.equals(catchment(graph, origin_xy=origin, minutes=1.0))  # "to" by default
    assert not out.equals(back)
    with pytest.raises(ValidationError, match=r"direction='out' is not one of \['to', 'from'\]"):
        catchment(graph, origin_xy=origin, minutes=1.0, direction="out")


def test_catchment_rejects_bad_minutes(graph) -> None:
    with pytest.raises(ValidationError, match="minutes"):
        catchment(graph, origin_xy=lonlat((0, 0))[0], minutes=0)


def test_read_road_graph_from_postgis(conn: Connection, lines: np.ndarray) -> None:
    import geopandas as gpd

    roads = gpd.GeoDataFrame(
        {
            "ref": ["a", "b", "c", "d"],
            "class": ATTRIBUTES["classes"],
            "speed_kmh": ATTRIBUTES["speed_kmh"],
            "name": ["A", "B", "C", "D"],
            "oneway": ATTRIBUTES["oneway"],
        },
        geometry=gpd.GeoSeries(lines, crs="EPSG:4326"),
    ).rename_geometry("geom")
    conn.execute(text("DELETE FROM gcrm.roads"))
    copy_frame(conn, "gcrm.roads", roads)
    g = read_road_graph(conn)
    assert (g.n_nodes, g.n_edges) == (7, 14)
    assert g.crs == UTM


def test_read_road_graph_without_roads(conn: Connection) -> None:
    conn.execute(text("DELETE FROM gcrm.roads"))
    with pytest.raises(NotFoundError, match="gcrm import roads"):
        read_road_graph(conn)


def _load_roads(conn: Connection, lines: np.ndarray) -> None:
    import geopandas as gpd

    roads = gpd.GeoDataFrame(
        {
            "ref": ["a", "b", "c", "d"],
            "class": ATTRIBUTES["classes"],
            "speed_kmh": ATTRIBUTES["speed_kmh"],
            "name": ["A", "B", "C", "D"],
            "oneway": ATTRIBUTES["oneway"],
        },
        geometry=gpd.GeoSeries(lines, crs="EPSG:4326"),
    ).rename_geometry("geom")
    conn.execute(text("DELETE FROM gcrm.roads"))
    copy_frame(conn, "gcrm.roads", roads)


def _stored(conn: Connection) -> tuple[int, int, int]:
    """(state rows, stored nodes, stored edges)."""
    return conn.execute(
        text(
            "SELECT (SELECT count(*) FROM gcrm.road_graph_state), "
            "(SELECT count(*) FROM gcrm.road_nodes), (SELECT count(*) FROM gcrm.road_edges)"
        )
    ).one()


def _assert_same_graph(a, b) -> None:
    assert a.crs == b.crs
    np.testing.assert_array_equal(a.matrix.indptr, b.matrix.indptr)
    np.testing.assert_array_equal(a.matrix.indices, b.matrix.indices)
    np.testing.assert_array_equal(a.matrix.data, b.matrix.data)  # bit for bit
    np.testing.assert_array_equal(a.node_xy, b.node_xy)
    np.testing.assert_array_equal(a.snap_nodes, b.snap_nodes)


def test_graph_is_stored_once_and_read_back_identical(conn: Connection, lines: np.ndarray) -> None:
    _load_roads(conn, lines)
    built = read_road_graph(conn)
    assert tuple(_stored(conn)) == (1, 7, 14)
    refs = conn.execute(
        text("SELECT road_ref, count(*) FROM gcrm.road_edges GROUP BY 1 ORDER BY 1")
    ).fetchall()
    # a and c, d: two pieces each way; b (one-way): two pieces northwards.
    assert [tuple(r) for r in refs] == [("a", 4), ("b", 2), ("c", 4), ("d", 4)]
    stored = read_road_graph(conn)
    _assert_same_graph(stored, built)
    _assert_same_graph(stored, build_road_graph(lines, **ATTRIBUTES, crs=UTM))
    # The second read came from the tables, not from gcrm.roads.
    conn.execute(text("UPDATE gcrm.road_edges SET cost_s = 2 * cost_s"))
    np.testing.assert_allclose(read_road_graph(conn).matrix.data, 2 * built.matrix.data)


def test_changed_roads_invalidate_the_stored_graph(conn: Connection, lines: np.ndarray) -> None:
    _load_roads(conn, lines)
    read_road_graph(conn)
    # Statements that change no road, and an import run that changed none, keep it.
    conn.execute(text("UPDATE gcrm.roads SET speed_kmh = 1 WHERE false"))
    conn.execute(text("DELETE FROM gcrm.roads WHERE ref = 'nothing'"))
    conn.execute(
        text(
            "INSERT INTO gcrm.import_runs (kind, source, rows_read, inserted, updated, "
            "unchanged, rejected) VALUES ('roads', 'same.gpkg', 4, 0, 0, 4, 0)"
        )
    )
    assert _stored(conn)[0] == 1
    # A faster road A: rebuilt, A's pieces now take half the time.
    conn.execute(text("UPDATE gcrm.roads SET speed_kmh = 72 WHERE ref = 'a'"))
    assert _stored(conn)[0] == 0
    graph = read_road_graph(conn)
    west, mid = node(graph, 0, 0), node(graph, 500, 0)
    assert graph.matrix[west, mid] == pytest.approx(25.0, abs=1e-6)
    assert _stored(conn)[0] == 1
    # An import run that changed roads also makes the stored graph stale.
    conn.execute(
        text(
            "INSERT INTO gcrm.import_runs (kind, source, rows_read, inserted, updated, "
            "unchanged, rejected) VALUES ('roads', 'new.gpkg', 4, 1, 0, 3, 0)"
        )
    )
    conn.execute(text("UPDATE gcrm.road_edges SET cost_s = 2 * cost_s"))
    assert read_road_graph(conn).matrix[west, mid] == pytest.approx(25.0, abs=1e-6)
    conn.execute(text("TRUNCATE gcrm.roads"))
    assert _stored(conn)[0] == 0


def test_stored_graph_is_kept_per_noding(conn: Connection, lines: np.ndarray) -> None:
    _load_roads(conn, lines)
    assert read_road_graph(conn).n_nodes == 7
    assert read_road_graph(conn, node_crossings=False).n_nodes == 6
    assert read_road_graph(conn, node_crossings=False, store=False).n_nodes == 6
    assert read_road_graph(conn).n_nodes == 7
