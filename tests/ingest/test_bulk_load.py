"""Large loads of the address reference (gcrm.store.bulk_load): COPY into an empty table, only
changed rows written, indexes dropped and built again, and the import rules unchanged.

The reference files here hold 12,000 points, above :data:`REBUILD_FROM_ROWS`, so that an
import takes the path a real reference takes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Connection, text

from gcrm.ingest import import_addresses
from gcrm.ingest.validate import RowChecks
from gcrm.store.bulk_load import REBUILD_FROM_ROWS, bulk_upsert, drop_indexes, restore_indexes

POINTS = 12_000


def _reference(points: int = POINTS, *, seed: int = 0) -> pd.DataFrame:
    """``points`` addresses on streets of 50 numbers, ~100 m blocks around 60.2N 24.9E."""
    rng = np.random.default_rng(seed)
    street = np.arange(points) // 50
    number = np.arange(points) % 50 + 1
    return pd.DataFrame(
        {
            "ref": [f"r{i}" for i in rng.permutation(points)],
            "street": [f"Katu {s}" for s in street],
            "housenumber": number.astype(str),
            "postcode": [f"{(s // 20) * 10:05d}" for s in street],
            "city": "Helsinki",
            "lon": 24.9 + (street % 100) * 0.002 + number * 1e-5,
            "lat": 60.2 + (street // 100) * 0.001,
        }
    )


def _write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def _indexes(conn: Connection) -> list[tuple[str, str]]:
    return [
        (r.indexname, r.indexdef)
        for r in conn.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'gcrm' "
                "AND tablename = 'address_points' ORDER BY indexname"
            )
        )
    ]


def _constraints(conn: Connection) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in conn.execute(
            text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'gcrm.address_points'::regclass ORDER BY conname"
            )
        )
    ]


def _index_oids(conn: Connection) -> dict[str, int]:
    """Each index's object id: a rebuilt index is a new object."""
    rows = conn.execute(
        text(
            "SELECT indexrelid::regclass::text, indexrelid FROM pg_index "
            "WHERE indrelid = 'gcrm.address_points'::regclass"
        )
    )
    return {name: int(oid) for name, oid in rows}


def _stored(conn: Connection) -> pd.DataFrame:
    """Every stored row with its physical place (ctid: an updated row moves)."""
    rows = conn.execute(
        text(
            "SELECT ref, street, housenumber, postcode, city, street_norm, housenumber_norm, "
            "number_int, ST_AsEWKT(geom) AS geom, ctid::text AS ctid "
            "FROM gcrm.address_points ORDER BY ref"
        )
    ).all()
    return pd.DataFrame(rows, columns=list(rows[0]._fields) if rows else None)


def test_the_fixture_is_large_enough_for_the_bulk_path() -> None:
    assert POINTS >= REBUILD_FROM_ROWS


def test_first_import_copies_and_leaves_the_same_indexes(conn: Connection, tmp_path: Path) -> None:
    indexes, constraints = _indexes(conn), _constraints(conn)
    frame = _reference()
    report = import_addresses(conn, _write(frame, tmp_path / "addresses.csv"))
    assert (report.rows_read, report.inserted, report.rejected) == (POINTS, POINTS, 0)
    assert _indexes(conn) == indexes
    assert _constraints(conn) == constraints
    stored = _stored(conn)
    assert len(stored) == POINTS
    row = stored.set_index("ref").loc[frame.loc[0, "ref"]]
    assert (row.street_norm, row.housenumber_norm, row.number_int) == ("katu 0", "1", 1)
    lon, lat = frame.loc[0, ["lon", "lat"]]
    assert row.geom == f"SRID=4326;POINT({lon!r} {lat!r})"
    # The geocoder's indexes were rebuilt on the new rows.
    streets = conn.execute(text("SELECT count(*) FROM gcrm.address_streets")).scalar_one()
    assert streets == POINTS // 50


def test_reimport_of_the_same_file_changes_nothing(conn: Connection, tmp_path: Path) -> None:
    path = _write(_reference(), tmp_path / "addresses.csv")
    import_addresses(conn, path)
    before = _stored(conn)
    conn.execute(
        text(
            "INSERT INTO gcrm.geocode_cache (input_key, precision, score, source) "
            "VALUES ('k', 'rooftop', 1, 'test')"
        )  # fmt: skip
    )
    again = import_addresses(conn, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, POINTS)
    # Not a row rewritten (same physical place), and the cache kept: nothing changed.
    pd.testing.assert_frame_equal(_stored(conn), before)
    assert conn.execute(text("SELECT count(*) FROM gcrm.geocode_cache")).scalar_one() == 1


def test_a_large_update_writes_only_what_changed(conn: Connection, tmp_path: Path) -> None:
    indexes = _indexes(conn)
    frame = _reference()
    import_addresses(conn, _write(frame, tmp_path / "first.csv"))
    before, oids = _stored(conn).set_index("ref"), _index_oids(conn)
    moved = frame.index[:7_000]  # more than half the table: the indexes are rebuilt
    second = frame.copy()
    second.loc[moved, "lon"] += 0.0001
    renamed = frame.index[7_000:7_010]
    second.loc[renamed, "street"] = "Uusi katu"
    new = _reference(6_000, seed=1).assign(ref=lambda f: "n" + f["ref"])
    second = pd.concat([second, new], ignore_index=True)
    report = import_addresses(conn, _write(second, tmp_path / "second.csv"))
    assert (report.inserted, report.updated, report.unchanged) == (6_000, 7_010, POINTS - 7_010)
    assert _indexes(conn) == indexes
    rebuilt = _index_oids(conn)
    assert rebuilt.keys() == oids.keys() and not set(rebuilt.values()) & set(oids.values())
    after = _stored(conn).set_index("ref")
    assert len(after) == POINTS + 6_000
    changed = set(frame.loc[moved.union(renamed), "ref"])
    same = before.index.difference(list(changed))
    pd.testing.assert_frame_equal(after.loc[same], before.loc[same])
    assert (after.loc[list(changed), "ctid"] != before.loc[list(changed), "ctid"]).all()
    assert set(after.loc[frame.loc[renamed, "ref"], "street_norm"]) == {"uusi katu"}


