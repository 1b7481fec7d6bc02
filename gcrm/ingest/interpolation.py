"""Area statistics from another geometry: areal interpolation onto every area level.

A population grid (250 m or 1 km cells), census tracts, or a raster (GeoTIFF) rarely shares
the areas' boundaries. Each figure of a source cell is a count (people, households,
dwellings) and is shared among the areas the cell overlaps:

- ``area`` (area-weighted): in proportion to the part of the cell's surface inside each
  area (``tobler.area_weighted.area_interpolate``, with the cell's whole surface as the
  denominator: the share of a cell lying outside every area stays outside and is reported,
  never pushed inside);
- ``dasymetric``: in proportion to the residential floor area inside each area (footprint x
  storeys of the residential buildings of ``gcrm.buildings``, one storey where unknown, as
  the area profiles count it). Each cell is cut by the residential buildings, its figure
  shared among the pieces by floor area, and the pieces interpolated as above. A cell with
  no residential floor area in it is shared by surface instead, and counted in the report.

Every level is interpolated from the source itself (not from another level), so each level
holds the source's own figures. Surfaces are measured in a Lambert azimuthal equal-area
projection centred on the areas: a share of surface there is a share of the ground, wherever
the region lies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from gcrm.core import STORAGE_CRS, ValidationError
from gcrm.ingest.hierarchy import known_levels
from gcrm.ingest.load import _check_geometry
from gcrm.ingest.raster_cells import RASTER_SUFFIXES, read_raster_cells
from gcrm.ingest.readers import read_layer_file
from gcrm.ingest.runs import log_import_run
from gcrm.ingest.validate import (
    ImportReport,
    RowChecks,
    default_rejects_path,
    require_columns,
    shown,
    write_rejects,
)
from gcrm.store import load_queries, read_geodataframe, stage_frame, upsert_from_stage

__all__ = [
    "INTERPOLATION_METHODS",
    "InterpolationReport",
    "interpolate_area_stats",
    "parse_value_options",
]

#: ``--interpolate`` methods.
INTERPOLATION_METHODS = ("area", "dasymetric")
_METHOD_LABELS = {
    "area": "area-weighted interpolation",
    "dasymetric": "dasymetric interpolation by residential floor area",
}
_MEASURE = re.compile(r"^[a-z][a-z0-9_]*$")
_SQL = load_queries(__package__, "interpolation.sql")
_STATS_COLUMNS = ["level", "code", "measure", "value", "source", "vintage", "method"]


@dataclass
class InterpolationReport(ImportReport):
    """What an interpolated import did.

    The rows of the file are its cells (polygons, or pixels with data): ``rows_read`` =
    ``cells_used`` + ``cells_outside`` + ``rejected``. ``inserted``, ``updated`` and
    ``unchanged`` count the figures written (one per area, measure and level).
    """

    cells_used: int = 0
    cells_outside: int = 0
    totals: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> str:
        text = (
            f"{self.kind}: {self.rows_read} cells read from {self.source}: {self.cells_used} "
            f"used, {self.cells_outside} outside every area, {self.rejected} rejected"
        )
        if self.rejected and self.rejects_path is not None:
            text += f" (see {self.rejects_path})"
        text += (
            f"; {self.loaded} figures: {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )
        for key, value in self.details.items():
            text += f"\n  {key}: {value}"
        return text


@dataclass(frozen=True)
class _Source:
    """The usable cells (EPSG:4326 or the raster's CRS), the refused ones, and the count read."""

    cells: gpd.GeoDataFrame
    rejects: pd.DataFrame
    read: int
    kind: str  # "polygons" or "raster"


def parse_value_options(values: Sequence[str]) -> dict[str, str | None]:
    """``--value MEASURE[=COLUMN]`` options as measure -> column (None: the measure's name
    for a vector file, the only band of a raster).

    Raises
    ------
    ValidationError
        When none is given, a measure name is not lower-case letters, digits and ``_``, or a
        measure is named twice.
    """
    if not values:
        msg = "--interpolate needs at least one --value MEASURE[=COLUMN], e.g. --value population=VAESTO"
        raise ValidationError(msg)
    out: dict[str, str | None] = {}
    for item in values:
        measure, sep, column = item.partition("=")
        measure = measure.strip().lower()
        if not _MEASURE.match(measure) or len(measure) > 100:
            msg = (
                f"--value {item!r}: the measure {measure!r} must start with a letter and hold "
                "lower-case letters, digits and _ (at most 100), e.g. --value population=VAESTO"
            )
            raise ValidationError(msg)
        if measure in out:
            msg = f"--value {item!r}: measure {measure!r} is named twice; name it once"
            raise ValidationError(msg)
        out[measure] = column.strip() if sep and column.strip() else None
    return out


def interpolate_area_stats(
    conn: Connection,
    path: Path,
    *,
    method: str,
    values: dict[str, str | None],
    source: str,
    vintage: str,
    level: str | None = None,
    crs: str | None = None,
    rejects_path: Path | None = None,
) -> InterpolationReport:
    """Interpolate counts from a grid, other polygons or a raster onto the areas of every level.

    Parameters
    ----------
    conn
        A connection to the gcrm database (areas, and buildings for ``dasymetric``).
    path
        Polygons (any format GDAL reads: GeoPackage, Shapefile, GeoJSON, ...) or a raster
        (``.tif``/``.tiff``) whose values are counts per cell.
    method
        ``"area"`` or ``"dasymetric"`` (see the module docstring).
    values
        Measure -> column (polygons) or band number as text (raster); None: the measure's own
        column, or the only band. From :func:`parse_value_options`.
    source, vintage
        Recorded with every figure; ``method`` records how it was made.
    level
        Interpolate onto this level only; None: every level.
    crs
        The CRS of a file that declares none.
    rejects_path
        Where refused cells are listed (default ``FILE.rejects.csv``).

    Returns
    -------
    InterpolationReport
        Cells read, used, outside every area and rejected; figures inserted, updated,
        unchanged; per level and measure how much of the cells' total reached the areas
        (``totals`` and ``details``).

    Raises
    ------
    ValidationError
        When ``method`` is unknown, a column or band is missing, the level is unknown, the
        database has no areas, or ``dasymetric`` finds no residential buildings.
    """
    path = Path(path)
    if method not in INTERPOLATION_METHODS:
        msg = f"--interpolate {method!r} unknown; use one of {list(INTERPOLATION_METHODS)}"
        raise ValidationError(msg)
    targets = _read_targets(conn, level=level)
    xmin, ymin, xmax, ymax = (float(v) for v in targets.total_bounds)
    data = _read_source(path, values=values, bounds=(xmin, ymin, xmax, ymax), crs=crs)
    equal_area = _equal_area_crs(targets)
    cells = data.cells.to_crs(equal_area)
    targets = targets.to_crs(equal_area)
    measures = list(values)
    reaching = _cells_reaching(cells, targets)
    weighted, fallback = _weighted_source(conn, cells[reaching], measures, method=method)
    labels = _method_labels(method, values=values, kind=data.kind, file=path.name)
    frames, totals = [], []
    for lv, on_level in targets.groupby("level", sort=True):
        estimates = _interpolate(weighted, on_level, measures, extent=_extent(cells))
        frames.append(_figures(estimates, level=str(lv), labels=labels))
        totals.append(_level_totals(cells, on_level, estimates, measures, level=str(lv)))
    figures = pd.concat(frames, ignore_index=True)
    figures["source"], figures["vintage"] = source, vintage
    inserted, updated = _upsert_figures(conn, figures[_STATS_COLUMNS])
    report = InterpolationReport(
        kind="area-stats",
        source=str(path),
        rows_read=data.read,
        inserted=inserted,
        updated=updated,
        unchanged=len(figures) - inserted - updated,
        rejected=len(data.rejects),
        rejects_path=write_rejects(data.rejects, rejects_path or default_rejects_path(path)),
        cells_used=int(reaching.sum()),
        cells_outside=int((~reaching).sum()),
        totals=pd.concat(totals, ignore_index=True),
    )
    report.details.update(
        _details(report, method=method, fallback=fallback, targets=targets, figures=figures)
    )
    log_import_run(conn, report)
    return report


def _read_targets(conn: Connection, *, level: str | None) -> gpd.GeoDataFrame:
    """The areas of ``level`` (every level when None), EPSG:4326."""
    levels = sorted(known_levels(conn))
    if level is not None:
        if level not in levels:
            msg = f"--level {level!r} is not an area level; use one of {levels}"
            raise ValidationError(msg)
        levels = [level]
    targets = read_geodataframe(conn, _SQL["areas"], {"levels": levels})
    if targets.empty:
        msg = "the database has no areas to interpolate onto; import them first (gcrm import areas FILE)"
        raise ValidationError(msg)
    return targets


def _equal_area_crs(targets: gpd.GeoDataFrame) -> str:
    """A Lambert azimuthal equal-area projection centred on the areas (EPSG:4326 in)."""
    xmin, ymin, xmax, ymax = targets.total_bounds
    lon, lat = (xmin + xmax) / 2, (ymin + ymax) / 2
    return f"+proj=laea +lat_0={lat:.6f} +lon_0={lon:.6f} +datum=WGS84 +units=m +no_defs"


def _read_source(
    path: Path,
    *,
    values: dict[str, str | None],
    bounds: tuple[float, float, float, float],
    crs: str | None,
) -> _Source:
    if path.suffix.lower() in RASTER_SUFFIXES:
        bands = {m: _band(m, c) for m, c in values.items()}
        raster = read_raster_cells(path, bands=bands, bounds=bounds, crs=crs)
        return _Source(raster.cells, raster.rejects, raster.read, "raster")
    return _read_polygons(path, values=values, crs=crs)


def _band(measure: str, column: str | None) -> int | None:
    if column is None:
        return None
    if not column.isdigit():
        msg = f"--value {measure}={column}: a raster's values are bands; name one by number (--value {measure}=1)"
        raise ValidationError(msg)
    return int(column)


def _read_polygons(path: Path, *, values: dict[str, str | None], crs: str | None) -> _Source:
    """Polygon cells with a float column per measure; bad cells refused with the reason."""
    frame = read_layer_file(path, argument="area-stats file", crs=crs)
    columns = {m: (c or m).strip().lower() for m, c in values.items()}
    require_columns(
        frame,
        list(columns.values()),
        source=f"area-stats file {str(path)!r}",
        hint="--value MEASURE=COLUMN names the column of each measure.",
    )
    checks = RowChecks(frame)
    geoms = _check_geometry("Polygon", frame, checks)
    numbers = {m: _counts(frame[c], measure=m, column=c, checks=checks) for m, c in columns.items()}
    ok = checks.ok.to_numpy()
    cells = gpd.GeoDataFrame(
        {"_row": frame["_row"].to_numpy()[ok], **{m: v.to_numpy()[ok] for m, v in numbers.items()}},
        geometry=shapely.make_valid(geoms.to_numpy()[ok]),
        crs=STORAGE_CRS,
    )
    return _Source(cells, checks.rejects(), len(frame), "polygons")


def _counts(raw: pd.Series, *, measure: str, column: str, checks: RowChecks) -> pd.Series:
    """A column of counts as floats (a decimal comma allowed); empty, text, infinite and
    negative values are refused."""
    text = raw.astype("string").fillna("").str.strip()
    parsed = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    values = pd.Series(parsed.to_numpy(float, na_value=np.nan), index=raw.index)
    values = values.where(np.isfinite(values))
    checks.reject((text == "").to_numpy(bool), f"{column} ({measure}) is empty")
    checks.reject(values.isna(), f"{column} ({measure}) " + shown(text) + " is not a number")
    checks.reject(
        values.fillna(0.0) < 0,
        f"{column} ({measure}) " + shown(text) + " is negative; a count cannot be (Statistics "
        "Finland marks protected figures -1: leave such cells out or fill them)",
    )
    return values


def _cells_reaching(cells: gpd.GeoDataFrame, targets: gpd.GeoDataFrame) -> np.ndarray:
    """True for each cell that overlaps some area (of any level)."""
    hit = np.zeros(len(cells), dtype=bool)
    if len(cells):
        cell_idx, _ = targets.sindex.query(cells.geometry.values, predicate="intersects")
        hit[cell_idx] = True
    return hit


def _extent(cells: gpd.GeoDataFrame) -> shapely.Geometry:
    """The box the source covers: areas outside it get no figure (unknown, not zero)."""
    if cells.empty:
        return shapely.Polygon()
    return shapely.box(*cells.total_bounds)


def _weighted_source(
    conn: Connection, cells: gpd.GeoDataFrame, measures: list[str], *, method: str
) -> tuple[gpd.GeoDataFrame, int]:
    """What tobler interpolates: the cells themselves (``area``), or for ``dasymetric`` the
    cells cut by residential buildings, each piece carrying its share of the cell by floor
    area, plus the cells without any residential floor area whole. Also returns how many cells
    fell back to their surface."""
    whole = cells[[*measures, "geometry"]].reset_index(drop=True)
    if method == "area" or whole.empty:
        return whole, 0
    buildings = _residential_buildings(conn, cells)
    whole["cell"] = np.arange(len(whole))
    pieces = gpd.overlay(
        whole[["cell", "geometry"]], buildings, how="intersection", keep_geom_type=True
    )
    pieces["floor_m2"] = pieces.geometry.area * pieces["levels"].to_numpy(float)
    floor = pieces.groupby("cell")["floor_m2"].sum()
    pieces = pieces[pieces["cell"].map(floor) > 0]
    share = pieces["floor_m2"] / pieces["cell"].map(floor)
    for m in measures:
        pieces[m] = whole[m].to_numpy()[pieces["cell"].to_numpy()] * share.to_numpy()
    bare = whole[~whole["cell"].isin(floor[floor > 0].index)]
    out = pd.concat([pieces[[*measures, "geometry"]], bare[[*measures, "geometry"]]])
    return gpd.GeoDataFrame(out.reset_index(drop=True), geometry="geometry", crs=cells.crs), len(
        bare
    )


def _residential_buildings(conn: Connection, cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    xmin, ymin, xmax, ymax = cells.to_crs(STORAGE_CRS).total_bounds
    buildings = read_geodataframe(
        conn,
        _SQL["residential_buildings"],
        {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax},
    )
    if buildings.empty:
        msg = (
            "--interpolate dasymetric weighs by the floor area of residential buildings, and "
            "gcrm.buildings holds none where the cells are; import buildings (gcrm import "
            "buildings FILE, or gcrm import osm FILE --layers buildings) or use "
            "--interpolate area"
        )
        raise ValidationError(msg)
    return buildings[["levels", "geometry"]].to_crs(cells.crs)


def _interpolate(
    source: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame,
    measures: list[str],
    *,
    extent: shapely.Geometry,
) -> pd.DataFrame:
    """One row per area of one level inside the source's extent: its code and each measure."""
    # tobler pulls in statsmodels and rasterio: imported here, not when the CLI starts.
    from tobler.area_weighted import area_interpolate

    inside = targets[targets.intersects(extent)].reset_index(drop=True)
    if inside.empty:
        return pd.DataFrame(columns=["code", *measures])
    if source.empty:
        return inside[["code"]].assign(**dict.fromkeys(measures, 0.0))
    # allocate_total=False: a piece's share is its overlap over its own area, so what lies
    # outside every area is not pushed onto the areas.
    estimates = area_interpolate(
        source, inside[["code", "geometry"]], extensive_variables=measures, allocate_total=False
    )
    return pd.DataFrame({"code": inside["code"], **{m: estimates[m].to_numpy() for m in measures}})


def _method_labels(
    method: str, *, values: dict[str, str | None], kind: str, file: str
) -> dict[str, str]:
    """Per measure, how its figures were made: method, column or band, file (at most 300
    characters, the limit of the ``method`` field)."""
    labels = {}
    for measure, column in values.items():
        what = f"band {column or 1}" if kind == "raster" else f"column {column or measure}"
        labels[measure] = f"{_METHOD_LABELS[method]} of {what} of {file}"[:300]
    return labels


def _figures(estimates: pd.DataFrame, *, level: str, labels: dict[str, str]) -> pd.DataFrame:
    long = estimates.melt(id_vars="code", var_name="measure", value_name="value")
    long["level"] = level
    long["method"] = long["measure"].map(labels)
    return long.astype({"value": float})


def _level_totals(
    cells: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame,
    estimates: pd.DataFrame,
    measures: list[str],
    *,
    level: str,
) -> pd.DataFrame:
    """Per measure: the total of the cells reaching the level's areas, and what the areas got."""
    reaching = _cells_reaching(cells, targets)
    return pd.DataFrame(
        {
            "level": level,
            "measure": measures,
            "cells_total": [float(cells.loc[reaching, m].sum()) for m in measures],
            "allocated": [float(estimates[m].sum()) for m in measures],
        }
    )


def _upsert_figures(conn: Connection, figures: pd.DataFrame) -> tuple[int, int]:
    stage = stage_frame(conn, figures, like="gcrm.area_stats", name="_stage_area_stats")
    return upsert_from_stage(
        conn,
        stage=stage,
        table="gcrm.area_stats",
        key=["level", "code", "measure", "vintage"],
        columns=_STATS_COLUMNS,
    )


def _details(
    report: InterpolationReport,
    *,
    method: str,
    fallback: int,
    targets: gpd.GeoDataFrame,
    figures: pd.DataFrame,
) -> dict[str, object]:
    details: dict[str, object] = {
        "method": f"{_METHOD_LABELS[method]} (tobler), surfaces in an equal-area projection",
    }
    if fallback:
        details["cells without residential floor area, shared by surface"] = fallback
    for row in report.totals.itertuples(index=False):
        share = row.allocated / row.cells_total if row.cells_total else 1.0
        text = f"{row.allocated:,.1f} of {row.cells_total:,.1f} ({share:.1%})"
        gap = row.cells_total - row.allocated
        if abs(gap) > 1e-6 * max(row.cells_total, 1.0):
            text += f"; {gap:,.1f} lie in cell parts outside every {row.level} area"
        details[f"{row.measure} on {row.level}"] = text
    placed = figures.drop_duplicates(["level", "code"]).groupby("level").size()
    missing = targets.groupby("level").size().sub(placed, fill_value=0)
    for lv, n in missing[missing > 0].items():
        details[f"{lv}: areas outside the file's extent (no figure)"] = int(n)
    return details
