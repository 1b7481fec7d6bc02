"""A Bay Area world at scale for the enrichment benchmark: real zones (3 levels), a synthetic
zoning layer and road grid over the same extent, and N synthetic customers in the zones."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, text

from gcrm.demo._geom import sample_points_in_polygons
from gcrm.demo.bayarea import build_bayarea_region
from gcrm.ingest import import_area_stats, import_areas, import_roads, import_zones
from gcrm.store import copy_frame

METRIC = "EPSG:26910"  # UTM 10N, the zones' own CRS
ZONE_CLASSES = np.array(["residential", "commercial", "industrial", "mixed", "other"])


def build_world(
    engine: Engine,
    tmp: Path,
    *,
    customers: int,
    road_spacing_m: float = 420.0,
    zone_cell_m: float = 1500.0,
    seed: int = 0,
) -> dict[str, int]:
    """Load areas, zoning, roads and ``customers`` points; return the row counts."""
    files = build_bayarea_region(tmp / "bayarea", customers=100, seed=seed)
    areas = gpd.read_file(files["areas"]).to_crs(METRIC)
    region = shapely.union_all(areas.loc[areas["level"] == "county", "geometry"].values)
    xmin, ymin, xmax, ymax = region.bounds
    rng = np.random.default_rng(seed)

    zones = _zoning_grid(region, (xmin, ymin, xmax, ymax), zone_cell_m, rng)
    zones.to_crs("EPSG:4326").to_file(tmp / "zones.gpkg", engine="pyogrio")
    roads = _road_grid(region, (xmin, ymin, xmax, ymax), road_spacing_m, rng)
    roads.to_crs("EPSG:4326").to_file(tmp / "roads.fgb", engine="pyogrio")

    with engine.begin() as conn:
        import_areas(conn, files["areas"], levels=files["area_levels"])
        import_area_stats(conn, files["area_stats"])
        import_zones(conn, tmp / "zones.gpkg")
        import_roads(conn, tmp / "roads.fgb")

    zone_level = areas[areas["level"] == "zone"].reset_index(drop=True)
    households = pd.read_csv(files["area_stats"], dtype={"code": str})
    households = households[
        (households["level"] == "zone") & (households["measure"] == "households")
    ]
    weight = zone_level["code"].map(households.set_index("code")["value"]).fillna(0).to_numpy(float)
    which = rng.choice(len(zone_level), size=customers, p=weight / weight.sum())
    xy = sample_points_in_polygons(zone_level.geometry.values, which, rng=rng)
    points = gpd.GeoSeries(shapely.points(xy), crs=METRIC).to_crs("EPSG:4326")
    frame = gpd.GeoDataFrame(
        {
            "external_id": np.char.add("C", np.arange(customers).astype(str)),
            "name": "synthetic",
            "segment": "consumer",
            "status": "active",
            "signup_date": "2024-01-01",
            "geocode_precision": "rooftop",
            "geocode_score": 1.0,
            "geocode_source": "synthetic",
        },
        geometry=points.values,
        crs="EPSG:4326",
    ).rename_geometry("geom")
    with engine.begin() as conn:
        copy_frame(conn, "gcrm.customer_records", frame)
    # Both paths start from the state autovacuum leaves after an import: without this, the
    # path that runs first pays for setting the hint bits of every freshly loaded row.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    return {"areas": len(areas), "zones": len(zones), "roads": len(roads), "customers": customers}


def _zoning_grid(
    region: shapely.Geometry, bounds: tuple[float, ...], cell: float, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    xmin, ymin, xmax, ymax = bounds
    xs, ys = np.meshgrid(np.arange(xmin, xmax, cell), np.arange(ymin, ymax, cell))
    boxes = shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + cell, ys.ravel() + cell)
    keep = shapely.intersects(boxes, region)
    boxes = boxes[keep]
    classes = ZONE_CLASSES[rng.choice(len(ZONE_CLASSES), len(boxes), p=[0.5, 0.15, 0.1, 0.1, 0.15])]
    return gpd.GeoDataFrame(
        {
            "ref": np.char.add("z", np.arange(len(boxes)).astype(str)),
            "class": classes,
            "landuse": "synthetic",
        },
        geometry=boxes,
        crs=METRIC,
    )


def _road_grid(
    region: shapely.Geometry, bounds: tuple[float, ...], spacing: float, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Horizontal and vertical streets every ``spacing`` m, one segment per block, in the region."""
    xmin, ymin, xmax, ymax = bounds
    xs = np.arange(xmin, xmax, spacing)
    ys = np.arange(ymin, ymax, spacing)
    gx, gy = np.meshgrid(xs[:-1], ys)
    horizontal = shapely.linestrings(
        np.stack(
            [
                np.stack([gx.ravel(), gy.ravel()], 1),
                np.stack([gx.ravel() + spacing, gy.ravel()], 1),
            ],
            1,
        )
    )
    gx, gy = np.meshgrid(xs, ys[:-1])
    vertical = shapely.linestrings(
        np.stack(
            [
                np.stack([gx.ravel(), gy.ravel()], 1),
                np.stack([gx.ravel(), gy.ravel() + spacing], 1),
            ],
            1,
        )
    )
    lines = np.concatenate([horizontal, vertical])
    lines = lines[shapely.intersects(lines, region)]
    classes = np.array(["residential", "tertiary", "secondary", "primary"])[
        rng.choice(4, len(lines), p=[0.6, 0.2, 0.15, 0.05])
    ]
    speeds = (
        pd.Series(classes)
        .map({"residential": 40.0, "tertiary": 50.0, "secondary": 60.0, "primary": 80.0})
        .to_numpy()
    )
    return gpd.GeoDataFrame(
        {
            "ref": np.char.add("r", np.arange(len(lines)).astype(str)),
            "class": classes,
            "speed_kmh": speeds,
            "name": "Grid St",
            "oneway": False,
        },
        geometry=lines,
        crs=METRIC,
    )
