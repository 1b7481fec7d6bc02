"""Column mappings: which file column holds which gcrm field, and how its values read.

A mapping comes from ``--map FIELD=COLUMN`` options, a TOML file (``--mapping FILE``), a
preset shipped with gcrm (``--preset salesforce``, :mod:`gcrm.ingest.presets`), or all three
(later ones win, field by field). The TOML format, every table optional::

    [map]                  # gcrm field = "file column"; a list joins columns with a space
    customer_id = "Account ID"
    name = ["First Name", "Last Name"]

    [values.status]        # file value (any case) = gcrm value
    "Customer - Direct" = "active"

    [defaults]             # a field the file lacks, or a row leaves empty
    segment = "unassigned"

    [widths]               # zero-pad codes of digits that lost their leading zeros
    postcode = 5

    [dates]                # date formats tried after ISO (strftime codes)
    formats = ["%m/%d/%Y"]

    [options]
    churn_date_only_when_churned = true   # the churn date column is read for churned rows only
    unquote_formulas = true               # '+358 40 ... -> +358 40 ... (a spreadsheet guard)

A file with no ``[map]`` table and only text values at its top level is read as ``[map]``
(the format of earlier releases).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from gcrm.core import ValidationError

__all__ = [
    "ABSENT_COLUMNS",
    "FIELD_ALIASES",
    "ColumnMapping",
    "apply_mapping",
    "as_column_mapping",
    "parse_code_widths",
    "parse_map_options",
    "read_mapping_file",
]

#: Short names a column mapping may use for a field.
FIELD_ALIASES = {
    "parent": "parent_code",
    "number": "housenumber",
    "house_number": "housenumber",
    "zip": "postcode",
}
#: The tables a mapping file may hold.
_TABLES = ("preset", "map", "values", "defaults", "widths", "dates", "options")
_OPTIONS = ("churn_date_only_when_churned", "unquote_formulas")
#: An apostrophe some exports put before a value a spreadsheet would read as a formula.
_FORMULA_QUOTE = r"^'(?=[=+\-@])"
#: The prefix a file column gets when a mapped column takes its name.
DISPLACED_PREFIX = "file:"
#: The key of ``frame.attrs`` naming the if-present fields whose column the file lacks, with
#: where the mapping reads them (for the message when such a field is required).
ABSENT_COLUMNS = "absent_columns"


@dataclass(frozen=True)
class ColumnMapping:
    """How the columns of a file become gcrm fields.

    Attributes
    ----------
    columns
        Field -> the file column(s) it is read from (any case); several are joined with a
        space (``name = ["First Name", "Last Name"]``).
    values
        Field -> {file value, lower case: gcrm value}; other values pass unchanged.
    defaults
        Field -> the value of rows (or a file) that have none.
    widths
        Field -> the number of digits of its codes (zero-padded back, see
        :func:`gcrm.io.code_text`).
    date_formats
        strftime formats tried for dates after ISO 8601.
    churn_date_only_when_churned
        Read the churn date of churned customers only (an export whose only date for it is
        "last modified").
    unquote_formulas
        Remove the apostrophe an export puts before values starting with ``=``, ``+``, ``-``
        or ``@`` (so that spreadsheets do not read them as formulas).
    source
        Where the mapping came from, for messages (``"--map"``, a file, a preset).
    if_present
        Fields read only when the file has their column; a missing column of any other field
        is an error naming it.
    """

    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)
    widths: Mapping[str, int] = field(default_factory=dict)
    date_formats: tuple[str, ...] = ()
    churn_date_only_when_churned: bool = False
    unquote_formulas: bool = False
    source: str = "--map"
    #: Fields read only when the file has their column (a preset's): a file without it is
    #: read as if the field were not mapped.
    if_present: frozenset[str] = frozenset()

    def merged(self, other: ColumnMapping) -> ColumnMapping:
        """This mapping with ``other`` on top: ``other`` wins field by field."""
        return ColumnMapping(
            columns={**self.columns, **other.columns},
            values={**self.values, **other.values},
            defaults={**self.defaults, **other.defaults},
            widths={**self.widths, **other.widths},
            date_formats=(*other.date_formats, *self.date_formats),
            churn_date_only_when_churned=(
                self.churn_date_only_when_churned or other.churn_date_only_when_churned
            ),
            unquote_formulas=self.unquote_formulas or other.unquote_formulas,
            source=other.source if other.columns else self.source,
            if_present=(self.if_present - set(other.columns)) | other.if_present,
        )

    def with_widths(self, widths: Mapping[str, int]) -> ColumnMapping:
        """This mapping with the code ``widths`` given (they win)."""
        return replace(self, widths={**self.widths, **widths})


def _field_name(name: str) -> str:
    key = name.strip().lower()
    return FIELD_ALIASES.get(key, key)


def as_column_mapping(mapping: ColumnMapping | Mapping[str, str] | None) -> ColumnMapping:
    """``mapping`` as a :class:`ColumnMapping` (a plain ``{field: column}`` dict is one)."""
    if mapping is None:
        return ColumnMapping()
    if isinstance(mapping, ColumnMapping):
        return mapping
    return ColumnMapping(columns={_field_name(f): (c.strip(),) for f, c in mapping.items()})


def _present(frame: pd.DataFrame) -> list[str]:
    return sorted(str(c) for c in frame.columns if not str(c).startswith("_") and c != "geometry")


def _take_columns(
    frame: pd.DataFrame, mapping: ColumnMapping, *, source: str
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The frame with the mapped columns taken, and the if-present fields left out."""
    columns: dict[str, tuple[str, ...]] = {}
    absent: dict[str, str] = {}
    for field_name, parts in mapping.columns.items():
        missing = [c for c in parts if c.lower() not in frame.columns]
        if missing and field_name in mapping.if_present:
            absent[field_name] = " + ".join(repr(p) for p in parts)
        elif missing:
            msg = (
                f"{mapping.source} {field_name}={'+'.join(parts)}: {source} has no column "
                f"{missing[0]!r}; found {_present(frame)}"
            )
            raise ValidationError(msg)
        else:
            columns[field_name] = parts
    renames: dict[str, str] = {}
    joined: dict[str, pd.Series] = {}
    for field_name, written in columns.items():
        lowered = [c.lower() for c in written]  # headers are read in lower case
        if len(lowered) == 1 and lowered[0] not in renames:
            renames[lowered[0]] = field_name
        else:  # several columns, or a column another field is read from as well
            text = frame[lowered].astype("string").fillna("")
            joined[field_name] = text.agg(" ".join, axis=1).str.split().str.join(" ")
    # A file column that already bears a mapped field's name keeps its data under a prefix.
    taken = (set(renames.values()) | set(joined)) - set(renames)
    displaced = {c: DISPLACED_PREFIX + c for c in frame.columns if c in taken}
    frame = frame.rename(columns={**displaced, **renames})
    for field_name, values in joined.items():
        frame[field_name] = values
    return frame, absent


