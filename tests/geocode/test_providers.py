"""Providers: the offline reference, and geopy adapters tested on an in-process fake.

No test calls a network service: the online geocoder is a fake class with geopy's
``geocode(query)`` returning real ``geopy.location.Location`` objects.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from geopy.location import Location
from sqlalchemy import Connection, text

from gcrm.core import ConfigurationError, ValidationError
from gcrm.geocode import geocode_frame
from gcrm.geocode.providers import (
    RESULT_COLUMNS,
    GeopyProvider,
    Provider,
    ReferenceProvider,
    nominatim_provider,
    precision_of_location,
    refine_with_provider,
)

ADDRESSES = [
    "Mannerheimintie 10, 00100 Helsinki",  # rooftop in the reference: never sent
    "Tuntematonkatu 99, 00170 Helsinki",  # postcode level: sent, answered with a house
    "Kallio, Helsinki",  # locality: sent, answered with a road
    "Atlantis 1, 99999 Nowhere",  # unplaced: sent, no answer
    "Bulevardi 2, 00120 Helsinki",  # rooftop: never sent
]


class FakeGeocoder:
    """Answers from a dict, and remembers every query (what a service would have seen)."""

    def __init__(self, answers: dict[str, Location | None]) -> None:
        self.answers = answers
        self.queries: list[str] = []
        self.kwargs: list[dict[str, Any]] = []

    def geocode(self, query: str, **kwargs: Any) -> Location | None:
        self.queries.append(query)
        self.kwargs.append(kwargs)
        return self.answers.get(query)


def _answers() -> dict[str, Location | None]:
    return {
        ADDRESSES[1]: Location(
            "99, Tuntematonkatu, 00170 Helsinki, Suomi",
            (60.1690, 24.9560),
            {
                "address": {"house_number": "99", "road": "Tuntematonkatu"},
                "addresstype": "building",
            },
        ),
        ADDRESSES[2]: Location(
            "Kallionkatu, Kallio, Helsinki", (60.1840, 24.9500), {"addresstype": "road"}
        ),
    }


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"address": ADDRESSES})


def test_reference_provider_returns_the_result_columns(
    conn: Connection, reference: Path, frame: pd.DataFrame
) -> None:
    provider = ReferenceProvider()
    assert isinstance(provider, Provider) and provider.name == "reference"
    out = provider.geocode(conn, frame)
    assert list(out.columns) == list(RESULT_COLUMNS) and out.index.equals(frame.index)
    assert out["precision"].tolist() == ["rooftop", "postcode", "locality", "none", "rooftop"]


def test_only_postcode_or_worse_rows_are_sent_and_better_answers_kept(
    conn: Connection, reference: Path, frame: pd.DataFrame
) -> None:
    fake = FakeGeocoder(_answers())
    provider = GeopyProvider(fake, name="fake", min_delay_s=0)
    assert isinstance(provider, Provider)
    results = geocode_frame(conn, frame)
    refined = refine_with_provider(conn, frame, results, provider=provider)
    assert fake.queries == ADDRESSES[1:4]
    assert refined["precision"].tolist() == ["rooftop", "rooftop", "street", "none", "rooftop"]
    assert refined["source"].tolist()[1:3] == ["geopy:fake", "geopy:fake"]
    assert refined.loc[1, ["lon", "lat"]].tolist() == pytest.approx([24.9560, 60.1690])
    assert refined.loc[1, "matched_address"] == "99, Tuntematonkatu, 00170 Helsinki, Suomi"
    assert refined.loc[1, "score"] == pytest.approx(0.8)
    # The reference's own answers are untouched, its coarse one kept where the service had none.
    pd.testing.assert_frame_equal(refined.loc[[0, 3, 4]], results.loc[[0, 3, 4]])


def test_the_cache_prevents_a_second_call(
    conn: Connection, reference: Path, frame: pd.DataFrame
) -> None:
    fake = FakeGeocoder(_answers())
    first = GeopyProvider(fake, name="fake", min_delay_s=0).geocode(conn, frame.iloc[1:4])
    assert len(fake.queries) == 3
    again = GeopyProvider(fake, name="fake", min_delay_s=0)
    second = again.geocode(conn, frame.iloc[1:4])
    assert len(fake.queries) == 3 and again.calls == 0  # misses are cached too
    pd.testing.assert_frame_equal(first, second)
    cached = conn.execute(
        text("SELECT count(*) FROM gcrm.geocode_cache WHERE input_key LIKE 'geopy:fake|%'")
    ).scalar_one()
    assert cached == 3
    # Without the cache, the service is asked again; the reference never reads these keys.
    GeopyProvider(fake, name="fake", min_delay_s=0, use_cache=False).geocode(conn, frame.iloc[1:2])
    assert len(fake.queries) == 4
    assert geocode_frame(conn, frame.iloc[1:2])["source"].tolist() == ["reference:postcode"]


def test_split_columns_are_joined_into_one_query_and_deduplicated(
    conn: Connection, reference: Path
) -> None:
    fake = FakeGeocoder({})
    split = pd.DataFrame(
        {
            "street": ["Tuntematonkatu", "TUNTEMATONKATU", None],
            "housenumber": ["99", "99", None],
            "postcode": ["00170", "00170", None],
            "city": ["Helsinki", "helsinki", None],
        }
    )
    out = GeopyProvider(fake, name="fake", min_delay_s=0).geocode(conn, split)
    assert fake.queries == ["Tuntematonkatu 99, 00170 Helsinki"]
    assert out["precision"].tolist() == ["none", "none", "none"]
    assert out["source"].tolist() == ["geopy:fake", "geopy:fake", "none"]


def test_rate_limiter_spaces_calls(conn: Connection, reference: Path, frame: pd.DataFrame) -> None:
    fake = FakeGeocoder({})
    assert GeopyProvider(fake)._call.min_delay_seconds == 1.0  # type: ignore[attr-defined]
    provider = GeopyProvider(fake, name="slow", min_delay_s=0.2, use_cache=False)
    started = time.monotonic()
    provider.geocode(conn, frame.iloc[1:3])
    assert time.monotonic() - started >= 0.2 and provider.calls == 2


def test_geocode_kwargs_are_passed_to_the_service(conn: Connection, reference: Path) -> None:
    fake = FakeGeocoder({})
    provider = GeopyProvider(fake, min_delay_s=0, geocode_kwargs={"addressdetails": True})
    provider.geocode(conn, pd.DataFrame({"address": ["Somewhere 1"]}))
    assert provider.name == "geopy:fakegeocoder" and fake.kwargs == [{"addressdetails": True}]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"address": {"house_number": "5", "road": "Katu"}}, "rooftop"),
        ({"addresstype": "building"}, "rooftop"),
        ({"address": {"road": "Katu"}}, "street"),
        ({"class": "highway", "type": "residential"}, "street"),
        ({"type": "postcode"}, "postcode"),
        ({"addresstype": "city"}, "locality"),
        ({}, "locality"),
    ],
)
def test_precision_of_location(raw: dict[str, Any], expected: str) -> None:
    assert precision_of_location(Location("x", (60.0, 24.0), raw)) == expected


def test_invalid_providers_say_how_to_fix() -> None:
    with pytest.raises(ValidationError, match="has no geocode\\(\\) method"):
        GeopyProvider(object())
    with pytest.raises(ValidationError, match="min_delay_s=-1"):
        GeopyProvider(FakeGeocoder({}), min_delay_s=-1)
    with pytest.raises(ConfigurationError, match="--user-agent"):
        nominatim_provider(user_agent=" ")
    with pytest.raises(ValidationError, match="precisions=\\['nowhere'\\]"):
        refine_with_provider(
            None,  # type: ignore[arg-type]
            pd.DataFrame(),
            pd.DataFrame(),
            provider=ReferenceProvider(),
            precisions=("nowhere",),
        )


def test_nominatim_provider_is_built_without_calling_it() -> None:
    provider = nominatim_provider(user_agent="gcrm-tests (tests@example.org)", min_delay_s=1.5)
    assert provider.name == "geopy:nominatim"
    assert provider.geocode_kwargs == {"addressdetails": True}
    assert provider._call.min_delay_seconds == 1.5  # type: ignore[attr-defined]
