"""Why a score is what it is: the features that raised or lowered it most, in words.

A model explains each row as signed contributions of its features (for a logistic model,
coefficient x standardised value; for trees, SHAP-like values): rows x features, positive
where a feature raised the score. :func:`top_reasons` keeps the ``k`` largest in absolute
value per row and asks each feature's *describer* to say it in words, from the row's raw
values: ``"8 min from branch B03"``, ``"in a district with 2.1x the average SMB customers per
business"``. A reason is ``{"feature", "effect", "text"}`` (``effect`` the signed contribution),
the shape ``gcrm.lead_scores.reasons`` and the API keep; :func:`reasons_text` joins the texts
into the one column exports carry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from gcrm.core import ValidationError

__all__ = [
    "Describer",
    "format_describer",
    "group_contributions",
    "reasons_text",
    "times_average",
    "top_reasons",
]

#: Words for one feature: given the raw values of some rows (a frame with the columns the
#: describer needs), one text per row, in the same order.
Describer = Callable[[pd.DataFrame], Sequence[str] | pd.Series]


def format_describer(template: str, **formatters: Callable[[Any], Any]) -> Describer:
    """A describer that fills ``template`` (``str.format``) with each row's values.

    Parameters
    ----------
    template
        E.g. ``"{drive_min} min from branch {branch_reached}"``; fields are column names of
        the values frame (or of ``formatters``).
    **formatters
        Field -> function of the row (a dict of its values) giving the field's text, for
        fields that need words or rounding: ``drive_min=lambda r: round(r["drive_time_s"]
        / 60)``.

    Returns
    -------
    Describer
    """

    def describe(rows: pd.DataFrame) -> list[str]:
        # One format per chosen reason: a Python loop, but only over the rows whose top
        # reasons name this feature, and str.format has no vectorised form.
        out = []
        for row in rows.to_dict("records"):
            fields = {**row, **{name: fn(row) for name, fn in formatters.items()}}
            out.append(template.format(**fields))
        return out

    return describe


def times_average(ratio: float) -> str:
    """A ratio to the average in words: ``"2.1x the average"``, ``"about the average"``,
    ``"half the average"``, ``"0.3x the average"``, ``"no"`` (zero)."""
    if not np.isfinite(ratio):
        return "an unknown share of the average"
    if ratio == 0:
        return "none of the average"
    if 0.9 <= ratio <= 1.1:
        return "about the average"
    if 0.45 <= ratio <= 0.55:
        return "half the average"
    return f"{ratio:.1f}x the average"


def group_contributions(contributions: pd.DataFrame, groups: Mapping[str, str]) -> pd.DataFrame:
    """Contributions of columns summed into the feature they belong to (e.g. the one-hot
    columns ``category=cafe``, ``category=bakery`` into ``category``); columns not in
    ``groups`` stay as they are. Column order: first appearance."""
    names = [groups.get(str(c), str(c)) for c in contributions.columns]
    summed = contributions.T.groupby(names, sort=False).sum().T
    return summed.loc[:, list(dict.fromkeys(names))]


def top_reasons(
    contributions: pd.DataFrame,
    *,
    values: pd.DataFrame | None = None,
    describers: Mapping[str, Describer] | None = None,
    k: int = 3,
    min_effect: float = 1e-9,
    digits: int = 4,
) -> list[list[dict[str, Any]]]:
    """The ``k`` features that moved each row's score most, as ``{"feature", "effect",
    "text"}``, largest first.

    Parameters
    ----------
    contributions
        Rows x features, signed (positive raised the score).
    values
        The rows' raw values for the describers, same length and order as
        ``contributions``.
    describers
        Feature -> :data:`Describer`. A feature without one is written ``"feature: value"``
        (its column in ``values``) or just its name.
    k
        Reasons per row, at most.
    min_effect
        Contributions at or below this in absolute value are not reasons (a row may then
        have fewer than ``k``).
    digits
        ``effect`` is rounded to this many decimals.

    Returns
    -------
    list of list of dict
        One list per row, in row order.

    Raises
    ------
    ValidationError
        When ``values`` does not have one row per row of ``contributions`` or ``k`` < 1.
    """
    n, n_features = contributions.shape
    if values is not None and len(values) != n:
        msg = (
            f"values has {len(values)} rows and contributions {n}; pass the raw values of the "
            "same rows in the same order"
        )
        raise ValidationError(msg)
    if k < 1:
        msg = f"k={k!r} is below 1; ask for at least one reason per row"
        raise ValidationError(msg)
    if n == 0 or n_features == 0:
        return [[] for _ in range(n)]
    effects = contributions.to_numpy(dtype=float)
    effects = np.where(np.isfinite(effects), effects, 0.0)
    k = min(k, n_features)
    # Stable sort on -|effect|: equal effects keep the features' column order.
    order = np.argsort(-np.abs(effects), axis=1, kind="stable")[:, :k]
    chosen = np.take_along_axis(effects, order, axis=1)
    keep = np.abs(chosen) > min_effect
    texts = np.empty(order.shape, dtype=object)
    features = [str(c) for c in contributions.columns]
    context = values.reset_index(drop=True) if values is not None else pd.DataFrame(index=range(n))
    for j, feature in enumerate(features):
        rows, slots = np.nonzero((order == j) & keep)
        if len(rows):
            texts[rows, slots] = list(_describe(feature, context.iloc[rows], describers))
    rounded = np.round(chosen, digits)
    # Building the JSON objects is per row by nature (a list of dicts each).
    return [
        [
            {"feature": features[f], "effect": float(e), "text": str(t)}
            for f, e, t, ok in zip(o, r, tx, kp, strict=True)
            if ok
        ]
        for o, r, tx, kp in zip(order, rounded, texts, keep, strict=True)
    ]


def _describe(
    feature: str, rows: pd.DataFrame, describers: Mapping[str, Describer] | None
) -> Sequence[str] | pd.Series:
    describer = (describers or {}).get(feature)
    if describer is not None:
        texts = describer(rows)
        if len(texts) != len(rows):
            msg = (
                f"the describer of {feature!r} gave {len(texts)} texts for {len(rows)} rows; "
                "it must return one text per row"
            )
            raise ValidationError(msg)
        return texts
    if feature in rows.columns:
        return [f"{feature}: {v}" for v in rows[feature].tolist()]
    return [feature] * len(rows)


def reasons_text(reasons: Sequence[Mapping[str, Any]] | None, *, sep: str = "; ") -> str:
    """The texts of a row's reasons in one string, ``"reason 1; reason 2; reason 3"`` (what
    exports carry); ``""`` for none."""
    if not reasons:
        return ""
    return sep.join(str(r.get("text", "")) for r in reasons)
