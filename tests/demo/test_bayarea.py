"""The San Francisco Bay Area region, built for real from activitysim's and zipcodes' data."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from gcrm.core import ValidationError
from gcrm.demo import build_bayarea_region
from gcrm.demo.bayarea import BAYAREA_FILES
from gcrm.demo.bayarea_sources import (
    BAYAREA_METRIC_CRS,
    LAND_USE_FILE,
    LAND_USE_MEASURES,
    SECTORS,
    activitysim_examples_dir,
)
from gcrm.demo.bayarea_synthetic import JOBS_PER_LEAD
from gcrm.demo.synthetic_customers import AS_OF

# The module's fixtures build the Bay Area pack from activitysim's and zipcodes' data.
pytestmark = pytest.mark.slow

CUSTOMERS = 300
SEED = 7

LAYER_COLUMNS = {
    "areas": ["level", "code", "name", "parent_code", "derivation"],
    "leads": [
        "external_id", "name", "category_group", "category", "street", "housenumber",
        "postcode", "city", "phone", "website", "source",
    ],
}  # fmt: skip
CSV_COLUMNS = {
    "area_levels": ["level", "parent_level", "rank", "label", "derivation"],
    "area_stats": ["level", "code", "measure", "value", "source", "vintage", "method"],
    "postcodes": ["postcode", "city", "lon", "lat", "county"],
    "branches": ["code", "name", "street", "housenumber", "postcode", "city", "lon", "lat"],
    "customers": [
        "customer_id", "name", "email", "phone", "street", "house_number", "postcode", "city",
        "segment", "status", "signup_date", "churn_date", "category_group", "category",
        "lead_external_id",
    ],
    "customers_truth": ["customer_id", "lon", "lat", "zone", "injected_mess"],
    "orders": ["order_id", "customer_id", "order_date", "amount", "channel", "branch_code"],
}  # fmt: skip
MEASURES = [
    "population", "households", "jobs", "jobs_retail", "jobs_financial_professional",
    "jobs_health_education_recreation", "jobs_agriculture_natural_resources",
    "jobs_manufacturing_wholesale_transport", "jobs_other", "residential_acres",
    "commercial_acres",
]  # fmt: skip


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_bayarea_region(tmp_path_factory.mktemp("bayarea"), customers=CUSTOMERS, seed=SEED)


@pytest.fixture(scope="module")
def areas(region: dict[str, Path]) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(region["areas"], layer="areas")


@pytest.fixture(scope="module")
def zones_m(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    zones = areas[areas["level"] == "zone"].to_crs(BAYAREA_METRIC_CRS)
    return zones.reset_index(drop=True)


@pytest.fixture(scope="module")
def region_m(zones_m: gpd.GeoDataFrame) -> shapely.Geometry:
    # 1 m of slack for coordinates rounded to 7 decimals and reprojected back.
    return shapely.buffer(shapely.union_all(zones_m.geometry.values), 1.0)


def _csv(region: dict[str, Path], name: str) -> pd.DataFrame:
    return pd.read_csv(region[name], dtype=str, keep_default_na=False)


def _points_m(lon: pd.Series, lat: pd.Series) -> np.ndarray:
    points = gpd.GeoSeries(gpd.points_from_xy(lon.astype(float), lat.astype(float)), crs=4326)
    return points.to_crs(BAYAREA_METRIC_CRS).values


def test_every_file_is_written_and_no_other(region: dict[str, Path]) -> None:
    assert list(region) == list(BAYAREA_FILES)
    assert all(path.is_file() and path.stat().st_size > 0 for path in region.values())
    out_dir = region["areas"].parent
    assert {p.stem for p in out_dir.iterdir()} == set(BAYAREA_FILES)
    assert not {"addresses", "roads", "zones"} & {p.stem for p in out_dir.iterdir()}


@pytest.mark.parametrize("name", sorted(LAYER_COLUMNS))
def test_layers_have_contract_columns_crs_and_geometry(region: dict[str, Path], name: str) -> None:
    assert [layer for layer, _ in pyogrio.list_layers(region[name])] == [name]
    gdf = pyogrio.read_dataframe(region[name], layer=name)
    assert list(gdf.columns) == [*LAYER_COLUMNS[name], "geometry"]
    assert gdf.crs.to_epsg() == 4326
    expected = {"MultiPolygon"} if name == "areas" else {"Point"}
    assert set(gdf.geom_type) == expected
    assert gdf.geometry.is_valid.all()


@pytest.mark.parametrize("name", sorted(CSV_COLUMNS))
def test_csvs_have_contract_columns(region: dict[str, Path], name: str) -> None:
    frame = _csv(region, name)
    assert list(frame.columns) == CSV_COLUMNS[name]
    assert len(frame) > 0


def test_area_levels_are_county_superdistrict_zone(region: dict[str, Path]) -> None:
    levels = _csv(region, "area_levels")
    got = list(zip(levels["level"], levels["parent_level"], levels["rank"], strict=True))
    assert got == [
        ("county", "", "1"),
        ("superdistrict", "county", "2"),
        ("zone", "superdistrict", "3"),
    ]
    assert levels["derivation"].str.contains("activitysim").all()


def test_areas_have_the_mtc_counts_and_codes(areas: gpd.GeoDataFrame) -> None:
    assert areas.groupby("level").size().to_dict() == {
        "county": 9,
        "superdistrict": 34,
        "zone": 1454,
    }
    assert not areas.duplicated(["level", "code"]).any()
    counties = areas[areas["level"] == "county"]
    assert (
        "San Francisco" in set(counties["name"])
        and counties["code"].str.fullmatch(r"06\d{3}").all()
    )
    sds = areas[areas["level"] == "superdistrict"]
    assert list(sds["code"]) == [f"SD{i:02d}" for i in range(1, 35)]
    zones = areas[areas["level"] == "zone"]
    assert sorted(zones["code"].astype(int)) == list(range(1, 1455))


def test_nesting_is_complete_and_spatially_right(
    areas: gpd.GeoDataFrame, zones_m: gpd.GeoDataFrame
) -> None:
    by_level = {level: frame for level, frame in areas.groupby("level")}
    assert (by_level["county"]["parent_code"].fillna("") == "").all()
    assert set(by_level["superdistrict"]["parent_code"]) == set(by_level["county"]["code"])
    assert set(by_level["zone"]["parent_code"]) == set(by_level["superdistrict"]["code"])
    # every zone lies in its superdistrict, every superdistrict in its county
    for child, parent in (("zone", "superdistrict"), ("superdistrict", "county")):
        kids = by_level[child].to_crs(BAYAREA_METRIC_CRS)
        parents = by_level[parent].to_crs(BAYAREA_METRIC_CRS).set_index("code")
        inside = shapely.point_on_surface(kids.geometry.values)
        homes = parents.geometry.loc[kids["parent_code"]].values
        assert shapely.covers(shapely.buffer(homes, 1.0), inside).all(), child


def test_stats_cover_every_area_and_match_land_use_totals(
    region: dict[str, Path], areas: gpd.GeoDataFrame
) -> None:
    stats = _csv(region, "area_stats")
    assert list(dict.fromkeys(stats["measure"])) == MEASURES
    assert not stats.duplicated(["level", "code", "measure"]).any()
    assert len(stats) == len(areas) * len(MEASURES)
    keys = set(zip(areas["level"], areas["code"], strict=True))
    assert set(zip(stats["level"], stats["code"], strict=True)) == keys
    counts = stats[~stats["measure"].str.endswith("_acres")]
    assert counts["value"].str.fullmatch(r"\d+").all()
    assert stats["value"].str.fullmatch(r"\d+(\.\d{1,2})?").all()
    value = stats["value"].astype(float)
    totals = value.groupby([stats["measure"], stats["level"]]).sum().unstack("level")
    np.testing.assert_allclose(totals["superdistrict"], totals["zone"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(totals["county"], totals["zone"], rtol=0, atol=1e-6)
    land_use = pd.read_csv(activitysim_examples_dir() / LAND_USE_FILE)
    expected = pd.Series({m: land_use[c].sum() for m, c in LAND_USE_MEASURES.items()})
    np.testing.assert_allclose(totals["zone"].loc[expected.index], expected, rtol=0, atol=0.5)
    sector_sum = sum(totals["zone"][f"jobs_{key}"] for key in SECTORS)
    assert sector_sum == totals["zone"]["jobs"]
    assert set(stats["method"]) == {"zone value", "sum of zones"}
    assert (stats.loc[stats["level"] == "zone", "method"] == "zone value").all()
    assert stats["source"].str.contains("activitysim").all() and (stats["vintage"] != "").all()


def test_postcodes_lie_inside_the_region(
    region: dict[str, Path], region_m: shapely.Geometry
) -> None:
    postcodes = _csv(region, "postcodes")
    assert (
        postcodes["postcode"].is_unique and postcodes["postcode"].str.fullmatch(r"9[45]\d{3}").all()
    )
    assert 200 <= len(postcodes) <= 400
    assert shapely.covers(region_m, _points_m(postcodes["lon"], postcodes["lat"])).all()
    assert {"San Francisco", "Oakland", "San Jose"} <= set(postcodes["city"])
    assert postcodes["county"].nunique() == 9


def test_leads_per_zone_follow_jobs(region: dict[str, Path], zones_m: gpd.GeoDataFrame) -> None:
    leads = pyogrio.read_dataframe(region["leads"], layer="leads")
    assert leads["external_id"].is_unique and leads["external_id"].str.fullmatch(r"BA-L\d{6}").all()
    assert set(leads["category_group"]) == set(SECTORS)
    postcodes = set(_csv(region, "postcodes")["postcode"])
    assert set(leads["postcode"]) <= postcodes and (leads["name"] != "").all()
    points = leads.geometry.to_crs(BAYAREA_METRIC_CRS).values
    zone_idx = shapely.STRtree(zones_m.geometry.values).query_nearest(points, all_matches=False)[1]
    per_zone = np.bincount(zone_idx, minlength=len(zones_m))
    land_use = pd.read_csv(activitysim_examples_dir() / LAND_USE_FILE).set_index("zone_id")
    jobs = land_use.loc[zones_m["code"].astype(int), "TOTEMP"].to_numpy()
    # cumulative rounding: within one lead per sector and zone (six sectors)
    assert np.abs(per_zone - jobs / JOBS_PER_LEAD).max() <= len(SECTORS)
    assert abs(len(leads) - jobs.sum() / JOBS_PER_LEAD) <= len(SECTORS)
    assert np.corrcoef(per_zone, jobs)[0, 1] > 0.99


def test_customers_stand_inside_their_zone_with_the_nearest_zip(
    region: dict[str, Path], zones_m: gpd.GeoDataFrame, region_m: shapely.Geometry
) -> None:
    customers = _csv(region, "customers")
    truth = _csv(region, "customers_truth")
    assert len(customers) == len(truth) == CUSTOMERS
    points = _points_m(truth["lon"], truth["lat"])
    assert shapely.covers(region_m, points).all()
    home = zones_m.set_index("code").geometry.loc[truth["zone"]].values
    assert shapely.covers(shapely.buffer(home, 1.0), points).all()
    postcodes = _csv(region, "postcodes")
    zips = _points_m(postcodes["lon"], postcodes["lat"])
    nearest = shapely.STRtree(zips).query_nearest(points, all_matches=False)[1]
    has_zip = (customers["postcode"] != "").to_numpy()
    assert 0.85 <= has_zip.mean() < 1.0
    expected = postcodes["postcode"].to_numpy()[nearest]
    assert (customers["postcode"].to_numpy()[has_zip] == expected[has_zip]).all()


def test_customers_carry_us_style_mess(region: dict[str, Path]) -> None:
    customers = _csv(region, "customers")
    truth = _csv(region, "customers_truth")
    street = customers["street"].str.strip()
    assert street.str.fullmatch(r"[A-Za-z ]*").all()
    assert customers["house_number"].str.fullmatch(r"\d{1,4}|").all()
    assert street.str.contains(r" (?:St|Ave|Blvd|Dr|Rd|Ln|Ct|Pl)$").any()
    assert (
        customers["phone"]
        .str.fullmatch(r"\(\d{3}\) 555-01\d{2}|\d{3}-555-01\d{2}|\+1 \d{3} 555 01\d{2}|")
        .all()
    )
    tags = set(truth["injected_mess"].str.split(",").explode())
    kinds = {
        "missing_id",
        "bad_signup_date",
        "unknown_status",
        "churn_before_signup",
        "duplicate_id",
    }
    assert {f"invalid:{k}" for k in kinds} <= tags
    assert {"abbreviation", "missing_postcode"} <= tags
    missing_only = customers["postcode"].eq("") & customers["city"].ne("")
    assert missing_only.any()


def test_branches_and_orders(region: dict[str, Path]) -> None:
    branches = _csv(region, "branches")
    assert list(branches["code"]) == [f"B0{i}" for i in range(1, 9)]
    assert branches["postcode"].is_unique
    assert set(branches["postcode"]) <= set(_csv(region, "postcodes")["postcode"])
    assert (branches["name"] == "gcrm " + branches["city"]).all()
    orders = _csv(region, "orders")
    assert orders["order_id"].is_unique and len(orders) > CUSTOMERS
    assert set(orders["branch_code"]) <= set(branches["code"])
    date = pd.to_datetime(orders["order_date"], format="%Y-%m-%d")
    assert date.min() >= pd.Timestamp("2023-01-01") and date.max() <= pd.Timestamp(AS_OF)
    truth = _csv(region, "customers_truth")
    valid = set(truth.loc[~truth["injected_mess"].str.contains("invalid:"), "customer_id"])
    assert set(orders["customer_id"]) <= valid


def test_build_is_deterministic_for_a_seed(region: dict[str, Path], tmp_path: Path) -> None:
    again = build_bayarea_region(tmp_path / "again", customers=CUSTOMERS, seed=SEED)
    for name, path in region.items():
        if path.suffix == ".csv":
            assert path.read_bytes() == again[name].read_bytes(), name
    first = pyogrio.read_dataframe(region["leads"], layer="leads")
    second = pyogrio.read_dataframe(again["leads"], layer="leads")
    assert_geodataframe_equal(first, second)
    other = build_bayarea_region(tmp_path / "other", customers=CUSTOMERS, seed=SEED + 1)
    assert other["customers"].read_bytes() != region["customers"].read_bytes()
    assert other["areas"].stat().st_size == region["areas"].stat().st_size


def test_too_few_customers_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="customers=10"):
        build_bayarea_region(tmp_path, customers=10)
