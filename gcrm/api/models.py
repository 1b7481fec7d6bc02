"""What each route takes and answers, stated once as pydantic models.

The query models validate every request (:func:`gcrm.api.params.parse_query`) and, with the
answer models, write the OpenAPI document (:mod:`gcrm.api.openapi`): a bound, a default or a
description changed here changes both.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from gcrm.core import PRECISIONS, parse_area_id
from gcrm.cube import (
    CORRECTIONS,
    FORECAST_MEASURES,
    HOTSPOT_CLASSES,
    HOTSPOT_METHODS,
    ISLAND_RULES,
)

__all__ = [
    "MAX_BATCH",
    "AddressParts",
    "ApiQuery",
    "CubeRow",
    "CubeSliceQuery",
    "ForecastAnswer",
    "ForecastBacktest",
    "ForecastMonth",
    "ForecastQuery",
    "ForecastTotal",
    "Customer",
    "CustomerPage",
    "CustomerPath",
    "CustomersQuery",
    "ErrorBody",
    "GeocodeAnswer",
    "GeocodeBatch",
    "GeocodeBody",
    "GeocodeQuery",
    "Health",
    "HotspotCollection",
    "HotspotFeature",
    "HotspotProperties",
    "HotspotsQuery",
    "LeadCollection",
    "LeadsNearQuery",
    "NoQuery",
    "ReverseAnswer",
    "ReverseQuery",
]

#: Most addresses one POST /api/geocode may carry.
MAX_BATCH = 10_000
#: No NUL character: PostgreSQL text cannot hold one.
NO_NUL = r"^[^\x00]*$"

#: A short text: a name, an id, a category. A blank parameter counts as absent, so only
#: required ones say ``min_length=1``.
Word = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]
#: A one-line address.
AddressText = Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)]
#: A part of an address in a POST body: text, or a number (a house number, a postcode).
AddressPart = AddressText | int | float | None


class ApiQuery(BaseModel):
    """The query string of a route; ``example`` is a call that works, and ``together`` names
    parameters that only go together, for error messages."""

    model_config = ConfigDict(frozen=True)
    example: ClassVar[str] = "/api/docs"
    together: ClassVar[tuple[str, ...]] = ()


class NoQuery(ApiQuery):
    """A route that takes no query parameters (any is refused, as a typo would be)."""


class LeadsNearQuery(ApiQuery):
    """Leads near exactly one origin: ``lon`` and ``lat``, an ``address`` or a ``customer_id``."""

    example: ClassVar[str] = "/api/leads/near?lon=24.94&lat=60.17&radius_m=500"

    lon: float | None = Field(
        None, ge=-180, le=180, allow_inf_nan=False, examples=[24.94],
        description="Longitude of the origin, degrees (EPSG:4326); with lat.",
    )  # fmt: skip
    lat: float | None = Field(
        None, ge=-90, le=90, allow_inf_nan=False, examples=[60.17],
        description="Latitude of the origin, degrees (EPSG:4326); with lon.",
    )  # fmt: skip
    address: AddressText | None = Field(
        None, examples=["Mannerheimintie 10, Helsinki"],
        description="The origin as an address, geocoded on the reference.",
    )  # fmt: skip
    customer_id: Word | None = Field(
        None, examples=["C000042"], description="The origin at a customer (its external id)."
    )
    radius_m: float = Field(
        1000.0, ge=1, le=50_000, allow_inf_nan=False, examples=[500],
        description="Search radius in metres (on the spheroid).",
    )  # fmt: skip
    limit: int = Field(50, ge=1, le=1000, examples=[20], description="At most this many leads.")
    category: list[Word] | None = Field(
        None, examples=[["cafe"]],
        description="Keep these categories (repeat the parameter or separate with commas).",
    )  # fmt: skip
    zoning_class: list[Word] | None = Field(
        None, examples=[["commercial"]],
        description="Keep leads in these zoning classes (repeat or separate with commas).",
    )  # fmt: skip

    @model_validator(mode="after")
    def _one_origin(self) -> LeadsNearQuery:
        given = [
            name
            for name, present in (
                ("lon/lat", self.lon is not None or self.lat is not None),
                ("address", self.address is not None),
                ("customer_id", self.customer_id is not None),
            )
            if present
        ]
        if len(given) != 1:
            msg = (
                f"origin given as {given or 'nothing'}; pass exactly one of lon and lat, "
                "address, or customer_id"
            )
            raise ValueError(msg)
        if given == ["lon/lat"] and (self.lon is None or self.lat is None):
            msg = f"lon={self.lon!r}, lat={self.lat!r}: pass both lon and lat"
            raise ValueError(msg)
        return self


class _SliceQuery(ApiQuery):
    """A slice of the cube: one measure for the areas of a level, of a period and segment
    (and, for revenue and orders, of a channel or a branch)."""

    level: Word = Field(min_length=1, examples=["district"], description="An area level.")
    measure: Word = Field(min_length=1, examples=["revenue"], description="A cube measure.")
    period: Word | None = Field(
        None, examples=["2025-Q1"],
        description="2025, 2025-Q1, 2025-03, or all [default: the whole time range].",
    )  # fmt: skip
    segment: Word | None = Field(None, examples=["smb"], description="One segment [default: all].")
    channel: Word | None = Field(
        None, examples=["web"],
        description="Orders of one channel: revenue and orders only, not with branch "
        "[default: all].",
    )  # fmt: skip
    branch: Word | None = Field(
        None, examples=["B01"],
        description="Orders of one branch (its code; none: orders without a branch): revenue "
        "and orders only, not with channel [default: all].",
    )  # fmt: skip
    parent: Word | None = Field(
        None, examples=["district:D01"], description="Only areas inside this one (LEVEL:CODE)."
    )


class CubeSliceQuery(_SliceQuery):
    """One measure for every area of a level."""

    example: ClassVar[str] = "/api/cube/slice?level=district&measure=revenue"

    compare: Word | None = Field(
        None, examples=["previous"],
        description="With a period: compare it with the previous period of the same grain "
        "(previous: 2025-03 with 2025-02, 2025-Q1 with 2024-Q4), the same period a year "
        "earlier (yoy), or another period of the same grain (2024-Q1); rows then carry base, "
        "change and pct_change.",
    )  # fmt: skip


class HotspotsQuery(_SliceQuery):
    """Hot and cold spots of one measure over the areas of a level."""

    example: ClassVar[str] = "/api/hotspots?level=district&measure=revenue&method=gi"

    method: Literal[tuple(HOTSPOT_METHODS)] = Field(  # type: ignore[valid-type]
        "gi", examples=["gi"],
        description="gi: Getis-Ord Gi* (hot and cold spots); moran: local Moran's I.",
    )  # fmt: skip
    alpha: float = Field(
        0.05, gt=0, lt=1, allow_inf_nan=False, examples=[0.05],
        description="Significance level, compared with the adjusted p-values.",
    )  # fmt: skip
    correction: Literal[tuple(CORRECTIONS)] = Field(  # type: ignore[valid-type]
        "fdr", examples=["fdr"],
        description="Multiple-testing correction: fdr (Benjamini-Hochberg), bonferroni, none.",
    )  # fmt: skip
    permutations: int = Field(
        999, ge=99, le=9999, examples=[999],
        description="Conditional permutations for the pseudo p-values.",
    )  # fmt: skip
    seed: int = Field(
        0, ge=0, le=2**32 - 1, examples=[0],
        description="Seed of the permutations: the same seed gives the same answer.",
    )  # fmt: skip
    islands: Literal[tuple(ISLAND_RULES)] = Field(  # type: ignore[valid-type]
        "nearest", examples=["nearest"],
        description="An area with no contiguous neighbour: join it to the nearest, or exclude it.",
    )  # fmt: skip


class ForecastQuery(ApiQuery):
    """A measure's next months for one area, or the total of a level's areas."""

    example: ClassVar[str] = "/api/cube/forecast?measure=revenue&level=district&horizon=12"

    measure: Literal[FORECAST_MEASURES] = Field(  # type: ignore[valid-type]
        "revenue", examples=["revenue"],
        description="A measure that changes month by month (flows, stocks and their rates).",
    )  # fmt: skip
    area: Word | None = Field(
        None, examples=["district:D01"],
        description="Forecast this area (LEVEL:CODE) [default: the total of level].",
    )  # fmt: skip
    level: Word | None = Field(
        None, examples=["district"],
        description="Without area: the level whose areas are totalled [default: the top level].",
    )  # fmt: skip
    segment: Word | None = Field(None, examples=["smb"], description="One segment [default: all].")
    horizon: int = Field(12, ge=1, le=60, examples=[12], description="Months to forecast.")


class GeocodeQuery(ApiQuery):
    """One address."""

    example: ClassVar[str] = "/api/geocode?address=Mannerheimintie%2010,%20Helsinki"

    address: AddressText = Field(
        min_length=1, examples=["Mannerheimintie 10, 00100 Helsinki"], description="One line."
    )


class ReverseQuery(ApiQuery):
    """A point, and how far from it an address may be."""

    example: ClassVar[str] = "/api/reverse?lon=24.9402&lat=60.1692"
    together: ClassVar[tuple[str, ...]] = ("lon", "lat")

    lon: float = Field(
        ge=-180, le=180, allow_inf_nan=False, examples=[24.9402], description="Degrees (EPSG:4326)."
    )
    lat: float = Field(
        ge=-90, le=90, allow_inf_nan=False, examples=[60.1692], description="Degrees (EPSG:4326)."
    )
    max_distance_m: float = Field(
        250.0, ge=1, le=10_000, allow_inf_nan=False, examples=[250],
        description="How far the nearest address may be, in metres.",
    )  # fmt: skip


class CustomersQuery(ApiQuery):
    """A page of customers, by id."""

    example: ClassVar[str] = "/api/customers?area=district:D01&limit=100&offset=0"

    area: Word | None = Field(
        None, examples=["district:D01"],
        description="Only the customers in this area (LEVEL:CODE), by their enriched area codes.",
    )  # fmt: skip
    limit: int = Field(100, ge=1, le=1000, examples=[100], description="Customers per page.")
    offset: int = Field(
        0, ge=0, le=100_000_000, examples=[0], description="Customers to skip (next_offset)."
    )

    @field_validator("area")
    @classmethod
    def _area_id(cls, value: str | None) -> str | None:
        if value is not None:
            parse_area_id(value, argument="area")
        return value


class CustomerPath(ApiQuery):
    """One customer."""

    example: ClassVar[str] = "/api/customers/C000042"

    customer_id: Word = Field(
        min_length=1, examples=["C000042"], description="The customer's external id."
    )


class AddressParts(BaseModel):
    """An address in parts (any may be missing), or one line as ``address``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    street: AddressPart = None
    housenumber: AddressPart = None
    postcode: AddressPart = None
    city: AddressPart = None
    address: AddressPart = None


