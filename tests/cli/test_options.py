"""Shared options mean one thing in every command; old spellings work but stay out of help."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from gcrm.cli import cli
from gcrm.cli.options import AliasedOption, precision_option
from gcrm.core import ValidationError

# (command path, the spelling --help shows, the hidden spelling older scripts use)
RENAMED = [
    (["catchments"], "--html", "--map"),
    (["flows"], "--html", "--map"),
    (["territories", "report"], "--level", "--by"),
    (["cube", "build"], "--out", "--output"),
    (["reverse-geocode"], "--lon-column", "--lon"),
    (["import", "osm"], "--city-name", "--city"),
]


@pytest.mark.parametrize(("command", "shown", "hidden"), RENAMED)
def test_help_shows_the_current_spelling_only(command: list[str], shown: str, hidden: str) -> None:
    help_text = CliRunner().invoke(cli, [*command, "--help"]).output
    assert shown in help_text
    assert f"{hidden} " not in help_text and f"{hidden}," not in help_text


@pytest.mark.parametrize(("command", "shown", "hidden"), RENAMED)
def test_the_hidden_spelling_still_sets_the_same_option(
    command: list[str], shown: str, hidden: str
) -> None:
    group = cli
    for name in command:
        group = group.commands[name]  # type: ignore[attr-defined]
    options = {o for p in group.params if isinstance(p, click.Option) for o in p.opts}
    assert {shown, hidden} <= options
    param = next(p for p in group.params if shown in getattr(p, "opts", []))
    assert isinstance(param, AliasedOption) and hidden in param.opts


def test_map_mapping_means_column_mapping_wherever_it_is_shown() -> None:
    for command in (["import", "customers"], ["import", "areas"], ["import", "roads"]):
        help_text = CliRunner().invoke(cli, [*command, "--help"]).output
        assert "--map FIELD=COLUMN" in help_text


def test_precision_takes_repeats_and_commas() -> None:
    @click.command()
    @precision_option()
    def show(precision: tuple[str, ...] | None) -> None:
        click.echo(",".join(precision or ("all",)))

    runner = CliRunner()
    args = ["--precision", "rooftop, Street", "--precision", "postcode"]
    assert runner.invoke(show, args).output.strip() == "rooftop,street,postcode"
    assert runner.invoke(show, []).output.strip() == "all"
    bad = runner.invoke(show, ["--precision", "exact"])
    assert isinstance(bad.exception, ValidationError)
    assert "'exact'" in str(bad.exception)
