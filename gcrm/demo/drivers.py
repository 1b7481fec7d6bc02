"""The documented rules behind the demo's B2B customers and their churn.

Business customers (segments ``smb`` and ``corporate``) are won from the region's leads: each
lead converts with probability ``logistic(intercept + category effect + area effect -
distance effect + noise)`` (:func:`conversion_probability`), the intercept set so that the
expected number of conversions meets the business customers wanted. Every customer churns by
a monthly hazard that rises with low order activity, distance to the nearest branch and short
tenure, and differs by segment (:func:`draw_churn`); orders fade in the months before a
churn (:mod:`gcrm.demo.synthetic_orders`). ``data/README.md`` ("How the synthetic customers are
made") states the same rules with these coefficients; no model of gcrm reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from gcrm.core import ValidationError

__all__ = [
    "AREA_EFFECT",
    "CATEGORY_EFFECTS",
    "CHURN_ACTIVITY_POWER",
    "CHURN_BASE_PER_MONTH",
    "CHURN_DISTANCE_EFFECT",
    "CHURN_NEW_CUSTOMER",
    "CONVERSION_NOISE_SD",
    "DISTANCE_EFFECT",
    "GROUP_EFFECTS",
    "MAX_CONVERSION",
    "LeadPool",
    "category_effect",
    "conversion_probability",
    "convert_leads",
    "draw_churn",
    "nearest_distance_m",
]

#: Effect on the log-odds of converting, by category group: the fictional company supplies
#: businesses that serve food and drink, offices and hotels. Helsinki's groups are OSM keys,
#: the Bay Area's MTC employment sectors; a group not listed has 0.
GROUP_EFFECTS: dict[str, float] = {
    "amenity": 0.3,
    "shop": -0.2,
    "office": 0.5,
    "craft": 0.2,
    "tourism": 0.0,
    "leisure": -0.5,
    "retail": -0.2,
    "financial_professional": 0.5,
    "health_education_recreation": 0.2,
    "agriculture_natural_resources": -0.8,
    "manufacturing_wholesale_transport": 0.0,
    "other": -0.3,
}
#: Added to the group's effect for these categories (either region's vocabulary); 0 otherwise.
CATEGORY_EFFECTS: dict[str, float] = {
    "restaurant": 1.2,
    "cafe": 1.0,
    "fast_food": 0.6,
    "pub": 0.8,
    "bar": 0.8,
    "nightclub": 0.4,
    "hotel": 1.0,
    "company": 0.6,
    "consulting": 0.6,
    "software": 0.6,
    "accountant": 0.4,
    "lawyer": 0.4,
    "clinic": 0.4,
    "dentist": 0.4,
    "fitness_centre": 0.4,
    "hairdresser": 0.3,
    "clothes": -0.6,
    "jewelry": -0.6,
    "shoes": -0.6,
    "bank": -1.0,
    "embassy": -1.5,
    "place_of_worship": -1.5,
    "government": -1.5,
    "ngo": -0.5,
    "school": -0.8,
    "farm": -0.5,
}
#: Log-odds per standard deviation of ``log(1 + business density)`` around the lead.
AREA_EFFECT = 0.5
#: Log-odds lost per median distance (the median over the region's leads) to the nearest branch.
DISTANCE_EFFECT = 1.2
#: Standard deviation of the normal noise on each lead's log-odds.
CONVERSION_NOISE_SD = 0.5
#: At most this share of the leads converts; more business customers than that are won
#: without a lead record.
MAX_CONVERSION = 0.5

#: Monthly churn hazard of an average customer by segment, before the drivers below.
CHURN_BASE_PER_MONTH: dict[str, float] = {"consumer": 0.003, "smb": 0.0024, "corporate": 0.0015}
#: Hazard x activity ** -CHURN_ACTIVITY_POWER (activity: the order-rate factor, mean 1).
CHURN_ACTIVITY_POWER = 0.8
#: Hazard x exp(CHURN_DISTANCE_EFFECT x distance / median distance to the nearest branch).
CHURN_DISTANCE_EFFECT = 0.4
#: Hazard x this in the first 12 months after signup.
CHURN_NEW_CUSTOMER = 2.0
#: A churn happens at least this many days after signup.
MIN_TENURE_DAYS = 30
_MONTH_DAYS = 365.25 / 12


@dataclass(frozen=True)
class LeadPool:
    """The leads a region's business customers are won from.

    ``places`` has one row per lead, with the columns a region's placer returns (street,
    house_number, postcode, city, lon, lat, x, y in the region's metric CRS, and its truth
    columns such as ``ref`` or ``zone``): where the customer won from the lead stands.
    """

    external_id: np.ndarray
    name: np.ndarray
    category_group: np.ndarray
    category: np.ndarray
    #: Businesses around each lead (per the region's measure); only its ranks and spread count.
    density: np.ndarray
    places: pd.DataFrame

    def __post_init__(self) -> None:
        n = len(self.external_id)
        sizes = {
            "name": len(self.name),
            "category_group": len(self.category_group),
            "category": len(self.category),
            "density": len(self.density),
            "places": len(self.places),
        }
        wrong = {k: v for k, v in sizes.items() if v != n}
        if wrong:
            msg = (
                f"LeadPool fields {wrong} do not match the {n} external ids; give one row per lead"
            )
            raise ValidationError(msg)


def nearest_distance_m(xy: np.ndarray, branches_xy: np.ndarray) -> np.ndarray:
    """Straight-line distance (metric CRS units, metres) from each point to its nearest branch.

    Parameters
    ----------
    xy
        Points, shape (n, 2), in the region's metric CRS.
    branches_xy
        Branches, shape (k, 2), same CRS.

    Returns
    -------
    numpy.ndarray
        Distances, shape (n,).
    """
    d2 = ((xy[:, None, :] - branches_xy[None, :, :]) ** 2).sum(axis=2)
    return np.sqrt(d2.min(axis=1))


def category_effect(category_group: np.ndarray, category: np.ndarray) -> np.ndarray:
    """``GROUP_EFFECTS`` of the group plus ``CATEGORY_EFFECTS`` of the category (0 if unlisted).

    Parameters
    ----------
    category_group, category
        Lower-case labels, one per lead.

    Returns
    -------
    numpy.ndarray
        Log-odds effect per lead.
    """
    group = pd.Series(category_group, dtype=object).map(GROUP_EFFECTS).fillna(0.0)
    own = pd.Series(category, dtype=object).map(CATEGORY_EFFECTS).fillna(0.0)
    return (group + own).to_numpy(float)


def conversion_probability(
    pool: LeadPool,
    *,
    distance_m: np.ndarray,
    noise: np.ndarray,
    intercept: float,
) -> np.ndarray:
    """``logistic(intercept + category + area - distance + noise)`` of each lead.

    The area term is ``AREA_EFFECT`` x the z-score of ``log(1 + density)``; the distance term
    ``DISTANCE_EFFECT`` x distance / the median distance of the pool's leads.

    Parameters
    ----------
    pool
        The leads.
    distance_m
        Distance of each lead to its nearest branch.
    noise
        Noise on each lead's log-odds.
    intercept
        The intercept of the log-odds.

    Returns
    -------
    numpy.ndarray
        Probabilities in (0, 1).
    """
    return _logistic(intercept + _log_odds(pool, distance_m=distance_m, noise=noise))


def _log_odds(pool: LeadPool, *, distance_m: np.ndarray, noise: np.ndarray) -> np.ndarray:
    log_density = np.log1p(np.asarray(pool.density, float))
    spread = log_density.std()
    area = (log_density - log_density.mean()) / spread if spread > 0 else 0.0 * log_density
    scale = float(np.median(distance_m)) or 1.0
    return (
        category_effect(pool.category_group, pool.category)
        + AREA_EFFECT * area
        - DISTANCE_EFFECT * distance_m / scale
        + noise
    )


def _logistic(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def convert_leads(
    pool: LeadPool, *, branches_xy: np.ndarray | None, wanted: int, rng: np.random.Generator
) -> np.ndarray:
    """Which leads convert, in the order they are handed to business customers.

    The intercept is set (bisection) so that the expected conversions equal
    ``min(wanted, MAX_CONVERSION x leads)``; each lead then converts by a Bernoulli draw. If
    more convert than ``wanted``, a random ``wanted`` of them are kept.

    Parameters
    ----------
    pool
        The leads.
    branches_xy
        Branches in the metric CRS of ``pool.places``' x, y; ``None``: distance plays no part.
    wanted
        The number of business customers to win.
    rng
        Source of the noise, the draws and the order.

    Returns
    -------
    numpy.ndarray
        Indices into the pool of the converted leads (at most ``wanted``), in random order.
    """
    n = len(pool.external_id)
    if n == 0 or wanted <= 0:
        return np.zeros(0, dtype=np.int64)
    xy = pool.places[["x", "y"]].to_numpy(float)
    distance = np.zeros(n) if branches_xy is None else nearest_distance_m(xy, branches_xy)
    noise = CONVERSION_NOISE_SD * rng.standard_normal(n)
    base = _log_odds(pool, distance_m=distance, noise=noise)
    target = min(float(wanted), MAX_CONVERSION * n)
    low, high = -30.0, 30.0
    for _ in range(60):  # bisection on one number; each step is one vectorised sum
        mid = (low + high) / 2
        if _logistic(mid + base).sum() < target:
            low = mid
        else:
            high = mid
    converted = np.flatnonzero(rng.random(n) < _logistic((low + high) / 2 + base))
    return rng.permutation(converted)[:wanted]


def draw_churn(
    signup: np.ndarray,
    *,
    segment: np.ndarray,
    activity: np.ndarray,
    distance_m: np.ndarray,
    as_of: date,
    rng: np.random.Generator,
) -> np.ndarray:
    """Churn dates (NaT: still active on ``as_of``) by a monthly hazard with documented drivers.

    From ``MIN_TENURE_DAYS`` after signup, month by month until ``as_of``, a customer churns
    with probability ``1 - exp(-h)``, ``h = CHURN_BASE_PER_MONTH[segment] x activity **
    -CHURN_ACTIVITY_POWER x exp(CHURN_DISTANCE_EFFECT x distance / median distance) x
    (CHURN_NEW_CUSTOMER in the first 12 months)``, on a uniform day of that month.

    Parameters
    ----------
    signup
        Signup dates (``datetime64[D]``).
    segment
        Segment of each customer (keys of ``CHURN_BASE_PER_MONTH``).
    activity
        Order-rate factor of each customer (mean 1).
    distance_m
        Distance of each customer to the nearest branch.
    as_of
        The last day anything happens.
    rng
        Source of the draws.

    Returns
    -------
    numpy.ndarray
        ``datetime64[D]`` churn dates, NaT where the customer has not churned.
    """
    n = len(signup)
    scale = float(np.median(distance_m)) or 1.0
    base = pd.Series(segment, dtype=object).map(CHURN_BASE_PER_MONTH).fillna(0.0).to_numpy(float)
    hazard = (
        base
        * np.power(np.maximum(activity, 1e-3), -CHURN_ACTIVITY_POWER)
        * np.exp(CHURN_DISTANCE_EFFECT * distance_m / scale)
    )
    start = signup.astype("datetime64[D]") + np.timedelta64(MIN_TENURE_DAYS, "D")
    room = (np.datetime64(as_of) - start).astype(np.int64)
    months = int(np.ceil(max(room.max(initial=0), 0) / _MONTH_DAYS))
    churn_day = np.full(n, -1, dtype=np.int64)
    # One vectorised step per month of the demo's history (84 at most).
    for month in range(months):
        h = hazard * (CHURN_NEW_CUSTOMER if month < 12 else 1.0)
        u = rng.random(n)
        within = rng.random(n)
        day = np.floor((month + within) * _MONTH_DAYS).astype(np.int64)
        hit = (churn_day < 0) & (u < -np.expm1(-h)) & (day <= room)
        churn_day[hit] = day[hit]
    churn = np.where(churn_day >= 0, start + churn_day, np.datetime64("NaT"))
    return churn.astype("datetime64[D]")
