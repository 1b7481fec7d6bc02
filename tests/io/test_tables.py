"""The one table reader on the files a new user brings: each broken file is one line that
names the file, the row where there is one, and the fix; good files in any common encoding
read the same."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from gcrm.core import ValidationError
from gcrm.io import read_table

HEADER = "customer_id,name,city"
ROWS = ["C1,Aino Mäkinen,Helsinki", "C2,Åke Öberg,Espoo"]


def _write(tmp_path: Path, data: bytes, name: str = "crm.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _error(path: Path) -> str:
    with pytest.raises(ValidationError) as caught:
        read_table(path, argument="customers file")
    message = str(caught.value)
    assert "\n" not in message and f"customers file {str(path)!r}" in message
    return message


@pytest.mark.parametrize("data", [b"", b"\n\n  \r\n"])
def test_an_empty_file_says_so(tmp_path: Path, data: bytes) -> None:
    message = _error(_write(tmp_path, data))
    assert "is empty" in message and "export the table again with its header row" in message


def test_binary_bytes_are_not_a_table(tmp_path: Path) -> None:
    noise = bytes(range(256)) * 8
    message = _error(_write(tmp_path, noise))
    assert "is not a text table: it holds binary data (a NUL byte at line 1)" in message
    assert message.endswith("save it again as CSV UTF-8 or XLSX")


def test_a_workbook_named_csv_is_recognised(tmp_path: Path) -> None:
    book = tmp_path / "real.xlsx"
    pd.DataFrame({"a": ["1"]}).to_excel(book, index=False)
    message = _error(_write(tmp_path, book.read_bytes()))
    assert "it is a ZIP archive (an .xlsx workbook is one: give it the .xlsx suffix)" in message


def test_utf8_with_one_cp1252_line_names_that_line(tmp_path: Path) -> None:
    """A UTF-8 export with one line pasted in from a cp1252 file: read as cp1252, its UTF-8
    letters would be garbled ("MÃ¤kinen"), so it is an error naming the line."""
    utf8 = [ROWS[0], "C3,Jyrki Häkkinen,Järvenpää", "C4,Sören Nyström,Porvoo"]
    data = "\n".join([HEADER, *utf8, ""]).encode() + ROWS[1].encode("cp1252") + b"\n"
    message = _error(_write(tmp_path, data))
    assert "mixes encodings: line 5 has byte 0xc5, which is not UTF-8" in message


def test_unterminated_quote_names_its_row(tmp_path: Path) -> None:
    data = f'{HEADER}\n{ROWS[0]}\nC2,"Åke Öberg,Espoo\nC3,Pekka,Vantaa\n'.encode()
    message = _error(_write(tmp_path, data))
    assert 'row 3 opens a double quote (") that never closes' in message


def test_a_row_with_extra_fields_names_its_row_and_the_separator(tmp_path: Path) -> None:
    data = f"{HEADER}\n{ROWS[0]}\nC2,Öberg, Åke,Espoo\n".encode()
    message = _error(_write(tmp_path, data))
    assert "row 3 has 4 fields but the header has 3" in message
    assert "put values that contain the separator ',' in double quotes" in message


def test_a_column_named_twice_is_an_error(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, b"id,name,name\n1,a,b\n"))
    assert "column 'name' appears 2 times in the header (columns [2, 3])" in message


def test_a_broken_workbook_says_how_to_save_it(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, b"PK\x03\x04 not really a zip", name="crm.xlsx"))
    assert "is not an Excel workbook gcrm can read (BadZipFile" in message
    assert "save it again as .xlsx, or as CSV UTF-8" in message


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "export.csv"
    folder.mkdir()
    assert "is a folder" in _error(folder)


@pytest.mark.parametrize(
    ("encoding", "separator"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ";"),
        ("cp1252", ";"),
        ("latin-1", "\t"),
        ("utf-16", "\t"),  # Excel's "Unicode text"
    ],
)
def test_common_encodings_and_separators_read_the_same(
    tmp_path: Path, encoding: str, separator: str
) -> None:
    text = "\r\n".join([HEADER, *ROWS]).replace(",", separator)
    table = read_table(_write(tmp_path, text.encode(encoding)))
    assert list(table.columns) == ["customer_id", "name", "city"]
    assert table["name"].tolist() == ["Aino Mäkinen", "Åke Öberg"]


def test_inner_empty_rows_keep_their_place_trailing_ones_go(tmp_path: Path) -> None:
    """Row i of the frame is spreadsheet row i + 2, also after an empty line."""
    data = f"{HEADER}\n{ROWS[0]}\n\n{ROWS[1]}\n\n\n".encode()
    table = read_table(_write(tmp_path, data))
    assert table["customer_id"].tolist() == ["C1", "", "C2"]


def test_workbook_cells_are_text_and_empty_rows_keep_their_place(tmp_path: Path) -> None:
    path = tmp_path / "crm.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["customer_id", "amount"], ["C1", 12.5], [], ["C2", 7]):
        sheet.append(row)
    book.save(path)
    table = read_table(path)
    assert table.to_dict("list") == {"customer_id": ["C1", "", "C2"], "amount": ["12.5", "", "7"]}
