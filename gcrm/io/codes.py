"""Numbers and codes written the way people write them.

Shapefile, GeoPackage and spreadsheet attributes are often stored as floating-point numbers,
even when they hold codes: a community area ``35``, a census tract ``17031839000``, a postcode
``00100``. Read back as text, a float says ``35.0``, ``17031839000.0`` or ``1.7031839e+10``,
which matches nothing else the user has. Here an integral number is written as an integer,
any other number in positional notation (never scientific), and a code whose leading zeros
the numeric field lost can be padded back to its width (``30601`` -> ``030601``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

__all__ = ["code_text", "numbers_as_text"]

#: Text that is an integral number written as a float: ``35.0``, ``17031839000.00``.
_FLOAT_INTEGRAL = r"[+-]?\d+\.0*"
#: Scientific notation as spreadsheets and pandas write a large float: ``1.7031839E+10``.
#: A digit before the point is required, so codes such as ``12E4`` are left alone.
_SCIENTIFIC = r"[+-]?\d\.\d+[eE]\+?\d+"
#: Floats whose every integer is exact (2**53): beyond, an integer string would invent digits.
_EXACT_FLOAT = 2.0**53


def _positional(value: float) -> str:
    """The shortest text that reads back as ``value``, without an exponent."""
    return np.format_float_positional(value, trim="-")


def numbers_as_text(values: pd.Series) -> pd.Series:
    """A numeric Series as text people would write: ``35.0`` -> ``"35"``.

    Integral values are written as integers (``17031839000.0`` -> ``"17031839000"``), other
    values in positional notation (``0.5``, never ``5e-01``); missing values stay missing
    (``<NA>``). Text, integer and boolean Series are returned as text unchanged.

    Parameters
    ----------
    values
        Any Series, typically an attribute column read from a spatial file.

    Returns
    -------
    pandas.Series
        Of dtype ``string``, on the same index.
    """
    if not pd.api.types.is_float_dtype(values.dtype):
        return values.astype("string")
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    out = pd.Series(pd.NA, index=values.index, dtype="string")
    finite = np.isfinite(numbers)
    integral = finite & (np.mod(numbers, 1) == 0) & (np.abs(numbers) < _EXACT_FLOAT)
    out[integral] = numbers[integral].astype(np.int64).astype(str)
    # A loop over the other numbers only: in code columns they are rare.
    rest = finite & ~integral
    out[rest] = [_positional(v) for v in numbers[rest]]
    out[np.isinf(numbers)] = np.where(numbers[np.isinf(numbers)] > 0, "inf", "-inf")
    return out


def _integral_text(text: str) -> str | None:
    """``"1.7031839E+10"`` -> ``"17031839000"``; None when the text is not an integer."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if number != number.to_integral_value():
        return None
    return str(int(number))


def code_text(values: pd.Series, *, width: int | None = None) -> pd.Series:
    """Codes and ids as people write them, from text that may have passed through a float.

    ``"35.0"`` -> ``"35"``, ``"17031839000.0"`` -> ``"17031839000"``, ``"1.7031839E+10"``
    -> ``"17031839000"``; any other text is kept as it is (``"D01"``, ``"12E4"``, ``"35.5"``).
    With ``width``, a code of digits only shorter than ``width`` gets its leading zeros back
    (``"30601"`` with width 6 -> ``"030601"``); longer codes and codes with other characters
    are not changed.

    Parameters
    ----------
    values
        Codes as text (empty or missing values stay so).
    width
        The number of digits the codes have, when the source dropped leading zeros.

    Returns
    -------
    pandas.Series
        Of dtype ``string``, on the same index.

    Raises
    ------
    ValueError
        When ``width`` is not a positive whole number.
    """
    if width is not None and (not isinstance(width, int) or width < 1):
        msg = f"width={width!r} is not a positive whole number; give the codes' number of digits"
        raise ValueError(msg)
    text = values.astype("string").copy()
    floatish = text.str.fullmatch(_FLOAT_INTEGRAL) | text.str.fullmatch(_SCIENTIFIC)
    floatish = floatish.fillna(False).astype(bool)
    if floatish.any():
        whole = text[floatish].map(_integral_text).dropna()
        text.loc[whole.index] = whole.astype("string")
    if width is not None:
        digits = text.str.fullmatch(r"\d+").fillna(False).astype(bool)
        text = text.mask(digits, text.str.zfill(width))
    return text.astype("string")
