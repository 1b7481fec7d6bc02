"""Region cubes: xarray Datasets of area x month x segment, built from PostGIS, saved as
Zarr, sliced, rolled up and drilled with labelled operations."""

from gcrm.cube.build import (
    FLOW_MEASURES,
    SOURCE_VARIABLES,
    STATIC_MEASURES,
    STOCK_MEASURES,
    build_region_cube,
)
from gcrm.cube.ops import (
    MEASURES,
    Measure,
    children,
    cube_levels,
    periods,
    rollup_period,
    select_measure,
    time_series,
)
from gcrm.cube.persist import load_cube, save_cube
from gcrm.cube.scoped import build_scope_cubes, cube_mtime, ensure_scope_cube, scope_cube_path
from gcrm.cube.sources import SOURCE_OF, area_sources, describe_sources, measure_sources

__all__ = [
    "FLOW_MEASURES",
    "MEASURES",
    "SOURCE_OF",
    "SOURCE_VARIABLES",
    "STATIC_MEASURES",
    "STOCK_MEASURES",
    "Measure",
    "area_sources",
    "build_region_cube",
    "build_scope_cubes",
    "children",
    "cube_mtime",
    "cube_levels",
    "describe_sources",
    "ensure_scope_cube",
    "load_cube",
    "measure_sources",
    "periods",
    "rollup_period",
    "save_cube",
    "scope_cube_path",
    "select_measure",
    "time_series",
]
