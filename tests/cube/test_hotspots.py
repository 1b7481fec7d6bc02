"""Hot spots on a constructed grid of areas: a planted cluster comes out, noise mostly does
not, the correction matters, islands are joined or left out, a seed repeats a result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
from geopandas.testing import assert_geodataframe_equal
from sqlalchemy import Connection, text

from gcrm.core import Settings, ValidationError
from gcrm.cube import describe_hotspots, find_hotspots, hotspots_geojson, save_cube
from gcrm.store import create_db_engine
from tests.databases import new_database

SIDE = 10
#: The planted cluster: the 3 x 3 block in the grid's lower left corner.
CLUSTER = {f"r{i}c{j}" for i in range(3) for j in range(3)}
ISLAND = "island"


def grid_areas(side: int = SIDE, *, island: bool = True) -> gpd.GeoDataFrame:
    """``side`` x ``side`` cells of 0.01 x 0.005 degrees near Helsinki sharing exact vertices
    (queen contiguity), plus an island cell well away from them."""
    cells, codes = [], []
    for i in range(side):
        for j in range(side):
            x0, y0 = round(24.8 + j * 0.01, 6), round(60.1 + i * 0.005, 6)
            cells.append(shapely.box(x0, y0, round(x0 + 0.01, 6), round(y0 + 0.005, 6)))
            codes.append(f"r{i}c{j}")
    if island:
        cells.append(shapely.box(25.0, 60.2, 25.005, 60.203))
        codes.append(ISLAND)
    areas = gpd.GeoDataFrame(
        {"level": "cell", "code": codes, "name": [f"Cell {c}" for c in codes]},
        geometry=cells,
        crs="EPSG:4326",
    )
    areas.insert(0, "area_id", "cell:" + areas["code"])
    return areas


def _strings(values: object) -> np.ndarray:
    return np.asarray(list(values), dtype=object)  # type: ignore[call-overload]


def grid_cube(areas: gpd.GeoDataFrame, leads: np.ndarray) -> xr.Dataset:
    """A cube of the grid's areas with one static measure, ``leads``."""
    ds = xr.Dataset(
        {"leads": ("area", np.asarray(leads, dtype=float))},
        coords={
            "area": _strings(areas["area_id"]),
            "month": pd.date_range("2025-01-01", periods=2, freq="MS").to_numpy(),
            "segment": _strings(["retail"]),
            "level": ("area", _strings(areas["level"])),
            "code": ("area", _strings(areas["code"])),
            "name": ("area", _strings(areas["name"])),
            "parent": ("area", _strings([""] * len(areas))),
        },
    )
    ds.attrs["levels"] = json.dumps([{"level": "cell", "parent_level": None, "rank": 1}])
    return ds


def clustered_leads(areas: gpd.GeoDataFrame, *, high: float = 60.0, seed: int = 1) -> np.ndarray:
    """Poisson noise around 10, and ``high`` in the cells of :data:`CLUSTER`."""
    leads = np.random.default_rng(seed).poisson(10, len(areas)).astype(float)
    leads[areas["code"].isin(CLUSTER).to_numpy()] = high
    return leads


@contextmanager
def saved_grid(folder: Path) -> Iterator[Settings]:
    """Settings of a database of its own holding the grid (level ``cell``), with the cube of
    its clustered leads saved: what the CLI and the API read."""
    with new_database() as url:
        settings = Settings(database_url=url, data_dir=folder)
        areas = grid_areas()
        engine = create_db_engine(url)
        try:
            with engine.begin() as conn:
                insert_grid(conn, areas)
        finally:
            engine.dispose()
        save_cube(grid_cube(areas, clustered_leads(areas)), settings.cube_path)
        yield settings


def insert_grid(conn: Connection, areas: gpd.GeoDataFrame) -> None:
    """The grid as the level ``cell`` of ``gcrm.areas`` (as an import would leave it)."""
    conn.execute(
        text(
            "INSERT INTO gcrm.area_levels (level, parent_level, rank, label, derivation) "
            "VALUES ('cell', NULL, 1, 'Cell', 'test')"
        )
    )
    conn.execute(
        text(
            "INSERT INTO gcrm.areas (level, code, name, parent_code, derivation, geom) "
            "VALUES ('cell', :code, :name, NULL, 'test', "
            "ST_Multi(ST_GeomFromText(:wkt, 4326)))"
        ),
        [
            {"code": code, "name": name, "wkt": geom.wkt}
            for code, name, geom in zip(areas["code"], areas["name"], areas.geometry, strict=True)
        ],
    )


@pytest.fixture(scope="module")
def areas() -> gpd.GeoDataFrame:
    return grid_areas()


def _classes(result: gpd.GeoDataFrame) -> pd.Series:
    return result.set_index("code")["cluster"]


