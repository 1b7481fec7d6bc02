"""Importing areas of any level, their level definitions, and their statistics."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, text

from gcrm.core import ValidationError
from gcrm.ingest.hierarchy import known_levels
from gcrm.ingest.interpolation import interpolate_area_stats, parse_value_options
from gcrm.ingest.load import as_text, import_layer, load_layer, read_layer
from gcrm.ingest.mapping import ColumnMapping, apply_mapping, as_column_mapping
from gcrm.ingest.readers import read_records
from gcrm.ingest.specs import LAYERS
from gcrm.ingest.validate import (
    ImportReport,
    default_rejects_path,
    require_columns,
)
from gcrm.store import stage_frame, upsert_from_stage

__all__ = ["import_area_levels", "import_area_stats", "import_areas"]

#: Levels nest a few deep (county > tract > block); a rank beyond this is a broken file.
_MAX_RANK = 100


def import_area_levels(
    conn: Connection, path: Path | pd.DataFrame, *, source: str | None = None
) -> ImportReport:
    """Load the level definitions (level, parent_level, rank, label, derivation).

    ``path`` is a table file, or a frame of those columns built in memory (``source`` then
    names what it came from, e.g. the H3 levels of :mod:`gcrm.areas.hexes`).
    """
    if isinstance(path, pd.DataFrame):
        frame = path.fillna("").astype(str).reset_index(drop=True)
        frame.insert(0, "_row", range(1, len(frame) + 1))
        path = Path(source or "area levels frame")
    else:
        path = Path(path)
        frame = read_records(path, argument="area levels file")
    require_columns(
        frame, ("level", "rank", "label", "derivation"), source=f"area levels file {str(path)!r}"
    )
    frame["level"] = frame["level"].str.strip().str.lower()
    parent = frame.get("parent_level", pd.Series("", index=frame.index)).str.strip().str.lower()
    rank = pd.to_numeric(frame["rank"], errors="coerce")
    whole = rank.notna() & (rank % 1 == 0) & rank.between(0, _MAX_RANK)
    if not whole.all():
        bad = frame.loc[~whole, "_row"].tolist()
        shown = f"{bad[:10]}{' and more' if len(bad) > 10 else ''}"
        msg = f"area levels file {str(path)!r}: rank is not a whole number from 0 to {_MAX_RANK} at rows {shown}"
        raise ValidationError(msg)
    unknown = set(parent[parent != ""]) - set(frame["level"]) - known_levels(conn)
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
    known: dict[str, int] = dict(
        conn.execute(text("SELECT level, rank FROM gcrm.area_levels")).all()
    )
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


def import_area_stats(
    conn: Connection,
    path: Path,
    *,
    level: str | None = None,
    key: str | None = None,
    source: str | None = None,
    vintage: str | None = None,
    rejects_path: Path | None = None,
    mapping: ColumnMapping | dict[str, str] | None = None,
    interpolate: str | None = None,
    values: Sequence[str] = (),
    crs: str | None = None,
) -> ImportReport:
    """Load area statistics.

    Long format (default): columns level, code, measure, value, source, vintage [, method].
    Wide format (``key`` given): one row per area keyed by column ``key``, every other
    numeric column a measure, e.g. ``gcrm import area-stats acs.csv --level tract --key
    GEOID --source "ACS 5-year" --vintage 2022``.
    Another geometry (``interpolate`` given): counts of a population grid, other polygons or
    a raster, interpolated onto the areas of every level (or of ``level``); ``values`` are
    ``MEASURE[=COLUMN]`` (see :func:`gcrm.ingest.interpolation.interpolate_area_stats`).
    Several vintages of a measure are kept side by side, one row each.
    """
    path = Path(path)
    if interpolate is not None:
        if key is not None:
            msg = "--interpolate reads figures by geometry, --key by area code: use one of them"
            raise ValidationError(msg)
        return interpolate_area_stats(
            conn,
            path,
            method=interpolate,
            values=parse_value_options(values),
            source=source or path.name,
            vintage=vintage or "not stated",
            level=level.strip().lower() if level else None,
            crs=crs,
            rejects_path=rejects_path,
        )
    if values:
        msg = f"--value {values[0]!r} needs --interpolate area|dasymetric (the cells' geometry is not the areas')"
        raise ValidationError(msg)
    if key is None:
        frame = apply_mapping(
            read_layer(LAYERS["area-stats"], path), mapping, source=f"area-stats file {str(path)!r}"
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
    return load_layer(
        conn,
        LAYERS["area-stats"],
        frame,
        source=str(path),
        rejects_path=rejects_path or default_rejects_path(path),
        widths=as_column_mapping(mapping).widths,  # --code-width: keys that lost leading zeros
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
    return as_text(long)
