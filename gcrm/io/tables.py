"""Tables users bring: CSV (any common encoding and separator) and Excel, every cell as text.

One reader for everything gcrm reads in tabular form: customer, order and lead exports,
layer tables with lon/lat, area statistics, and any file ``gcrm geocode`` takes.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from gcrm.core.errors import ValidationError

__all__ = ["DELIMITED_SUFFIXES", "TABLE_SUFFIXES", "check_exists", "read_table", "sniff_text"]

#: Delimited text files; the separator is sniffed from the header line.
DELIMITED_SUFFIXES = (".csv", ".tsv", ".txt")
TABLE_SUFFIXES = (*DELIMITED_SUFFIXES, ".xlsx")
#: Tried in order: UTF-8 (with or without BOM), then what Excel writes on Windows in western
#: Europe (cp1252), then latin-1, which decodes every byte.
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
_SEPARATORS = (",", ";", "\t")


def check_exists(path: Path, *, argument: str) -> None:
    """Raise a ValidationError naming ``argument`` when ``path`` does not exist."""
    if not Path(path).exists():
        msg = f"{argument} {str(path)!r} does not exist; check the path"
        raise ValidationError(msg)


def sniff_text(raw: bytes) -> tuple[str, str, str]:
    """Decode a delimited file and find its separator: ``(text, encoding, separator)``.

    The separator is the most frequent of comma, semicolon and tab in the header line (a
    comma on a tie): spreadsheets write semicolons where the decimal separator is a comma
    (Finland, Sweden, Germany).
    """
    for encoding in _ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in _SEPARATORS}
    separator = max(_SEPARATORS, key=lambda sep: (counts[sep], sep == ","))
    return text, encoding, separator


def read_table(path: Path, *, argument: str = "FILE") -> pd.DataFrame:
    """Read a CSV, TSV or XLSX file with every cell as text, exactly as written.

    Headers are kept as they are; empty cells are empty strings, never NaN; nothing is
    trimmed or converted. Delimited text may be UTF-8 (with or without BOM), cp1252 or
    latin-1, separated by commas, semicolons or tabs.

    Parameters
    ----------
    path
        The file.
    argument
        How the caller names the file in messages (``"customers file"``, ``"IN"``).

    Raises
    ------
    ValidationError
        When the file does not exist or its suffix is not one of :data:`TABLE_SUFFIXES`.
    """
    path = Path(path)
    check_exists(path, argument=argument)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl")
    if suffix not in DELIMITED_SUFFIXES:
        msg = f"{argument} {str(path)!r} has suffix {suffix or '(none)'!r}; use one of {list(TABLE_SUFFIXES)}"
        raise ValidationError(msg)
    text, _, separator = sniff_text(path.read_bytes())
    return pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False)
