"""``gcrm cube show`` and ``gcrm hotspots`` with --channel and --branch, and pivots of
channels and branches, on the tiny region with orders in two channels and two branches
(tests/cube/test_channels.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from gcrm.cli import cli
from gcrm.core import Settings
from tests.cube.test_channels import saved_channels


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with saved_channels(tmp_path_factory.mktemp("channels")) as settings:
        yield settings


def _run(settings: Settings, *args: str) -> Result:
    env = {"GCRM_DATABASE_URL": settings.database_url, "GCRM_DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(cli, list(args), env=env)


def _rows(output: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:] for line in output.splitlines() if line.strip()}


def test_show_filters_by_channel_and_by_branch(region: Settings) -> None:
    done = _run(region, "cube", "show", "--measure", "revenue", "--channel", "web")
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[0] == (
        "Revenue by district, period all, segment all, channel web"
    )
    assert _rows(done.output)["district:D01"][-1] == "150"
    done = _run(region, "cube", "show", "--measure", "orders", "--branch", "B2", "--by", "month")
    assert done.exit_code == 0, done.output
    assert [r[-1] for k, r in _rows(done.output).items() if k.startswith("2025-")] == [
        "1",
        "0",
        "1",
    ]


def test_pivot_segment_by_channel(region: Settings) -> None:
    done = _run(region, "cube", "show", "--measure", "revenue", "--pivot", "segment,channel")
    assert done.exit_code == 0, done.output
    rows = _rows(done.output)
    assert rows["segment"] == ["shop", "web", "unknown"]
    assert rows["business"] == ["750", "0", "0"] and rows["retail"] == ["70", "150", "0"]
    done = _run(region, "cube", "show", "--measure", "orders", "--pivot", "area,branch")
    assert done.exit_code == 0, done.output
    assert _rows(done.output)["district:D02"] == ["1", "1", "0"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--measure", "active", "--channel", "web"), "drop the channel filter"),
        (("--measure", "revenue", "--channel", "web", "--branch", "B1"), "one at a time"),
        (("--measure", "revenue", "--channel", "fax"), "channel 'fax' unknown"),
        (("--measure", "active", "--pivot", "area,channel"), "order measures"),
        (("--measure", "revenue", "--pivot", "channel,region"), "segment,channel"),
    ],
)
def test_show_errors_name_the_fix(region: Settings, args: tuple[str, ...], fragment: str) -> None:
    done = _run(region, "cube", "show", *args)
    assert done.exit_code != 0
    assert fragment in done.output + str(done.exception)


def test_hotspots_take_the_channel(region: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = str(tmp_path / "hot.csv")
    done = _run(
        region, "hotspots", "--level", "district", "--measure", "active", "--channel", "web",
        "-o", out,
    )  # fmt: skip
    assert done.exit_code != 0
    assert "drop the channel filter" in str(done.exception)
    assert "--channel CHANNEL" in _run(region, "hotspots", "--help").output
