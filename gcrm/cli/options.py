"""Options shared by several commands, declared once (as rasterio's ``rio/options.py``).

An option means one thing in every command: ``--level`` is an area level, ``--period`` a
period, ``--area`` and ``--parent`` area ids, ``--map FIELD=COLUMN`` a column mapping,
``--html FILE`` an HTML map to write, ``-o/--out`` the file a command writes. Spellings that
meant something else in earlier releases still work where users may have scripts, as hidden
aliases (:class:`AliasedOption`); ``--help`` shows only the current one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from gcrm.core import AREA_ID_HELP, PERIOD_HELP, PRECISIONS, check_precisions
from gcrm.ingest import parse_map_options

__all__ = [
    "ENTITIES",
    "AliasedOption",
    "area_option",
    "branch_option",
    "channel_option",
    "crs_option",
    "file_argument",
    "host_option",
    "html_option",
    "level_option",
    "mapping_options",
    "measure_option",
    "only_option",
    "out_option",
    "parent_option",
    "period_option",
    "port_option",
    "precision_option",
    "rejects_option",
    "segment_option",
    "vintage_option",
]

F = TypeVar("F", bound=Callable[..., Any])
ENTITIES = ("customers", "leads")


class AliasedOption(click.Option):
    """An option whose older spellings still work but are left out of ``--help``.

    ``click.option("--html", "--map", "html_out", cls=AliasedOption, aliases=("--map",))``
    accepts both; help shows ``--html``.
    """

    def __init__(self, *args: Any, aliases: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.aliases = tuple(aliases)

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        shown = self.opts
        self.opts = [o for o in shown if o not in self.aliases]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = shown


def file_argument(name: str = "file", *, metavar: str | None = None) -> Callable[[F], F]:
    """An existing input file."""
    return click.argument(
        name,
        metavar=metavar,
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
    )


def out_option(
    *,
    formats: Sequence[str] = (),
    required: bool = True,
    help: str | None = None,
    aliases: Sequence[str] = (),
    directory: bool = False,
) -> Callable[[F], F]:
    """``-o/--out PATH``: the file (or, with ``directory``, the folder or store) the command
    writes; a file's format follows its suffix."""
    text = help or f"Output file ({', '.join(formats)})."
    return click.option(
        "-o",
        "--out",
        *aliases,
        "out",
        cls=AliasedOption,
        aliases=aliases,
        type=click.Path(path_type=Path, dir_okay=directory, file_okay=not directory),
        required=required,
        default=None,
        help=text,
    )


def html_option(*, help: str = "Also write an offline HTML map.") -> Callable[[F], F]:
    """``--html FILE``: an HTML map to write as well (``--map`` before; kept as an alias)."""
    return click.option(
        "--html",
        "--map",
        "html_out",
        cls=AliasedOption,
        aliases=("--map",),
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help=help,
    )


def level_option(
    *,
    default: str | None = None,
    required: bool = False,
    help: str = "Area level, e.g. district.",
    aliases: Sequence[str] = (),
) -> Callable[[F], F]:
    """``--level LEVEL``: an area level of ``gcrm.area_levels``."""
    return click.option(
        "--level",
        *aliases,
        "level",
        cls=AliasedOption,
        aliases=aliases,
        default=default,
        required=required,
        show_default=default is not None,
        help=help,
    )


def period_option(*, help: str | None = None) -> Callable[[F], F]:
    """``--period PERIOD``: a year, quarter or month (default: the whole range)."""
    return click.option(
        "--period",
        default=None,
        metavar="PERIOD",
        help=help or f"{PERIOD_HELP} [default: the whole range].",
    )


def segment_option(*, multiple: bool = False, default: str | None = None) -> Callable[[F], F]:
    """``--segment SEGMENT``: a customer segment (repeatable where a list makes sense)."""
    if multiple:
        return click.option(
            "--segment", multiple=True, help="Keep this segment (repeatable), e.g. smb."
        )
    return click.option(
        "--segment",
        default=default,
        show_default=default is not None,
        help="A customer segment, or 'all' [default: all].",
    )


def channel_option() -> Callable[[F], F]:
    """``--channel CHANNEL``: orders of one sales channel (order measures only)."""
    return click.option(
        "--channel",
        default=None,
        metavar="CHANNEL",
        help="Orders of this channel only, e.g. web (revenue and orders; not with --branch) "
        "[default: all].",
    )


