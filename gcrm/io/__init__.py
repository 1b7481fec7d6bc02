"""File formats: reading the tables and spatial files users bring, writing what they open."""

from gcrm.io.codes import code_text, numbers_as_text
from gcrm.io.spatial import GEOMETRY_PROBLEM, READ_WARNINGS, VECTOR_SUFFIXES, read_features
from gcrm.io.tables import (
    TABLE_SUFFIXES,
    check_exists,
    first_line,
    read_bytes,
    read_table,
    sniff_text,
)
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
    "GEOMETRY_PROBLEM",
    "READ_WARNINGS",
    "SPATIAL_FORMATS",
    "TABLE_FORMATS",
    "TABLE_SUFFIXES",
    "VECTOR_SUFFIXES",
    "check_exists",
    "check_suffix",
    "code_text",
    "first_line",
    "fit_columns",
    "numbers_as_text",
    "read_bytes",
    "read_features",
    "read_table",
    "sniff_text",
    "style_header",
    "tabular",
    "write_frame",
]
