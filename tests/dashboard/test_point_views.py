"""The points of recent map views are kept for a while: the same view is read once."""

from __future__ import annotations

from dashboard.cache import DashboardData, _RecentViews
from gcrm.cube import load_cube


def test_recent_views_keep_the_newest_and_forget_the_old() -> None:
    views = _RecentViews(size=2, ttl_s=60)
    for i in range(3):
        views.put(("v", i), {"n": i})
    assert views.get(("v", 0)) is None  # pushed out by the third
    assert views.get(("v", 1)) == {"n": 1} and views.get(("v", 2)) == {"n": 2}
    stale = _RecentViews(size=2, ttl_s=-1)  # already expired when put
    stale.put(("v", 0), {"n": 0})
    assert stale.get(("v", 0)) is None


def test_the_same_view_is_read_once_and_another_view_again(demo) -> None:  # type: ignore[no-untyped-def]
    data = DashboardData(engine=demo.engine, cube=load_cube(demo.cube_path), max_points=10)
    view = {"bbox": (24.90, 60.15, 24.98, 60.19), "zoom": 13.0, "segment": None, "period": None}
    first = data.points("customers", **view)
    assert first["clustered"] and first["features"]
    assert data.points("customers", **view) is first  # kept, not read again
    other = data.points("customers", **(view | {"segment": "smb"}))
    assert other is not first
    fresh = DashboardData(engine=demo.engine, cube=data.cube, max_points=10)
    assert fresh.points("customers", **view) == first  # what is kept is what is read