def branch_option() -> Callable[[F], F]:
    """``--branch CODE``: orders of one branch (order measures only)."""
    return click.option(
        "--branch",
        default=None,
        metavar="CODE",
        help="Orders of this branch only, by code; 'none' for orders without a branch "
        "(revenue and orders; not with --channel) [default: all].",
    )


def area_option(*, help: str | None = None) -> Callable[[F], F]:
    """``--area LEVEL:CODE``: one area by its id."""
    return click.option(
        "--area",
        default=None,
        metavar="LEVEL:CODE",
        help=help or f"Only this area, {AREA_ID_HELP}.",
    )


def parent_option() -> Callable[[F], F]:
    """``--parent LEVEL:CODE``: only the children of one area (drill-down)."""
    return click.option(
        "--parent",
        default=None,
        metavar="LEVEL:CODE",
        help=f"Only the children of this area (drill-down), {AREA_ID_HELP}.",
    )


def measure_option(*, default: str, choices: Sequence[str] | None = None) -> Callable[[F], F]:
    """``--measure MEASURE``: a measure of the cube."""
    return click.option(
        "--measure",
        type=click.Choice(list(choices)) if choices else None,
        metavar="MEASURE",
        default=default,
        show_default=True,
        help="A cube measure, e.g. active, revenue, penetration, churn_rate, "
        "approximate_share (a wrong name lists them all).",
    )


def _split_precisions(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...] | None:
    parts = [p for v in value for p in v.split(",") if p.strip()]
    # An unknown precision is a ValidationError, reported like the library's own.
    return check_precisions(parts, argument="--precision") if parts else None


def precision_option() -> Callable[[F], F]:
    """``--precision P``: geocode precisions, repeatable or comma-separated."""
    return click.option(
        "--precision",
        "precision",
        multiple=True,
        callback=_split_precisions,
        metavar="P[,P...]",
        help=f"Only customers geocoded at these precisions, repeatable or comma-separated: "
        f"{', '.join(PRECISIONS)}.",
    )


def only_option(
    *, help: str = "Only these tables (repeatable) [default: both]."
) -> Callable[[F], F]:
    """``--only customers|leads``: which point tables."""
    return click.option("--only", type=click.Choice(ENTITIES), multiple=True, help=help)


def mapping_options(command: F) -> F:
    """``--map FIELD=COLUMN`` (repeatable) and ``--mapping FILE``: a column mapping, handed
    to the command as one ``mapping`` dict (:func:`gcrm.ingest.parse_map_options`)."""

    @functools.wraps(command)
    def with_mapping(
        *args: Any, maps: tuple[str, ...], mapping_file: Path | None, **kw: Any
    ) -> Any:
        return command(*args, mapping=parse_map_options(maps, mapping_file=mapping_file), **kw)

    with_file = click.option(
        "--mapping",
        "mapping_file",
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        default=None,
        help='TOML file with a [map] table of FIELD = "COLUMN" lines.',
    )(with_mapping)
    return click.option(
        "--map",
        "maps",
        multiple=True,
        metavar="FIELD=COLUMN",
        help="Take gcrm field FIELD from file column COLUMN (repeatable), e.g. --map code=GEOID.",
    )(with_file)  # type: ignore[return-value]


def rejects_option(command: F) -> F:
    """``--rejects FILE``: where an import's rejected rows go."""
    return click.option(
        "--rejects",
        "rejects_path",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="Where rejected rows go, with row number and reason [default: FILE.rejects.csv].",
    )(command)


def crs_option(command: F) -> F:
    """``--crs EPSG:n``: the CRS of a file that declares none."""
    return click.option(
        "--crs",
        default=None,
        help="The CRS of a file that declares none (e.g. EPSG:3067); gcrm never guesses one.",
    )(command)


def host_option(
    *, help: str = "Host to bind [env GCRM_HOST; default 127.0.0.1]."
) -> Callable[[F], F]:
    """``--host HOST``."""
    return click.option("--host", default=None, help=help)


def port_option(*, help: str = "Port [env GCRM_PORT; default 8050].") -> Callable[[F], F]:
    """``--port PORT``."""
    return click.option("--port", type=int, default=None, help=help)


def vintage_option(
    *,
    help: str = "The vintage of the area statistics to read, e.g. 2019 [default: the latest "
    "of each figure].",
) -> Callable[[F], F]:
    """``--vintage V``: the vintage (year or edition) of area statistics."""
    return click.option("--vintage", default=None, metavar="VINTAGE", help=help)
