"""Importers for reference layers: addresses, areas and their statistics, roads, zones,
leads and branches. Every importer validates at the boundary, writes rejects with row numbers
and reasons, repairs invalid geometry in SQL (and counts it), and upserts by key in one
transaction, so a re-run of the same file changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from gcrm.db.bulk import stage_frame, to_ewkb_hex, upsert_from_stage
from gcrm.errors import ValidationError
from gcrm.ingest.customers import _log_run
from gcrm.ingest.normalize import (
    normalize_city,
    normalize_housenumber,
    normalize_postcode,
    normalize_street,
)
from gcrm.ingest.readers import read_features, read_table
from gcrm.ingest.validate import (
    ImportReport,
    RowChecks,
    default_rejects_path,
    require_columns,
    write_rejects,
)

__all__ = [
    "LAYERS",
    "ZONE_CLASSES",
    "LayerSpec",
    "import_addresses",
    "import_area_levels",
    "import_area_stats",
    "import_areas",
    "import_branches",
    "import_buildings",
    "import_layer",
    "import_leads",
    "import_postcodes",
    "import_roads",
    "import_zones",
]

ZONE_CLASSES = ("residential", "commercial", "industrial", "mixed", "other")

_POINT = (
    "CASE WHEN GeometryType(s.geom) = 'POINT' THEN s.geom "
    "ELSE ST_PointOnSurface(ST_MakeValid(s.geom)) END"
)
_MULTIPOLYGON = "ST_Multi(ST_CollectionExtract(ST_MakeValid(s.geom), 3))"
_LINESTRING = "s.geom"


@dataclass(frozen=True)
class LayerSpec:
    """How one kind of layer is validated and loaded."""

    kind: str
    table: str
    key: tuple[str, ...]
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    family: str | None = None  # Point / LineString / Polygon; None: a plain table
    geom_sql: str = "s.geom"
    numeric: tuple[str, ...] = ()
    boolean: tuple[str, ...] = ()
    lowercase: tuple[str, ...] = ()
    allowed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    not_empty: tuple[str, ...] = ()


LAYERS: dict[str, LayerSpec] = {
    "addresses": LayerSpec(
        "addresses",
        "gcrm.address_points",
        key=("ref",),
        required=("ref", "street", "housenumber"),
        optional=("unit", "postcode", "city", "source"),
        family="Point",
        geom_sql=_POINT,
        not_empty=("street", "housenumber"),
    ),
    "postcodes": LayerSpec(
        "postcodes",
        "gcrm.postcode_points",
        key=("postcode",),
        required=("postcode",),
        optional=("city", "source"),
        family="Point",
        geom_sql=_POINT,
    ),
    "areas": LayerSpec(
        "areas",
        "gcrm.areas",
        key=("level", "code"),
        required=("level", "code", "name"),
        optional=("parent_code", "derivation"),
        family="Polygon",
        geom_sql=_MULTIPOLYGON,
        lowercase=("level",),
        not_empty=("name",),
    ),
    "area-stats": LayerSpec(
        "area-stats",
        "gcrm.area_stats",
        key=("level", "code", "measure"),
        required=("level", "code", "measure", "value", "source", "vintage"),
        optional=("method",),
        numeric=("value",),
        lowercase=("level", "measure"),
        not_empty=("source", "vintage"),
    ),
    "roads": LayerSpec(
        "roads",
        "gcrm.roads",
        key=("ref",),
        required=("ref", "class"),
        optional=("speed_kmh", "name", "oneway", "surface"),
        family="LineString",
        geom_sql=_LINESTRING,
        numeric=("speed_kmh",),
        boolean=("oneway",),
        lowercase=("class",),
        not_empty=("class",),
    ),
    "zones": LayerSpec(
        "zones",
        "gcrm.zones",
        key=("ref",),
        required=("ref", "class"),
        optional=("landuse", "name"),
        family="Polygon",
        geom_sql=_MULTIPOLYGON,
        lowercase=("class",),
        allowed={"class": ZONE_CLASSES},
    ),
    "buildings": LayerSpec(
        "buildings",
        "gcrm.buildings",
        key=("ref",),
        required=("ref", "use"),
        optional=("building", "levels", "residential"),
        family="Polygon",
        geom_sql=_MULTIPOLYGON,
        numeric=("levels",),
        boolean=("residential",),
        lowercase=("use",),
        allowed={"use": ("residential", "commercial", "industrial", "public", "other")},
    ),
    "leads": LayerSpec(
        "leads",
        "gcrm.leads",
        key=("external_id",),
        required=("external_id", "name", "category_group", "category"),
        optional=("street", "housenumber", "postcode", "city", "phone", "website", "source"),
        family="Point",
        geom_sql=_POINT,
        lowercase=("category_group", "category"),
        not_empty=("name", "category_group", "category"),
    ),
    "branches": LayerSpec(
        "branches",
        "gcrm.branches",
        key=("code",),
        required=("code", "name"),
        optional=("street", "housenumber", "postcode", "city"),
        family="Point",
        geom_sql=_POINT,
        not_empty=("name",),
    ),
}

_FAMILY_TYPES = {
    "Point": {"Point", "Polygon", "MultiPolygon"},  # polygons stand in as a representative point
    "LineString": {"LineString", "MultiLineString"},
    "Polygon": {"Polygon", "MultiPolygon"},
}
_TRUE = {"1", "true", "t", "yes", "y", "-1"}
_FALSE = {"0", "false", "f", "no", "n", ""}


def _read(spec: LayerSpec, path: Path) -> pd.DataFrame:
    argument = f"{spec.kind} file"
    frame = (
        read_features(path, argument=argument)
        if spec.family
        else read_table(path, argument=argument)
    )
    for col in frame.columns:
        if col not in ("_row", "geometry"):
            frame[col] = frame[col].astype("string").fillna("").str.strip()
    return frame


def _check_rows(spec: LayerSpec, frame: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
    """Per-row checks; returns the typed, cleaned columns of the spec."""
    clean = pd.DataFrame(index=frame.index)
    for col in spec.required + spec.optional:
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
) -> ImportReport:
    """Validate and upsert one layer file of ``kind`` (one of :data:`LAYERS`).

    Raises
    ------
    ValidationError
        When ``kind`` is unknown, the file unreadable, a required column missing, or the
        file has no CRS.
    """
    if kind not in LAYERS:
        msg = f"layer kind {kind!r} unknown; expected one of {sorted(LAYERS)}"
        raise ValidationError(msg)
    spec = LAYERS[kind]
    path = Path(path)
    frame = _read(spec, path)
    require_columns(frame, spec.required, source=f"{kind} file {str(path)!r}")
    checks = RowChecks(frame)
    clean = _check_rows(spec, frame, checks)
    clean = _KIND_EXTRAS.get(kind, _no_extra)(conn, clean, checks)
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
        source=str(path),
        rows_read=len(frame),
        inserted=inserted,
        updated=updated,
        unchanged=len(good) - inserted - updated,
        rejected=len(rejects),
        rejects_path=write_rejects(rejects, rejects_path or default_rejects_path(path)),
        details=details,
    )
    if kind == "areas":
        report.details.update(_area_hierarchy_report(conn))
    if kind in ("addresses", "postcodes"):
        _refresh_reference(conn, changed=bool(inserted or updated))
    _log_run(conn, report)
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


def _no_extra(conn: Connection, clean: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
    return clean


def _address_extra(conn: Connection, clean: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
    hn = normalize_housenumber(clean["housenumber"].astype("string"))
    clean["street_norm"] = normalize_street(clean["street"].astype("string"))
    clean["housenumber_norm"] = hn["housenumber_norm"]
    clean["unit"] = clean["unit"].where(clean["unit"].notna(), hn["unit"])
    clean["postcode_norm"] = normalize_postcode(clean["postcode"].astype("string"))
    clean["city_norm"] = normalize_city(clean["city"].astype("string"))
    clean["source"] = clean["source"].fillna("import")
    checks.reject(
        clean["housenumber_norm"].isna() & clean["housenumber"].notna(),
        "housenumber " + clean["housenumber"].map(repr) + " has no number",
    )
    return clean


def _refresh_reference(conn: Connection, *, changed: bool) -> None:
    """Rebuild the street index of the reference; a changed reference empties the cache."""
    for view in ("address_streets", "address_postcodes", "address_localities"):
        conn.execute(text(f"REFRESH MATERIALIZED VIEW gcrm.{view}"))
    if changed:
        conn.execute(text("TRUNCATE gcrm.geocode_cache"))


def _levels_known(conn: Connection) -> set[str]:
    return {r[0] for r in conn.execute(text("SELECT level FROM gcrm.area_levels"))}


def _areas_extra(conn: Connection, clean: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
    known = _levels_known(conn)
    checks.reject(
        ~clean["level"].isin(known),
        "level " + clean["level"].map(repr) + f" unknown; known levels {sorted(known)}; "
        "import the levels first (gcrm import areas FILE --levels LEVELS.csv)",
    )
    clean["derivation"] = clean["derivation"].fillna("imported")
    return clean


def _stats_extra(conn: Connection, clean: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
    rows = conn.execute(text("SELECT level || ':' || code FROM gcrm.areas"))
    known = {r[0] for r in rows}
    ids = clean["level"].fillna("") + ":" + clean["code"].fillna("")
    checks.reject(
        ~ids.isin(known),
        "area " + ids.map(repr) + " not found in gcrm.areas; import the areas first",
    )
    return clean


def _postcodes_extra(conn: Connection, clean: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
    clean["postcode_norm"] = normalize_postcode(clean["postcode"].astype("string"))
    clean["city_norm"] = normalize_city(clean["city"].astype("string"))
    clean["source"] = clean["source"].fillna("import")
    checks.reject(
        clean["postcode_norm"].isna() & clean["postcode"].notna(),
        "postcode " + clean["postcode"].map(repr) + " has no 4-5 digit code",
    )
    return clean


def _leads_extra(conn: Connection, clean: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
    clean["source"] = clean["source"].fillna("import")
    return clean


_KIND_EXTRAS = {
    "leads": _leads_extra,
    "postcodes": _postcodes_extra,
    "addresses": _address_extra,
    "areas": _areas_extra,
    "area-stats": _stats_extra,
}


def _area_hierarchy_report(conn: Connection) -> dict[str, object]:
    """Areas whose parent is missing at the parent level: reported, never hidden."""
    rows = conn.execute(
        text(
            """
            SELECT a.level, count(*) FILTER (WHERE p.code IS NULL) AS orphans, count(*) AS n
            FROM gcrm.areas a
            JOIN gcrm.area_levels l ON l.level = a.level AND l.parent_level IS NOT NULL
            LEFT JOIN gcrm.areas p ON p.level = l.parent_level AND p.code = a.parent_code
            GROUP BY a.level ORDER BY a.level
            """
        )
    ).fetchall()
    return {f"{lvl}: areas without a parent": orphans for lvl, orphans, _ in rows if orphans}


def import_area_levels(conn: Connection, path: Path) -> ImportReport:
    """Load the level definitions (level, parent_level, rank, label, derivation)."""
    path = Path(path)
    frame = read_table(path, argument="area levels file")
    require_columns(
        frame, ("level", "rank", "label", "derivation"), source=f"area levels file {str(path)!r}"
    )
    frame["level"] = frame["level"].str.strip().str.lower()
    parent = frame.get("parent_level", pd.Series("", index=frame.index)).str.strip().str.lower()
    rank = pd.to_numeric(frame["rank"], errors="coerce")
    if rank.isna().any():
        bad = frame.loc[rank.isna(), "_row"].tolist()
        msg = f"area levels file {str(path)!r}: rank is not a whole number at rows {bad}"
        raise ValidationError(msg)
    unknown = set(parent[parent != ""]) - set(frame["level"]) - _levels_known(conn)
    if unknown:
        msg = f"area levels file {str(path)!r}: parent_level {sorted(unknown)} is not a level; add it or leave parent_level empty"
        raise ValidationError(msg)
    good = pd.DataFrame(
        {
            "level": frame["level"],
            "parent_level": parent.replace({"": None}),
            "rank": rank.astype(int),
            "label": frame["label"].str.strip(),
            "derivation": frame["derivation"].str.strip(),
        }
    ).sort_values("rank")
    stage = stage_frame(conn, good, like="gcrm.area_levels", name="_stage_area_levels")
    # Parents first: ranks are loaded in order so the self-reference holds.
    inserted, updated = upsert_from_stage(
        conn, stage=stage, table="gcrm.area_levels", key=["level"], columns=list(good.columns)
    )
    return ImportReport(
        kind="area-levels",
        source=str(path),
        rows_read=len(frame),
        inserted=inserted,
        updated=updated,
        unchanged=len(good) - inserted - updated,
    )


def import_addresses(conn: Connection, path: Path, **kw: object) -> ImportReport:
    """Load address points (the geocoding reference); see :func:`import_layer`."""
    return import_layer(conn, "addresses", path, **kw)  # type: ignore[arg-type]


def import_areas(
    conn: Connection, path: Path, *, levels: Path | None = None, **kw: object
) -> ImportReport:
    """Load areas of any level; ``levels`` (CSV) defines or updates the levels first."""
    if levels is not None:
        import_area_levels(conn, levels)
    return import_layer(conn, "areas", path, **kw)  # type: ignore[arg-type]


def import_postcodes(conn: Connection, path: Path, **kw: object) -> ImportReport:
    """Load postcode centroids (postcode, city; points): a postcode-level reference."""
    return import_layer(conn, "postcodes", path, **kw)  # type: ignore[arg-type]


def import_area_stats(conn: Connection, path: Path, **kw: object) -> ImportReport:
    """Load area statistics (level, code, measure, value, source, vintage, method)."""
    return import_layer(conn, "area-stats", path, **kw)  # type: ignore[arg-type]


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
