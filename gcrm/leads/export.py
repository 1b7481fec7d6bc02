"""Lead lists out: CSV, XLSX, GeoJSON, GeoPackage, chosen by file extension."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection

from gcrm.io import ALL_FORMATS, write_frame
from gcrm.scoring import read_lead_scores, reasons_text

if TYPE_CHECKING:
    from gcrm.leads.search import Origin

__all__ = [
    "EXPORT_FORMATS",
    "LEAD_PERSONAL_FIELDS",
    "SCORE_COLUMNS",
    "export_leads",
    "with_origin",
    "with_scores",
]

#: Lead fields that name or reach a person (a sole trader's name, address, phone, website):
#: a list of leads that carries them counts as personal data in the audit log (the API's
#: and the Prospecting page's lead reads name them).
LEAD_PERSONAL_FIELDS = ("name", "street", "housenumber", "postcode", "city", "phone", "website")
#: The lead score's columns in a lead list (``gcrm leads score``).
SCORE_COLUMNS = ("score", "percentile", "reasons")

#: File extensions :func:`export_leads` writes.
EXPORT_FORMATS = ALL_FORMATS


def with_origin(gdf: gpd.GeoDataFrame, origin: Origin | None) -> gpd.GeoDataFrame:
    """``gdf`` with ``origin_precision`` and ``origin_matched_address`` columns when the
    search started from an address, so a list says how well its centre was placed."""
    if origin is None or origin.matched_address is None:
        return gdf
    return gdf.assign(
        origin_precision=origin.precision, origin_matched_address=origin.matched_address
    )


def with_scores(conn: Connection, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf`` with each lead's ``score``, ``percentile`` and ``reasons`` (the list of
    ``{"feature", "effect", "text"}``) from ``gcrm.lead_scores``, NaN/None for a lead with
    no score; a frame that has the columns already is returned as it is."""
    if all(c in gdf.columns for c in SCORE_COLUMNS) or gdf.empty:
        return gdf
    scores = read_lead_scores(conn, gdf["external_id"].astype(str).tolist())
    merged = gdf.drop(columns=[c for c in SCORE_COLUMNS if c in gdf.columns]).merge(
        scores, on="external_id", how="left"
    )
    return gpd.GeoDataFrame(merged, geometry=gdf.geometry.name, crs=gdf.crs)


def _reason_text(value: Any) -> str | None:
    """One cell of ``reasons`` as ``"reason 1; reason 2; reason 3"``: a list of texts (the
    search's), of reason objects (the scores'), or their JSON; None for an unscored lead."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return reasons_text([r if isinstance(r, Mapping) else {"text": r} for r in list(value)])


def _score_columns(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The score columns as a file shows them: none when no lead has a score (nothing was
    scored), else ``reasons`` as one text column."""
    if "score" in gdf.columns and pd.to_numeric(gdf["score"], errors="coerce").isna().all():
        return gdf.drop(columns=[c for c in SCORE_COLUMNS if c in gdf.columns])
    if "reasons" in gdf.columns:
        # A file's cell holds text: the reasons as "r1; r2; r3".
        gdf = gdf.assign(reasons=[_reason_text(v) for v in gdf["reasons"]])
    return gdf


def export_leads(gdf: gpd.GeoDataFrame, path: Path, *, origin: Origin | None = None) -> Path:
    """Write a lead list in the format of ``path``'s extension.

    Parameters
    ----------
    gdf
        Leads, e.g. from :func:`gcrm.leads.find_nearby_leads` (EPSG:4326 points).
    origin
        Where the search started (:func:`gcrm.leads.resolve_origin`); when it was an
        address, every row gets ``origin_precision`` and ``origin_matched_address``.
    path
        Target file: ``.csv`` (lon/lat columns), ``.xlsx`` (bold frozen header),
        ``.geojson`` or ``.gpkg`` (layer ``leads``). Parent folders are created; an existing
        file is replaced. The lead score's columns (a search's, or :func:`with_scores`) are
        written as ``score``, ``percentile`` and ``reasons`` as one text (``"r1; r2; r3"``);
        when no lead has a score, not at all.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValidationError
        When the extension is not one of :data:`EXPORT_FORMATS`.
    """
    return write_frame(
        _score_columns(with_origin(gdf, origin)),
        Path(path),
        layer="leads",
        formats=EXPORT_FORMATS,
        number_formats={"distance_m": "#,##0", "score": "0.000", "percentile": "0.0"},
    )
