from __future__ import annotations

import pandas as pd
import pytest

from gcrm.core import ValidationError
from gcrm.scoring import (
    format_describer,
    group_contributions,
    reasons_text,
    times_average,
    top_reasons,
)


def test_top_reasons_orders_by_absolute_effect_with_words() -> None:
    contributions = pd.DataFrame(
        {"drive": [0.5, -0.1], "density": [-0.9, 0.0], "zoning": [0.2, 0.3], "road": [0.01, 0.0]}
    )
    values = pd.DataFrame(
        {
            "drive_time_s": [480.0, 1500.0],
            "branch_reached": ["B03", "B01"],
            "zoning": ["commercial", "residential"],
        }
    )
    describers = {
        "drive": format_describer(
            "{minutes} min from branch {branch_reached}",
            minutes=lambda r: round(r["drive_time_s"] / 60),
        ),
        "zoning": format_describer("in a {zoning} zone"),
    }
    out = top_reasons(contributions, values=values, describers=describers, k=3)
    assert out[0] == [
        {"feature": "density", "effect": -0.9, "text": "density"},
        {"feature": "drive", "effect": 0.5, "text": "8 min from branch B03"},
        {"feature": "zoning", "effect": 0.2, "text": "in a commercial zone"},
    ]
    # Zero effects are no reasons: the second row has two.
    assert out[1] == [
        {"feature": "zoning", "effect": 0.3, "text": "in a residential zone"},
        {"feature": "drive", "effect": -0.1, "text": "25 min from branch B01"},
    ]
    assert reasons_text(out[1]) == "in a residential zone; 25 min from branch B01"
    assert reasons_text([]) == ""


def test_default_text_names_the_value() -> None:
    out = top_reasons(pd.DataFrame({"zoning": [1.0]}), values=pd.DataFrame({"zoning": ["mixed"]}))
    assert out == [[{"feature": "zoning", "effect": 1.0, "text": "zoning: mixed"}]]


def test_group_contributions_sums_one_hot_columns() -> None:
    c = pd.DataFrame(
        {"category=cafe": [0.5, 0.0], "drive": [0.1, 0.2], "category=bar": [0.0, -1.0]}
    )
    grouped = group_contributions(c, {"category=cafe": "category", "category=bar": "category"})
    assert list(grouped.columns) == ["category", "drive"]
    assert grouped["category"].tolist() == [0.5, -1.0]


def test_times_average_words() -> None:
    assert times_average(2.14) == "2.1x the average"
    assert times_average(1.02) == "about the average"
    assert times_average(0.5) == "half the average"
    assert times_average(0.0) == "none of the average"


def test_bad_input() -> None:
    c = pd.DataFrame({"a": [1.0, 2.0]})
    with pytest.raises(ValidationError, match="values has 1 rows and contributions 2"):
        top_reasons(c, values=pd.DataFrame({"a": [1]}))
    with pytest.raises(ValidationError, match="k=0"):
        top_reasons(c, k=0)
    with pytest.raises(ValidationError, match="one text per row"):
        top_reasons(c, describers={"a": lambda rows: ["x"]})
