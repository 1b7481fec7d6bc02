"""Area statistics from another geometry, against answers worked out by hand.

Two 1 km x 1 km areas side by side in EPSG:3067, A = zone Z1 (x 0..1000) and B = zone Z2
(x 1000..2000), under one region R (x 0..2000), y 0..1000. The cells (500 m or 1 km wide)
straddle the border and stick out of the region, so every share can be computed on paper:

| cell | x | y | population | households | in A | in B | outside |
|---|---|---|---:|---:|---|---|---|
| c1 | 500..1500 | 0..500 | 100 | 40 | half | half | – |
| c2 | 1500..2500 | 500..1000 | 80 | 20 | – | half | half |
| c3 | 0..500 | 500..1000 | 30 | 10 | all | – | – |
| c4 | 3000..3500 | 0..500 | 1000 | 1 | – | – | all |

Area-weighted: A = 50 + 30 = 80, B = 50 + 40 = 90; households A = 20 + 10, B = 20 + 10.
Of the 210 people in the cells that reach the areas, 40 (half of c2) stay outside.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import box
from sqlalchemy import Connection, text

from gcrm.cli import main
from gcrm.core import ValidationError
from gcrm.ingest import (
    InterpolationReport,
    import_area_stats,
    import_areas,
    import_buildings,
)
from gcrm.store import create_db_engine
from tests.databases import new_database

X0, Y0 = 385_000.0, 6_672_000.0
CRS = "EPSG:3067"
#: Areas are stored in EPSG:4326 and measured in an equal-area projection; the hand figures
#: are in EPSG:3067 metres. Shares of a cell agree to well under a part in ten thousand.
REL = 1e-4


def _sq(x0: float, y0: float, x1: float, y1: float):  # noqa: ANN202
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _areas(conn: Connection, tmp: Path) -> None:
    levels = tmp / "levels.csv"
    levels.write_text(
        "level,parent_level,rank,label,derivation\n"
        "region,,1,Region,hand-made\nzone,region,2,Zone,hand-made\n"
    )
    areas = gpd.GeoDataFrame(
        {
            "level": ["region", "zone", "zone"],
            "code": ["R", "Z1", "Z2"],
            "name": ["Region", "West", "East"],
            "parent_code": ["", "R", "R"],
        },
        geometry=[_sq(0, 0, 2000, 1000), _sq(0, 0, 1000, 1000), _sq(1000, 0, 2000, 1000)],
        crs=CRS,
    )
    path = tmp / "areas.geojson"
    areas.to_file(path)
    report = import_areas(conn, path, levels=levels)
    assert report.rejected == 0, report.summary()


def _grid(tmp: Path, *, extra: list[tuple] | None = None) -> Path:
    rows = [
        ("c1", "100", "40", _sq(500, 0, 1500, 500)),
        ("c2", "80", "20", _sq(1500, 500, 2500, 1000)),
        ("c3", "30", "10", _sq(0, 500, 500, 1000)),
        ("c4", "1000", "1", _sq(3000, 0, 3500, 500)),
        *(extra or []),
    ]
    grid = gpd.GeoDataFrame(
        {
            "cell": [r[0] for r in rows],
            "VAESTO": [r[1] for r in rows],
            "households": [r[2] for r in rows],
        },
        geometry=[r[3] for r in rows],
        crs=CRS,
    )
    path = tmp / "grid.gpkg"
    grid.to_file(path, layer="grid")
    return path


def _stats(conn: Connection, measure: str = "population") -> pd.Series:
    rows = conn.execute(
        text(
            "SELECT level || ':' || code, value FROM gcrm.area_stats WHERE measure = :m ORDER BY 1"
        ),
        {"m": measure},
    ).all()
    return pd.Series(dict(rows), dtype=float)


@pytest.fixture
def areas(conn: Connection, tmp_path: Path) -> Path:
    _areas(conn, tmp_path)
    return tmp_path


def _interpolate(
    conn: Connection, path: Path, method: str = "area", **kw: object
) -> InterpolationReport:
    report = import_area_stats(
        conn,
        path,
        interpolate=method,
        values=("population=VAESTO", "households"),
        source="hand grid",
        vintage="2024",
        **kw,  # type: ignore[arg-type]
    )
    assert isinstance(report, InterpolationReport)
    return report


def test_area_weighted_shares_by_hand_on_every_level(conn: Connection, areas: Path) -> None:
    report = _interpolate(conn, _grid(areas))
    population = _stats(conn)
    assert population["zone:Z1"] == pytest.approx(80, rel=REL)
    assert population["zone:Z2"] == pytest.approx(90, rel=REL)
    assert population["region:R"] == pytest.approx(170, rel=REL)
    households = _stats(conn, "households")
    assert households["zone:Z1"] == pytest.approx(30, rel=REL)
    assert households["zone:Z2"] == pytest.approx(30, rel=REL)
    row = conn.execute(
        text(
            "SELECT source, vintage, method FROM gcrm.area_stats "
            "WHERE code = 'Z1' AND measure = 'population'"
        )
    ).one()
    assert row == ("hand grid", "2024", "area-weighted interpolation of column VAESTO of grid.gpkg")
    # Rows in = used + outside + rejected; figures: 2 measures x 3 areas.
    assert (report.rows_read, report.cells_used, report.cells_outside, report.rejected) == (
        4,
        3,
        1,
        0,
    )
    assert (report.inserted, report.updated, report.unchanged) == (6, 0, 0)


def test_totals_are_reported_where_cells_stick_out(conn: Connection, areas: Path) -> None:
    report = _interpolate(conn, _grid(areas))
    totals = report.totals.set_index(["level", "measure"])
    assert totals.loc[("zone", "population"), "cells_total"] == 210
    assert totals.loc[("zone", "population"), "allocated"] == pytest.approx(170, rel=REL)
    assert report.details["population on zone"].startswith("170.0 of 210.0 (81.0%); 40.0 lie in")
    assert "outside every zone area" in report.details["population on zone"]


def test_totals_are_preserved_when_the_cells_lie_inside(conn: Connection, areas: Path) -> None:
    inside = gpd.GeoDataFrame(
        {"VAESTO": ["12", "7.5"], "households": ["4", "3"]},
        geometry=[_sq(900, 100, 1100, 300), _sq(0, 0, 2000, 1000)],
        crs=CRS,
    )
    path = areas / "inside.geojson"
    inside.to_file(path)
    report = _interpolate(conn, path)
    population = _stats(conn)
    # tobler keeps its table of overlaps in float32: preserved to a few parts in ten million.
    assert population["zone:Z1"] + population["zone:Z2"] == pytest.approx(19.5, rel=1e-6)
    assert population["zone:Z1"] == pytest.approx(6 + 3.75, rel=REL)
    assert report.details["population on zone"] == "19.5 of 19.5 (100.0%)"


def test_dasymetric_shares_by_residential_floor_area(conn: Connection, areas: Path) -> None:
    buildings = gpd.GeoDataFrame(
        {
            "ref": ["b1", "b2", "b3", "b4"],
            "use": ["residential", "residential", "residential", "commercial"],
            "levels": [2.0, 2.0, None, 3.0],
            "residential": [True, True, True, False],
        },
        geometry=[
            _sq(600, 100, 700, 200),  # in A, inside c1: 100 x 100 x 2 = 20,000 m²
            _sq(1200, 100, 1300, 150),  # in B, inside c1: 100 x 50 x 2 = 10,000 m²
            _sq(1950, 600, 2150, 700),  # in c2, levels unknown (1): 50 x 100 in B, 150 x 100 out
            _sq(100, 600, 200, 700),  # in c3, not residential: c3 is shared by surface
        ],
        crs=CRS,
    )
    path = areas / "buildings.geojson"
    buildings.to_file(path)
    import_buildings(conn, path)
    report = _interpolate(conn, _grid(areas), method="dasymetric")
    population = _stats(conn)
    # c1: 100 x 2/3 to A, x 1/3 to B; c2: 80 x 1/4 to B, 3/4 outside; c3 (30) all in A.
    assert population["zone:Z1"] == pytest.approx(100 * 2 / 3 + 30, rel=REL)
    assert population["zone:Z2"] == pytest.approx(100 / 3 + 20, rel=REL)
    assert population["region:R"] == pytest.approx(150, rel=REL)
    assert report.details["cells without residential floor area, shared by surface"] == 1
    assert "60.0 lie in cell parts outside" in report.details["population on region"]
    method = conn.execute(
        text("SELECT DISTINCT method FROM gcrm.area_stats WHERE measure = 'households'")
    ).scalar_one()
    assert method.startswith("dasymetric interpolation by residential floor area")


def test_dasymetric_without_buildings_names_the_fix(conn: Connection, areas: Path) -> None:
    with pytest.raises(ValidationError, match=r"gcrm import buildings FILE.*--interpolate area"):
        _interpolate(conn, _grid(areas), method="dasymetric")


def test_bad_cells_are_rejected_with_row_and_reason(conn: Connection, areas: Path) -> None:
    grid = _grid(
        areas,
        extra=[
            ("c5", "-1", "1", _sq(0, 0, 500, 500)),
            ("c6", "many", "1", _sq(0, 0, 500, 500)),
            ("c7", "", "1", _sq(0, 0, 500, 500)),
        ],
    )
    report = _interpolate(conn, grid)
    assert (report.rows_read, report.rejected) == (7, 3)
    assert report.rows_read == report.cells_used + report.cells_outside + report.rejected
    rejects = pd.read_csv(report.rejects_path, keep_default_na=False)
    assert rejects["row"].tolist() == [5, 6, 7]
    assert "is negative" in rejects["reason"][0] and "-1" in rejects["reason"][0]
    assert "is not a number" in rejects["reason"][1]
    assert "vaesto (population) is empty" in rejects["reason"][2]
    assert _stats(conn)["zone:Z1"] == pytest.approx(80, rel=REL)


def test_rerun_changes_nothing_and_vintages_sit_side_by_side(conn: Connection, areas: Path) -> None:
    grid = _grid(areas)
    _interpolate(conn, grid)
    again = _interpolate(conn, grid)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6)
    import_area_stats(
        conn, grid, interpolate="area", values=("population=VAESTO",), source="s", vintage="2025"
    )
    vintages = conn.execute(
        text(
            "SELECT vintage, count(*) FROM gcrm.area_stats WHERE measure = 'population' "
            "GROUP BY 1 ORDER BY 1"
        )
    ).all()
    assert vintages == [("2024", 3), ("2025", 3)]


def test_value_options_are_checked(conn: Connection, areas: Path) -> None:
    grid = _grid(areas)
    with pytest.raises(ValidationError, match=r"column\(s\) \['inhabitants'\] missing"):
        import_area_stats(conn, grid, interpolate="area", values=("population=inhabitants",))
    with pytest.raises(ValidationError, match="needs at least one --value"):
        import_area_stats(conn, grid, interpolate="area")
    with pytest.raises(ValidationError, match="needs --interpolate"):
        import_area_stats(conn, grid, values=("population",))
    with pytest.raises(ValidationError, match="named twice"):
        import_area_stats(conn, grid, interpolate="area", values=("population", "Population=x"))
    with pytest.raises(ValidationError, match="--level 'tract' is not an area level"):
        import_area_stats(conn, grid, interpolate="area", values=("households",), level="tract")


def _raster(tmp: Path, values: np.ndarray, *, x0: float, nodata: float = -9999.0) -> Path:
    import rasterio
    from affine import Affine

    path = tmp / "pop.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype="float32",
        crs=CRS,
        transform=Affine(500, 0, X0 + x0, 0, -500, Y0 + 1000),
        nodata=nodata,
    ) as dst:
        dst.write(values.astype("float32"), 1)
    return path


def test_raster_pixels_are_shared_by_hand(conn: Connection, areas: Path) -> None:
    # 500 m pixels from x = 750: columns 750..1250 (half A, half B), 1250..1750 (B),
    # 1750..2250 (half B, half outside); rows y 500..1000 and 0..500.
    nodata = -9999.0
    pixels = np.array([[10, 20, 40], [30, nodata, -5]])
    path = _raster(areas, pixels, x0=750, nodata=nodata)
    report = import_area_stats(
        conn, path, interpolate="area", values=("population",), source="raster", vintage="2020"
    )
    population = _stats(conn)
    assert population["zone:Z1"] == pytest.approx(10 / 2 + 30 / 2, rel=REL)
    assert population["zone:Z2"] == pytest.approx(10 / 2 + 20 + 40 / 2 + 30 / 2, rel=REL)
    assert population["region:R"] == pytest.approx(80, rel=REL)
    # Five pixels hold data; the negative one is rejected, the nodata one is not a cell.
    assert (report.rows_read, report.cells_used, report.rejected) == (5, 4, 1)
    rejects = pd.read_csv(report.rejects_path)
    assert rejects["row"].tolist() == ["1,2"] and "negative" in rejects["reason"][0]
    assert "20.0 lie in cell parts outside" in report.details["population on zone"]
    method = conn.execute(
        text("SELECT DISTINCT method FROM gcrm.area_stats WHERE vintage = '2020'")
    ).scalar_one()
    assert method == "area-weighted interpolation of band 1 of pop.tif"


def test_raster_band_must_exist(conn: Connection, areas: Path) -> None:
    path = _raster(areas, np.ones((2, 2)), x0=0)
    with pytest.raises(ValidationError, match=r"population=3.*has bands 1 to 1"):
        import_area_stats(conn, path, interpolate="area", values=("population=3",))
    with pytest.raises(ValidationError, match="name one by number"):
        import_area_stats(conn, path, interpolate="area", values=("population=pop",))


def test_command_line_prints_cells_figures_and_totals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with new_database() as url:
        engine = create_db_engine(url)
        try:
            with engine.begin() as conn:
                _areas(conn, tmp_path)
        finally:
            engine.dispose()
        monkeypatch.setenv("GCRM_DATABASE_URL", url)
        status = main(
            [
                "import",
                "area-stats",
                str(_grid(tmp_path)),
                "--interpolate",
                "area",
                "--value",
                "population=VAESTO",
                "--source",
                "hand grid",
                "--vintage",
                "2024",
                "--level",
                "zone",
            ]
        )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "4 cells read from" in out and "3 used, 1 outside every area, 0 rejected" in out
    assert "2 figures: 2 inserted" in out
    assert "population on zone: 170.0 of 210.0 (81.0%)" in out
