"""File formats: reading the tables and spatial files users bring, writing what they open."""

from gcrm.io.spatial import VECTOR_SUFFIXES, read_features
from gcrm.io.tables import TABLE_SUFFIXES, check_exists, read_table, sniff_text
from gcrm.io.writers import (
    ALL_FORMATS,
    SPATIAL_FORMATS,
    TABLE_FORMATS,
    check_suffix,
    fit_columns,
    style_header,
    tabular,
    write_frame,
)

__all__ = [
    "ALL_FORMATS",
    "SPATIAL_FORMATS",
    "TABLE_FORMATS",
    "TABLE_SUFFIXES",
    "VECTOR_SUFFIXES",
    "check_exists",
    "check_suffix",
    "fit_columns",
    "read_features",
    "read_table",
    "sniff_text",
    "style_header",
    "tabular",
    "write_frame",
]
