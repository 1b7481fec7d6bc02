"""The cubes of users' scopes: built once per scope, ahead of requests, under row-level
security; replaced whole while others read them."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gcrm.access import Principal, add_user, principal_by_name, scoped_engine
from gcrm.core import Settings
from gcrm.cube import (
    build_scope_cubes,
    cube_levels,
    cube_mtime,
    ensure_scope_cube,
    load_cube,
    save_cube,
    scope_cube_path,
    select_measure,
)
from gcrm.store import create_db_engine

USERS = {
    "anna": "district:D01",
    "cleo": "district:D01",  # the same scope as anna: one cube for both
    "bert": "district:D02",
    "root": "all",
    "ghost": "district:D03",  # an area without customers
}


@pytest.fixture(scope="module")
def principals(seeded: Settings) -> Iterator[dict[str, Principal]]:
    owner = create_db_engine(seeded.database_url)
    with owner.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO gcrm.areas (level, code, name, parent_code, derivation, geom) "
                "VALUES ('district', 'D03', 'Empty', NULL, 'test', ST_GeomFromText("
                "'MULTIPOLYGON(((25.0 60.0, 25.01 60.0, 25.01 60.01, 25.0 60.01, 25.0 60.0)))', 4326))"
            )
        )
        conn.execute(
            text(
                "INSERT INTO gcrm.area_levels (level, parent_level, rank, label, derivation) "
                "VALUES ('block', 'district', 2, 'Block', 'test')"
            )
        )
        for name, scope in USERS.items():
            add_user(conn, name, role="manager", scopes=[scope])
    with owner.connect() as conn:
        yield {name: principal_by_name(conn, name) for name in USERS}
    owner.dispose()


@pytest.fixture(scope="module")
def data(seeded: Settings) -> Iterator[Engine]:
    engine = scoped_engine(seeded.database_url)
    yield engine
    engine.dispose()


def test_each_scope_is_built_once_and_totals_its_own_customers(
    seeded: Settings, principals: dict[str, Principal], data: Engine
) -> None:
    people = list(principals.values())
    first = build_scope_cubes(data, seeded.cube_path, people)
    assert first == {"built": 2, "fresh": 0, "empty": 1}
    again = build_scope_cubes(data, seeded.cube_path, people)
    assert again == {"built": 0, "fresh": 2, "empty": 1}
    anna = load_cube(scope_cube_path(seeded.cube_path, principals["anna"]))
    assert list(anna["area"].values) == ["district:D01"]
    assert int(anna["customers"].isel(month=-1).sum()) == 2
    # A level without an area in the scope is known, and empty.
    assert [lv["level"] for lv in cube_levels(anna)] == ["district", "block"]
    assert select_measure(anna, "customers", level="block").empty
    assert scope_cube_path(seeded.cube_path, principals["cleo"]) == scope_cube_path(
        seeded.cube_path, principals["anna"]
    )
    # A new full cube makes every scope's stale: the next build makes them again.
    save_cube(load_cube(seeded.cube_path), seeded.cube_path)
    assert build_scope_cubes(data, seeded.cube_path, people)["built"] == 2


def _ensure(url: str, cube_path: str, name: str) -> float:
    engine = scoped_engine(url)
    try:
        with create_db_engine(url).connect() as conn:
            principal = principal_by_name(conn, name)
        return cube_mtime(ensure_scope_cube(engine, Path(cube_path), principal)) or 0.0
    finally:
        engine.dispose()


def test_two_processes_build_a_scope_once(
    seeded: Settings, principals: dict[str, Principal]
) -> None:
    """gunicorn's workers asking for the same stale scope: one builds, the other waits and
    reads the same cube (the same store on disk, not one written twice)."""
    save_cube(load_cube(seeded.cube_path), seeded.cube_path)  # every scope stale
    args = (seeded.database_url, str(seeded.cube_path), "bert")
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        stamps = pool.starmap(_ensure, [args, args])
    assert stamps[0] == stamps[1] > 0
    assert (
        int(
            load_cube(scope_cube_path(seeded.cube_path, principals["bert"]))["customers"]
            .isel(month=-1)
            .sum()
        )
        == 1
    )


def test_a_cube_is_replaced_whole_while_it_is_read(seeded: Settings, tmp_path: Path) -> None:
    cube = load_cube(seeded.cube_path)
    path = tmp_path / "cube.zarr"
    save_cube(cube, path)
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                assert load_cube(path).sizes == cube.sizes
            except BaseException as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(15):
            save_cube(cube, path)
    finally:
        stop.set()
        reader.join()
    assert errors == []
    assert not list(tmp_path.glob(".cube.zarr.*")), "no store left beside the cube"
