"""Loading layer files: addresses, postcodes, roads, zones, buildings, leads and branches.

Every importer validates at the boundary, writes rejects with row numbers and reasons, repairs
invalid geometry in SQL (and counts it), and upserts by key in one transaction, so a re-run of
the same file changes nothing. The areas and their statistics: :mod:`gcrm.ingest.area_import`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from gcrm.core.crs import STORAGE_CRS
from gcrm.geocode import refresh_reference
from gcrm.ingest.checks import after_load, check_kind
from gcrm.ingest.codes import normalise_codes
from gcrm.ingest.mapping import ColumnMapping, apply_mapping, as_column_mapping
from gcrm.ingest.readers import read_layer_file, read_records
from gcrm.ingest.runs import log_import_run
from gcrm.ingest.specs import LayerSpec, layer_spec
from gcrm.ingest.validate import (
    ImportReport,
    Reason,
    RowChecks,
    check_text_fields,
    default_rejects_path,
    reject_empty_rows,
    require_columns,
    shown,
    write_rejects,
)
from gcrm.io import GEOMETRY_PROBLEM, READ_WARNINGS, numbers_as_text
from gcrm.store import bulk_upsert, stage_frame, to_ewkb_hex, upsert_from_stage, upsert_outcomes

__all__ = [
    "as_text",
    "delete_addresses",
    "import_addresses",
    "import_branches",
    "import_buildings",
    "import_layer",
    "import_postcodes",
    "import_roads",
    "import_zones",
    "load_layer",
    "read_layer",
]

_FAMILY_TYPES = {
    "Point": {"Point", "Polygon", "MultiPolygon"},  # polygons stand in as a representative point
    "LineString": {"LineString", "MultiLineString"},
    "Polygon": {"Polygon", "MultiPolygon"},
}
#: The key suffix of the second and later parts of a multi-part line (``<ref>#<n>``).
_PART_SUFFIX = r"#\d+$"
#: shapely's type ids and the names geopandas (and GeoJSON) give them.
_TYPE_NAMES = {
    -1: "None",
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}
_TRUE = {"1", "true", "t", "yes", "y", "-1"}
_FALSE = {"0", "false", "f", "no", "n", ""}


def _openaddresses_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The OpenAddresses CSV schema (NUMBER, STREET, ..., HASH) read as gcrm's address fields."""
    if "housenumber" not in frame.columns and "number" in frame.columns:
        frame = frame.rename(columns={"number": "housenumber"})
    if "ref" not in frame.columns:
        for candidate in ("hash", "id"):
            if candidate in frame.columns and (frame[candidate] != "").all():
                frame = frame.assign(ref="oa:" + frame[candidate])
                break
        else:
            # No id in the file: the address itself is the key, so a re-run still upserts.
            key = (
                frame.get("street", "")
                + "|"
                + frame.get("housenumber", "")
                + "|"
                + frame.get("unit", "")
                + "|"
                + frame.get("postcode", "")
            )
            frame = frame.assign(ref="addr:" + key.str.lower())
    return frame