def test_a_planted_cluster_is_a_hot_spot(areas: gpd.GeoDataFrame) -> None:
    result = find_hotspots(
        grid_cube(areas, clustered_leads(areas)), areas, level="cell", measure="leads"
    )
    classes = _classes(result)
    # The cluster's inner corner and its two edges have mostly high neighbours.
    assert (classes[["r0c0", "r0c1", "r1c0", "r1c1"]] == "hot spot").all()
    assert (classes.drop(list(CLUSTER)) != "hot spot").all()
    hot = result[result["cluster"] == "hot spot"]
    assert (hot["p_adjusted"] <= 0.05).all() and (hot["statistic"] > 1.96).all()
    assert result.attrs["method"] == "gi" and result.attrs["correction"] == "fdr"
    assert result.attrs["n_areas"] == len(areas)
    assert result.crs == areas.crs and list(result["code"]) == list(areas["code"])


def test_a_low_cluster_is_a_cold_spot_and_moran_names_the_quadrants(
    areas: gpd.GeoDataFrame,
) -> None:
    leads = clustered_leads(areas, high=0.0) + 0.0
    leads[areas["code"].isin({"r8c8", "r8c9", "r9c8", "r9c9", "r7c8", "r8c7", "r7c7"})] = 80
    cube = grid_cube(areas, leads)
    gi = _classes(find_hotspots(cube, areas, level="cell", measure="leads"))
    assert gi["r0c0"] == "cold spot" and gi["r8c8"] == "hot spot"
    moran = find_hotspots(cube, areas, level="cell", measure="leads", method="moran")
    classes = _classes(moran)
    assert classes["r8c8"] == "high-high" and classes["r0c0"] == "low-low"
    assert set(classes) <= {"high-high", "low-low", "high-low", "low-high", "not significant"}
    assert moran.attrs["method_label"] == "local Moran's I"


def test_noise_is_mostly_not_significant(areas: gpd.GeoDataFrame) -> None:
    leads = np.random.default_rng(7).gamma(2.0, 10.0, len(areas))
    for method in ("gi", "moran"):
        result = find_hotspots(
            grid_cube(areas, leads), areas, level="cell", measure="leads", method=method
        )
        significant = ~result["cluster"].isin(["not significant", "not tested"])
        assert significant.sum() <= 2, method


def test_the_correction_changes_what_is_significant(areas: gpd.GeoDataFrame) -> None:
    cube = grid_cube(areas, clustered_leads(areas, high=25.0, seed=3))
    found = {
        correction: find_hotspots(cube, areas, level="cell", measure="leads", correction=correction)
        for correction in ("none", "fdr", "bonferroni")
    }
    counts = {c: int((r["cluster"] == "hot spot").sum()) for c, r in found.items()}
    assert counts["none"] > counts["fdr"] >= counts["bonferroni"] == 0
    # The raw p-values do not depend on the correction; the adjusted ones do.
    np.testing.assert_array_equal(found["none"]["p_value"], found["fdr"]["p_value"])
    assert (found["none"]["p_adjusted"] == found["none"]["p_value"]).all()
    assert (found["bonferroni"]["p_adjusted"] >= found["fdr"]["p_adjusted"]).all()
    # 999 permutations cannot pass Bonferroni over 101 areas: the result says so.
    assert "at least 4039 permutations" in found["bonferroni"].attrs["note"]
    assert "Bonferroni over 101 areas" in describe_hotspots(found["bonferroni"])
    assert found["fdr"].attrs["note"] == ""


def test_an_island_is_joined_to_its_nearest_area(areas: gpd.GeoDataFrame) -> None:
    result = find_hotspots(
        grid_cube(areas, clustered_leads(areas)), areas, level="cell", measure="leads"
    ).set_index("code")
    assert result.loc[ISLAND, "island"] and result.loc[ISLAND, "neighbours"] == 1
    # The nearest cell to the island (east and north of the grid) is the top right one,
    # which gains the island as a fourth neighbour.
    assert result.loc["r9c9", "neighbours"] == 4 and not result.loc["r9c9", "island"]
    assert result.loc[ISLAND, "cluster"] in {"not significant", "hot spot", "cold spot"}
    assert result.attrs["island_ids"] == [f"cell:{ISLAND}"]
    assert result.attrs["island_crs"] == "EPSG:32635"  # UTM 35N, where the grid lies


def test_an_island_can_be_left_out(areas: gpd.GeoDataFrame) -> None:
    result = find_hotspots(
        grid_cube(areas, clustered_leads(areas)),
        areas,
        level="cell",
        measure="leads",
        islands="exclude",
    ).set_index("code")
    assert result.loc[ISLAND, "cluster"] == "not tested"
    assert np.isnan(result.loc[ISLAND, ["statistic", "p_value", "p_adjusted"]].astype(float)).all()
    assert result.loc["r9c9", "neighbours"] == 3
    assert result.attrs["n_areas"] == len(areas) - 1 and result.attrs["islands"] == "not tested"


