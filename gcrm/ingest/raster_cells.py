"""Raster grids (GeoTIFF) read as cells: one square polygon per pixel that holds data.

A population raster (GHS-POP, WorldPop, a national 250 m grid exported as GeoTIFF) holds a
count per pixel. Areal interpolation treats each pixel as a small polygon carrying its count,
exactly like a cell of a vector grid, so both kinds of file go through one interpolation.
Only the window of the raster that covers the areas is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gcrm.core import CRSMismatchError, ValidationError

__all__ = ["RASTER_SUFFIXES", "RasterCells", "read_raster_cells"]

#: File suffixes read as rasters by ``gcrm import area-stats --interpolate``.
RASTER_SUFFIXES = (".tif", ".tiff", ".geotiff")


@dataclass(frozen=True)
class RasterCells:
    """The pixels of a raster window as polygons, and what could not be used.

    ``cells`` holds one row per pixel with data in every band asked for (its geometry in the
    raster's CRS, one float column per measure, ``_row`` the pixel as ``"row,col"``);
    ``rejects`` the pixels refused, with ``row`` and ``reason``; ``read`` how many pixels of
    the window held data in some band.
    """

    cells: gpd.GeoDataFrame
    rejects: pd.DataFrame
    read: int


def read_raster_cells(
    path: Path,
    *,
    bands: dict[str, int | None],
    bounds: tuple[float, float, float, float],
    crs: str | None = None,
) -> RasterCells:
    """Read the pixels of ``path`` inside ``bounds`` as polygons carrying their values.

    Parameters
    ----------
    path
        A raster GDAL reads (GeoTIFF).
    bands
        Measure name -> band number (from 1); None takes the only band of a one-band raster.
    bounds
        ``(xmin, ymin, xmax, ymax)`` in EPSG:4326: the window to read (the areas' extent).
    crs
        The raster's CRS where the file declares none.

    Returns
    -------
    RasterCells
        The pixels with data, the rejected ones (negative or not a number) and the count read.

    Raises
    ------
    ValidationError
        When the file is not a raster, a band does not exist, or a band is not named for a
        raster with several.
    CRSMismatchError
        When the raster declares no CRS and ``crs`` is None.
    """
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.windows import Window

    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        msg = f"area-stats file {str(path)!r} cannot be read as a raster ({exc}); export it as GeoTIFF"
        raise ValidationError(msg) from None
    with src:
        numbers = _band_numbers(bands, count=src.count, path=path)
        raster_crs = src.crs or crs
        if raster_crs is None:
            msg = (
                f"area-stats file {str(path)!r} has no coordinate reference system; gcrm does "
                "not guess one. Pass --crs (e.g. --crs EPSG:3035)."
            )
            raise CRSMismatchError(msg)
        row0, col0, height, width = _window(src, bounds, raster_crs)
        if height and width:
            window = Window(col0, row0, width, height)
            data = src.read(list(numbers.values()), window=window, masked=True)
        else:
            data = np.ma.masked_all((len(numbers), 0, 0))
        return _cells(
            data, list(numbers), offset=(row0, col0), transform=src.transform, crs=raster_crs
        )


def _band_numbers(bands: dict[str, int | None], *, count: int, path: Path) -> dict[str, int]:
    numbers: dict[str, int] = {}
    for measure, band in bands.items():
        if band is None:
            if count != 1:
                msg = (
                    f"--value {measure}: {str(path)!r} has {count} bands; name one "
                    f"(--value {measure}=1 .. {measure}={count})"
                )
                raise ValidationError(msg)
            band = 1
        if not 1 <= band <= count:
            msg = f"--value {measure}={band}: {str(path)!r} has bands 1 to {count}"
            raise ValidationError(msg)
        numbers[measure] = band
    return numbers


def _window(
    src: object, bounds: tuple[float, float, float, float], crs: object
) -> tuple[int, int, int, int]:
    """``(row_off, col_off, height, width)`` of the whole pixels covering ``bounds``
    (EPSG:4326), clipped to the raster; height or width 0 when the areas lie outside it."""
    from rasterio.warp import transform_bounds
    from rasterio.windows import from_bounds

    # Densified: the areas' box is curved in a projected raster's CRS.
    box = transform_bounds("EPSG:4326", crs, *bounds, densify_pts=21)
    wanted = from_bounds(*box, transform=src.transform)  # type: ignore[attr-defined]
    row0 = max(math.floor(wanted.row_off), 0)
    col0 = max(math.floor(wanted.col_off), 0)
    row1 = min(math.ceil(wanted.row_off + wanted.height), src.height)  # type: ignore[attr-defined]
    col1 = min(math.ceil(wanted.col_off + wanted.width), src.width)  # type: ignore[attr-defined]
    return row0, col0, max(row1 - row0, 0), max(col1 - col0, 0)


def _cells(
    data: np.ma.MaskedArray,
    measures: list[str],
    *,
    offset: tuple[int, int],
    transform: object,
    crs: object,
) -> RasterCells:
    """Pixels with data as polygons; negative or non-finite values rejected. ``offset`` is
    the window's first row and column: labels and corners are the raster's own."""
    mask = np.ma.getmaskarray(data)
    values = np.ma.getdata(data).astype(float)
    rows, cols = np.nonzero(~mask.all(axis=0))
    picked = values[:, rows, cols]
    missing = mask[:, rows, cols]
    rows, cols = rows + offset[0], cols + offset[1]
    labels = pd.Series([f"{r},{c}" for r, c in zip(rows, cols, strict=True)], dtype=object)
    reasons = _reasons(picked, missing, measures)
    corners = _pixel_corners(rows, cols, transform)
    good = reasons == ""
    frame = pd.DataFrame({m: picked[i] for i, m in enumerate(measures)})
    frame.insert(0, "_row", labels)
    cells = gpd.GeoDataFrame(
        frame[good.to_numpy()].reset_index(drop=True),
        geometry=shapely.polygons(corners[good.to_numpy()]),
        crs=crs,
    )
    rejects = frame[~good.to_numpy()].rename(columns={"_row": "row"})
    rejects.insert(1, "reason", reasons[~good].to_numpy())
    return RasterCells(cells=cells, rejects=rejects.reset_index(drop=True), read=len(frame))


def _reasons(values: np.ndarray, missing: np.ndarray, measures: list[str]) -> pd.Series:
    """Why each pixel is refused ("" where it is not): the first problem found."""
    reasons = pd.Series([""] * values.shape[1], dtype=object)
    for i, measure in enumerate(measures):
        for bad, why in (
            (missing[i], f"{measure}: the band holds no data at this pixel (the others do)"),
            (~np.isfinite(values[i]) & ~missing[i], f"{measure}: the value is not a number"),
            (
                np.isfinite(values[i]) & (values[i] < 0) & ~missing[i],
                f"{measure}: the value is negative; counts cannot be (set it to 0 or to the "
                "raster's nodata value)",
            ),
        ):
            todo = bad & (reasons == "").to_numpy()
            reasons[todo] = why
    return reasons


def _pixel_corners(rows: np.ndarray, cols: np.ndarray, transform: object) -> np.ndarray:
    """The four corners (and the first again) of each pixel, shape (n, 5, 2), by the affine
    transform (its six coefficients: affine's ``*`` is deprecated), so rotated rasters come
    out right too."""
    a, b, c, d, e, f = (getattr(transform, k) for k in "abcdef")
    offsets = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], dtype=float)
    col = cols[:, None] + offsets[None, :, 0]
    row = rows[:, None] + offsets[None, :, 1]
    x = a * col + b * row + c
    y = d * col + e * row + f
    return np.stack([x, y], axis=-1)
