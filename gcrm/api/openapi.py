"""The OpenAPI 3.1 document of the API, written from the routes' own declarations.

Each route is an :class:`Operation`: its query and path models (the ones that validate the
request), its body and answer models, its permission and the errors it may answer. The
blueprint registers the routes from the same table, so the document cannot drift from what
the server checks.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import BaseModel, TypeAdapter

from gcrm.access import PERMISSIONS
from gcrm.api.models import ApiQuery, ErrorBody
from gcrm.api.params import is_list_field

__all__ = ["ERROR_MEANINGS", "Operation", "openapi_document", "openapi_path"]

_REF = "#/components/schemas/{model}"
_CONVERTER = re.compile(r"<(?:[a-z]+:)?([A-Za-z_][A-Za-z0-9_]*)>")

#: What each error status means, in every operation that may answer it.
ERROR_MEANINGS = {
    400: "A parameter or the body is not valid; the message names it, its value and the fix.",
    401: "No valid credentials: send `Authorization: Bearer TOKEN` (gcrm tokens create).",
    403: "The user's role lacks the permission of the route.",
    404: "Not found (also what an object outside the user's scope answers).",
    409: "Not possible in the present state (e.g. a report of a plan not published); the "
    "message says what to do first.",
    422: "The address could not be geocoded.",
    429: "Over the rate limit of the route for this token; retry after Retry-After seconds.",
    503: "The database cannot be reached, or the server is not set up (e.g. no cube).",
}


@dataclass(frozen=True)
class Operation:
    """One route: how it is called, what it checks, what it answers.

    ``rule`` is the Flask rule below the API's prefix (``/customers/<customer_id>``);
    ``permission`` None makes the route public; ``rate_limited`` puts it under
    :class:`gcrm.api.limits.RouteLimits` (and documents 429). Every route may answer 400
    (a bad or unknown parameter); a route with a permission also 401, 403 and 503.
    """

    method: str
    rule: str
    name: str
    summary: str
    description: str
    answer: Any
    tag: str
    permission: str | None = None
    query: type[ApiQuery] | None = None
    path: type[ApiQuery] | None = None
    body: Any = None
    errors: tuple[int, ...] = ()
    rate_limited: bool = False
    personal_data: bool = False
    #: Statuses whose body is not the error shape (a failed health check reports itself).
    other_bodies: tuple[tuple[int, Any], ...] = ()
    #: The status of success (201: the route made something).
    status: int = 200
    #: The media types of the success answer (a file: ``answer`` is ``bytes``).
    media_types: tuple[str, ...] = ("application/json",)
    #: Whether the body must be sent (False: every field has a default).
    body_required: bool = True


def openapi_path(rule: str, *, prefix: str) -> str:
    """``/customers/<customer_id>`` -> ``{prefix}/customers/{customer_id}``."""
    return prefix + _CONVERTER.sub(r"{\1}", rule)


def _schema(kind: Any, components: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of ``kind``, its models moved to ``components``."""
    schema = TypeAdapter(kind).json_schema(ref_template=_REF)
    components.update(schema.pop("$defs", {}))
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        components[kind.__name__] = schema
        return {"$ref": _REF.format(model=kind.__name__)}
    return schema


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter is optional, never null: drop the ``null`` branch of ``X | None``."""
    branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    if len(branches) == 1:
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        return {**branches[0], **rest}
    return schema


def _parameters(model: type[ApiQuery], where: str) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema["properties"].items():
        clean = {k: v for k, v in _without_null(prop).items() if k not in {"title", "examples"}}
        if clean.get("default", 0) is None:
            del clean["default"]
        description = clean.pop("description", None)
        parameter: dict[str, Any] = {
            "name": name,
            "in": where,
            "required": where == "path" or name in required,
            "schema": clean,
        }
        if description:
            parameter["description"] = description
        if prop.get("examples"):
            parameter["example"] = prop["examples"][0]
        if is_list_field(model.model_fields[name]):
            parameter |= {"style": "form", "explode": True}
        out.append(parameter)
    return out


def _error(status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": ERROR_MEANINGS[status],
        "content": {"application/json": {"schema": {"$ref": _REF.format(model="ErrorBody")}}},
    }
    if status == 401:
        answer["headers"] = {
            "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer realm."}
        }
    if status == 429:
        answer["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
        }
    return answer


def _operation(op: Operation, components: dict[str, Any]) -> dict[str, Any]:
    errors = {400, *op.errors}
    if op.permission is not None:
        errors |= {401, 403, 503}
    if op.rate_limited:
        errors.add(429)
    description = op.description
    if op.permission is not None:
        roles = ", ".join(PERMISSIONS[op.permission])
        description += f"\n\nPermission `{op.permission}` (roles: {roles})."
    if op.personal_data:
        description += " Each answer with rows is recorded in the audit log."
    out: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "description": description,
        "tags": [op.tag],
        "parameters": [
            *(_parameters(op.path, "path") if op.path else []),
            *(_parameters(op.query, "query") if op.query else []),
        ],
        "responses": {
            str(op.status): {
                "description": "Created" if op.status == 201 else "OK",
                "content": {
                    media_type: {"schema": _schema(op.answer, components)}
                    for media_type in op.media_types
                },
            },
            **{str(status): _error(status) for status in sorted(errors)},
            **{
                str(status): {
                    "description": ERROR_MEANINGS[status],
                    "content": {"application/json": {"schema": _schema(body, components)}},
                }
                for status, body in op.other_bodies
            },
        },
        "security": [{"bearerAuth": []}] if op.permission is not None else [],
    }
    if op.body is not None:
        out["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": _schema(op.body, components)}},
        }
    return out


def _gcrm_version() -> str:
    try:
        return version("gcrm")
    except PackageNotFoundError:  # a checkout not installed
        return "0"


def openapi_document(operations: Sequence[Operation], *, prefix: str = "/api") -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``operations`` mounted at ``prefix``.

    Returns
    -------
    dict
        Paths with parameters, request bodies and answers (success and the one error
        shape), the models under ``components.schemas``, and the ``bearerAuth`` scheme.
    """
    components: dict[str, Any] = {}
    _schema(ErrorBody, components)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        item = paths.setdefault(openapi_path(op.rule, prefix=prefix), {})
        item[op.method.lower()] = _operation(op, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "gcrm API",
            "version": _gcrm_version(),
            "description": (
                "The JSON API of gcrm, a geographic CRM. Send `Authorization: Bearer TOKEN` "
                "(a token from `gcrm tokens create NAME`) or use a logged-in session. Every "
                'error answers `{"error": message, "status": code}`. Rows are limited to '
                "the user's scope by PostgreSQL's row-level security."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": copy.deepcopy(components),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token: gcrm tokens create NAME.",
                }
            },
        },
    }
