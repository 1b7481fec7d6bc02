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

from gcrm.core import ValidationError
from gcrm.ingest.customers import _log_run
from gcrm.ingest.mapping import FIELD_ALIASES, apply_mapping, read_mapping_file
from gcrm.ingest.normalize import (
    normalize_city,
    normalize_housenumber,
    normalize_postcode,
    normalize_street,
)
from gcrm.ingest.readers import read_layer_file, read_records
from gcrm.ingest.validate import (
    ImportReport,
    RowChecks,
    default_rejects_path,
    require_columns,
    write_rejects,
)
from gcrm.store import stage_frame, to_ewkb_hex, upsert_from_stage

__all__ = [
    "FIELD_ALIASES",
    "LAYERS",
    "apply_mapping",
    "check_area_hierarchy",
    "read_mapping_file",
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

    @property
    def columns(self) -> list[str]:
        """The layer's fields, in file order: required, then optional."""
        return [*self.required, *self.optional]


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
        "gcrm.lead_records",
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


def _read(spec: LayerSpec, path: Path, *, crs: str | None = None) -> pd.DataFrame:
    argument = f"{spec.kind} file"
    frame = (
        read_layer_file(path, argument=argument, crs=crs)
        if spec.family
        else read_records(path, argument=argument)
    )
    return _as_text(frame)


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
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
    if kind not in LAYERS:
        msg = f"layer kind {kind!r} unknown; expected one of {sorted(LAYERS)}"
        raise ValidationError(msg)
    spec = LAYERS[kind]
    path = Path(path)
    frame = apply_mapping(_read(spec, path, crs=crs), mapping, source=f"{kind} file {str(path)!r}")
    for field_name, value in (defaults or {}).items():
        if field_name not in frame.columns or (frame[field_name] == "").all():
            frame[field_name] = value
    if kind == "addresses":
        frame = _openaddresses_columns(frame)
    return _load(
        conn,
        spec,
        frame,
        source=str(path),
        rejects_path=rejects_path or default_rejects_path(path),
    )


def _load(
    conn: Connection, spec: LayerSpec, frame: pd.DataFrame, *, source: str, rejects_path: Path
) -> ImportReport:
    """Check, upsert and report ``frame`` (text columns, ``_row``, EPSG:4326 ``geometry``)."""
    kind = spec.kind
    require_columns(frame, spec.required, source=f"{kind} file {source!r}")
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
        source=source,
        rows_read=len(frame),
        inserted=inserted,
        updated=updated,
        unchanged=len(good) - inserted - updated,
        rejected=len(rejects),
        rejects_path=write_rejects(rejects, rejects_path),
        details=details,
    )
    if kind == "areas":
        report.details.update(check_area_hierarchy(conn))
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


_DERIVE_PARENTS = """
UPDATE gcrm.areas a SET parent_code = p.code
FROM gcrm.area_levels l, gcrm.areas p
WHERE l.level = a.level AND l.parent_level IS NOT NULL AND a.parent_code IS NULL
  AND p.level = l.parent_level AND ST_Contains(p.geom, ST_PointOnSurface(a.geom))
"""

_HIERARCHY = """
WITH kids AS (
    SELECT a.level, p.code AS parent,
           CASE WHEN p.code IS NOT NULL THEN ST_Area(ST_Difference(a.geom, p.geom)) / NULLIF(ST_Area(a.geom), 0) END AS outside
    FROM gcrm.areas a
    JOIN gcrm.area_levels l ON l.level = a.level AND l.parent_level IS NOT NULL
    LEFT JOIN gcrm.areas p ON p.level = l.parent_level AND p.code = a.parent_code
)
SELECT level, count(*) FILTER (WHERE parent IS NULL) AS orphans,
       count(*) FILTER (WHERE outside > 0.001) AS outside
FROM kids GROUP BY level ORDER BY level
"""

_OVERLAPS = """
SELECT a.level, count(*) FROM gcrm.areas a JOIN gcrm.areas b
  ON a.level = b.level AND a.code < b.code AND a.geom && b.geom
 AND ST_Relate(a.geom, b.geom, '2********')
GROUP BY a.level ORDER BY a.level
"""

_GAPS = """
SELECT c.level, count(*) FROM (
    SELECT a.level, a.code, ST_Area(a.geom) AS area,
           (SELECT coalesce(sum(ST_Area(k.geom)), 0) FROM gcrm.areas k
             JOIN gcrm.area_levels kl ON kl.level = k.level AND kl.parent_level = a.level
            WHERE k.parent_code = a.code) AS covered,
           EXISTS (SELECT 1 FROM gcrm.area_levels kl WHERE kl.parent_level = a.level) AS has_children
    FROM gcrm.areas a
) c
WHERE c.has_children AND c.covered < 0.999 * c.area
GROUP BY c.level ORDER BY c.level
"""


