"""Named SQL: the one loader of the ``.sql`` files that live beside each package.

A ``.sql`` file holds named statements in the convention of aiosql and yesql::

    -- A file comment (before the first name) is the file's own.

    -- name: exact_match
    -- What the statement does, in a comment right under its name.
    UPDATE _geo g SET ...;

    -- name: street_centroid
    ...

Every statement starts at a ``-- name: NAME`` line and runs to the next one; the trailing
semicolon is dropped (SQLAlchemy's ``text()`` takes one statement). Names are unique within a
file and keep the file's order, so a package can run a sequence of steps in order.
Statements take bound parameters (``:level``); identifiers the caller must choose (a table
name) are ``{placeholders}`` filled with ``str.format`` by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.resources import files

from gcrm.core.errors import ConfigurationError

__all__ = ["Queries", "load_queries"]

_NAME = re.compile(r"^--\s*name:\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*$", re.MULTILINE)


class Queries(Mapping[str, str]):
    """The named statements of one ``.sql`` file, in file order."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self._sql: dict[str, str] = {}
        marks = list(_NAME.finditer(text))
        if not marks:
            msg = f"{source} has no '-- name: NAME' line; every statement needs a name"
            raise ConfigurationError(msg)
        for mark, after in zip(marks, [*marks[1:], None], strict=True):
            name = mark["name"]
            if name in self._sql:
                msg = f"{source}: query {name!r} is named twice; give each statement its own name"
                raise ConfigurationError(msg)
            body = text[mark.end() : after.start() if after else len(text)].strip()
            self._sql[name] = body.removesuffix(";").rstrip()

    def __getitem__(self, name: str) -> str:
        try:
            return self._sql[name]
        except KeyError:
            msg = f"{self.source} has no query {name!r}; it has {list(self._sql)}"
            raise KeyError(msg) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._sql)

    def __len__(self) -> int:
        return len(self._sql)


@cache
def load_queries(package: str, filename: str) -> Queries:
    """The named statements of ``filename`` in ``package`` (read once, then cached).

    Parameters
    ----------
    package
        The package the file lives in, usually the caller's ``__package__``.
    filename
        E.g. ``"ladder.sql"``.

    Raises
    ------
    ConfigurationError
        When the file has no named statement or a name twice.
    """
    text = files(package).joinpath(filename).read_text(encoding="utf-8")
    return Queries(f"{package}/{filename}", text)
