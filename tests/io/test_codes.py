"""Numbers and codes as people write them: the rule every importer applies to codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gcrm.io import code_text, numbers_as_text


def test_float_fields_read_as_people_write_them() -> None:
    values = pd.Series([35.0, 17031839000.0, 1e16, 0.5, np.nan, 1e-7, -3.0, 2.5e20])
    assert numbers_as_text(values).tolist() == [
        "35",
        "17031839000",
        "10000000000000000",
        "0.5",
        pd.NA,
        "0.0000001",
        "-3",
        "250000000000000000000",
    ]
    assert numbers_as_text(pd.Series(["D01", None])).tolist() == ["D01", pd.NA]
    assert numbers_as_text(pd.Series([35, 36])).tolist() == ["35", "36"]


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("35.0", "35"),
        ("35.000", "35"),
        ("17031839000.0", "17031839000"),
        ("1.7031839E+10", "17031839000"),
        ("1.7031839e10", "17031839000"),
        ("35.5", "35.5"),  # not an integer: kept
        ("1.5e-3", "1.5e-3"),
        ("D01", "D01"),
        ("12E4", "12E4"),  # a code that only looks like a number
        ("00100", "00100"),
        ("", ""),
    ],
)
def test_codes_written_as_floats_become_integers(written: str, code: str) -> None:
    assert code_text(pd.Series([written])).tolist() == [code]


def test_a_width_gives_back_lost_leading_zeros() -> None:
    codes = pd.Series(["30601", "30601.0", "030601", "1234567", "A12", ""])
    assert code_text(codes, width=6).tolist() == [
        "030601",
        "030601",
        "030601",
        "1234567",
        "A12",
        "",
    ]
    with pytest.raises(ValueError, match="width=0"):
        code_text(codes, width=0)