def check_area_hierarchy(conn: Connection) -> dict[str, object]:
    """Validate every level's hierarchy; report problems, never hide them.

    Derives missing parent codes by spatial nesting (the parent containing a point on the
    child), then reports per level: areas without a parent, areas reaching more than 0.1%
    outside their parent, overlapping areas, and parents with gaps not covered by their
    children. A level with no orphans, none outside its parents and no gaps in them is marked
    ``nested`` in ``gcrm.area_levels``: enrichment then takes its parents' codes from
    ``parent_code`` instead of a spatial join.
    """
    derived = conn.execute(text(_DERIVE_PARENTS)).rowcount
    report: dict[str, object] = {}
    if derived:
        report["parent codes derived by spatial nesting"] = derived
    nested: dict[str, bool] = {}
    for level, orphans, outside in conn.execute(text(_HIERARCHY)):
        nested[level] = orphans == 0 and outside == 0
        if orphans:
            report[f"{level}: areas without a parent"] = orphans
        if outside:
            report[f"{level}: areas reaching outside their parent"] = outside
    for level, n in conn.execute(text(_OVERLAPS)):
        report[f"{level}: overlapping pairs"] = n
    gaps = dict(conn.execute(text(_GAPS)).all())
    for level, n in gaps.items():
        report[f"{level}: areas not fully covered by their children (gaps)"] = n
    # Parent codes follow from children only where the children tile their parents exactly.
    parents = dict(conn.execute(text("SELECT level, parent_level FROM gcrm.area_levels")).all())
    nested = {lv: ok and not gaps.get(parents[lv]) for lv, ok in nested.items()}
    conn.execute(text("UPDATE gcrm.area_levels SET nested = false"))
    for level, ok in nested.items():
        conn.execute(
            text("UPDATE gcrm.area_levels SET nested = :ok WHERE level = :level"),
            {"ok": ok, "level": level},
        )
    return report


def import_area_levels(conn: Connection, path: Path) -> ImportReport:
    """Load the level definitions (level, parent_level, rank, label, derivation)."""
    path = Path(path)
    frame = read_records(path, argument="area levels file")
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
    conn: Connection,
    path: Path,
    *,
    levels: Path | None = None,
    level: str | None = None,
    parent_level: str | None = None,
    **kw: object,
) -> ImportReport:
    """Load areas of any level.

    ``levels`` (CSV) defines or updates the levels first. ``level`` names the level of every
    area in a single-level file (created if new, under ``parent_level`` when given; parent
    codes missing from the file are then derived by spatial nesting).
    """
    if levels is not None:
        import_area_levels(conn, levels)
    if level is not None:
        _ensure_level(conn, level.strip().lower(), parent_level=parent_level, source=str(path))
        kw["defaults"] = {"level": level.strip().lower(), **(kw.get("defaults") or {})}  # type: ignore[dict-item]
    return import_layer(conn, "areas", path, **kw)  # type: ignore[arg-type]


def _ensure_level(conn: Connection, level: str, *, parent_level: str | None, source: str) -> None:
    known = dict(conn.execute(text("SELECT level, rank FROM gcrm.area_levels")).all())
    if parent_level is not None and parent_level not in known:
        msg = f"--parent-level {parent_level!r} is not a level; known levels {sorted(known)}"
        raise ValidationError(msg)
    if level in known:
        return
    rank = known[parent_level] + 1 if parent_level else 1
    conn.execute(
        text(
            "INSERT INTO gcrm.area_levels (level, parent_level, rank, label, derivation) "
            "VALUES (:level, :parent, :rank, :label, :derivation)"
        ),
        {
            "level": level,
            "parent": parent_level,
            "rank": rank,
            "label": level.replace("_", " ").title(),
            "derivation": f"imported from {source}",
        },
    )


def import_postcodes(conn: Connection, path: Path, **kw: object) -> ImportReport:
    """Load postcode centroids (postcode, city; points): a postcode-level reference."""
    return import_layer(conn, "postcodes", path, **kw)  # type: ignore[arg-type]


def import_area_stats(
    conn: Connection,
    path: Path,
    *,
    level: str | None = None,
    key: str | None = None,
    source: str | None = None,
    vintage: str | None = None,
    rejects_path: Path | None = None,
    mapping: dict[str, str] | None = None,
) -> ImportReport:
    """Load area statistics.

    Long format (default): columns level, code, measure, value, source, vintage [, method].
    Wide format (``key`` given): one row per area keyed by column ``key``, every other
    numeric column a measure, e.g. ``gcrm import area-stats acs.csv --level tract --key
    GEOID --source "ACS 5-year" --vintage 2022``.
    """
    path = Path(path)
    if key is None:
        frame = apply_mapping(
            _read(LAYERS["area-stats"], path), mapping, source=f"area-stats file {str(path)!r}"
        )
        if level:
            frame["level"] = level
    else:
        if level is None:
            msg = (
                "--key needs --level: the level of the areas the rows describe (e.g. --level tract)"
            )
            raise ValidationError(msg)
        frame = _wide_stats(
            path, level=level, key=key, source=source or path.name, vintage=vintage or "not stated"
        )
    return _load(
        conn,
        LAYERS["area-stats"],
        frame,
        source=str(path),
        rejects_path=rejects_path or default_rejects_path(path),
    )


def _wide_stats(path: Path, *, level: str, key: str, source: str, vintage: str) -> pd.DataFrame:
    table = read_records(path, argument="area-stats file")
    key_col = key.strip().lower()
    require_columns(
        table,
        [key_col],
        source=f"area-stats file {str(path)!r}",
        hint="--key names the area code column.",
    )
    measures = [c for c in table.columns if c not in ("_row", key_col)]
    long = table.melt(
        id_vars=["_row", key_col], value_vars=measures, var_name="measure", value_name="value"
    )
    long = long.rename(columns={key_col: "code"})
    long["level"], long["source"], long["vintage"], long["method"] = (
        level,
        source,
        vintage,
        "wide file column",
    )
    # Non-numeric columns (names, labels) are not measures: they are dropped, not rejected.
    numeric = pd.to_numeric(long["value"].str.replace(",", ".", regex=False), errors="coerce")
    per_column = numeric.notna().groupby(long["measure"]).mean()
    keep = per_column[per_column >= 0.5].index
    long = long[long["measure"].isin(keep)].reset_index(drop=True)
    return _as_text(long)


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