class GeocodeBatch(BaseModel):
    """Addresses to geocode, in order: one-line strings or objects in parts.

    The body may also be the list on its own.
    """

    addresses: list[AddressText | AddressParts] = Field(
        max_length=MAX_BATCH,
        examples=[["Mannerheimintie 10, Helsinki", {"street": "Bulevardi", "housenumber": "2"}]],
    )


#: The body of POST /api/geocode: ``{"addresses": [...]}``, or the list on its own.
GeocodeBody = (
    GeocodeBatch | Annotated[list[AddressText | AddressParts], Field(max_length=MAX_BATCH)]
)


# The answers.


class ErrorBody(BaseModel):
    """Every error: what went wrong, naming the argument, the value and the fix."""

    error: str
    status: int = Field(ge=400, le=599)


class Health(BaseModel):
    """Whether the database answers and the cube loads."""

    status: Literal["ok", "unavailable"]
    database: str
    cube: str


class ForecastMonth(BaseModel):
    """One forecast month: the forecast and its 80% and 95% prediction intervals."""

    month: str = Field(examples=["2026-01"])
    forecast: float | None
    lower_80: float | None
    upper_80: float | None
    lower_95: float | None
    upper_95: float | None


class ForecastTotal(BaseModel):
    """The next ``months`` together (flows summed; stocks and rates at the last month)."""

    months: int = Field(ge=1)
    forecast: float | None
    lower_80: float | None
    upper_80: float | None
    lower_95: float | None
    upper_95: float | None