def read_layer(spec: LayerSpec, path: Path, *, crs: str | None = None) -> pd.DataFrame:
    argument = f"{spec.kind} file"
    frame = (
        read_layer_file(path, argument=argument, crs=crs)
        if spec.family
        else read_records(path, argument=argument)
    )
    return as_text(frame)


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every attribute as stripped text (``""`` when missing), as the row checks expect.

    Numbers are written as people write them (:func:`gcrm.io.numbers_as_text`): a float
    field's ``35.0`` is ``"35"``, its ``17031839000.0`` is ``"17031839000"``.
    """
    for col in frame.columns:
        if col not in ("_row", "geometry"):
            frame[col] = numbers_as_text(frame[col]).fillna("").str.strip()
    return frame


def _check_rows(spec: LayerSpec, frame: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
    """Per-row checks; returns the typed, cleaned columns of the spec."""
    clean = pd.DataFrame(index=frame.index)
    for col in spec.stored:
        clean[col] = (
            frame[col] if col in frame else pd.Series("", index=frame.index, dtype="string")
        )
    reject_empty_rows(frame, checks)
    check_text_fields(clean, checks, spec.stored)
    for col in spec.lowercase:
        clean[col] = clean[col].str.lower()
    for col in spec.key + spec.not_empty:
        checks.reject(clean[col] == "", f"{col} is empty")
    dup = clean.duplicated(subset=list(spec.key), keep="first")
    checks.reject(dup, "duplicate " + "+".join(spec.key) + " (first occurrence kept)")
    for col, allowed in spec.allowed.items():
        checks.reject(
            ~clean[col].isin(allowed),
            _quoting(clean[col], col + " ", f" unknown; expected one of {list(allowed)}"),
        )
    _check_numbers(spec, frame, clean, checks)
    _check_booleans(spec, clean, checks)
    if spec.family:
        clean["geom"] = _check_geometry(spec.family, frame, checks)
    if spec.family == "LineString":
        k = spec.key[0]
        checks.reject(
            clean[k].str.contains(_PART_SUFFIX, regex=True),
            _quoting(
                clean[k],
                k + " ",
                " ends in #<number>, which gcrm gives the parts of multi-part lines; rename it",
            ),
        )
    return clean.replace({"": None})


def _quoting(values: pd.Series, before: str, after: str) -> Reason:
    """A reason that quotes each bad row's value (:func:`shown`), built for those rows only."""

    def reason(rows: pd.Series) -> pd.Series:
        return before + shown(values[rows]) + after

    return reason


def _check_numbers(
    spec: LayerSpec, frame: pd.DataFrame, clean: pd.DataFrame, checks: RowChecks
) -> None:
    """Numeric columns as floats (a decimal comma allowed); anything else is rejected."""
    for col in spec.numeric:
        if col not in frame:
            clean[col] = np.nan
            continue
        values = pd.to_numeric(clean[col].str.replace(",", ".", regex=False), errors="coerce")
        # inf and NaN parse as numbers; as figures they are not.
        values = values.where(np.isfinite(values.to_numpy(float)))
        checks.reject(
            (clean[col] != "") & values.isna(),
            _quoting(clean[col], col + " ", " is not a number"),
        )
        if col in spec.required:
            checks.reject(clean[col] == "", f"{col} is empty")
        clean[col] = values


def _check_booleans(spec: LayerSpec, clean: pd.DataFrame, checks: RowChecks) -> None:
    """Yes/no columns as booleans; anything but yes/no, true/false, 1/0 (or empty) is rejected."""
    for col in spec.boolean:
        text_ = clean[col].str.lower()
        checks.reject(
            ~text_.isin(_TRUE | _FALSE),
            _quoting(clean[col], col + " ", " is not yes/no"),
        )
        clean[col] = text_.isin(_TRUE)


def _check_geometry(family: str, frame: pd.DataFrame, checks: RowChecks) -> pd.Series:
    """Reject missing, undecodable, mistyped, out-of-range and degenerate geometries;
    return them in 2D (the tables hold no Z or M)."""
    if GEOMETRY_PROBLEM in frame:
        problem = frame[GEOMETRY_PROBLEM].astype("string").fillna("")
        checks.reject(
            problem != "",
            lambda rows: (
                "geometry is broken (" + problem[rows] + "); fix it in a GIS "
                "(QGIS: Fix geometries) and export again"
            ),
        )
    geoms = _flat(frame.geometry.to_numpy())
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    checks.reject(missing, "geometry is missing or empty")
    type_id = shapely.get_type_id(geoms)
    of_family = np.isin(type_id, [t for t, n in _TYPE_NAMES.items() if n in _FAMILY_TYPES[family]])
    checks.reject(
        ~missing & ~of_family,
        lambda rows: (
            "geometry is "
            + pd.Series(type_id, index=frame.index)[rows].map(_TYPE_NAMES)
            + f"; expected {family}"
        ),
    )
    inside = _inside_lon_lat(geoms)
    checks.reject(
        ~missing & ~inside,
        "geometry has coordinates outside longitude -180..180, latitude -90..90 (or not "
        "numbers); check the coordinates, and the file's CRS (--crs)",
    )
    short = _short_rings(geoms)
    checks.reject(
        short,
        "geometry has a ring of fewer than 4 points (a polygon needs 3 corners and the first "
        "point again); fix it in a GIS (QGIS: Fix geometries) and export again",
    )
    measurable = ~missing & inside & ~short & of_family
    _check_size(family, geoms, measurable, checks)
    return pd.Series(geoms, index=frame.index, dtype=object)


