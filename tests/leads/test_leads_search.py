from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from sqlalchemy import Connection, text

from gcrm.core import GeocodingError, NotFoundError, ValidationError
from gcrm.geocode import normalize_address_fields
from gcrm.leads import Origin, find_nearby_leads, resolve_origin
from gcrm.store import copy_frame

LON, LAT = 24.94, 60.17
M_PER_DEG_LAT = 111_320.0
# id, name, category, zoning, metres north of the origin (negative: south), area codes
LEADS = [
    ("N1", "Kahvila 100", "cafe", "commercial", 100, '{"district": "D01", "postcode": "00100"}'),
    ("N2", "Ravintola 300", "restaurant", "mixed", 300, '{"district": "D01", "hex": "89abc"}'),
    ("N3", "Kahvila 600 south", "cafe", "residential", -600, "{}"),
    ("N0", "Same spot as N3", "cafe", "residential", -600, "{}"),
    ("N4", "Far away", "cafe", "commercial", 1500, '{"district": "D02"}'),
]


@pytest.fixture
def leads(conn: Connection) -> None:
    conn.execute(
        text(
            "INSERT INTO gcrm.area_levels (level, parent_level, rank, label, derivation) VALUES "
            "('district', NULL, 1, 'District', 't'), ('postcode', NULL, 1, 'Postcode', 't'), "
            "('hex', 'district', 2, 'Hexagon', 't')"
        )
    )
    for ext_id, name, category, zoning, north_m, codes in LEADS:
        conn.execute(
            text(
                "WITH r AS (INSERT INTO gcrm.lead_records (external_id, name, category_group, "
                "category, street, housenumber, postcode, city, source, geom) VALUES "
                "(:id, :name, 'g', :cat, 'Testikatu', :num, '00100', 'Helsinki', 'test', "
                "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) RETURNING external_id, geom) "
                "INSERT INTO gcrm.lead_enrichment (external_id, geom, area_codes, zoning_class) "
                "SELECT external_id, geom, CAST(:codes AS jsonb), :zoning FROM r"
            ),
            {
                "id": ext_id,
                "name": name,
                "cat": category,
                "num": str(abs(north_m)),
                "lon": LON,
                "lat": LAT + north_m / M_PER_DEG_LAT,
                "codes": codes,
                "zoning": zoning,
            },
        )


def test_nearest_first_with_geodesic_distances(conn: Connection, leads: None) -> None:
    found = find_nearby_leads(conn, lon=LON, lat=LAT, radius_m=1000)
    assert list(found["external_id"]) == ["N1", "N2", "N0", "N3"]
    assert list(found["rank"]) == [1, 2, 3, 4]
    assert found["distance_m"].is_monotonic_increasing
    _, _, expected = Geod(ellps="WGS84").inv(
        np.full(len(found), LON), np.full(len(found), LAT), found.geometry.x, found.geometry.y
    )
    np.testing.assert_allclose(found["distance_m"], expected, rtol=1e-6)
    np.testing.assert_allclose(found["distance_m"], [100, 300, 600, 600], rtol=0.01)
    assert found.crs == "EPSG:4326"
    # Area codes become one column per level, in level rank order; missing codes are None.
    assert [c for c in found.columns if c.startswith("area_")] == [
        "area_district",
        "area_postcode",
        "area_hex",
    ]
    assert found.set_index("external_id").loc["N1", "area_postcode"] == "00100"
    assert pd.isna(found.set_index("external_id").loc["N3", "area_district"])
    assert {"name", "category", "street", "zoning_class", "road_distance_m"} <= set(found.columns)


def test_limit_and_filters(conn: Connection, leads: None) -> None:
    assert list(find_nearby_leads(conn, lon=LON, lat=LAT, limit=2)["external_id"]) == ["N1", "N2"]
    cafes = find_nearby_leads(conn, lon=LON, lat=LAT, radius_m=2000, categories=["cafe"])
    assert list(cafes["external_id"]) == ["N1", "N0", "N3", "N4"]
    assert list(cafes["rank"]) == [1, 2, 3, 4]
    zoned = find_nearby_leads(
        conn, lon=LON, lat=LAT, radius_m=2000, categories=["cafe"], zoning_classes=["commercial"]
    )
    assert list(zoned["external_id"]) == ["N1", "N4"]


