"""Query-string parsing: every bad value becomes a ValidationError naming the parameter."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import overload

from werkzeug.datastructures import MultiDict

from gcrm.core import ValidationError

__all__ = ["float_arg", "int_arg", "list_arg", "str_arg"]


def str_arg(args: Mapping[str, str], name: str, *, default: str | None = None) -> str | None:
    """A string parameter, ``default`` when absent or blank."""
    value = args.get(name)
    return default if value is None or not value.strip() else value.strip()


@overload
def float_arg(
    args: Mapping[str, str],
    name: str,
    *,
    default: float,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float: ...


@overload
def float_arg(
    args: Mapping[str, str],
    name: str,
    *,
    default: None = None,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float | None: ...


def float_arg(
    args: Mapping[str, str],
    name: str,
    *,
    default: float | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float | None:
    """A finite float parameter within ``[minimum, maximum]``."""
    raw = str_arg(args, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        msg = f"{name}={raw!r} is not a number; pass a decimal such as {name}=24.94"
        raise ValidationError(msg) from None
    if not math.isfinite(value):
        msg = f"{name}={raw!r} is not finite; pass a finite number"
        raise ValidationError(msg)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        msg = f"{name}={value!r} is out of range; pass a value between {minimum} and {maximum}"
        raise ValidationError(msg)
    return value


def int_arg(
    args: Mapping[str, str],
    name: str,
    *,
    default: int,
    minimum: int = 1,
    maximum: int = 10_000,
) -> int:
    """An integer parameter within ``[minimum, maximum]``."""
    raw = str_arg(args, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        msg = f"{name}={raw!r} is not an integer; pass a whole number such as {name}={default}"
        raise ValidationError(msg) from None
    if not minimum <= value <= maximum:
        msg = f"{name}={value!r} is out of range; pass a value between {minimum} and {maximum}"
        raise ValidationError(msg)
    return value


def list_arg(args: MultiDict[str, str], name: str) -> list[str] | None:
    """A list parameter, repeated (``?c=a&c=b``) or comma-separated (``?c=a,b``)."""
    values = [v.strip() for raw in args.getlist(name) for v in raw.split(",") if v.strip()]
    return values or None