def _blank_rows(frame: pd.DataFrame) -> pd.Series:
    """True where a row has no value at all (an empty line of the file)."""
    blank = pd.Series(True, index=frame.index)
    for col in frame.columns:
        if col != "geometry" and not str(col).startswith("_"):
            blank &= frame[col].astype("string").fillna("").str.strip() == ""
    return blank


def apply_mapping(
    frame: pd.DataFrame,
    mapping: ColumnMapping | Mapping[str, str] | None,
    *,
    source: str,
) -> pd.DataFrame:
    """Read gcrm fields from the file's columns: rename and join columns, translate values,
    fill defaults.

    ``{"code": "GEOID"}`` takes field ``code`` from column ``GEOID``. A default fills a field
    the file does not have, and the empty cells of one it has.

    Raises
    ------
    ValidationError
        When a mapped column is not in the file; the message lists the columns it has.
    """
    mapping = as_column_mapping(mapping)
    if mapping.unquote_formulas:
        for col in frame.columns:
            if col not in ("_row", "geometry"):
                frame[col] = frame[col].astype("string").str.replace(_FORMULA_QUOTE, "", regex=True)
    absent: dict[str, str] = {}
    if mapping.columns:
        frame, absent = _take_columns(frame, mapping, source=source)
    blank = _blank_rows(frame)
    for field_name, table in mapping.values.items():
        if field_name in frame.columns:
            key = frame[field_name].astype("string").fillna("").str.strip().str.lower()
            translated = key.map(dict(table))
            frame[field_name] = translated.where(translated.notna(), frame[field_name])
    for field_name, value in mapping.defaults.items():
        if field_name not in frame.columns:
            frame[field_name] = ""
        empty = frame[field_name].astype("string").fillna("").str.strip() == ""
        # An empty line of the file stays empty (and is rejected as one).
        frame.loc[empty & ~blank, field_name] = value
    frame.attrs[ABSENT_COLUMNS] = {
        f: f"{mapping.source.rstrip(':')} reads {f} from {c}" for f, c in absent.items()
    }
    return frame


def _mapping_table(data: dict[str, Any], path: Path) -> dict[str, Any]:
    if "map" in data or any(k in data for k in _TABLES):
        unknown = sorted(set(data) - set(_TABLES))
        if unknown:
            msg = (
                f"mapping file {str(path)!r}: unknown table(s) {unknown}; "
                f"use some of {list(_TABLES)}"
            )
            raise ValidationError(msg)
        return dict(data.get("map", {}))
    return dict(data)


