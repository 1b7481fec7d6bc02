"""Tables users bring: CSV (any common encoding and separator) and Excel, every cell as text.

One reader for everything gcrm reads in tabular form: customer, order and lead exports,
layer tables with lon/lat, area statistics, and any file ``gcrm geocode`` takes.

A file gcrm cannot read as a table is a :class:`~gcrm.core.errors.ValidationError` with one
line that names the file, the row where there is one, and the fix: an empty file, binary
data, a file that mixes encodings, a row with more fields than the header, a quote that
never closes, a header that names a column twice, a workbook that is not one.
"""

from __future__ import annotations

import codecs
import io
import re
import warnings
from pathlib import Path

import pandas as pd

from gcrm.core.errors import ValidationError

__all__ = [
    "DELIMITED_SUFFIXES",
    "TABLE_SUFFIXES",
    "check_exists",
    "first_line",
    "read_bytes",
    "read_table",
    "sniff_text",
]

#: Delimited text files; the separator is sniffed from the header line.
DELIMITED_SUFFIXES = (".csv", ".tsv", ".txt")
TABLE_SUFFIXES = (*DELIMITED_SUFFIXES, ".xlsx")
#: Tried in order: UTF-8 (with or without BOM), then what Excel writes on Windows in western
#: Europe (cp1252), then latin-1, which decodes every byte. UTF-16 (Excel's "Unicode text")
#: is read when the file starts with its byte-order mark.
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SEPARATORS = (",", ";", "\t")
#: Control bytes no text table holds in quantity (tab, line feed and carriage return
#: excepted); above this share of the bytes, or with any NUL, a file is binary data.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BINARY_SHARE = 0.05
#: A valid multi-byte UTF-8 sequence: when they outnumber the other bytes above 0x7f, the
#: file is UTF-8 with a few foreign bytes, and reading it as cp1252 would garble the rest.
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
#: What a binary file is, by its first bytes, and so what the user most likely meant.
_SIGNATURES = {
    b"PK\x03\x04": "a ZIP archive (an .xlsx workbook is one: give it the .xlsx suffix)",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls: save it as .xlsx or CSV UTF-8)",
    b"SQLite format 3\x00": "a SQLite database or GeoPackage (.gpkg)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\x1f\x8b": "a gzip archive (unpack it first)",
}
_EXPECTED_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")
_FIX = "save it again as CSV UTF-8 or XLSX"


def check_exists(path: Path, *, argument: str) -> None:
    """Raise a ValidationError naming ``argument`` when ``path`` is not an existing file."""
    path = Path(path)
    if not path.exists():
        msg = f"{argument} {str(path)!r} does not exist; check the path"
        raise ValidationError(msg)
    if path.is_dir():
        msg = f"{argument} {str(path)!r} is a folder; give the file inside it"
        raise ValidationError(msg)


def first_line(text: object, *, limit: int = 200) -> str:
    """The first line of ``text`` (an error message of a library), at most ``limit`` characters."""
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def read_bytes(path: Path, *, argument: str) -> bytes:
    """The bytes of an existing, non-empty file; a ValidationError otherwise.

    Raises
    ------
    ValidationError
        When the file does not exist, is a folder, cannot be read, or is empty.
    """
    path = Path(path)
    check_exists(path, argument=argument)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        msg = f"{argument} {str(path)!r} cannot be read ({exc.strerror or first_line(exc)}); check its permissions"
        raise ValidationError(msg) from None
    if not raw.strip():
        msg = f"{argument} {str(path)!r} is empty: it has no header row and no data; export the table again with its header row"
        raise ValidationError(msg)
    return raw


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _refuse_binary(raw: bytes, *, source: str) -> None:
    nul = raw.find(b"\x00")
    if nul < 0 and len(_CONTROL.findall(raw)) <= _BINARY_SHARE * len(raw):
        return
    kind = next((what for magic, what in _SIGNATURES.items() if raw.startswith(magic)), None)
    where = f"a NUL byte at line {_line_of(raw, nul)}" if nul >= 0 else "control characters"
    what = f"it is {kind}" if kind else f"it holds binary data ({where})"
    msg = f"{source} is not a text table: {what}; {_FIX}"
    raise ValidationError(msg)


def _mostly_utf8(raw: bytes) -> bool:
    """More valid UTF-8 sequences than bytes outside them: UTF-8 with a few foreign bytes.

    A cp1252 or latin-1 file may hold a valid sequence by chance ("Ç" and a no-break space),
    but its other accented letters are single bytes that are not UTF-8.
    """
    sequences = _UTF8_SEQUENCE.findall(raw)
    stray = len(_HIGH_BYTE.findall(raw)) - sum(map(len, sequences))
    return len(sequences) > stray


def _decode(raw: bytes, *, source: str) -> tuple[str, str]:
    if raw.startswith(_UTF16_BOMS):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            msg = f"{source} starts as UTF-16 but is not (bad bytes near line {_line_of(raw, exc.start)}); {_FIX}"
            raise ValidationError(msg) from None
    body = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return body.decode("utf-8"), "utf-8-sig"
    except UnicodeDecodeError as exc:
        if _mostly_utf8(body):
            byte = body[exc.start : exc.start + 1].hex()
            msg = (
                f"{source} mixes encodings: line {_line_of(body, exc.start)} has byte 0x{byte}, "
                f"which is not UTF-8, while most of the file is UTF-8; {_FIX}"
            )
            raise ValidationError(msg) from None
    for encoding in _ENCODINGS[1:]:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def sniff_text(raw: bytes, *, source: str = "file") -> tuple[str, str, str]:
    """Decode a delimited file and find its separator: ``(text, encoding, separator)``.

    The separator is the most frequent of comma, semicolon and tab in the header line (a
    comma on a tie): spreadsheets write semicolons where the decimal separator is a comma
    (Finland, Sweden, Germany).

    Raises
    ------
    ValidationError
        When the bytes are binary data or mix UTF-8 with another encoding; ``source`` names
        the file in the message.
    """
    if not raw.startswith(_UTF16_BOMS):  # UTF-16 is full of NUL bytes
        _refuse_binary(raw, source=source)
    text, encoding = _decode(raw, source=source)
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in _SEPARATORS}
    separator = max(_SEPARATORS, key=lambda sep: (counts[sep], sep == ","))
    return text, encoding, separator