def test_a_small_update_keeps_the_indexes_in_place(conn: Connection, tmp_path: Path) -> None:
    frame = _reference()
    import_addresses(conn, _write(frame, tmp_path / "first.csv"))
    oids = _index_oids(conn)
    second = frame.copy()
    second.loc[:99, "lon"] += 0.0001
    report = import_addresses(conn, _write(second, tmp_path / "second.csv"))
    assert (report.updated, report.unchanged) == (100, POINTS - 100)
    assert _index_oids(conn) == oids  # the same index objects: maintained, not rebuilt


def test_bad_rows_are_rejected_on_the_bulk_path(conn: Connection, tmp_path: Path) -> None:
    frame = _reference().astype({"lon": object, "lat": object})
    frame.loc[10, "housenumber"] = ""  # empty
    frame.loc[20, "housenumber"] = "B"  # no number
    frame.loc[30, "lon"] = "east"  # no coordinates
    frame.loc[40, "lat"] = 95.0  # outside latitude
    frame.loc[50, "ref"] = frame.loc[49, "ref"]  # a duplicate: the first is kept
    frame.loc[60, "street"] = "x" * 301  # over the field's limit
    report = import_addresses(conn, _write(frame, tmp_path / "addresses.csv"))
    assert report.rows_read == POINTS == report.loaded + report.rejected
    assert (report.inserted, report.rejected) == (POINTS - 6, 6)
    rejects = pd.read_csv(report.rejects_path, dtype=str, keep_default_na=False)
    # The file's row numbers: a header line, then row i of the frame on line i + 2.
    assert rejects["row"].astype(int).tolist() == [12, 22, 32, 42, 52, 62]
    reasons = rejects["reason"].tolist()
    assert reasons[0] == "housenumber is empty"
    assert reasons[1] == "housenumber 'B' has no number"
    assert reasons[2] == "geometry is missing or empty"
    assert reasons[3].startswith("geometry has coordinates outside longitude")
    assert reasons[4] == "duplicate ref (first occurrence kept)"
    assert reasons[5].startswith("street is 301 characters long; at most 300")
    stored = set(conn.execute(text("SELECT ref FROM gcrm.address_points")).scalars())
    assert len(stored) == POINTS - 6
    assert not stored & set(frame.loc[[10, 20, 30, 40, 60], "ref"])


def test_indexes_a_foreign_key_needs_stay(conn: Connection) -> None:
    conn.execute(
        text(
            "CREATE TABLE gcrm.test_parent (id text PRIMARY KEY, v text); "
            "CREATE INDEX test_parent_v_idx ON gcrm.test_parent (v); "
            "COMMENT ON INDEX gcrm.test_parent_v_idx IS 'values, looked up'; "
            "CREATE TABLE gcrm.test_child (id text REFERENCES gcrm.test_parent (id))"
        )
    )
    dropped = drop_indexes(conn, "gcrm.test_parent")
    assert [d.name for d in dropped] == ["gcrm.test_parent_v_idx"]
    restore_indexes(conn, "gcrm.test_parent", dropped)
    comment = conn.execute(
        text("SELECT obj_description('gcrm.test_parent_v_idx'::regclass, 'pg_class')")
    ).scalar_one()
    assert comment == "values, looked up"
    frame = pd.DataFrame({"id": [f"p{i}" for i in range(50)], "v": "a"})
    assert bulk_upsert(conn, frame, table="gcrm.test_parent", key=["id"], rebuild_from=1) == (
        50,
        0,
    )
    changed = frame.assign(v=["b"] * 30 + ["a"] * 20)
    assert bulk_upsert(conn, changed, table="gcrm.test_parent", key=["id"], rebuild_from=1) == (
        0,
        30,
    )
    names = conn.execute(
        text("SELECT indexname FROM pg_indexes WHERE tablename = 'test_parent' ORDER BY 1")
    ).scalars()
    assert list(names) == ["test_parent_pkey", "test_parent_v_idx"]


def test_bulk_upsert_names_a_key_the_frame_lacks(conn: Connection) -> None:
    with pytest.raises(ValueError, match=r"key \['code'\] must name columns of the frame"):
        bulk_upsert(conn, pd.DataFrame({"ref": ["a"]}), table="gcrm.branches", key=["code"])


def test_a_reason_is_built_only_for_the_rows_it_explains() -> None:
    frame = pd.DataFrame({"_row": [2, 3, 4, 5], "v": ["a", "b", "c", "d"]})
    checks = RowChecks(frame)
    asked: list[list[int]] = []

    def reason(rows: pd.Series) -> pd.Series:
        asked.append(list(frame.index[rows]))
        return "v " + frame.loc[rows, "v"] + " is bad"

    checks.reject(frame["v"] == "z", reason)
    checks.reject(frame["v"].isin(["b", "d"]), "first reason")
    checks.reject(frame["v"].isin(["b", "c"]), reason)
    assert asked == [[2]]  # not asked when no row is bad; never for a row already rejected
    rejects = checks.rejects()
    assert rejects["row"].tolist() == [3, 4, 5]
    assert rejects["reason"].tolist() == ["first reason", "v c is bad", "first reason"]
    assert checks.ok.tolist() == [True, False, False, False]
