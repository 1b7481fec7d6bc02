"""Building every file of the Helsinki demo region into one directory."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely
from tqdm import tqdm

from gcrm.core import METRIC_CRS, STORAGE_CRS
from gcrm.demo.helsinki_areas import build_area_levels, build_areas, build_region
from gcrm.demo.helsinki_layers import (
    build_addresses,
    build_buildings,
    build_leads,
    build_roads,
    build_zones,
    choose_branches,
)
from gcrm.demo.helsinki_osm import read_helsinki_osm
from gcrm.demo.helsinki_stats import build_area_stats, estimate_housing
from gcrm.demo.region_files import start_build, write_csv, write_layer
from gcrm.demo.synthetic_customers import build_customers
from gcrm.demo.synthetic_orders import build_orders

__all__ = ["DEMO_FILES", "build_demo_region"]

#: Names of the files written, in the order they are built.
DEMO_FILES = (
    "addresses",
    "roads",
    "zones",
    "buildings",
    "leads",
    "area_levels",
    "areas",
    "area_stats",
    "branches",
    "customers",
    "customers_truth",
    "orders",
)
_STEPS = 8


def build_demo_region(
    out_dir: Path, *, customers: int = 3000, seed: int = 42, progress: bool = False
) -> dict[str, Path]:
    """Write the Helsinki demo region: real OSM layers, derived areas, synthetic customers.

    Deterministic: the same ``customers`` and ``seed`` give byte-identical CSV files.
    See ``data/README.md`` for how every file is derived.

    Parameters
    ----------
    out_dir
        Directory to write into (created if missing; existing files are overwritten).
    customers
        Number of rows in ``customers.csv`` (at least 50).
    seed
        Seed of the synthetic customers and orders; the OSM-derived files do not depend on it.
    progress
        Show a progress bar of the build steps.

    Returns
    -------
    dict of str to pathlib.Path
        File name stem (``DEMO_FILES``) to the path written.

    Raises
    ------
    ValidationError
        If ``customers`` is below 50.
    """
    out_dir = start_build(out_dir, customers=customers)
    paths: dict[str, Path] = {}
    with tqdm(total=_STEPS, disable=not progress, desc="demo region", unit="step") as bar:
        bar.set_postfix_str("reading OpenStreetMap")
        osm = read_helsinki_osm()
        bar.update()

        bar.set_postfix_str("addresses, roads, zones, buildings, leads")
        addresses = build_addresses(osm.addresses)
        roads = build_roads(osm.roads)
        leads = build_leads(osm.pois)
        for name, frame in (
            ("addresses", addresses),
            ("roads", roads),
            ("zones", build_zones(osm.landuse)),
            ("buildings", build_buildings(osm.buildings)),
            ("leads", leads),
        ):
            paths[name] = write_layer(frame, out_dir, name)
        bar.update()

        bar.set_postfix_str("areas")
        region_m = build_region(addresses, roads)
        areas = build_areas(region_m, places=osm.places, addresses=addresses)
        paths["area_levels"] = write_csv(build_area_levels(), out_dir, "area_levels")
        paths["areas"] = write_layer(areas, out_dir, "areas")
        bar.update()

        bar.set_postfix_str("population estimates")
        housing = estimate_housing(osm.buildings, addresses=addresses, region_m=region_m)
        stats = build_area_stats(areas, housing=housing.points, leads=leads)
        paths["area_stats"] = write_csv(stats, out_dir, "area_stats")
        bar.update()

        bar.set_postfix_str("branches")
        branches = choose_branches(addresses)
        paths["branches"] = write_csv(branches, out_dir, "branches")
        bar.update()

        bar.set_postfix_str("customers")
        branch_points = gpd.points_from_xy(branches["lon"], branches["lat"], crs=STORAGE_CRS)
        branches_xy = shapely.get_coordinates(branch_points.to_crs(METRIC_CRS))
        export = build_customers(
            addresses,
            count=customers,
            seed=seed,
            dwellings=housing.address_dwellings,
            leads=leads,
            branches_xy=branches_xy,
        )
        paths["customers"] = write_csv(export.customers, out_dir, "customers")
        paths["customers_truth"] = write_csv(export.truth, out_dir, "customers_truth")
        bar.update()

        bar.set_postfix_str("orders")
        orders = build_orders(
            export.valid,
            branches_xy=branches_xy,
            branch_codes=branches["code"].tolist(),
            seed=seed,
        )
        paths["orders"] = write_csv(orders, out_dir, "orders")
        bar.update()
        bar.set_postfix_str("done")
        bar.update()
    return {name: paths[name] for name in DEMO_FILES}