def _columns(table: dict[str, Any], path: Path) -> dict[str, tuple[str, ...]]:
    columns: dict[str, tuple[str, ...]] = {}
    for name, value in table.items():
        parts = [value] if isinstance(value, str) else value
        if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
            msg = (
                f"mapping file {str(path)!r}: {name} = {value!r} is not a column name (text) "
                'or a list of them; write e.g. name = "Account Name"'
            )
            raise ValidationError(msg)
        columns[_field_name(name)] = tuple(p.strip() for p in parts)
    return columns


def _widths(table: dict[str, Any], *, where: str) -> dict[str, int]:
    widths: dict[str, int] = {}
    for name, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
            msg = f"{where}: width {name} = {value!r} is not a whole number from 1 to 100"
            raise ValidationError(msg)
        widths[_field_name(name)] = value
    return widths


def _text_table(table: Any, *, where: str, what: str) -> dict[str, str]:
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in table.items()
    ):
        msg = f'{where}: [{what}] must hold text values, e.g. "Customer" = "active"'
        raise ValidationError(msg)
    return dict(table)


def read_mapping_file(
    path: Path, *, source: str | None = None, if_present: bool = False
) -> ColumnMapping:
    """A TOML column mapping (see the module's documentation for the format).

    With ``if_present`` (a preset), a mapped column the file lacks leaves its field unmapped
    instead of being an error.

    Raises
    ------
    ValidationError
        When the file is not TOML, or a table holds values of the wrong kind.
    """
    path = Path(path)
    where = f"mapping file {str(path)!r}"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"{where} is not TOML gcrm can read ({exc}); see `gcrm import --help`"
        raise ValidationError(msg) from None
    values = data.get("values", {})
    if not isinstance(values, dict):
        msg = f"{where}: [values] holds one table per field, e.g. [values.status]"
        raise ValidationError(msg)
    options = data.get("options", {})
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        msg = f"{where}: unknown option(s) {unknown}; known options {list(_OPTIONS)}"
        raise ValidationError(msg)
    formats = data.get("dates", {}).get("formats", [])
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        msg = f'{where}: [dates] formats must be a list of strftime formats, e.g. ["%m/%d/%Y"]'
        raise ValidationError(msg)
    columns = _columns(_mapping_table(data, path), path)
    return ColumnMapping(
        columns=columns,
        values={
            _field_name(name): {
                k.strip().lower(): v
                for k, v in _text_table(table, where=where, what=f"values.{name}").items()
            }
            for name, table in values.items()
        },
        defaults={
            _field_name(k): v
            for k, v in _text_table(data.get("defaults", {}), where=where, what="defaults").items()
        },
        widths=_widths(data.get("widths", {}), where=where),
        date_formats=tuple(formats),
        churn_date_only_when_churned=bool(options.get("churn_date_only_when_churned", False)),
        unquote_formulas=bool(options.get("unquote_formulas", False)),
        source=source or f"mapping file {str(path)!r}:",
        if_present=frozenset(columns) if if_present else frozenset(),
    )


def parse_code_widths(options: tuple[str, ...], *, default_field: str) -> dict[str, int]:
    """``("6",)`` or ``("postcode=5", ...)`` (``--code-width``) -> ``{field: width}``.

    A bare number is the width of ``default_field`` (the import's own code).

    Raises
    ------
    ValidationError
        When an option is neither ``N`` nor ``FIELD=N`` with N a whole number from 1 to 100.
    """
    widths: dict[str, int] = {}
    for option in options:
        name, sep, number = option.rpartition("=")
        name = name if sep else default_field
        if not number.strip().isdigit() or not name.strip() or not 1 <= int(number) <= 100:
            msg = (
                f"--code-width {option!r} is not N or FIELD=N with N a whole number from 1 to "
                f"100; write e.g. --code-width 6 (for {default_field}) or --code-width postcode=5"
            )
            raise ValidationError(msg)
        widths[_field_name(name)] = int(number)
    return widths


def parse_map_options(
    options: tuple[str, ...], *, mapping_file: Path | None = None
) -> ColumnMapping:
    """``("code=GEOID", "name=NAME")`` (on top of an optional TOML file) -> a mapping.

    Raises
    ------
    ValidationError
        When an option is not ``FIELD=COLUMN``, or the file cannot be read as a mapping.
    """
    mapping = read_mapping_file(mapping_file) if mapping_file is not None else ColumnMapping()
    columns: dict[str, tuple[str, ...]] = {}
    for option in options:
        field_name, sep, column = option.partition("=")
        if not sep or not field_name.strip() or not column.strip():
            msg = f"--map {option!r} is not FIELD=COLUMN; write e.g. --map code=GEOID"
            raise ValidationError(msg)
        columns[_field_name(field_name)] = (column.strip(),)
    return mapping.merged(ColumnMapping(columns=columns)) if columns else mapping