def test_no_lead_in_radius_gives_an_empty_frame_with_columns(conn: Connection, leads: None) -> None:
    found = find_nearby_leads(conn, lon=LON, lat=LAT, radius_m=50)
    assert found.empty and isinstance(found, gpd.GeoDataFrame)
    assert {"rank", "distance_m", "area_district", "area_hex"} <= set(found.columns)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"radius_m": 0}, "radius_m=0 must be a positive"),
        ({"radius_m": float("nan")}, "radius_m=nan"),
        ({"limit": 0}, "limit=0 must be an integer from 1"),
        ({"lon": 200.0}, r"lon=200.0 is not a valid coordinate; pass degrees in \[-180, 180\]"),
        ({"lat": -91}, "lat=-91"),
        (
            {"categories": "cafe"},
            r"categories='cafe' must be a sequence of strings; pass \['cafe'\]",
        ),
    ],
)
def test_invalid_arguments_are_named(conn: Connection, kwargs: dict, pattern: str) -> None:
    args = {"lon": LON, "lat": LAT} | kwargs
    with pytest.raises(ValidationError, match=pattern):
        find_nearby_leads(conn, **args)


@pytest.fixture
def customers_and_addresses(conn: Connection) -> None:
    conn.execute(
        text(
            "INSERT INTO gcrm.customer_records (external_id, name, segment, status, signup_date, geom, "
            "geocode_precision, geocode_score, geocode_source) VALUES "
            "('C1', 'Aino', 'retail', 'active', '2025-01-01', "
            " ST_SetSRID(ST_MakePoint(24.93, 60.16), 4326), 'rooftop', 1, 't'), "
            "('C9', 'Lost', 'retail', 'active', '2025-01-01', NULL, 'none', 0, 't')"
        )
    )
    raw = pd.DataFrame(
        {
            "ref": ["A1"],
            "street": ["Mannerheimintie"],
            "housenumber": ["10"],
            "postcode": ["00100"],
            "city": ["Helsinki"],
        }
    )
    norm = normalize_address_fields(raw).drop(columns="unit")
    points = gpd.GeoDataFrame(
        pd.concat([raw, norm], axis=1).assign(source="test"),
        geometry=gpd.points_from_xy([24.9385], [60.1699]),
        crs="EPSG:4326",
    ).rename_geometry("geom")
    copy_frame(conn, "gcrm.address_points", points)


def test_resolve_origin_from_each_kind(conn: Connection, customers_and_addresses: None) -> None:
    assert resolve_origin(conn, lon=24.9, lat=60.1) == Origin(
        24.9, 60.1, "60.10000, 24.90000", "coordinates"
    )
    customer = resolve_origin(conn, customer_id="C1")
    assert (customer.lon, customer.lat, customer.precision) == (24.93, 60.16, "rooftop")
    assert "Aino" in customer.label
    address = resolve_origin(conn, address="Mannerheimintie 10, 00100 Helsinki")
    assert address.lon == pytest.approx(24.9385) and address.lat == pytest.approx(60.1699)
    assert address.precision == "rooftop"
    assert address.matched_address == "Mannerheimintie 10, 00100 Helsinki"
    assert customer.matched_address is None


def test_resolve_origin_errors(conn: Connection, customers_and_addresses: None) -> None:
    with pytest.raises(ValidationError, match="exactly one origin"):
        resolve_origin(conn, address="Mannerheimintie 10", customer_id="C1")
    with pytest.raises(ValidationError, match="exactly one origin"):
        resolve_origin(conn)
    with pytest.raises(ValidationError, match="both coordinates or neither"):
        resolve_origin(conn, lon=24.9)
    with pytest.raises(NotFoundError, match="customer_id='C404' is not in gcrm.customers"):
        resolve_origin(conn, customer_id="C404")
    with pytest.raises(NotFoundError, match="customer_id='C9' has no location"):
        resolve_origin(conn, customer_id="C9")
    with pytest.raises(GeocodingError, match="could not be geocoded"):
        resolve_origin(conn, address="Qwxyzgatan 99, 99999 Nowhereville")
