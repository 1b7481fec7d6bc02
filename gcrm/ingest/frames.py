"""Importing layers that are already in memory (GeoDataFrames), e.g. read from an OSM extract.

The same checks, rejects, geometry repair and upsert as a file import
(:func:`gcrm.ingest.import_layer`): both paths share :func:`gcrm.ingest.load.load_layer`
(leads: :func:`gcrm.ingest.leads.load_leads`).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection

from gcrm.core import ValidationError, to_storage_crs
from gcrm.ingest.leads import load_leads
from gcrm.ingest.load import as_text, load_layer
from gcrm.ingest.specs import layer_spec
from gcrm.ingest.validate import ImportReport

__all__ = ["import_frame"]


def import_frame(
    conn: Connection,
    kind: str,
    frame: pd.DataFrame,
    *,
    source: str,
    rejects_path: Path,
) -> ImportReport:
    """Validate and upsert one in-memory layer of ``kind`` (one of :data:`LAYERS`).

    Parameters
    ----------
    conn
        A connection inside the transaction the layer lands in, whole or not at all.
    kind
        The layer kind, e.g. ``"roads"``; the columns are its :data:`gcrm.ingest.specs.LAYERS` contract.
    frame
        The rows; a GeoDataFrame with a CRS for spatial kinds (reprojected to EPSG:4326
        explicitly from its own CRS). Values may be of any type: they are checked as text,
        as a file's would be. The frame is not modified.
    source
        What the rows came from, for the report and the import log (e.g. ``"x.osm.pbf#roads"``).
    rejects_path
        Where rejected rows go, with their row number (from 1) and reason.

    Returns
    -------
    ImportReport
        Rows read, inserted, updated, unchanged and rejected.

    Raises
    ------
    ValidationError
        When ``kind`` is unknown, a spatial ``frame`` is not a GeoDataFrame or has no CRS, or a
        required column is missing.
    """
    spec = layer_spec(kind)
    prepared = _prepare(frame, spatial=spec.family is not None, source=source)
    if kind == "leads":
        return load_leads(conn, prepared, source=source, rejects_path=Path(rejects_path))
    return load_layer(conn, spec, prepared, source=source, rejects_path=Path(rejects_path))


def _prepare(frame: pd.DataFrame, *, spatial: bool, source: str) -> pd.DataFrame:
    """A copy shaped like a file read: lower-case columns, ``_row``, ``geometry``, text."""
    if spatial:
        if not isinstance(frame, gpd.GeoDataFrame):
            msg = (
                f"frame for {source!r} is a {type(frame).__name__}; a spatial layer needs a "
                "GeoDataFrame with a CRS (geopandas.GeoDataFrame(frame, geometry=..., crs=...))"
            )
            raise ValidationError(msg)
        out = to_storage_crs(frame, source=f"frame for {source!r}").copy()
        if out.geometry.name != "geometry":
            out = out.rename_geometry("geometry")
        out.columns = [c if c == "geometry" else str(c).strip().lower() for c in out.columns]
    else:
        out = pd.DataFrame(frame).copy()
        out.columns = [str(c).strip().lower() for c in out.columns]
    out = out.drop(columns=[c for c in ("_row",) if c in out.columns])
    out.insert(0, "_row", range(1, len(out) + 1))
    return as_text(out.reset_index(drop=True))