class ForecastBacktest(BaseModel):
    """The model against the same month last year on the last months of the history."""

    model: str
    months: int = Field(ge=1, description="Months held out and forecast.")
    mae_model: float | None
    mae_naive: float | None = Field(description="Mean absolute error of the same month last year.")
    pct_metric: Literal["MAPE", "sMAPE"]
    pct_model: float | None
    pct_naive: float | None
    better: Literal["model", "naive", "tie"]
    description: str


class ForecastAnswer(BaseModel):
    """A forecast from the cube's own history, with its intervals and backtest."""

    measure: str
    target: str
    segment: str
    model: str
    history_months: int = Field(ge=0)
    unit: str = Field(description="The measure's unit (the region's currency for money).")
    months: list[ForecastMonth]
    totals: list[ForecastTotal]
    backtest: ForecastBacktest | None = Field(
        description="Null when the history is too short for one (the notes say why)."
    )
    notes: list[str]


class CubeRow(BaseModel):
    """One area's value (null where it cannot be computed, e.g. a ratio over zero); with
    ``compare``, also the value in the compared period, the change and the change relative to
    the base (null where the base is 0 or missing)."""

    area: str
    code: str
    name: str
    value: float | None
    base: float | None = None
    change: float | None = None
    pct_change: float | None = None


