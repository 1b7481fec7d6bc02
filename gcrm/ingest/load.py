"""Loading layer files: addresses, postcodes, roads, zones, buildings, leads and branches.

Every importer validates at the boundary, writes rejects with row numbers and reasons, repairs
invalid geometry in SQL (and counts it), and upserts by key in one transaction, so a re-run of
the same file changes nothing. The areas and their statistics: :mod:`gcrm.ingest.area_import`.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from gcrm.geocode import refresh_reference
from gcrm.ingest.checks import after_load, check_kind
from gcrm.ingest.mapping import apply_mapping
from gcrm.ingest.readers import read_layer_file, read_records
from gcrm.ingest.runs import log_import_run
from gcrm.ingest.specs import LayerSpec, layer_spec
from gcrm.ingest.validate import (
    ImportReport,
    RowChecks,
    default_rejects_path,
    require_columns,
    write_rejects,
)
from gcrm.store import stage_frame, to_ewkb_hex, upsert_from_stage

__all__ = [
    "as_text",
    "delete_addresses",
    "import_addresses",
    "import_branches",
    "import_buildings",
    "import_layer",
    "import_leads",
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
    """Every attribute as stripped text (``""`` when missing), as the row checks expect."""
    for col in frame.columns:
        if col not in ("_row", "geometry"):
            frame[col] = frame[col].astype("string").fillna("").str.strip()
    return frame


def _check_rows(spec: LayerSpec, frame: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
    """Per-row checks; returns the typed, cleaned columns of the spec."""
    clean = pd.DataFrame(index=frame.index)
    for col in spec.columns:
        clean[col] = (
            frame[col] if col in frame else pd.Series("", index=frame.index, dtype="string")
        )
    for col in spec.lowercase:
        clean[col] = clean[col].str.lower()
    for col in spec.key + spec.not_empty:
        checks.reject(clean[col] == "", f"{col} is empty")
    dup = clean.duplicated(subset=list(spec.key), keep="first")
    checks.reject(dup, "duplicate " + "+".join(spec.key) + " (first occurrence kept)")
    for col, allowed in spec.allowed.items():
        checks.reject(
            ~clean[col].isin(allowed),
            col + " " + clean[col].map(repr) + f" unknown; expected one of {list(allowed)}",
        )
    for col in spec.numeric:
        if col not in frame:
            clean[col] = np.nan
            continue
        values = pd.to_numeric(clean[col].str.replace(",", ".", regex=False), errors="coerce")
        checks.reject(
            (clean[col] != "") & values.isna(),
            col + " " + clean[col].map(repr) + " is not a number",
        )
        if col in spec.required:
            checks.reject(clean[col] == "", f"{col} is empty")
        clean[col] = values
    for col in spec.boolean:
        text_ = clean[col].str.lower()
        checks.reject(
            ~text_.isin(_TRUE | _FALSE),
            col + " " + clean[col].map(repr) + " is not yes/no",
        )
        clean[col] = text_.isin(_TRUE)
    if spec.family:
        geom = frame.geometry
        gtype = geom.geom_type
        checks.reject(geom.isna() | geom.is_empty, "geometry is missing or empty")
        wrong = geom.notna() & ~gtype.isin(_FAMILY_TYPES[spec.family])
        checks.reject(wrong, "geometry is " + gtype.astype(str) + f"; expected {spec.family}")
        clean["geom"] = geom
    return clean.replace({"": None})


def import_layer(
    conn: Connection,
    kind: str,
    path: Path,
    *,
    rejects_path: Path | None = None,
    mapping: dict[str, str] | None = None,
    crs: str | None = None,
    defaults: dict[str, str] | None = None,
) -> ImportReport:
    """Validate and upsert one layer file of ``kind`` (one of :data:`LAYERS`).

    ``mapping`` renames file columns to gcrm fields (``--map FIELD=COLUMN``); ``crs`` states
    the CRS of a file that has none; ``defaults`` fills a field missing from the file (e.g.
    ``{"level": "tract"}``).

    Raises
    ------
    ValidationError
        When ``kind`` is unknown, the file unreadable, a required column missing, or the
        file has no CRS.
    """
    spec = layer_spec(kind)
    path = Path(path)
    frame = apply_mapping(
        read_layer(spec, path, crs=crs), mapping, source=f"{kind} file {str(path)!r}"
    )
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
    )


def load_layer(
    conn: Connection, spec: LayerSpec, frame: pd.DataFrame, *, source: str, rejects_path: Path
) -> ImportReport:
    """Check, upsert and report ``frame`` (text columns, ``_row``, EPSG:4326 ``geometry``)."""
    kind = spec.kind
    require_columns(frame, spec.required, source=f"{kind} file {source!r}")
    checks = RowChecks(frame)
    clean = _check_rows(spec, frame, checks)
    clean = check_kind(kind, conn, clean, checks)
    good = clean.loc[checks.ok].copy()
    if spec.family == "LineString":
        good = _explode_lines(good, spec.key)
    details: dict[str, object] = {}
    if spec.family:
        geoms = good["geom"].to_numpy()
        invalid = int((~shapely.is_valid(geoms)).sum())
        if invalid:
            details["invalid geometries repaired (ST_MakeValid)"] = invalid
        good["geom"] = to_ewkb_hex(geoms)
    good = pd.DataFrame(good)
    stage = stage_frame(conn, good, like=spec.table, name=f"_stage_{spec.table.split('.')[-1]}")
    geom_expr = {"geom": spec.geom_sql} if spec.family else {}
    inserted, updated = upsert_from_stage(
        conn,
        stage=stage,
        table=spec.table,
        key=list(spec.key),
        columns=list(good.columns),
        expressions=geom_expr,
    )
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


def _explode_lines(good: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    """MultiLineStrings become one row per part, keyed ``<ref>#<n>`` past the first."""
    gdf = gpd.GeoDataFrame(good, geometry="geom")
    parts = gdf.explode(index_parts=True)
    part_no = parts.index.get_level_values(-1).to_numpy()
    parts = pd.DataFrame(parts).reset_index(drop=True)
    k = key[0]
    suffix = np.where(part_no == 0, "", "#" + part_no.astype(str))
    parts[k] = parts[k].astype(str) + suffix
    return parts


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


def import_leads(conn: Connection, path: Path, **kw: object) -> ImportReport:
    """Load leads (named businesses and amenities; points)."""
    return import_layer(conn, "leads", path, **kw)  # type: ignore[arg-type]


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
