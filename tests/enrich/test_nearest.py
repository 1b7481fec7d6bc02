"""The two-pass nearest search and the area-code JSON of the vector engine, against the
plain answers they stand in for."""

from __future__ import annotations

import json

import numpy as np
import shapely

from gcrm.enrich.vector import _nearest, _search_radius, area_codes_json


def test_two_pass_nearest_equals_query_nearest_for_dense_and_sparse_points() -> None:
    rng = np.random.default_rng(3)
    # A dense town of short segments and a few long rural roads; most points far out.
    starts = np.concatenate([rng.random((3000, 2)) * 1000, rng.random((20, 2)) * 100_000])
    ends = starts + rng.normal(0, 30, starts.shape)
    lines = shapely.linestrings(np.stack([starts, ends], axis=1))
    points = shapely.points(
        np.concatenate([rng.random((500, 2)) * 1000, rng.random((4500, 2)) * 100_000])
    )
    tree = shapely.STRtree(lines)
    radius = _search_radius(tree, points)
    found = len(tree.query(points, predicate="dwithin", distance=radius)[0])
    assert found <= 16 * len(points)  # the first pass stays bounded
    best, dist = _nearest(tree, points, radius)
    (p, q), d = tree.query_nearest(points, return_distance=True, all_matches=False)
    assert (best >= 0).all()
    np.testing.assert_allclose(dist[p], d)
    np.testing.assert_allclose(shapely.distance(points, lines[best]), dist)


def test_area_codes_json_leaves_out_levels_without_a_code() -> None:
    codes = {
        "county": np.array(["C1", "C1", None, "C2"], dtype=object),
        "zone": np.array(["Z1", np.nan, None, 'Z"2'], dtype=object),
    }
    got = [json.loads(t) for t in area_codes_json(["county", "zone"], codes)]
    assert got == [
        {"county": "C1", "zone": "Z1"},
        {"county": "C1"},
        {},
        {"county": "C2", "zone": 'Z"2'},
    ]
    assert list(area_codes_json([], {})) == []
