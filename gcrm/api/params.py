"""Requests read through the models of :mod:`gcrm.api.models`: every bad value becomes a
ValidationError naming the parameter, the value and the fix."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, get_args, get_origin

import pydantic
from pydantic.fields import FieldInfo
from werkzeug.datastructures import MultiDict

from gcrm.api.models import NO_NUL, ApiQuery
from gcrm.core import ValidationError

__all__ = ["describe_error", "is_list_field", "parse_path", "parse_query"]

Q = TypeVar("Q", bound=ApiQuery)


def is_list_field(field: FieldInfo) -> bool:
    """True for a parameter that takes several values (``list[...]``, optional or not)."""
    kinds = [field.annotation, *get_args(field.annotation)]
    return any(get_origin(kind) is list for kind in kinds)


def _is_number(field: FieldInfo) -> bool:
    return bool({field.annotation, *get_args(field.annotation)} & {int, float})


def _query_values(model: type[ApiQuery], args: MultiDict[str, str]) -> dict[str, Any]:
    """The parameters of ``model`` in ``args``; a blank text counts as absent (a blank number
    is an error). A list parameter may be repeated (``?c=a&c=b``) or comma-separated
    (``?c=a,b``)."""
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if is_list_field(field):
            items = [v.strip() for raw in args.getlist(name) for v in raw.split(",") if v.strip()]
            if items:
                values[name] = items
        elif name in args and (args[name].strip() or _is_number(field)):
            values[name] = args[name].strip()
    return values


def parse_query(model: type[Q], args: MultiDict[str, str]) -> Q:
    """The query string ``args`` as ``model``.

    Raises
    ------
    ValidationError
        Naming the first bad or unknown parameter, its value and the fix.
    """
    unknown = sorted(set(args) - set(model.model_fields))
    if unknown:
        msg = (
            f"unknown parameter {unknown[0]!r}; this route takes {sorted(model.model_fields)}, "
            f"e.g. {model.example}"
        )
        raise ValidationError(msg)
    values = _query_values(model, args)
    try:
        return model.model_validate(values)
    except pydantic.ValidationError as exc:
        raise ValidationError(describe_error(model, exc, values)) from None


def parse_path(model: type[Q], values: Mapping[str, str]) -> Q:
    """The variables of a route's path as ``model`` (see :func:`parse_query`)."""
    try:
        return model.model_validate(dict(values))
    except pydantic.ValidationError as exc:
        raise ValidationError(describe_error(model, exc, values)) from None


def _bounds(error: Mapping[str, Any], field: FieldInfo | None) -> tuple[Any, Any]:
    lower = upper = None
    for rule in field.metadata if field is not None else ():
        lower = getattr(rule, "ge", getattr(rule, "gt", lower))
        upper = getattr(rule, "le", getattr(rule, "lt", upper))
    context = error.get("ctx") or {}
    return context.get("ge", context.get("gt", lower)), context.get("le", context.get("lt", upper))


def _as_number(raw: Any, field: FieldInfo | None) -> Any:
    try:
        return int(raw) if field is not None and field.annotation is int else float(raw)
    except (TypeError, ValueError):
        return raw


def _example(field: FieldInfo | None, fallback: str) -> str:
    examples = field.examples if field is not None and field.examples else None
    return str(examples[0]) if examples else fallback


def describe_error(
    model: type[ApiQuery], exc: pydantic.ValidationError, values: Mapping[str, Any]
) -> str:
    """One message for the first error of ``exc``: the parameter, its value, the fix."""
    error = exc.errors()[0]
    kind = error["type"]
    name = ".".join(str(part) for part in error["loc"][:1])
    field = model.model_fields.get(name)
    raw = values.get(name, error.get("input"))
    if kind == "value_error":
        return str((error.get("ctx") or {}).get("error", error["msg"]))
    if kind == "missing" and name in model.together:
        return f"{name} is missing; pass both {' and '.join(model.together)}, e.g. {model.example}"
    if kind == "missing":
        return f"{name} is missing; pass e.g. {model.example}"
    if kind in {"float_parsing", "float_type"}:
        return f"{name}={raw!r} is not a number; pass a decimal such as {name}={_example(field, '1.5')}"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"{name}={raw!r} is not an integer; pass a whole number such as {name}={_example(field, '1')}"
    if kind == "finite_number":
        return f"{name}={raw!r} is not finite; pass a finite number"
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        lower, upper = _bounds(error, field)
        span = f"between {lower} and {upper}" if upper is not None else f"of at least {lower}"
        return f"{name}={_as_number(raw, field)!r} is out of range; pass a value {span}"
    if kind == "string_too_long":
        limit = (error.get("ctx") or {}).get("max_length")
        return f"{name} has {len(str(raw)):,} characters; pass at most {limit}"
    if kind == "string_pattern_mismatch" and error["ctx"].get("pattern") == NO_NUL:
        return f"{name}={raw!r} contains a NUL character (\\x00); remove it"
    return f"{name}={raw!r}: {error['msg']}; pass e.g. {model.example}"
