"""Business customers won from leads, and churn with drivers: the rules of data/README.md."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from sqlalchemy import Connection, text

from gcrm.core import METRIC_CRS
from gcrm.demo import build_demo_region
from gcrm.demo.drivers import (
    MAX_CONVERSION,
    LeadPool,
    convert_leads,
    draw_churn,
    nearest_distance_m,
)
from gcrm.demo.synthetic_orders import FADE_DAYS
from tests.conftest import Demo

CUSTOMERS = 600
SEED = 7
BUSINESS = {"smb", "corporate"}


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_demo_region(tmp_path_factory.mktemp("b2b"), customers=CUSTOMERS, seed=SEED)


@pytest.fixture(scope="module")
def valid(region: dict[str, Path]) -> pd.DataFrame:
    """The valid rows of customers.csv with their truth columns."""
    customers = pd.read_csv(region["customers"], dtype=str, keep_default_na=False)
    truth = pd.read_csv(region["customers_truth"], dtype=str, keep_default_na=False)
    rows = customers.assign(lon=truth["lon"].astype(float), lat=truth["lat"].astype(float))
    rows = rows[~truth["injected_mess"].str.contains("invalid:")].copy()
    rows["segment"] = rows["segment"].str.lower()
    return rows.reset_index(drop=True)


def _metric(lon: pd.Series, lat: pd.Series) -> np.ndarray:
    """Coordinates in EPSG:3067 of lon/lat points."""
    points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    return shapely.get_coordinates(points.to_crs(METRIC_CRS).values)


def _pool(n: int, *, distance_m: np.ndarray, category: str = "cafe") -> LeadPool:
    return LeadPool(
        external_id=np.array([f"L{i}" for i in range(n)], dtype=object),
        name=np.array([f"Lead {i}" for i in range(n)], dtype=object),
        category_group=np.full(n, "amenity", dtype=object),
        category=np.full(n, category, dtype=object),
        density=np.ones(n),
        places=pd.DataFrame({"x": distance_m, "y": np.zeros(n)}),
    )


def test_business_customers_have_a_category_and_consumers_none(valid: pd.DataFrame) -> None:
    business = valid["segment"].isin(BUSINESS)
    assert business.sum() > 50
    assert (valid.loc[business, "category"] != "").all()
    assert (valid.loc[business, "category_group"] != "").all()
    consumers = valid[~business]
    assert (consumers[["category_group", "category", "lead_external_id"]] == "").all().all()


def test_won_customers_are_their_lead_at_its_nearest_address(
    region: dict[str, Path], valid: pd.DataFrame
) -> None:
    leads = pyogrio.read_dataframe(region["leads"], layer="leads").set_index("external_id")
    won = valid[valid["lead_external_id"] != ""]
    assert len(won) >= 0.8 * valid["segment"].isin(BUSINESS).sum()
    assert won["lead_external_id"].is_unique
    assert won["lead_external_id"].isin(leads.index).all()
    lead = leads.loc[won["lead_external_id"]]
    assert (won["name"].str.strip().to_numpy() == lead["name"].to_numpy()).all()
    assert (won["category"].to_numpy() == lead["category"].to_numpy()).all()
    assert (won["category_group"].to_numpy() == lead["category_group"].to_numpy()).all()
    lead_m = shapely.get_coordinates(lead.geometry.to_crs(METRIC_CRS).values)
    gap = np.hypot(*(lead_m - _metric(won["lon"], won["lat"])).T)
    assert np.median(gap) < 50 and gap.max() < 300


def test_leads_near_a_branch_convert_more_often(
    region: dict[str, Path], valid: pd.DataFrame
) -> None:
    leads = pyogrio.read_dataframe(region["leads"], layer="leads")
    branches = pd.read_csv(region["branches"])
    distance = nearest_distance_m(
        shapely.get_coordinates(leads.geometry.to_crs(METRIC_CRS).values),
        _metric(branches["lon"], branches["lat"]),
    )
    converted = leads["external_id"].isin(valid["lead_external_id"]).to_numpy()
    near = distance <= np.median(distance)
    assert converted[near].mean() > 1.5 * converted[~near].mean()


def test_conversion_falls_with_distance_the_documented_way() -> None:
    n = 4000
    distance = np.repeat([0.0, 500.0, 1000.0, 2000.0], n // 4)
    pool = _pool(n, distance_m=distance)
    won = convert_leads(
        pool, branches_xy=np.zeros((1, 2)), wanted=400, rng=np.random.default_rng(1)
    )
    share = np.bincount(np.searchsorted([0.0, 500.0, 1000.0, 2000.0], distance[won]), minlength=4)
    assert (np.diff(share) < 0).all()  # every step farther converts fewer
    assert abs(len(won) - 400) <= 60  # the intercept meets the wanted number on average


def test_category_effect_and_the_cap() -> None:
    n = 2000
    distance = np.full(n, 100.0)
    cafes = _pool(n // 2, distance_m=distance[: n // 2])
    banks = _pool(n // 2, distance_m=distance[: n // 2], category="bank")
    pool = LeadPool(
        external_id=np.concatenate([cafes.external_id, banks.external_id + "b"]),
        name=np.concatenate([cafes.name, banks.name]),
        category_group=np.concatenate([cafes.category_group, banks.category_group]),
        category=np.concatenate([cafes.category, banks.category]),
        density=np.ones(n),
        places=pd.concat([cafes.places, banks.places], ignore_index=True),
    )
    won = convert_leads(
        pool, branches_xy=np.zeros((1, 2)), wanted=300, rng=np.random.default_rng(2)
    )
    assert (won < n // 2).sum() > 3 * (won >= n // 2).sum()
    many = convert_leads(pool, branches_xy=None, wanted=n, rng=np.random.default_rng(3))
    assert len(many) <= MAX_CONVERSION * n * 1.1


def test_churn_hazard_rises_with_low_activity_and_distance() -> None:
    n = 6000
    signup = np.full(n, np.datetime64("2020-01-01"), dtype="datetime64[D]")
    segment = np.full(n, "smb", dtype=object)
    low = np.r_[np.full(n // 2, 0.3), np.full(n // 2, 2.0)]
    churn = draw_churn(
        signup,
        segment=segment,
        activity=low,
        distance_m=np.ones(n),
        as_of=date(2025, 12, 31),
        rng=np.random.default_rng(4),
    )
    churned = ~np.isnat(churn)
    assert churned[: n // 2].mean() > 1.5 * churned[n // 2 :].mean()
    far = draw_churn(
        signup,
        segment=segment,
        activity=np.ones(n),
        distance_m=np.r_[np.full(n // 2, 100.0), np.full(n // 2, 3000.0)],
        as_of=date(2025, 12, 31),
        rng=np.random.default_rng(5),
    )
    far_churned = ~np.isnat(far)
    assert far_churned[n // 2 :].mean() > far_churned[: n // 2].mean()
    after = (churn[churned] - signup[churned]).astype(np.int64)
    assert after.min() >= 30 and (churn[churned] <= np.datetime64("2025-12-31")).all()


def test_orders_fade_and_stop_before_churn(region: dict[str, Path], valid: pd.DataFrame) -> None:
    orders = pd.read_csv(region["orders"], dtype=str, keep_default_na=False)
    churn = pd.to_datetime(valid.set_index("customer_id")["churn_date"].replace("", None))
    churned = churn.dropna()
    mine = orders[orders["customer_id"].isin(churned.index)]
    day = pd.to_datetime(mine["order_date"]).to_numpy()
    before = (churned.loc[mine["customer_id"]].to_numpy() - day).astype("timedelta64[D]")
    days_before = before.astype(np.int64)
    assert (days_before >= 1).all()  # the last order is the day before churn at the latest
    last = (days_before < FADE_DAYS).sum() / FADE_DAYS
    earlier = ((days_before >= FADE_DAYS) & (days_before < 2 * FADE_DAYS)).sum() / FADE_DAYS
    assert last < 0.8 * earlier


def test_recent_business_signups_exist_in_numbers(valid: pd.DataFrame) -> None:
    business = valid[valid["segment"].isin(BUSINESS)]
    recent = pd.to_datetime(business["signup_date"]) > pd.Timestamp("2024-12-31")
    assert recent.sum() >= 20 and 0.1 <= recent.mean() <= 0.4


def test_the_demo_database_carries_categories_and_leads(demo: Demo, demo_conn: Connection) -> None:
    rows = demo_conn.execute(
        text(
            "SELECT c.segment, count(*) FILTER (WHERE c.category <> ''), count(*), "
            "count(l.external_id) FROM gcrm.customers c "
            "LEFT JOIN gcrm.lead_records l ON l.external_id = c.lead_external_id "
            "GROUP BY c.segment"
        )
    ).all()
    by_segment = {
        segment: (categorised, total, linked) for segment, categorised, total, linked in rows
    }
    assert by_segment["consumer"][0] == 0 and by_segment["consumer"][2] == 0
    for segment in BUSINESS:
        categorised, total, linked = by_segment[segment]
        assert categorised == total and linked > 0.5 * total
