"""Column mappings: which file column holds which gcrm field (``--map FIELD=COLUMN``)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd

from gcrm.core import ValidationError

__all__ = ["FIELD_ALIASES", "apply_mapping", "parse_map_options", "read_mapping_file"]

#: Short names a column mapping may use for a field.
FIELD_ALIASES = {
    "parent": "parent_code",
    "number": "housenumber",
    "house_number": "housenumber",
    "zip": "postcode",
}


def apply_mapping(
    frame: pd.DataFrame, mapping: dict[str, str] | None, *, source: str
) -> pd.DataFrame:
    """Rename file columns to gcrm fields: ``{"code": "GEOID"}`` takes field code from GEOID."""
    if not mapping:
        return frame
    renames = {}
    for field_name, column in mapping.items():
        col = column.strip().lower()
        if col not in frame.columns:
            present = sorted(c for c in frame.columns if not c.startswith("_") and c != "geometry")
            msg = f"--map {field_name}={column}: {source} has no column {column!r}; found {present}"
            raise ValidationError(msg)
        renames[col] = FIELD_ALIASES.get(field_name.strip().lower(), field_name.strip().lower())
    return frame.rename(columns=renames)


def read_mapping_file(path: Path) -> dict[str, str]:
    """A TOML column mapping: a ``[map]`` table of ``field = "COLUMN"`` (or top-level keys)."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    table = data.get("map", data)
    bad = {k: v for k, v in table.items() if not isinstance(v, str)}
    if bad:
        msg = f"mapping file {str(path)!r}: values must be column names (text); fix {sorted(bad)}"
        raise ValidationError(msg)
    return dict(table)


def parse_map_options(
    options: tuple[str, ...], *, mapping_file: Path | None = None
) -> dict[str, str]:
    """``("code=GEOID", "name=NAME")`` (and an optional TOML file) -> ``{"code": "GEOID", ...}``."""
    mapping = read_mapping_file(mapping_file) if mapping_file is not None else {}
    for option in options:
        field_name, sep, column = option.partition("=")
        if not sep or not field_name.strip() or not column.strip():
            msg = f"--map {option!r} is not FIELD=COLUMN; write e.g. --map code=GEOID"
            raise ValidationError(msg)
        mapping[field_name.strip()] = column.strip()
    return mapping