def _parse_error(exc: ValueError, *, source: str, separator: str) -> ValidationError:
    message = str(exc)
    fields = _EXPECTED_FIELDS.search(message)
    if fields:
        expected, row, saw = fields.groups()
        msg = (
            f"{source}: row {row} has {saw} fields but the header has {expected}; put values "
            f'that contain the separator {separator!r} in double quotes ("a{separator} b") or '
            "remove the extra separators"
        )
        return ValidationError(msg)
    quote = _OPEN_QUOTE.search(message)
    if quote:
        row = int(quote.group(1)) + 1  # pandas counts rows from 0, the header included
        msg = (
            f'{source}: row {row} opens a double quote (") that never closes; close it, or '
            'double a quote inside a quoted value ("")'
        )
        return ValidationError(msg)
    return ValidationError(f"{source} cannot be read as a table ({first_line(message)}); {_FIX}")


def _promote_header(frame: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """The first row as the header, every cell as text (``""`` when missing)."""
    if frame.empty and len(frame.columns) == 0:
        msg = f"{source} has no header row and no data; export the table again with its header row"
        raise ValidationError(msg)
    header = [
        v if isinstance(v, str) and v != "" else f"Unnamed: {i}"
        for i, v in enumerate(frame.iloc[0].tolist())
    ]
    seen: dict[str, list[int]] = {}
    for position, name in enumerate(header, start=1):
        seen.setdefault(name, []).append(position)
    twice = {name: at for name, at in seen.items() if len(at) > 1}
    if twice:
        name, at = next(iter(twice.items()))
        msg = f"{source}: column {name!r} appears {len(at)} times in the header (columns {at}); rename or remove the extra ones"
        raise ValidationError(msg)
    body = frame.iloc[1:].reset_index(drop=True)
    body.columns = header
    return body.fillna("").astype(str)


def _read_workbook(path: Path, *, source: str) -> pd.DataFrame:
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it skips; the cells are read anyway.
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            frame = pd.read_excel(
                path, dtype=str, keep_default_na=False, header=None, engine="openpyxl"
            )
    # Any failure of the workbook parser means the same to the user: not a workbook it reads.
    except Exception as exc:
        msg = (
            f"{source} is not an Excel workbook gcrm can read ({type(exc).__name__}: "
            f"{first_line(exc, limit=120)}); open it in Excel or LibreOffice and save it again "
            "as .xlsx, or as CSV UTF-8"
        )
        raise ValidationError(msg) from None
    return _promote_header(frame, source=source)


def _read_delimited(path: Path, *, source: str, argument: str) -> pd.DataFrame:
    text, _, separator = sniff_text(read_bytes(path, argument=argument), source=source)
    try:
        # Blank lines inside the table stay rows, so that row numbers are the ones a
        # spreadsheet shows; blank lines at the end are not rows (as in a spreadsheet).
        frame = pd.read_csv(
            io.StringIO(text.rstrip("\r\n")),
            sep=separator,
            dtype=str,
            keep_default_na=False,
            header=None,
            skip_blank_lines=False,
        )
    except ValueError as exc:  # pandas' EmptyDataError and ParserError are ValueErrors
        if isinstance(exc, pd.errors.EmptyDataError):
            msg = f"{source} has no header row and no data; export the table again with its header row"
            raise ValidationError(msg) from None
        raise _parse_error(exc, source=source, separator=separator) from None
    return _promote_header(frame, source=source)


def read_table(path: Path, *, argument: str = "FILE") -> pd.DataFrame:
    """Read a CSV, TSV or XLSX file with every cell as text, exactly as written.

    Headers are kept as they are (an empty one is ``Unnamed: <i>``, as pandas names it); empty cells
    are empty strings, never NaN; nothing is trimmed or converted. Row ``i`` of the frame is
    row ``i + 2`` of the file as a spreadsheet shows it: an empty row inside the table is a
    row of empty strings; empty rows at the end are left out. Delimited text may be
    UTF-8 (with or without BOM), cp1252, latin-1 or UTF-16 with a BOM, separated by commas,
    semicolons or tabs.

    Parameters
    ----------
    path
        The file.
    argument
        How the caller names the file in messages (``"customers file"``, ``"IN"``).

    Raises
    ------
    ValidationError
        When the file does not exist, its suffix is not one of :data:`TABLE_SUFFIXES`, or it
        is not a table gcrm can read (empty, binary, mixed encodings, a row with more fields
        than the header, an unterminated quote, a column named twice, a broken workbook);
        the one-line message names the file, the row where there is one, and the fix.
    """
    path = Path(path)
    check_exists(path, argument=argument)
    source = f"{argument} {str(path)!r}"
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        if path.stat().st_size == 0:
            msg = f"{source} is empty (0 bytes); export the workbook again"
            raise ValidationError(msg)
        return _read_workbook(path, source=source)
    if suffix not in DELIMITED_SUFFIXES:
        msg = f"{source} has suffix {suffix or '(none)'!r}; use one of {list(TABLE_SUFFIXES)}"
        raise ValidationError(msg)
    return _read_delimited(path, source=source, argument=argument)
