"""Dwellings by type, building forms and heights per area, worked out by hand; statistics
where the user has them, estimates otherwise, each with its source and vintage.

Two 1 km x 1 km zones in EPSG:3067. Z1 has no housing statistics; Z2 has a dwellings total
of 100 (of which 60 in apartment blocks) from "register", vintage 2023.

| building | zone | OSM building | residential | storeys | footprint | form | dwellings |
|---|---|---|---|---:|---|---|---:|
| h1 | Z1 | house | yes | 2 | 10 x 12 | detached | 1 |
| h2 | Z1 | detached | yes | – | 15 x 10 | detached | 1 |
| u2 | Z1 | residential | yes | 2 | 10 x 10 | detached (small) | 1 |
| t1 | Z1 | terrace | yes | 2 | 30 x 10 | terraced | 600 / 90 |
| a1 | Z1 | apartments | yes | 6 | 20 x 20 | apartment | 2400 / 65 |
| u1 | Z1 | yes | yes | 1 | 25 x 20 | apartment (500 m² ≥ 400) | 500 / 65 |
| c1 | Z1 | commercial | no | 3 | 10 x 10 | non-residential | 0 |
| h3 | Z2 | house | yes | 1 | 10 x 10 | detached | 1 |
| t2 | Z2 | terrace | yes | 2 | 30 x 10 | terraced | 600 / 90 |
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely import box
from sqlalchemy import Connection

from gcrm.areas import ESTIMATE_SOURCE, area_profiles, profile_sources
from gcrm.ingest import import_area_stats, import_areas, import_buildings

X0, Y0 = 385_000.0, 6_672_000.0
CRS = "EPSG:3067"
#: Footprints are measured on the spheroid, drawn in EPSG:3067 (scale ~0.9998 here).
REL = 2e-3
BUILDINGS = [
    # ref, zone x offset, building, residential, levels, x, y, w, h
    ("h1", "house", True, 2.0, 100, 100, 10, 12),
    ("h2", "detached", True, None, 200, 100, 15, 10),
    ("u2", "residential", True, 2.0, 300, 100, 10, 10),
    ("t1", "terrace", True, 2.0, 100, 300, 30, 10),
    ("a1", "apartments", True, 6.0, 300, 300, 20, 20),
    ("u1", "yes", True, 1.0, 500, 300, 25, 20),
    ("c1", "commercial", False, 3.0, 700, 300, 10, 10),
    ("h3", "house", True, 1.0, 1100, 100, 10, 10),
    ("t2", "terrace", True, 2.0, 1300, 100, 30, 10),
]


@pytest.fixture
def zones(conn: Connection, tmp_path: Path) -> pd.DataFrame:
    levels = tmp_path / "levels.csv"
    levels.write_text("level,parent_level,rank,label,derivation\nzone,,1,Zone,hand-made\n")
    areas = gpd.GeoDataFrame(
        {"level": ["zone", "zone"], "code": ["Z1", "Z2"], "name": ["West", "East"]},
        geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)],
        crs=CRS,
    )
    areas.to_file(tmp_path / "areas.geojson")
    import_areas(conn, tmp_path / "areas.geojson", levels=levels)
    buildings = gpd.GeoDataFrame(
        {
            "ref": [b[0] for b in BUILDINGS],
            "building": [b[1] for b in BUILDINGS],
            "use": ["residential" if b[2] else "commercial" for b in BUILDINGS],
            "residential": [b[2] for b in BUILDINGS],
            "levels": [b[3] for b in BUILDINGS],
        },
        geometry=[box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h) for *_, x, y, w, h in BUILDINGS],
        crs=CRS,
    )
    buildings.to_file(tmp_path / "buildings.geojson")
    import_buildings(conn, tmp_path / "buildings.geojson")
    stats = tmp_path / "stats.csv"
    stats.write_text(
        "level,code,measure,value,source,vintage\n"
        "zone,Z2,dwellings,100,register,2023\nzone,Z2,dwellings_apartment,60,register,2023\n"
    )
    assert import_area_stats(conn, stats).rejected == 0
    return pd.DataFrame(area_profiles(conn, level="zone")).set_index("code")


def test_building_forms_and_heights_by_hand(zones: pd.DataFrame) -> None:
    z1 = zones.loc["Z1"]
    assert z1["buildings"] == 7
    shares = [z1[f"buildings_{f}_share"] for f in ("detached", "terraced", "apartment")]
    assert shares == pytest.approx([3 / 7, 1 / 7, 2 / 7])
    assert z1["buildings_nonresidential_share"] == pytest.approx(1 / 7)
    # Storeys known for 6 of 7: 2, 2, 2, 6, 1 (low x4), 3 (mid), 6 (high).
    assert z1["buildings_low_share"] == pytest.approx(4 / 6)
    assert z1["buildings_mid_share"] == pytest.approx(1 / 6)
    assert z1["buildings_high_share"] == pytest.approx(1 / 6)
    assert z1["mean_levels"] == pytest.approx(16 / 6)
    assert zones.loc["Z2", "buildings_terraced_share"] == pytest.approx(0.5)


def test_dwellings_by_type_estimated_where_no_statistics(zones: pd.DataFrame) -> None:
    z1 = zones.loc["Z1"]
    assert z1["dwellings_detached"] == 3
    assert z1["dwellings_terraced"] == pytest.approx(600 / 90, rel=REL)
    assert z1["dwellings_apartment"] == pytest.approx(2400 / 65 + 500 / 65, rel=REL)
    assert pd.isna(z1["dwellings"])  # no statistic: the total is not invented
    assert (
        f"dwellings_detached, dwellings_terraced, dwellings_apartment: {ESTIMATE_SOURCE}"
        in (z1["sources"])
    )


def test_statistics_win_and_estimates_split_what_they_leave(zones: pd.DataFrame) -> None:
    z2 = zones.loc["Z2"]
    assert z2["dwellings"] == 100 and z2["dwellings_apartment"] == 60
    # 40 left, shared by the buildings' mix of the other types: 1 house, 600/90 terraced.
    terraced = 600 / 90
    assert z2["dwellings_detached"] == pytest.approx(40 * 1 / (1 + terraced), rel=REL)
    assert z2["dwellings_terraced"] == pytest.approx(40 * terraced / (1 + terraced), rel=REL)
    assert "dwellings, dwellings_apartment: register (2023)" in z2["sources"]
    assert f"{ESTIMATE_SOURCE} and register (2023)" in z2["sources"]


def test_profile_sources_name_measures_methods_and_areas(
    conn: Connection, zones: pd.DataFrame
) -> None:
    sources = profile_sources(conn, level="zone").set_index(["measure", "source"])
    split = sources.loc[("dwellings_terraced", f"{ESTIMATE_SOURCE} and register")]
    assert split["vintage"] == "2023" and split["areas"] == 1
    assert "split by the building-form mix" in split["method"]
    estimate = sources.loc[("dwellings_terraced", ESTIMATE_SOURCE)]
    assert estimate["vintage"] == "buildings as stored" and "90 m² (terraced)" in estimate["method"]
    assert sources.loc[("businesses", "gcrm count of leads (gcrm.leads)"), "areas"] == 2


def test_provenance_of_a_level_without_areas() -> None:
    """A level with no area in a user's scope: nothing to describe, and no error (the empty
    frame once broke the cube of every scope)."""
    from gcrm.areas.housing import DWELLING_MEASURES, _provenance

    stats = pd.DataFrame(
        columns=["level", "code", "measure", "value", "source", "vintage", "method"]
    )
    estimated = pd.DataFrame(columns=list(DWELLING_MEASURES), index=pd.Index([], name="code"))
    out = _provenance(stats, estimated, split=pd.Series(dtype=bool))
    assert out.empty
