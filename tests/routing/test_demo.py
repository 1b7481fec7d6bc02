"""Drive times and catchments on the demo region (built once per session).

Branch flows on the demo region: tests/areas/test_flows.py.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, text

from gcrm.cli import cli
from gcrm.core import ValidationError
from gcrm.enrich import compute_drive_times
from gcrm.maps import external_references, read_branches
from gcrm.routing import (
    branch_catchments,
    drive_times_to_branches,
    read_branch_points,
    read_road_graph,
)
from tests.conftest import Demo


@pytest.fixture(scope="module")
def drive_times(demo: Demo) -> dict[str, int]:
    # Idempotent, so it may write to the shared demo database.
    with demo.engine.begin() as conn:
        return compute_drive_times(conn)


def _env(demo: Demo) -> dict[str, str]:
    return {
        "GCRM_DATABASE_URL": demo.settings.database_url,
        "GCRM_DATA_DIR": str(demo.settings.data_dir),
    }


def test_every_located_point_gets_a_drive_time(
    drive_times: dict[str, int], demo_conn: Connection
) -> None:
    for entity in ("customers", "leads"):
        located, timed, bad_branch, non_positive = demo_conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE geom IS NOT NULL), "
                "count(*) FILTER (WHERE drive_time_s IS NOT NULL), "
                "count(*) FILTER (WHERE branch_reached IS NOT NULL AND branch_reached NOT IN "
                "(SELECT code FROM gcrm.branches)), "
                "count(*) FILTER (WHERE drive_time_s <= 0) "
                f"FROM gcrm.{entity}"
            )
        ).one()
        assert drive_times[entity] == located > 0
        assert bad_branch == 0 and non_positive == 0
        # Points snap to the largest strongly connected part of the network, which holds
        # every branch: all are reached.
        assert timed == located


def test_drive_times_agree_with_a_direct_search(
    drive_times: dict[str, int], demo_conn: Connection
) -> None:
    rows = demo_conn.execute(
        text(
            "SELECT ST_X(geom), ST_Y(geom), drive_time_s, branch_reached FROM gcrm.customers "
            "WHERE geom IS NOT NULL ORDER BY external_id"
        )
    ).fetchall()
    frame = pd.DataFrame(rows, columns=["lon", "lat", "seconds", "branch"])
    branches = read_branch_points(demo_conn)
    seconds, index = drive_times_to_branches(
        read_road_graph(demo_conn),
        frame[["lon", "lat"]].to_numpy(dtype=float),
        branches[["lon", "lat"]].to_numpy(),
    )
    np.testing.assert_allclose(frame["seconds"].to_numpy(dtype=float), seconds, rtol=1e-9)
    codes = branches["code"].to_numpy()[np.maximum(index, 0)]
    expected = pd.Series(np.where(index >= 0, codes, None), dtype=object)
    stored = frame["branch"].astype(object).where(frame["branch"].notna(), None)
    pd.testing.assert_series_equal(expected, stored, check_names=False)
    # The nearest branch by road is nearly always among the two nearest as the crow flies;
    # drive times in a city centre of a few km stay under half an hour.
    assert np.nanmax(seconds) < 1800


def test_only_missing_computes_nothing_when_all_are_known(drive_times, demo: Demo) -> None:
    with demo.engine.connect() as conn:
        trans = conn.begin()
        counts = compute_drive_times(conn, only_missing=True)
        unreachable = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM gcrm.customers WHERE geom IS NOT NULL AND "
                "drive_time_s IS NULL), (SELECT count(*) FROM gcrm.leads WHERE "
                "drive_time_s IS NULL)"
            )
        ).one()
        trans.rollback()
    assert counts == {"customers": unreachable[0], "leads": unreachable[1]}


def test_compute_drive_times_rejects_unknown_entity(demo_conn: Connection) -> None:
    with pytest.raises(ValidationError, match="orders"):
        compute_drive_times(demo_conn, entities=("orders",))


def test_branch_catchments_grow_with_minutes(demo_conn: Connection) -> None:
    # The demo is a few km of city centre: 10 minutes reach nearly all of it.
    gdf = branch_catchments(demo_conn, minutes=(1, 2, 10))
    n_branches = demo_conn.execute(text("SELECT count(*) FROM gcrm.branches")).scalar_one()
    assert len(gdf) == 3 * n_branches
    assert gdf.crs.to_epsg() == 4326 and gdf.geometry.is_valid.all()
    for _, group in gdf.groupby("code"):
        group = group.sort_values("minutes")
        area = group["area_km2"].to_numpy()
        assert (np.diff(area) >= 0).all() and area[0] < area[-1]
        geoms = group.geometry.to_numpy()
        # A shorter limit's catchment lies (almost) inside a longer one's.
        for small, large in zip(geoms[:-1], geoms[1:], strict=True):
            assert small.difference(large).area <= 0.01 * small.area
    branches = read_branches(demo_conn).set_index("code")
    first = gdf[gdf["minutes"] == 1].set_index("code")
    assert first.geometry.contains(branches.geometry.reindex(first.index)).all()


def test_drive_times_command(demo: Demo) -> None:
    result = CliRunner().invoke(cli, ["drive-times", "--only", "customers"], env=_env(demo))
    assert result.exit_code == 0, result.output
    with demo.engine.connect() as conn:
        located = conn.execute(
            text("SELECT count(*) FROM gcrm.customers WHERE geom IS NOT NULL")
        ).scalar_one()
    assert f"drive times: {located} customers" in result.output


def test_catchments_command(demo: Demo, tmp_path: Path) -> None:
    out, page = tmp_path / "catchments.gpkg", tmp_path / "catchments.html"
    result = CliRunner().invoke(
        cli,
        ["catchments", "--minutes", "3,6", "-o", str(out), "--map", str(page)],
        env=_env(demo),
    )
    assert result.exit_code == 0, result.output
    gdf = gpd.read_file(out)
    assert sorted(gdf["minutes"].unique()) == [3.0, 6.0]
    assert (gdf["area_km2"] > 0).all()
    html = page.read_text(encoding="utf-8")
    assert external_references(html) == [] and "6 min" in html


def test_catchments_command_rejects_bad_input(demo: Demo, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["catchments", "--minutes", "5,x", "-o", str(tmp_path / "c.gpkg")], env=_env(demo)
    )
    assert result.exit_code != 0 and "5,10,15" in result.output
