"""The what-if figures (gcrm.territories.LevelUnits: sums over kept borders) against the
same figures measured the slow way, by dissolving each territory, on the real PostGIS grid."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import shape

from gcrm.core import ValidationError
from gcrm.territories import LevelUnits, design_territories, evaluate_assignment
from gcrm.territories.design import normalised_inertia, polygon_moments
from tests.territories.grid import UNITS

BALANCE = {"customers": 1.0, "revenue": 1.0}
CRITERIA = list(BALANCE)


def _dissolved(units: gpd.GeoDataFrame, assignment: dict[str, int]) -> pd.DataFrame:
    """Totals and Polsby-Popper of each territory, from its dissolved polygon in metres."""
    frame = units.assign(territory=units["code"].map(assignment))
    metric = frame.to_crs(frame.estimate_utm_crs())
    shapes = metric.dissolve(by="territory", aggfunc={c: "sum" for c in CRITERIA})
    shapes["polsby_popper"] = 4 * math.pi * shapes.area / shapes.length**2
    shapes["moment_of_inertia"] = [
        normalised_inertia(a, i) for a, _, _, i in polygon_moments(shapes.geometry.to_numpy())
    ]
    shapes["pieces"] = shapes.geometry.apply(lambda g: len(getattr(g, "geoms", [g])))
    return pd.DataFrame(shapes.drop(columns="geometry")).reset_index()


def _agree(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    for column in [*CRITERIA, "polsby_popper", "moment_of_inertia"]:
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-6)


@pytest.fixture(scope="module")
def level_units(units: gpd.GeoDataFrame) -> LevelUnits:
    return LevelUnits(units)


def test_figures_equal_the_dissolved_territories(
    level_units: LevelUnits, units: gpd.GeoDataFrame
) -> None:
    plan = design_territories(units, k=4, balance=BALANCE, seed=0)
    assignment = plan.assignment.to_dict()
    ours, outlines = level_units.evaluate(assignment, criteria=CRITERIA)
    assert ours["units"].sum() == UNITS
    _agree(ours, _dissolved(units, assignment))
    # The design measures its plan by dissolving too: the same figures.
    _agree(ours, plan.territories)
    assert ours["contiguous"].tolist() == plan.territories["contiguous"].tolist()
    # The outlines are the borders between territories: between them, never through one.
    (border,) = [shape(f["geometry"]) for f in outlines["features"]]
    assert border.length > 0.02
    for polygon in plan.territory_polygons().geometry:
        assert border.intersection(polygon.buffer(-1e-6)).length < 1e-9
        assert border.intersection(polygon.boundary).length > 0


def test_a_unit_moved_away_leaves_its_new_territory_in_pieces(
    level_units: LevelUnits, units: gpd.GeoDataFrame
) -> None:
    assignment = design_territories(units, k=4, balance=BALANCE, seed=0).assignment.to_dict()
    home = assignment["C00"]
    territory = units["code"].map(assignment)
    ring = units[territory == home].union_all()
    apart = (territory != home) & ~units.intersects(ring) & (units["code"] != "ISLAND")
    far = str(units.loc[apart, "code"].iloc[0])
    moved = {**assignment, far: home}
    ours = level_units.evaluate(moved, criteria=CRITERIA)[0]
    slow = _dissolved(units, moved)
    _agree(ours, slow)
    assert not bool(ours.set_index("territory").loc[home, "contiguous"])
    # Rook contiguity (a shared edge) is what a dissolve joins: one polygon per territory
    # that is in one piece (the island's territory aside: it is joined by a link).
    rook = LevelUnits(units, adjacency="rook").evaluate(moved, criteria=CRITERIA)[0]
    plain = slow["territory"] != moved["ISLAND"]
    assert rook.loc[plain, "contiguous"].tolist() == (slow.loc[plain, "pieces"] == 1).tolist()
    # The island is linked to its nearest cell: in that cell's territory it counts as joined.
    island = {**assignment, "ISLAND": assignment["C77"]}
    table = level_units.evaluate(island, criteria=CRITERIA)[0].set_index("territory")
    assert bool(table.loc[assignment["C77"], "contiguous"])
    assert level_units.islands == ["ISLAND"]


def test_an_emptied_territory_keeps_its_place_in_the_mean(
    level_units: LevelUnits, units: gpd.GeoDataFrame
) -> None:
    all_in_one = dict.fromkeys(level_units.codes, 1)
    result = level_units.result(all_in_one, balance={"customers": 1.0}, k=4)
    table = result.territories.set_index("territory")
    assert table["units"].tolist() == [UNITS, 0, 0, 0]
    assert table.loc[1, "customers_deviation"] == pytest.approx(3.0)  # 4x the mean
    assert table.loc[2, "customers_deviation"] == pytest.approx(-1.0)
    assert not table.loc[2:, "contiguous"].any()
    assert result.max_deviation["customers"] == pytest.approx(3.0)
    # One call does the same without a kept LevelUnits.
    again = evaluate_assignment(units, all_in_one, balance={"customers": 1.0}, k=4)
    pd.testing.assert_frame_equal(again.territories, result.territories)


def test_every_unit_needs_a_known_territory(level_units: LevelUnits) -> None:
    with pytest.raises(ValidationError, match=r"unit 'C00' has no territory"):
        level_units.evaluate({"C01": 1}, criteria=CRITERIA)
    full = dict.fromkeys(level_units.codes, 1)
    with pytest.raises(ValidationError, match=r"unit 'NOPE' is not an area of the level"):
        level_units.evaluate({**full, "NOPE": 1}, criteria=CRITERIA)
    with pytest.raises(ValidationError, match=r"territory 0 is not a territory number"):
        level_units.evaluate({**full, "C00": 0}, criteria=CRITERIA)
    with pytest.raises(ValidationError, match=r"adjacency 'hex' is unknown"):
        LevelUnits(level_units.units, adjacency="hex")


def test_moments_of_known_shapes() -> None:
    """A square of side 2 with a hole of side 1, and a disc: the textbook figures."""
    square = shapely.Polygon(
        [(0, 0), (0, 2), (2, 2), (2, 0)], holes=[[(0.5, 0.5), (1.5, 0.5), (1.5, 1.5), (0.5, 1.5)]]
    )
    disc = shapely.Point(100, 50).buffer(10, quad_segs=256)
    (a, x, y, i), (da, dx, dy, di) = polygon_moments(np.array([square, disc]))
    # Polar moment of a square of side s about its centre: s^4 / 6.
    assert (a, x, y) == pytest.approx((3.0, 1.0, 1.0))
    assert i == pytest.approx(16 / 6 - 1 / 6)
    assert (dx, dy) == pytest.approx((100, 50))
    assert normalised_inertia(da, di) == pytest.approx(1.0, abs=1e-4)
    assert normalised_inertia(4.0, 16 / 6) == pytest.approx(6 / (2 * math.pi))


def test_units_that_share_no_border(units: gpd.GeoDataFrame) -> None:
    """A scoped user may see one unit, or units apart: no borders, still figures."""
    apart = units[units["code"].isin(["C00", "C77"])]
    table, outlines = LevelUnits(apart).evaluate({"C00": 1, "C77": 2}, criteria=CRITERIA)
    assert table["units"].tolist() == [1, 1]
    assert table["contiguous"].all()
    assert outlines["features"] == []