def _inside_lon_lat(geoms: np.ndarray) -> np.ndarray:
    """True where every coordinate is a number within longitude/latitude."""
    bounds = shapely.bounds(geoms)
    return (
        np.isfinite(bounds).all(axis=1)
        & (bounds[:, 0] >= -180)
        & (bounds[:, 2] <= 180)
        & (bounds[:, 1] >= -90)
        & (bounds[:, 3] <= 90)
    )


def _check_size(family: str, geoms: np.ndarray, measurable: np.ndarray, checks: RowChecks) -> None:
    """Reject polygons without area and lines without length (points have no size)."""
    if family not in ("Polygon", "LineString"):
        return
    size = np.zeros(len(geoms))
    if family == "Polygon":
        # Area after the repair the database will make: a bow-tie keeps its area.
        size[measurable] = shapely.area(shapely.make_valid(geoms[measurable]))
    else:
        size[measurable] = shapely.length(geoms[measurable])
    what = "polygon has no area" if family == "Polygon" else "line has no length"
    checks.reject(measurable & (size == 0), f"{what} (all its points coincide or lie on one line)")


def _flat(geoms: np.ndarray) -> np.ndarray:
    """The geometries in 2D; only those with Z are rebuilt (a million points: 0.4 s)."""
    has_z = shapely.has_z(geoms)
    if not has_z.any():
        return geoms
    flat = geoms.copy()
    flat[has_z] = shapely.force_2d(geoms[has_z])
    return flat


