"""The map's point and heat functions are planned for each call's own box (migration 0016).

A generic plan, which PL/pgSQL keeps after five calls of a session, cannot know the box and
kept the street-sized index scan for the whole region: 2.7-3.0 s a call instead of 0.3-0.6 s
on a million customers (measured; the figures are in the migration). The generic plan only
shows at that scale, so this checks the setting that prevents it, on the functions
themselves.
"""

from __future__ import annotations

from sqlalchemy import Connection, text


def test_point_and_heat_functions_plan_each_call(conn: Connection) -> None:
    rows = conn.execute(
        text(
            "SELECT proname, proconfig FROM pg_proc "
            "WHERE pronamespace = 'gcrm'::regnamespace "
            "AND proname IN ('points_in_box', 'customer_heat')"
        )
    ).all()
    assert sorted(name for name, _ in rows) == ["customer_heat", "points_in_box"]
    for name, config in rows:
        assert "plan_cache_mode=force_custom_plan" in config, name
        assert any(c.startswith("search_path=") for c in config), name  # 0014's, kept
