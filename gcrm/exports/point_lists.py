"""Customer and lead lists out, with their enrichment: CSV, XLSX, GeoJSON, GeoPackage.

Each row is the record's own fields and how it was geocoded (for leads also the file's other
columns, one per attribute), its area at every level (``area_<level>`` and
``area_<level>_name``, levels in rank order), its territory and rep in the published
territory plan (``territory``, ``rep``: empty when none is published; ``gcrm territories
publish``), zoning, business park distance, nearest road,
drive time, the housing and building context of its finest area (from
:func:`gcrm.areas.area_profiles`), and its scores: a lead's lead score (``score``,
``percentile``, ``reasons``; ``gcrm leads score``), a customer's churn risk and expected value
(``churn_risk``, ``churn_reasons``, ``expected_value_12m``; ``gcrm customers churn-risk`` and
``gcrm customers value``), reasons as one text ``"r1; r2; r3"``, empty where not scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, text

from gcrm.access import record_access
from gcrm.areas import area_profiles, level_names
from gcrm.core import NotFoundError, ValidationError, parse_area_id
from gcrm.io import ALL_FORMATS, check_suffix, write_frame
from gcrm.leads import SCORE_COLUMNS, with_scores
from gcrm.scoring import read_customer_scores, reasons_text
from gcrm.store import read_geodataframe

__all__ = [
    "ATTRIBUTES",
    "ENRICHMENT_COLUMNS",
    "ENTITY_COLUMNS",
    "EXPORT_FORMATS",
    "SCORE_COLUMNS_BY_ENTITY",
    "TERRITORY_COLUMNS",
    "export_points",
    "read_points",
]

#: The record's own columns, per entity.
ENTITY_COLUMNS = {
    "customers": (
        "external_id", "name", "email", "phone", "street", "housenumber", "postcode", "city",
        "segment", "category_group", "category", "lead_external_id", "status", "signup_date",
        "churn_date", "geocode_precision", "geocode_score", "geocode_source", "matched_address",
    ),
    "leads": (
        "external_id", "name", "category_group", "category", "street", "housenumber",
        "postcode", "city", "phone", "website", "source", "geocode_precision", "geocode_score",
        "geocode_source", "matched_address",
    ),
}  # fmt: skip
#: The jsonb column of each entity's own other fields (a lead file's extra columns), written
#: as one column per key after the record's own columns.
ATTRIBUTES = {"leads": "attributes"}
#: What an attribute's column is called when its name is taken by one of gcrm's columns.
ATTRIBUTE_PREFIX = "attribute_"
#: The territory and rep of the latest published plan, after the area codes and names.
TERRITORY_COLUMNS = ("territory", "rep")
#: The published plan's territories of each point: the latest publication's level (migration
#: 0023; every user may read it: no personal data).
_TERRITORY_JOIN = (
    "LEFT JOIN gcrm.published_territories pt ON pt.level = ("
    "SELECT t.level FROM gcrm.published_territories t "
    "JOIN gcrm.territory_publications tp ON tp.id = t.publication_id "
    "ORDER BY tp.published_at DESC, tp.id DESC LIMIT 1) "
    "AND pt.code = p.area_codes ->> pt.level"
)
#: Enrichment columns after the territory.
ENRICHMENT_COLUMNS = (
    "zoning_class",
    "business_park_distance_m",
    "road_class",
    "road_name",
    "road_speed_kmh",
    "road_distance_m",
    "drive_time_s",
    "branch_reached",
)
#: Profile figures of the finest area, written as ``area_<figure>``.
CONTEXT_COLUMNS = ("dwellings", "building_density_per_km2", "residential_floor_share")
#: The scores' columns, last before the geometry (empty where the point has no score).
SCORE_COLUMNS_BY_ENTITY = {
    "customers": ("churn_risk", "churn_reasons", "expected_value_12m"),
    "leads": SCORE_COLUMNS,
}
EXPORT_FORMATS = ALL_FORMATS
_NUMBER_FORMATS = {
    "score": "0.000",
    "percentile": "0.0",
    "churn_risk": "0.000",
    "expected_value_12m": "#,##0.00",
}
_CUSTOMER_ONLY = ("segment", "status", "precision")
_PUBLISHED_LEVELS = (
    "SELECT level FROM gcrm.territory_publications "
    "UNION SELECT unit_level FROM gcrm.territory_publications"
)


def read_points(
    conn: Connection,
    *,
    entity: str = "customers",
    segment: Sequence[str] = (),
    status: Sequence[str] = (),
    area: str | None = None,
    precision: Sequence[str] = (),
    category: Sequence[str] = (),
) -> gpd.GeoDataFrame:
    """Customers or leads with their enrichment, filtered; see :func:`export_points`."""
    if entity not in ENTITY_COLUMNS:
        msg = f"entity={entity!r} unknown; expected one of {sorted(ENTITY_COLUMNS)}"
        raise ValidationError(msg)
    filters = {"segment": segment, "status": status, "precision": precision}
    if entity == "leads" and any(filters.values()):
        used = [name for name, values in filters.items() if values]
        msg = f"filters {used} apply to customers only; leads filter by area or category"
        raise ValidationError(msg)
    if entity == "customers" and category:
        msg = "category filters leads; customers filter by segment, status, area or precision"
        raise ValidationError(msg)
    levels = level_names(conn)
    where, params = _where(
        levels, segment=segment, status=status, area=area, precision=precision, category=category
    )
    sql = _select(entity, levels) + (" WHERE " + " AND ".join(where) if where else "")
    gdf = read_geodataframe(conn, sql + " ORDER BY p.external_id", params)
    gdf = _with_attributes(_with_context(conn, gdf, levels), entity)
    return _with_scores(conn, gdf, entity)


def _with_scores(conn: Connection, gdf: gpd.GeoDataFrame, entity: str) -> gpd.GeoDataFrame:
    """The entity's score columns (:data:`SCORE_COLUMNS_BY_ENTITY`) before the geometry,
    from the stored scores the reader may see; reasons as one text, ``"r1; r2; r3"``."""
    if entity == "leads":
        scored = pd.DataFrame(with_scores(conn, gdf)).reindex(columns=list(SCORE_COLUMNS))
        scored["reasons"] = [
            reasons_text(r) if isinstance(r, list) else None for r in scored["reasons"]
        ]
    else:
        scored = _customer_scores(conn, gdf["external_id"])
    geometry = gdf.geometry.name
    out = pd.concat([gdf.drop(columns=geometry), scored.set_index(gdf.index)], axis=1)
    return gpd.GeoDataFrame(out.assign(**{geometry: gdf.geometry}), geometry=geometry, crs=gdf.crs)


def _customer_scores(conn: Connection, ids: pd.Series) -> pd.DataFrame:
    """Each customer's ``churn_risk``, ``churn_reasons`` and ``expected_value_12m`` in the
    order of ``ids`` (missing where not scored), from :func:`gcrm.scoring.read_customer_scores`."""
    columns = SCORE_COLUMNS_BY_ENTITY["customers"]
    parts = []
    for kind, renamed in (
        ("churn", {"reasons": "churn_reasons"}),
        ("value", {}),
    ):
        try:
            found = read_customer_scores(conn, kind=kind)
        except NotFoundError:  # nothing of this kind scored yet
            continue
        frame = pd.DataFrame(found.drop(columns=found.geometry.name)).rename(columns=renamed)
        parts.append(frame.set_index("customer_id")[[c for c in columns if c in frame.columns]])
    table = pd.concat(parts, axis=1) if parts else pd.DataFrame()
    return table.reindex(index=ids.astype(str).to_numpy(), columns=list(columns)).reset_index(
        drop=True
    )


def _select(entity: str, levels: list[str]) -> str:
    own = [f"p.{c}" for c in ENTITY_COLUMNS[entity]]
    codes = [f"p.area_codes ->> '{lv}' AS area_{lv}" for lv in levels]
    names = [f"a_{lv}.name AS area_{lv}_name" for lv in levels]
    joins = [
        f"LEFT JOIN gcrm.areas a_{lv} ON a_{lv}.level = '{lv}' "
        f"AND a_{lv}.code = p.area_codes ->> '{lv}'"
        for lv in levels
    ]
    territory = ["pt.name AS territory", "pt.rep AS rep"]
    enrich = [f"p.{c}" for c in ENRICHMENT_COLUMNS]
    extra = [f"p.{ATTRIBUTES[entity]}"] if entity in ATTRIBUTES else []
    columns = ", ".join(
        [*own, *extra, *codes, *names, *territory, *enrich, "ST_AsBinary(p.geom) AS geom"]
    )
    return f"SELECT {columns} FROM gcrm.{entity} p " + " ".join([*joins, _TERRITORY_JOIN])


def _where(
    levels: list[str],
    *,
    segment: Sequence[str],
    status: Sequence[str],
    area: str | None,
    precision: Sequence[str],
    category: Sequence[str],
) -> tuple[list[str], dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {}
    for name, column, values in (
        ("segment", "p.segment", segment),
        ("status", "p.status", status),
        ("precision", "p.geocode_precision", precision),
        ("category", "p.category", category),
    ):
        if values:
            where.append(f"lower({column}) = ANY(:{name})")
            params[name] = [v.strip().lower() for v in values]
    if area is not None:
        level, code = parse_area_id(area, levels=levels)
        where.append("p.area_codes ->> :area_level = :area_code")
        params.update(area_level=level, area_code=code)
    return where, params


def _with_attributes(gdf: gpd.GeoDataFrame, entity: str) -> gpd.GeoDataFrame:
    """The jsonb of the entity's other fields as one text column per key, in place of it
    (keys in the order they first appear; a key named like a column of gcrm's is prefixed
    with :data:`ATTRIBUTE_PREFIX`)."""
    column = ATTRIBUTES.get(entity)
    if column is None or column not in gdf.columns:
        return gdf
    records = [value if isinstance(value, dict) else {} for value in gdf[column]]
    attributes = pd.DataFrame.from_records(records, index=gdf.index)
    attributes = attributes.rename(
        columns={c: ATTRIBUTE_PREFIX + c for c in attributes.columns if c in gdf.columns}
    ).astype("string")
    at = list(gdf.columns).index(column)
    out = pd.concat([gdf.iloc[:, :at], attributes, gdf.iloc[:, at + 1 :]], axis=1)
    return gpd.GeoDataFrame(out, geometry=gdf.geometry.name, crs=gdf.crs)


def _with_context(conn: Connection, gdf: gpd.GeoDataFrame, levels: list[str]) -> gpd.GeoDataFrame:
    """Add the dwellings, building density and residential floor share of the finest area
    (of the levels imported: a published plan's levels have no profile of their own)."""
    context = [f"area_{c}" for c in CONTEXT_COLUMNS]
    published = set(conn.execute(text(_PUBLISHED_LEVELS)).scalars())
    levels = [lv for lv in levels if lv not in published]
    if not levels:
        return gdf.assign(**dict.fromkeys(context, float("nan")))
    finest = levels[-1]
    profile = pd.DataFrame(area_profiles(conn, level=finest))
    figures = profile.set_index("code")[list(CONTEXT_COLUMNS)].add_prefix("area_")
    out = gdf.join(figures, on=f"area_{finest}")
    geometry = out.pop("geometry")
    return gpd.GeoDataFrame(out, geometry=geometry, crs=gdf.crs)


def export_points(
    conn: Connection,
    *,
    entity: str = "customers",
    path: Path,
    segment: Sequence[str] = (),
    status: Sequence[str] = (),
    area: str | None = None,
    precision: Sequence[str] = (),
    category: Sequence[str] = (),
) -> Path:
    """Write customers or leads with their enrichment to ``path`` (format by extension).

    Parameters
    ----------
    conn
        A connection to the gcrm database.
    entity
        ``"customers"`` or ``"leads"``.
    path
        ``.csv`` (lon/lat columns), ``.xlsx`` (bold, frozen header), ``.geojson`` or ``.gpkg``
        (layer named like ``entity``). Parent folders are created; an existing file is replaced.
    segment, status, precision
        Customers only: keep these segments, statuses, geocode precisions (any case).
    area
        ``"LEVEL:CODE"``: keep the points in that area (by their enriched area codes).
    category
        Leads only: keep these categories.

    Returns
    -------
    Path
        ``path``. The export is recorded in the audit log (who, what, how many rows, which
        fields, which filter) on ``conn``'s transaction: commit it.

    Raises
    ------
    ValidationError
        When ``entity``, ``area`` or the extension is unknown, or a filter does not apply to
        ``entity``.

    Examples
    --------
    >>> export_points(conn, entity="customers", path=Path("smb.xlsx"), segment=["smb"],
    ...               area="district:D03")  # doctest: +SKIP
    """
    check_suffix(path, EXPORT_FORMATS)
    gdf = read_points(
        conn,
        entity=entity,
        segment=segment,
        status=status,
        area=area,
        precision=precision,
        category=category,
    )
    written = write_frame(
        gdf, Path(path), layer=entity, formats=EXPORT_FORMATS, number_formats=_NUMBER_FORMATS
    )
    filters = {"segment": segment, "status": status, "area": area, "precision": precision}
    record_access(
        conn,
        action=f"{entity} export",
        rows=len(gdf),
        fields=[c for c in gdf.columns if c != gdf.geometry.name],
        target=str(written),
        detail={k: v for k, v in {**filters, "category": category}.items() if v},
    )
    return written