def _short_rings(geoms: np.ndarray) -> np.ndarray:
    """True where a polygon has a ring of fewer than 4 points: GEOS reads it, PostGIS not."""
    short = np.zeros(len(geoms), dtype=bool)
    # Only polygons (and collections, which may hold some) have rings.
    polygonal = np.flatnonzero(np.isin(shapely.get_type_id(geoms), [3, 6, 7]))
    parts, part_of = shapely.get_parts(geoms[polygonal], return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    short[polygonal[part_of[ring_of[shapely.get_num_coordinates(rings) < 4]]]] = True
    return short


def import_layer(
    conn: Connection,
    kind: str,
    path: Path,
    *,
    rejects_path: Path | None = None,
    mapping: ColumnMapping | dict[str, str] | None = None,
    crs: str | None = None,
    defaults: dict[str, str] | None = None,
) -> ImportReport:
    """Validate and upsert one layer file of ``kind`` (one of :data:`LAYERS`).

    ``mapping`` renames file columns to gcrm fields (``--map FIELD=COLUMN``, a mapping file;
    its ``widths`` zero-pad codes); ``crs`` states the CRS of a file that has none;
    ``defaults`` fills a field missing from the file (e.g. ``{"level": "tract"}``). Leads
    have an importer of their own (:func:`gcrm.ingest.leads.import_leads`).

    Raises
    ------
    ValidationError
        When ``kind`` is unknown, the file unreadable, a required column missing, or the
        file has no CRS.
    """
    spec = layer_spec(kind)
    if kind == "leads":
        from gcrm.ingest.leads import import_leads  # leads read tables without lon/lat too

        return import_leads(conn, path, rejects_path=rejects_path, mapping=mapping, crs=crs)
    path = Path(path)
    mapping = as_column_mapping(mapping)
    frame = read_layer(spec, path, crs=crs)
    read_warnings = list(frame.attrs.get(READ_WARNINGS, []))
    frame = apply_mapping(frame, mapping, source=f"{kind} file {str(path)!r}")
    for field_name, value in (defaults or {}).items():
        if field_name not in frame.columns or (frame[field_name] == "").all():
            frame[field_name] = value
    if kind == "addresses":
        frame = _openaddresses_columns(frame)
    return load_layer(
        conn,
        spec,
        frame,
        source=str(path),
        rejects_path=rejects_path or default_rejects_path(path),
        details={"warnings while reading the file": read_warnings} if read_warnings else None,
        widths=mapping.widths,
    )


def load_layer(
    conn: Connection,
    spec: LayerSpec,
    frame: pd.DataFrame,
    *,
    source: str,
    rejects_path: Path,
    details: dict[str, object] | None = None,
    widths: Mapping[str, int] | None = None,
    checks: RowChecks | None = None,
) -> ImportReport:
    """Check, upsert and report ``frame`` (text columns, ``_row``, EPSG:4326 ``geometry``).

    Codes are written as people write them, zero-padded to ``widths`` where given
    (:func:`gcrm.ingest.codes.normalise_codes`). ``checks`` carries reasons an importer
    found before (built on ``frame``). Counts are of the rows read: a multi-part line loads
    as one row per part (keyed ``<ref>#<n>``) and counts once, so rows read = inserted +
    updated + unchanged + rejected.
    """
    kind = spec.kind
    require_columns(frame, spec.required, source=f"{kind} file {source!r}")
    frame = normalise_codes(frame, widths=widths)
    checks = checks if checks is not None else RowChecks(frame)
    clean = check_kind(kind, conn, _check_rows(spec, frame, checks), checks)
    ok = checks.ok
    # Every row good (a clean reference): no copy of a million rows.
    good = clean if ok.all() else clean.loc[ok].copy()
    details = {**(details or {}), **_geometry_details(spec, frame, good, checks)}
    inserted, updated = _upsert_rows(conn, spec, good, details)
    if inserted or updated:
        # Fresh planner statistics: a bulk load changes the table's size by orders of magnitude.
        conn.execute(text(f"ANALYZE {spec.table}"))
    rejects = checks.rejects()
    report = ImportReport(
        kind=kind,
        source=source,
        rows_read=len(frame),
        inserted=inserted,
        updated=updated,
        unchanged=len(good) - inserted - updated,
        rejected=len(rejects),
        rejects_path=write_rejects(rejects, rejects_path),
        details=details,
    )
    after_load(conn, report)
    log_import_run(conn, report)
    return report


def _geometry_details(
    spec: LayerSpec, frame: pd.DataFrame, good: pd.DataFrame, checks: RowChecks
) -> dict[str, object]:
    """What the load does to the good rows' geometry: Z dropped, invalid ones repaired."""
    if not spec.family:
        return {}
    details: dict[str, object] = {}
    flattened = int(shapely.has_z(frame.geometry.to_numpy()[checks.ok.to_numpy()]).sum())
    if flattened:
        details["z coordinates dropped (the tables are 2D)"] = flattened
    invalid = int((~shapely.is_valid(good["geom"].to_numpy())).sum())
    if invalid:
        details["invalid geometries repaired (ST_MakeValid)"] = invalid
    return details


def _upsert_rows(
    conn: Connection, spec: LayerSpec, good: pd.DataFrame, details: dict[str, object]
) -> tuple[int, int]:
    """Stage and upsert the good rows; ``(inserted, updated)`` counted by row of the file.

    A multi-part line is staged as one row per part; it counts as inserted when a part is
    new, else as updated when a part changed.
    """
    if spec.family == "Point" and not spec.expressions:
        return _upsert_points(conn, spec, good)
    features = len(good)
    if spec.family == "LineString":
        good, feature_of_part = _explode_lines(good, spec.key)
        if len(good) > features:
            details["multi-part lines loaded as one row per part"] = len(good) - features
    if spec.family:
        good["geom"] = to_ewkb_hex(good["geom"].to_numpy())
    good = pd.DataFrame(good)
    stage = stage_frame(conn, good, like=spec.table, name=f"_stage_{spec.table.split('.')[-1]}")
    key, columns = list(spec.key), list(good.columns)
    expressions = {**spec.expressions, **({"geom": spec.geom_sql} if spec.family else {})}
    if spec.family != "LineString":
        return upsert_from_stage(
            conn, stage=stage, table=spec.table, key=key, columns=columns, expressions=expressions
        )
    outcomes = upsert_outcomes(
        conn, stage=stage, table=spec.table, key=key, columns=columns, expressions=expressions
    )
    return _feature_counts(outcomes, feature_of_part, key=spec.key[0])


def _upsert_points(conn: Connection, spec: LayerSpec, good: pd.DataFrame) -> tuple[int, int]:
    """Point layers (the address reference, postcodes, branches) through :func:`bulk_upsert`.

    When every geometry is a point, the spec's geometry SQL would return it unchanged, so
    none is needed and a table without rows is filled by COPY alone (the points sent as
    EWKB built from their coordinates); polygons take the spec's SQL.
    """
    geoms = good["geom"].to_numpy()
    points = bool((shapely.get_type_id(geoms) == shapely.GeometryType.POINT).all())
    rows = gpd.GeoDataFrame(good, geometry="geom", crs=STORAGE_CRS)
    return bulk_upsert(
        conn,
        rows,
        table=spec.table,
        key=spec.key,
        expressions={} if points else {"geom": spec.geom_sql},
    )


def _explode_lines(good: pd.DataFrame, key: tuple[str, ...]) -> tuple[pd.DataFrame, pd.Series]:
    """MultiLineStrings become one row per part, keyed ``<ref>#<n>`` past the first; also
    returns each part's feature (its row's index in ``good``), by part key."""
    gdf = gpd.GeoDataFrame(good, geometry="geom")
    parts = gdf.explode(index_parts=True)
    feature = parts.index.get_level_values(0).to_numpy()
    part_no = parts.index.get_level_values(-1).to_numpy()
    parts = pd.DataFrame(parts).reset_index(drop=True)
    k = key[0]
    suffix = np.where(part_no == 0, "", "#" + part_no.astype(str))
    parts[k] = parts[k].astype(str) + suffix
    return parts, pd.Series(feature, index=parts[k].to_numpy())


def _feature_counts(
    outcomes: pd.DataFrame, feature_of_part: pd.Series, *, key: str
) -> tuple[int, int]:
    """(inserted, updated) features: a feature with a new part is inserted, else with a
    changed part updated."""
    features = feature_of_part.reindex(outcomes[key].to_numpy()).to_numpy()
    by_feature = (
        pd.Series(outcomes["inserted"].to_numpy(bool), index=features).groupby(level=0).any()
    )
    inserted = int(by_feature.sum())
    return inserted, len(by_feature) - inserted


def import_addresses(conn: Connection, path: Path, **kw: object) -> ImportReport:
    """Load address points (the geocoding reference); see :func:`import_layer`."""
    return import_layer(conn, "addresses", path, **kw)  # type: ignore[arg-type]


def import_postcodes(conn: Connection, path: Path, **kw: object) -> ImportReport:
    """Load postcode centroids (postcode, city; points): a postcode-level reference."""
    return import_layer(conn, "postcodes", path, **kw)  # type: ignore[arg-type]


def import_roads(conn: Connection, path: Path, **kw: object) -> ImportReport:
    """Load roads (ref, class, speed_kmh, name, oneway; lines)."""
    return import_layer(conn, "roads", path, **kw)  # type: ignore[arg-type]


def import_zones(conn: Connection, path: Path, **kw: object) -> ImportReport:
    """Load zoning / land-use polygons (ref, class, landuse, name)."""
    return import_layer(conn, "zones", path, **kw)  # type: ignore[arg-type]


def import_buildings(conn: Connection, path: Path, **kw: object) -> ImportReport:
    """Load buildings (ref, use, building, levels, residential; polygons)."""
    return import_layer(conn, "buildings", path, **kw)  # type: ignore[arg-type]


def import_branches(conn: Connection, path: Path, **kw: object) -> ImportReport:
    """Load the company's branches (CSV with lon/lat, or any point layer)."""
    return import_layer(conn, "branches", path, **kw)  # type: ignore[arg-type]


def delete_addresses(conn: Connection, refs: pd.Series | list[str]) -> int:
    """Remove address points from the reference by ``ref``; return how many were removed.

    The geocoder's indexes are rebuilt and its cache emptied on the same transaction. The
    geocoder's accuracy harness (:mod:`gcrm.geocode.accuracy`) holds points out this way,
    in a transaction it rolls back.
    """
    removed = conn.execute(
        text("DELETE FROM gcrm.address_points WHERE ref = ANY(:refs)"), {"refs": list(refs)}
    ).rowcount
    refresh_reference(conn, changed=bool(removed))
    return int(removed)
