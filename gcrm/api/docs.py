"""The offline API docs page: Swagger UI over ``/api/openapi.json``, with no CDN.

Swagger UI's files come from the ``flask-swagger-ui`` package (which ships them and follows
Swagger UI's releases); the page and its start-up script are gcrm's own, so the page runs
under a Content-Security-Policy that allows scripts from the server only.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from pathlib import Path

import flask
from werkzeug.exceptions import NotFound

__all__ = ["DOCS_ASSETS", "docs_asset", "docs_page"]

#: The files of Swagger UI the page loads, from the flask-swagger-ui package.
DOCS_ASSETS = frozenset(
    {"swagger-ui.css", "swagger-ui-bundle.js", "index.css", "favicon-32x32.png", "LICENSE"}
)
_OWN = Path(__file__).parent / "static"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>gcrm API</title>
  <link rel="stylesheet" href="{base}/swagger-ui.css">
  <link rel="stylesheet" href="{base}/index.css">
  <link rel="icon" type="image/png" href="{base}/favicon-32x32.png">
</head>
<body>
  <noscript>The interactive docs need JavaScript; the contract itself is
    <a href="{spec}">{spec}</a>.</noscript>
  <div id="swagger-ui" data-spec-url="{spec}"></div>
  <script src="{base}/swagger-ui-bundle.js"></script>
  <script src="{base}/docs.js"></script>
</body>
</html>
"""


def docs_page(*, spec_url: str, assets_url: str) -> flask.Response:
    """The HTML page; ``spec_url`` is the OpenAPI document's, ``assets_url`` the folder of
    :func:`docs_asset`."""
    html = _PAGE.format(spec=escape(spec_url), base=escape(assets_url.rstrip("/")))
    return flask.Response(html, mimetype="text/html")


def docs_asset(name: str) -> flask.Response:
    """One file of the page: ``docs.js`` (gcrm's) or one of :data:`DOCS_ASSETS`.

    Raises
    ------
    werkzeug.exceptions.NotFound
        For any other name.
    """
    if name == "docs.js":
        return flask.send_from_directory(_OWN, name, max_age=3600)
    if name not in DOCS_ASSETS:
        raise NotFound(f"no docs file {name!r}; the page is /api/docs")
    folder = Path(str(files("flask_swagger_ui") / "dist"))
    return flask.send_from_directory(folder, name, max_age=86_400)
