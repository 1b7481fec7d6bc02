"""Region cubes: xarray Datasets of area x month x segment, built from PostGIS."""

from gcrm.cube.build import build_region_cube, load_cube, save_cube
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

__all__ = [
    "MEASURES",
    "Measure",
    "build_region_cube",
    "children",
    "cube_levels",
    "load_cube",
    "periods",
    "rollup_period",
    "save_cube",
    "select_measure",
    "time_series",
]
