"""One classification for every choropleth: mapclassify's schemes, missing values, ties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gcrm.core import ValidationError
from gcrm.maps import SCHEMES, classify_values, format_value
from gcrm.maps.style import DASHBOARD_PALETTE, NO_DATA_COLOUR, SEQUENTIAL_PALETTE


def test_quantiles_with_missing_values_are_closed_on_the_right() -> None:
    values = pd.Series([1.0, 2.0, 3.0, 4.0, np.nan], index=list("abcde"))
    classes = classify_values(values, k=2)
    np.testing.assert_allclose(classes.breaks, [1.0, 2.5, 4.0])
    fill = classes.colours_for(values)
    assert fill["a"] == fill["b"] != fill["c"] == fill["d"]
    assert fill["e"] == NO_DATA_COLOUR
    assert [label for _, label in classes.legend()] == ["1 – 2.50", "2.50 – 4"]
    # A value on a break belongs to the class below it, as in mapclassify.
    assert classes.colour_of(2.5) == fill["a"]


def test_classes_spread_over_the_palette() -> None:
    values = pd.Series(np.arange(1.0, 11.0), index=[f"district:{i}" for i in range(10)])
    classes = classify_values(values, palette=DASHBOARD_PALETTE)
    assert classes.breaks[0] == 1.0 and classes.breaks[-1] == 10.0
    assert classes.colours == DASHBOARD_PALETTE
    fill = classes.colours_for(values)
    assert (
        fill["district:0"] == DASHBOARD_PALETTE[0] and fill["district:9"] == DASHBOARD_PALETTE[-1]
    )
    two = classify_values(values, k=2, palette=SEQUENTIAL_PALETTE)
    assert two.colours == (SEQUENTIAL_PALETTE[0], SEQUENTIAL_PALETTE[-1])


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_every_scheme_on_skewed_values(scheme: str) -> None:
    rng = np.random.default_rng(3)
    values = pd.Series(rng.lognormal(size=1454))
    classes = classify_values(values, scheme=scheme)
    assert len(classes.colours) == len(classes.breaks) - 1 == 5
    assert classes.breaks[0] == values.min() and classes.breaks[-1] == values.max()
    assert list(classes.breaks) == sorted(set(classes.breaks))
    counts = np.bincount(classes.index_of(values.to_numpy()), minlength=5)
    assert counts.sum() == len(values) and (counts > 0).all()
    # Deterministic: the same values always give the same legend.
    assert classify_values(values, scheme=scheme) == classes


def test_natural_breaks_separate_clusters() -> None:
    values = pd.Series([1.0, 1.1, 1.2, 10.0, 10.5, 11.0, 50.0, 52.0])
    classes = classify_values(values, scheme="natural_breaks", k=3)
    assert list(classes.index_of(values.to_numpy())) == [0, 0, 0, 1, 1, 1, 2, 2]
    equal = classify_values(values, scheme="equal_interval", k=3)
    assert list(equal.index_of(values.to_numpy())) == [0, 0, 0, 0, 0, 0, 2, 2]


def test_few_distinct_values_make_fewer_classes() -> None:
    constant = classify_values(pd.Series([2.0, 2.0]))
    assert len(constant.colours) == 1 and constant.colour_of(2.0) == constant.colours[0]
    ties = classify_values(pd.Series([1.0, 1.0, 1.0, 1.0, 2.0]), k=5)
    assert len(ties.colours) == len(ties.breaks) - 1 <= 2
    empty = classify_values(pd.Series([np.nan]))
    assert empty.colours == () and empty.colour_of(1.0) == NO_DATA_COLOUR
    assert empty.legend() == []


def test_bad_scheme_or_class_count_names_the_fix() -> None:
    with pytest.raises(ValidationError, match="scheme='jenks'.*natural_breaks"):
        classify_values(pd.Series([1.0]), scheme="jenks")
    with pytest.raises(ValidationError, match="k=9"):
        classify_values(pd.Series([1.0]), k=9, palette=DASHBOARD_PALETTE)


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (1234.4, "EUR", "€1,234"),
        (0.1234, "share", "12.3%"),
        (12.0, "", "12"),
        (math.nan, "", "–"),
        (None, "", "–"),
        (1234.5, "money", "1,234.50"),
        (3.14159, "", "3.14"),
        (1500.0, "USD", "$1,500"),
        (1500.0, "SEK", "1,500 SEK"),
    ],
)
def test_one_number_format(value: float, unit: str, expected: str) -> None:
    assert format_value(value, unit=unit) == expected
