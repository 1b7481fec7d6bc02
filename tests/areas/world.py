"""A tiny hand-made world, written as real files and loaded through the real importers.

Two 1 km x 1 km areas side by side in EPSG:3067 (Helsinki), A = Z1 (west) and B = Z2 (east),
with buildings, roads, zones, addresses, customers and leads placed so every profile figure
can be worked out by hand (see tests/areas/test_profiles.py).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely import LineString, Point, box
from sqlalchemy import Connection

from gcrm.enrich import enrich_points
from gcrm.ingest import (
    import_addresses,
    import_area_stats,
    import_areas,
    import_buildings,
    import_customers,
    import_leads,
    import_roads,
    import_zones,
)

X0, Y0 = 385_000.0, 6_672_000.0
CRS = "EPSG:3067"


def _sq(x: float, y: float, w: float, h: float | None = None):  # noqa: ANN202
    return box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + (w if h is None else h))


def _pt(x: float, y: float) -> Point:
    return Point(X0 + x, Y0 + y)


def _write(tmp: Path, name: str, rows: list[dict], geoms: list) -> Path:  # noqa: ANN001
    path = tmp / f"{name}.geojson"
    gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=CRS).to_file(path)
    return path


def build_world(conn: Connection, tmp: Path) -> None:
    """Write the world's files into ``tmp`` and import them (and enrich) on ``conn``."""
    levels = tmp / "levels.csv"
    levels.write_text("level,parent_level,rank,label,derivation\nzone,,1,Zone,hand-made\n")
    areas = _write(
        tmp,
        "areas",
        [
            {"level": "zone", "code": "Z1", "name": "West"},
            {"level": "zone", "code": "Z2", "name": "East"},
        ],
        [_sq(0, 0, 1000), _sq(1000, 0, 1000)],
    )
    import_areas(conn, areas, levels=levels)
    stats = tmp / "stats.csv"
    stats.write_text(
        "level,code,measure,value,source,vintage\n"
        "zone,Z1,population,1000,hand,2025\nzone,Z1,households,500,hand,2025\n"
        "zone,Z1,dwellings,550,hand,2025\n"
    )
    import_area_stats(conn, stats)
    import_buildings(
        conn,
        _write(
            tmp,
            "buildings",
            [
                {"ref": "b1", "use": "residential", "levels": 4, "residential": True},
                {"ref": "b2", "use": "commercial", "levels": None, "residential": False},
                {"ref": "b3", "use": "industrial", "levels": 2, "residential": False},
                {"ref": "b4", "use": "residential", "levels": 3, "residential": True},
            ],
            # b4 straddles the border; its centroid is in Z2.
            [_sq(100, 100, 20), _sq(300, 300, 10), _sq(1500, 600, 30), _sq(995, 400, 10)],
        ),
    )
    import_roads(
        conn,
        _write(
            tmp,
            "roads",
            [{"ref": "r1", "class": "residential"}, {"ref": "r2", "class": "primary"}],
            [
                LineString([(X0 + 100, Y0 + 500), (X0 + 1600, Y0 + 500)]),
                LineString([(X0 + 1500, Y0 + 100), (X0 + 1500, Y0 + 900)]),
            ],
        ),
    )
    import_zones(
        conn,
        _write(
            tmp,
            "zones",
            [
                {"ref": "z1", "class": "residential"},
                {"ref": "z2", "class": "industrial"},
                {"ref": "z3", "class": "industrial"},
                {"ref": "z4", "class": "commercial"},
            ],
            [
                _sq(0, 0, 500, 1000),
                _sq(1500, 0, 500, 500),
                _sq(1500, 250, 500, 500),  # overlaps z2: the union covers 0.375 of Z2
                _sq(800, 0, 400, 1000),
            ],
        ),
    )
    import_addresses(
        conn,
        _write(
            tmp,
            "addresses",
            [
                {
                    "ref": "a1",
                    "street": "Testikatu",
                    "housenumber": "1",
                    "postcode": "00100",
                    "city": "Helsinki",
                },
                {
                    "ref": "a2",
                    "street": "Testikatu",
                    "housenumber": "3",
                    "postcode": "00100",
                    "city": "Helsinki",
                },
                {
                    "ref": "a3",
                    "street": "Testikatu",
                    "housenumber": "5",
                    "postcode": "00100",
                    "city": "Helsinki",
                },
            ],
            [_pt(200, 200), _pt(400, 600), _pt(1700, 200)],
        ),
    )
    customers = tmp / "customers.csv"
    customers.write_text(
        "customer_id,name,street,house_number,postcode,city,segment,status,signup_date,churn_date\n"
        "C1,Anna,Testikatu,1,00100,Helsinki,consumer,active,2024-01-01,\n"
        "C2,Bertil,Testikatu,1,00100,Helsinki,consumer,churned,2023-01-01,2024-06-01\n"
        "C3,Cecilia,Testikatu,3,00100,Helsinki,smb,active,2024-02-01,\n"
        "C4,David,Testikatu,5,00100,Helsinki,consumer,active,2024-03-01,\n"
    )
    report = import_customers(conn, customers)
    assert report.rejected == 0, report.summary()
    import_leads(
        conn,
        _write(
            tmp,
            "leads",
            [
                {
                    "external_id": f"L{i}",
                    "name": f"Lead {i}",
                    "category_group": "shop",
                    "category": "bakery",
                }
                for i in (1, 2, 3)
            ],
            [_pt(150, 800), _pt(600, 800), _pt(1800, 800)],
        ),
    )
    enrich_points(conn, full=True)