#: Every class of either hot spot method.
_CLUSTERS = tuple(dict.fromkeys(c for classes in HOTSPOT_CLASSES.values() for c in classes))


class HotspotProperties(BaseModel):
    """One area: its value, statistic, p-values and class (nulls where it was not tested)."""

    area: str
    level: str
    code: str
    name: str
    value: float | None
    neighbours: int = Field(ge=0, description="Neighbours in the weights (after islands).")
    island: bool = Field(description="True when the area has no contiguous neighbour.")
    statistic: float | None = Field(description="Gi* z-score, or local Moran's I.")
    p_value: float | None = Field(description="Two-sided pseudo p-value (permutations).")
    p_adjusted: float | None = Field(description="The p-value after the correction.")
    cluster: Literal[_CLUSTERS]  # type: ignore[valid-type]


class AreaGeometry(BaseModel):
    """A GeoJSON polygon or multipolygon in EPSG:4326."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any]


class HotspotFeature(BaseModel):
    """One area, its id the area id."""

    type: Literal["Feature"]
    id: str
    properties: HotspotProperties
    geometry: AreaGeometry


class HotspotCollection(BaseModel):
    """The areas as a GeoJSON FeatureCollection, with what was tested as foreign members."""

    type: Literal["FeatureCollection"]
    features: list[HotspotFeature]
    method: str
    method_label: str
    level: str
    measure: str
    period: str
    segment: str
    parent: str
    channel: str = Field("all", description="The channel of the orders tested (all: every one).")
    branch: str = Field("all", description="The branch of the orders tested (all: every one).")
    alpha: float
    correction: str
    correction_label: str
    permutations: int
    seed: int
    n_areas: int = Field(description="Areas tested.")
    weights: str
    p_value: str = Field(description="How the p-values are computed.")
    islands: str = Field(description="What happened to areas with no contiguous neighbour.")
    island_ids: list[str]
    island_crs: str = Field(description="The metric CRS nearest areas were found in.")
    note: str
    description: str = Field(description="All of the above, in words.")


class GeocodeAnswer(BaseModel):
    """Where an address is, how precisely, and which reference address matched."""

    lon: float | None
    lat: float | None
    precision: Literal[PRECISIONS]  # type: ignore[valid-type]
    score: float = Field(ge=0, le=1)
    source: str
    matched_address: str | None


class ReverseAnswer(BaseModel):
    """The nearest reference address to a point."""

    address: str | None
    ref: str
    distance_m: float
    lon: float
    lat: float


_AREA_CODES: dict[str, Any] = {
    "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    "description": "Also area_<level>: the area code at every level (null where none).",
}


class LeadProperties(BaseModel):
    """A lead, its distance and rank, and its area codes (``area_<level>``)."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_AREA_CODES)

    rank: int
    external_id: str
    name: str
    category_group: str
    category: str
    street: str | None
    housenumber: str | None
    postcode: str | None
    city: str | None
    phone: str | None
    website: str | None
    source: str
    zoning_class: str | None
    road_class: str | None
    road_name: str | None
    road_distance_m: float | None
    distance_m: float


class PointGeometry(BaseModel):
    """A GeoJSON point, [lon, lat] in EPSG:4326."""

    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=2)


class LeadFeature(BaseModel):
    """One lead."""

    type: Literal["Feature"]
    properties: LeadProperties
    geometry: PointGeometry


class SearchOrigin(BaseModel):
    """Where the search started and how precisely that is known."""

    lon: float
    lat: float
    label: str
    precision: str


class LeadCollection(BaseModel):
    """Leads nearest first, as a GeoJSON FeatureCollection with a foreign member ``origin``."""

    type: Literal["FeatureCollection"]
    features: list[LeadFeature]
    origin: SearchOrigin


class Customer(BaseModel):
    """A customer: who, where, how well placed, and in which areas (``area_<level>``)."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_AREA_CODES)

    id: str = Field(description="The customer's id: its external id, the CRM's.")
    external_id: str
    name: str
    street: str | None
    housenumber: str | None
    postcode: str | None
    city: str | None
    address: str | None = Field(description="The address on one line.")
    segment: str
    status: str
    geocode_precision: str
    geocode_score: float
    lon: float | None
    lat: float | None


class CustomerPage(BaseModel):
    """One page of customers by id; ``next_offset`` is null on the last page."""

    customers: list[Customer]
    limit: int
    offset: int
    next_offset: int | None