def test_areas_without_a_value_are_not_tested(areas: gpd.GeoDataFrame) -> None:
    leads = clustered_leads(areas)
    leads[areas["code"].eq("r5c5").to_numpy()] = np.nan
    result = find_hotspots(grid_cube(areas, leads), areas, level="cell", measure="leads")
    assert _classes(result)["r5c5"] == "not tested"
    assert result.attrs["n_areas"] == len(areas) - 1


def test_a_seed_repeats_the_result(areas: gpd.GeoDataFrame) -> None:
    cube = grid_cube(areas, clustered_leads(areas, high=25.0, seed=3))
    first = find_hotspots(cube, areas, level="cell", measure="leads", seed=11)
    again = find_hotspots(cube, areas, level="cell", measure="leads", seed=11)
    other = find_hotspots(cube, areas, level="cell", measure="leads", seed=12)
    assert_geodataframe_equal(first, again)
    assert first.attrs == again.attrs
    assert not np.array_equal(first["p_value"], other["p_value"])


def test_the_callers_random_state_is_left_alone(areas: gpd.GeoDataFrame) -> None:
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    find_hotspots(grid_cube(areas, clustered_leads(areas)), areas, level="cell", measure="leads")
    assert np.random.random() == expected


@pytest.mark.parametrize(
    ("leads", "options", "fragment"),
    [
        (None, {"method": "getis"}, "method='getis' is unknown; use one of ['gi', 'moran']"),
        (None, {"correction": "holm"}, "correction='holm' is unknown"),
        (None, {"alpha": 1.5}, "alpha=1.5 is not a significance level"),
        (None, {"permutations": 10}, "permutations=10 is out of range; pass 99 to 99999"),
        (None, {"measure": "nope"}, "measure 'nope' unknown; expected one of"),
        (None, {"level": "hex"}, "level 'hex' unknown"),
        (np.full(101, 4.0), {}, "measure 'leads' is 4 in every area of level 'cell'"),
        (np.linspace(-5, 5, 101), {}, "use method='moran'"),
    ],
)
def test_bad_calls_say_what_to_change(
    areas: gpd.GeoDataFrame, leads: np.ndarray | None, options: dict, fragment: str
) -> None:
    cube = grid_cube(areas, clustered_leads(areas) if leads is None else leads)
    kwargs = {"level": "cell", "measure": "leads", **options}
    with pytest.raises(ValidationError) as info:
        find_hotspots(cube, areas, **kwargs)
    assert fragment in str(info.value)


def test_too_few_areas_is_refused() -> None:
    small = grid_areas(2, island=False)
    with pytest.raises(ValidationError) as info:
        find_hotspots(grid_cube(small, np.arange(4.0)), small, level="cell", measure="leads")
    assert "has a value in 4 areas of level 'cell'; hot spots need at least 5" in str(info.value)


def test_areas_are_read_from_postgis(conn: Connection, areas: gpd.GeoDataFrame) -> None:
    insert_grid(conn, areas)
    cube = grid_cube(areas, clustered_leads(areas))
    from_db = find_hotspots(cube, conn, level="cell", measure="leads")
    in_memory = find_hotspots(cube, areas, level="cell", measure="leads")
    # PostgreSQL gives the areas by code (the island first): the permutations fall on other
    # areas, so compare what does not depend on them.
    same = ["area_id", "name", "value", "neighbours", "island", "statistic"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(from_db[same]).sort_values("area_id", ignore_index=True),
        pd.DataFrame(in_memory[same]).sort_values("area_id", ignore_index=True),
    )
    assert _classes(from_db)["r1c1"] == "hot spot"
    assert from_db.geom_type.eq("MultiPolygon").all()


def test_the_geojson_states_method_alpha_and_correction(areas: gpd.GeoDataFrame) -> None:
    result = find_hotspots(
        grid_cube(areas, clustered_leads(areas)),
        areas,
        level="cell",
        measure="leads",
        alpha=0.1,
        correction="bonferroni",
        permutations=99,
    )
    collection = hotspots_geojson(result)
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 101
    assert (collection["method"], collection["alpha"], collection["correction"]) == (
        "gi",
        0.1,
        "bonferroni",
    )
    assert collection["permutations"] == 99 and "Getis-Ord Gi*" in collection["description"]
    first = collection["features"][0]
    assert first["id"] == "cell:r0c0" and first["properties"]["area"] == "cell:r0c0"
    json.dumps(collection, allow_nan=False)  # no NaN: nulls only
