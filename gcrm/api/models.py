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
    RootModel,
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
from gcrm.territories import DESIGN_CRITERIA

__all__ = [
    "MAX_BATCH",
    "MAX_DESIGN_UNITS",
    "MAX_PLAN_MOVES",
    "MAX_PLAN_TERRITORIES",
    "REPORT_MEDIA_TYPES",
    "AddressParts",
    "ApiQuery",
    "CampaignAreaResult",
    "CampaignPath",
    "CampaignResults",
    "CampaignResultsQuery",
    "CampaignSummary",
    "ChurnRiskCustomer",
    "ChurnRiskList",
    "ChurnRiskQuery",
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
    "BacktestFigures",
    "LeadCollection",
    "LeadScore",
    "LeadScorePath",
    "LeadsNearQuery",
    "LeadsWithinBody",
    "LeadsWithinQuery",
    "PolygonFeature",
    "PlanCollection",
    "PlanDesignBody",
    "PlanDetail",
    "PlanDiffAnswer",
    "PlanDiffQuery",
    "PlanEvaluation",
    "PlanFigures",
    "PlanFlow",
    "PlanHeader",
    "PlanMovedUnit",
    "PlanMovesBody",
    "PlanPath",
    "PlanPublication",
    "PlanPublishBody",
    "PlanQuery",
    "PlanReportQuery",
    "PlanRepTerritory",
    "PlanReps",
    "PlanRepsBody",
    "PlanSummary",
    "PlanTerritory",
    "PlanTerritoryFeature",
    "PlanUnit",
    "PlanVersionBody",
    "PolygonGeometry",
    "ScoreBacktest",
    "ScoreReason",
    "ScoreRun",
    "NoQuery",
    "ReverseAnswer",
    "ReverseQuery",
    "RouteAnswer",
    "RouteBody",
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


class _LeadFilters(ApiQuery):
    """What every lead search takes besides where: how many, which, in what order."""

    limit: int = Field(50, ge=1, le=1000, examples=[20], description="At most this many leads.")
    category: list[Word] | None = Field(
        None, examples=[["cafe"]],
        description="Keep these categories (repeat the parameter or separate with commas).",
    )  # fmt: skip
    zoning_class: list[Word] | None = Field(
        None, examples=[["commercial"]],
        description="Keep leads in these zoning classes (repeat or separate with commas).",
    )  # fmt: skip
    area: Word | None = Field(
        None, examples=["district:D01"], description="Only leads in this area (LEVEL:CODE)."
    )
    min_score: float | None = Field(
        None, ge=0, le=1, allow_inf_nan=False, examples=[0.7],
        description="Only leads whose lead score is at least this (unscored leads are left "
        "out); sorts by score unless sort is given.",
    )  # fmt: skip
    customers: Literal["exclude", "only", "include"] = Field(
        "exclude", examples=["exclude"],
        description="Leads that are already customers (a customer record names the lead, or "
        "a customer of the same name stands within 50 m): leave them out, keep only them, or "
        "include them.",
    )  # fmt: skip
    sort: Literal["distance", "drive_time", "score"] | None = Field(
        None, examples=["score"],
        description="distance (radius searches), drive_time (with minutes) or score (best "
        "first, unscored last) [default: the search's own measure; score with min_score; "
        "leads within an area by id].",
    )  # fmt: skip


class LeadsNearQuery(_LeadFilters):
    """Leads near exactly one origin: ``lon`` and ``lat``, an ``address`` or a ``customer_id``;
    within ``radius_m`` or ``minutes`` of driving."""

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
    radius_m: float | None = Field(
        None, ge=1, le=50_000, allow_inf_nan=False, examples=[500],
        description="Search radius in metres (on the spheroid) [default: 1000]; not with "
        "minutes.",
    )  # fmt: skip
    minutes: float | None = Field(
        None, gt=0, le=180, allow_inf_nan=False, examples=[15],
        description="Drive time by road from the origin, minutes; rows carry drive_time_s "
        "and come quickest first. Not with radius_m.",
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
        if self.radius_m is not None and self.minutes is not None:
            msg = (
                f"radius_m={self.radius_m:g} and minutes={self.minutes:g} are mutually "
                "exclusive; search by one of them"
            )
            raise ValueError(msg)
        return self


class LeadsWithinQuery(_LeadFilters):
    """Leads inside an area (GET: ``area`` required) or inside the polygon POSTed as the body
    (then ``area`` narrows it further)."""

    example: ClassVar[str] = "/api/leads/within?area=district:D01&category=cafe"


class PolygonGeometry(BaseModel):
    """A GeoJSON Polygon or MultiPolygon, [lon, lat] in EPSG:4326."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any] = Field(min_length=1)


class PolygonFeature(BaseModel):
    """A GeoJSON Feature whose geometry is a Polygon or MultiPolygon."""

    type: Literal["Feature"]
    geometry: PolygonGeometry
    properties: dict[str, Any] | None = None


#: The body of POST /api/leads/within: a Polygon or MultiPolygon, or a Feature holding one.
LeadsWithinBody = PolygonGeometry | PolygonFeature


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


class _CustomerAreaQuery(ApiQuery):
    """A customer read limited to one area: the ``area`` parameter, checked as an area id."""

    area: Word | None = Field(
        None, examples=["district:D01"],
        description="Only the customers in this area (LEVEL:CODE), by their enriched area codes.",
    )  # fmt: skip

    @field_validator("area")
    @classmethod
    def _area_id(cls, value: str | None) -> str | None:
        if value is not None:
            parse_area_id(value, argument="area")
        return value


class CustomersQuery(_CustomerAreaQuery):
    """A page of customers, by id."""

    example: ClassVar[str] = "/api/customers?area=district:D01&limit=100&offset=0"

    limit: int = Field(100, ge=1, le=1000, examples=[100], description="Customers per page.")
    offset: int = Field(
        0, ge=0, le=100_000_000, examples=[0], description="Customers to skip (next_offset)."
    )


class CustomerPath(ApiQuery):
    """One customer."""

    example: ClassVar[str] = "/api/customers/C000042"

    customer_id: Word = Field(
        min_length=1, examples=["C000042"], description="The customer's external id."
    )


class CampaignPath(ApiQuery):
    """One campaign, by id or name."""

    example: ClassVar[str] = "/api/campaigns/1/results?level=district"

    campaign: Word = Field(min_length=1, examples=["1"], description="The campaign's id or name.")


class CampaignResultsQuery(ApiQuery):
    """The level of a campaign's results, and which outcomes count as a response."""

    example: ClassVar[str] = "/api/campaigns/1/results?level=district"

    level: Word = Field(min_length=1, examples=["district"], description="An area level.")
    outcome: list[Word] | None = Field(
        None, examples=[["ordered"]],
        description="Count only responses of these outcomes (comma-separated) [default: every one].",
    )  # fmt: skip


class LeadScorePath(ApiQuery):
    """One lead's score."""

    example: ClassVar[str] = "/api/leads/L000001/score"

    lead_id: Word = Field(min_length=1, examples=["L000001"], description="The lead's external id.")


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


class CampaignSummary(BaseModel):
    """A campaign and its groups as the caller's scope shows them (no personal data)."""

    id: int
    name: str
    kind: Literal["customers", "leads"]
    status: str
    starts_on: str = Field(examples=["2026-03-01"], description="Orders from this day count.")
    size_cap: int | None
    control_share: float = Field(ge=0, lt=1)
    seed: int
    created_by: str
    created_at: str
    targets: int = Field(ge=0)
    controls: int = Field(ge=0)


class CampaignAreaResult(BaseModel):
    """Targets and controls of one area (or of all: ``area`` "all"), their response rates,
    the uplift with its interval, and revenue per member since the start (null where no
    order is, or for leads)."""

    area: str
    code: str | None
    name: str | None
    targets: int = Field(ge=0)
    controls: int = Field(ge=0)
    target_responders: int = Field(ge=0)
    control_responders: int = Field(ge=0)
    target_rate: float | None
    control_rate: float | None
    uplift: float | None = Field(description="Target rate minus control rate.")
    uplift_low: float | None
    uplift_high: float | None
    target_revenue_per_member: float | None
    control_revenue_per_member: float | None
    revenue_uplift: float | None


class CampaignResults(BaseModel):
    """A campaign's results per area of one level and overall, in the caller's scope."""

    campaign: str
    campaign_id: int
    kind: Literal["customers", "leads"]
    level: str
    outcomes: list[str] = Field(description="The outcomes counted (empty: every one).")
    confidence: float = Field(description="The confidence of the uplift interval (Wald).")
    starts_on: str
    areas: list[CampaignAreaResult]
    overall: CampaignAreaResult


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
    distance_m: float | None = Field(
        description="Metres from the origin, geodesic (null: a search without an origin)."
    )
    drive_time_s: float | None = Field(
        None, description="Seconds by road from the origin (searches with minutes only)."
    )
    score: float | None = Field(
        description="The lead score in [0, 1] (gcrm leads score); null: not scored."
    )
    percentile: float | None = Field(description="The score's percentile among all leads.")
    reasons: list[str] | None = Field(
        description="The features that raised or lowered the score most, in words."
    )


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
    """Leads in rank order, as a GeoJSON FeatureCollection with a foreign member ``origin``
    (null for leads within an area or polygon)."""

    type: Literal["FeatureCollection"]
    features: list[LeadFeature]
    origin: SearchOrigin | None


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
    category_group: str = Field(
        description="The business category's group (SMB and corporate customers); '' for none."
    )
    category: str = Field(description="The business category, as leads have one; '' for none.")
    lead_external_id: str | None = Field(
        description="The id of the lead the customer was won from, when known."
    )
    status: str
    geocode_precision: str
    geocode_score: float
    lon: float | None
    lat: float | None
    churn_risk: float | None = Field(
        ge=0,
        le=1,
        description="Probability of churning in the next 6 months (gcrm customers churn-risk); "
        "null when not scored.",
    )
    churn_reasons: list[ScoreReason] | None = Field(
        description="The features that moved the churn risk most, in words; null when not scored."
    )
    expected_value_12m: float | None = Field(
        ge=0,
        description="Revenue expected over the next 12 months (gcrm customers value); null when "
        "not scored.",
    )
    value_reasons: list[ScoreReason] | None = Field(
        description="What the expected value rests on, in words; null when not scored."
    )
    territory: str | None = Field(
        None,
        description="The customer's territory in the published plan (gcrm territories "
        "publish); null when none is published.",
    )
    rep: str | None = Field(
        None, description="The rep of that territory; null when none is published or assigned."
    )


class CustomerPage(BaseModel):
    """One page of customers by id; ``next_offset`` is null on the last page."""

    customers: list[Customer]
    limit: int
    offset: int
    next_offset: int | None


class ScoreReason(BaseModel):
    """One of the features that moved a score most, in words."""

    feature: str
    effect: float = Field(description="Its contribution to the log-odds: > 0 raised the score.")
    text: str = Field(examples=["8 min from branch B03"])


class BacktestFigures(BaseModel):
    """How a ranking found the positives: AUC, recall and precision in its top 10 %."""

    model_config = ConfigDict(extra="allow")

    auc: float | None
    recall_top10: float | None
    precision_top10: float | None
    n: int
    positives: int


class ScoreBacktest(BacktestFigures):
    """The backtest of a score's model and of its baselines in the same run (and how it was
    run: ``cutoff``, ``hidden_customers``, ...)."""

    baselines: dict[str, BacktestFigures]


class ScoreRun(BaseModel):
    """The model run that made a score."""

    id: int
    model: str
    created_at: str = Field(description="When the run was made (ISO 8601).")
    backtest: ScoreBacktest | None = Field(description="Null when the run had no backtest.")


class LeadScore(BaseModel):
    """A lead's score in [0, 1] (higher looks more like the customers that matter), its
    percentile among all leads, the three features that moved it most, and its run."""

    external_id: str
    score: float = Field(ge=0, le=1)
    percentile: float = Field(ge=0, le=100)
    reasons: list[ScoreReason]
    scored_at: str
    run: ScoreRun


class ChurnRiskQuery(_CustomerAreaQuery):
    """Customers by churn risk, riskiest first."""

    example: ClassVar[str] = "/api/customers/churn-risk?area=district:D01&limit=50&min_risk=0.1"

    limit: int = Field(100, ge=1, le=1000, examples=[50], description="At most this many.")
    min_risk: float = Field(
        0.0, ge=0, le=1, examples=[0.1], description="Only customers whose risk is at least this."
    )


class ChurnRiskCustomer(BaseModel):
    """An active customer's probability of churning in the next 6 months, with its reasons."""

    id: str = Field(description="The customer's id: its external id, the CRM's.")
    name: str | None = Field(
        None, description="Only for callers who may read customers one by one (read_customers)."
    )
    segment: str
    churn_risk: float = Field(ge=0, le=1)
    revenue_12m: float | None = Field(
        description="Revenue of the 12 months before the scoring: risk x this is revenue at risk."
    )
    reasons: list[ScoreReason]
    area_codes: dict[str, str] = Field(examples=[{"district": "D01", "hex": "8911..."}])


class ChurnRiskList(BaseModel):
    """Customers by churn risk, riskiest first, and the run (with its backtest) that scored
    them; ``run`` is null before the first `gcrm customers churn-risk`."""

    customers: list[ChurnRiskCustomer]
    limit: int
    run: ScoreRun | None


class RoutePoint(BaseModel):
    """A point in degrees (EPSG:4326)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class RouteStop(RoutePoint):
    """A stop: where, an optional id, an optional time window ``["09:00", "11:00"]``."""

    id: Word | None = None
    window: tuple[Word | None, Word | None] | None = None
    service_minutes: float | None = Field(default=None, ge=0, le=600)


class RouteBody(BaseModel):
    """The body of POST /api/route: a start (a point or a branch code) and up to 200 stops."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: RoutePoint | Word
    stops: list[RouteStop] = Field(min_length=1, max_length=200)
    start_time: Word = "08:00"
    day_hours: float = Field(default=8.0, gt=0, le=24)
    service_minutes: float = Field(default=15.0, ge=0, le=600)
    returns: bool = True


class RouteAnswer(BaseModel):
    """The stops in visit order, the stops left out with a reason, totals, the path."""

    stops: list[dict[str, Any]]
    unserved: list[dict[str, Any]]
    totals: dict[str, Any]
    path: dict[str, Any]


# Territory plans (issue 13).

#: Most territories a plan designed through the API may have.
MAX_PLAN_TERRITORIES = 500
#: Most units (areas of the level) a design through the API may divide; larger levels are
#: designed with ``gcrm territories design`` (the API designs synchronously).
MAX_DESIGN_UNITS = 5_000
#: Most unit moves or locks one body may carry.
MAX_PLAN_MOVES = 100_000

#: A plan's name, as gcrm.territories.save_plan takes it.
PlanName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
#: A territory number (1..k of the plan).
TerritoryNumber = Annotated[int, Field(ge=1, le=MAX_PLAN_TERRITORIES)]
#: A criterion's weight.
BalanceWeight = Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]
_BALANCE_EXAMPLE = '{"customers": 1, "revenue": 1}'


class PlanPath(ApiQuery):
    """One stored plan."""

    example: ClassVar[str] = "/api/territories/plans/current"

    plan: Word = Field(
        min_length=1, examples=["current"],
        description="The plan: its id (12), its name (the latest version), name@version "
        "(2026 plan@2), or current.",
    )  # fmt: skip


class PlanQuery(ApiQuery):
    """How a plan is answered."""

    example: ClassVar[str] = "/api/territories/plans/current?format=geojson"

    format: Literal["json", "geojson"] = Field(
        "json", examples=["geojson"],
        description="json: the plan with its territories' figures and its units (PlanDetail); "
        "geojson: a FeatureCollection of the territories dissolved from their units, one "
        "Feature per territory (id the territory number, its figures as properties, null "
        "geometry for a territory without units), with the plan and its evaluation as "
        "foreign members (PlanCollection).",
    )  # fmt: skip


class PlanDiffQuery(ApiQuery):
    """The plan to compare with."""

    example: ClassVar[str] = "/api/territories/plans/current/diff?against=1"

    against: Word = Field(
        min_length=1, examples=["1"],
        description="The plan the path's plan is compared with (id, name, name@version or "
        "current): units move from its territories to the path plan's.",
    )  # fmt: skip


def _check_balance(balance: dict[str, float]) -> dict[str, float]:
    for name in balance:
        if name not in DESIGN_CRITERIA:
            msg = (
                f"balance criterion {name!r} is unknown; use one of {sorted(DESIGN_CRITERIA)}, "
                f"e.g. {_BALANCE_EXAMPLE}"
            )
            raise ValueError(msg)
    return balance


class PlanDesignBody(BaseModel):
    """The body of POST /api/territories/plans: design k territories of a level and save them
    as the next version of plan ``name``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: PlanName = Field(examples=["2026 plan"], description="Saving under a stored name "
                           "adds its next version.")  # fmt: skip
    level: Word = Field(
        min_length=1, examples=["district"], description="The area level whose areas are the units."
    )
    k: int = Field(
        ge=1, le=MAX_PLAN_TERRITORIES, examples=[2],
        description="Number of territories (at most the level's areas).",
    )  # fmt: skip
    balance: dict[Word, BalanceWeight] = Field(
        min_length=1, max_length=10, examples=[{"customers": 1, "revenue": 1}],
        description="Criterion -> weight: customers, active, revenue, orders, leads, population.",
    )  # fmt: skip
    adjacency: Literal["queen", "rook"] = Field(
        "queen", description="Units touching at an edge or a corner (queen), or an edge (rook)."
    )
    seed: int = Field(0, ge=0, le=2**32 - 1, description="The same seed gives the same plan.")
    iterations: int | None = Field(
        None, ge=0, le=1000, examples=[0],
        description="Rounds of merge-split search after the first descent [default: 40 x k, "
        "at most 1,000]: fewer answer sooner with a less balanced plan (0: the descent only).",
    )  # fmt: skip
    locks: dict[Word, TerritoryNumber] | None = Field(
        None, max_length=MAX_PLAN_MOVES, examples=[{"D01": 1}],
        description="Unit code -> territory (1..k): these units stay in that territory.",
    )  # fmt: skip

    _balance = field_validator("balance")(_check_balance)

    @model_validator(mode="after")
    def _locks_in_k(self) -> PlanDesignBody:
        for code, territory in (self.locks or {}).items():
            if territory > self.k:
                msg = (
                    f"locks.{code}: territory {territory} is out of 1..k; with k={self.k} "
                    f"lock units to territories 1..{self.k}"
                )
                raise ValueError(msg)
        return self


class PlanMovesBody(BaseModel):
    """The body of POST /api/territories/plans/{plan}/evaluate: units moved to other
    territories of the plan (what-if; nothing is saved)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    moves: dict[Word, TerritoryNumber] = Field(
        max_length=MAX_PLAN_MOVES, examples=[{"D01": 2}],
        description="Unit code -> its new territory (1..k of the plan).",
    )  # fmt: skip


class PlanVersionBody(PlanMovesBody):
    """The body of POST /api/territories/plans/{plan}/versions: the plan with ``moves``
    applied, saved as the next version of ``name`` [default: the plan's own name]."""

    name: PlanName | None = Field(None, examples=["2026 plan"])


#: A rep's name (null or blank: no rep).
RepName = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]


class PlanRepsBody(RootModel[dict[Word, RepName | None]]):
    """The body of PUT /api/territories/plans/{plan}/reps: territory number -> its rep
    (null or blank clears it), e.g. ``{"1": "Ann Lee", "2": null}``."""

    model_config = ConfigDict(frozen=True, strict=True)


class PlanHeader(BaseModel):
    """Which plan: id, name and version, level, number of territories, criteria."""

    id: int
    name: str
    version: int = Field(ge=1)
    parent_id: int | None = Field(description="The plan this one was made from (an edit).")
    level: str
    k: int = Field(ge=1)
    balance: dict[str, float] = Field(description="Criterion -> weight.")
    is_current: bool
    created_by: str
    created_at: str = Field(description="ISO 8601.")


class PlanSummary(PlanHeader):
    """A stored plan in the list: its header, its size and its figures when saved."""

    units: int = Field(ge=0)
    reps: int = Field(ge=0, description="Territories that have a rep.")
    figures: dict[str, Any] = Field(
        description="As saved: max_deviation (criterion -> largest share above or below the "
        "mean) and mean_polsby_popper."
    )


class PlanTerritory(BaseModel):
    """A territory of a plan: its name, rep and base, and its figures in the caller's scope."""

    territory: int = Field(ge=1)
    name: str
    rep: str | None
    base: str | None
    lon: float | None = Field(description="The base's point (EPSG:4326).")
    lat: float | None
    units: int = Field(ge=0)
    totals: dict[str, float | None] = Field(description="Criterion -> the territory's total.")
    deviations: dict[str, float | None] = Field(
        description="Criterion -> share above (> 0) or below the mean territory's total "
        "(null where the criterion totals 0 in the caller's scope)."
    )
    polsby_popper: float = Field(ge=0, description="Compactness: 1 is a disc.")
    moment_of_inertia: float = Field(
        ge=0, description="Compactness, normalised moment of inertia: 1 is a disc."
    )
    contiguous: bool


class PlanFigures(BaseModel):
    """A plan's figures computed now, on the units' weights in the caller's scope."""

    max_deviation: dict[str, float | None] = Field(
        description="Criterion -> the largest share above or below the mean."
    )
    mean_polsby_popper: float | None
    mean_moment_of_inertia: float | None
    contiguous: bool = Field(description="True when every territory is in one piece.")
    islands: list[str] = Field(
        description="Units that touch no other unit (joined to the nearest)."
    )
    seconds: float = Field(ge=0, description="Time taken by the evaluation.")


class PlanUnit(BaseModel):
    """A unit (an area of the plan's level) and its territory."""

    code: str
    name: str | None
    territory: int = Field(ge=1)


class PlanDetail(PlanHeader):
    """A plan with its territories' figures (evaluated now, in the caller's scope) and units."""

    settings: dict[str, Any] = Field(description="How it was made (method, seed, locks, ...).")
    figures: dict[str, Any] = Field(description="Its figures when saved.")
    evaluation: PlanFigures
    territories: list[PlanTerritory]
    units: list[PlanUnit]


class PlanTerritoryFeature(BaseModel):
    """A territory dissolved from its units; ``id`` is the territory number."""

    type: Literal["Feature"]
    id: int
    properties: PlanTerritory
    geometry: AreaGeometry | None


class PlanCollection(BaseModel):
    """A plan's territories as a GeoJSON FeatureCollection (EPSG:4326), with the plan and its
    evaluation as foreign members."""

    type: Literal["FeatureCollection"]
    features: list[PlanTerritoryFeature]
    plan: PlanHeader
    evaluation: PlanFigures


class PlanEvaluation(BaseModel):
    """A plan's territories after moving units (what-if; nothing saved)."""

    plan: PlanHeader
    moved: int = Field(ge=0, description="Units whose territory the moves change.")
    evaluation: PlanFigures
    territories: list[PlanTerritory]


class PlanMovedUnit(BaseModel):
    """A unit in another territory in the second plan, with its weights."""

    code: str
    name: str | None
    from_territory: int
    from_name: str | None
    to_territory: int
    to_name: str | None
    customers: float
    revenue: float


class PlanFlow(BaseModel):
    """Units moving from one territory to another, and their customers and revenue."""

    from_territory: int
    from_name: str | None
    to_territory: int
    to_name: str | None
    units: int = Field(ge=1)
    customers: float
    revenue: float


class PlanDiffAnswer(BaseModel):
    """What changes from plan ``against`` (``a``) to the path's plan (``b``)."""

    a: PlanHeader
    b: PlanHeader
    units: int = Field(ge=0, description="Units of the level in both plans.")
    moved_share: float = Field(ge=0, le=1, description="Share of those units that move.")
    summary: dict[str, Any] = Field(
        description="The headline figures: units, units_moved, units_moved_share, and for "
        "customers and revenue the total, the part that moves and its share "
        "(customers_moved, customers_moved_share, ...), in the caller's scope."
    )
    moved: list[PlanMovedUnit]
    flows: list[PlanFlow]


class PlanRepTerritory(BaseModel):
    """A territory's name and rep."""

    territory: int = Field(ge=1)
    name: str
    rep: str | None


class PlanReps(BaseModel):
    """A plan's territories with their reps, after the change."""

    id: int
    name: str
    version: int
    territories: list[PlanRepTerritory]


#: A level a plan is published as (``gcrm.area_levels`` checks the same pattern).
PublishedLevelName = Annotated[
    str, StringConstraints(min_length=1, max_length=58, pattern=r"^[a-z][a-z0-9_]*$")
]
#: The formats of a plan's report, and the media type each is sent as.
REPORT_MEDIA_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "gpkg": "application/geopackage+sqlite3",
    "html": "text/html",
}


class PlanPublishBody(BaseModel):
    """The body of POST /api/territories/plans/{plan}/publish (optional: the defaults
    publish as level ``territory`` and rebuild the cube)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    level: PublishedLevelName = Field(
        "territory", examples=["territory"],
        description="The area level the territories become (lower-case letters, digits and "
        "underscores); their units go to <level>_unit. A level of imported areas is refused.",
    )  # fmt: skip
    cube: bool = Field(
        True,
        description="Rebuild the cube afterwards (the server loads it at its next read), so "
        "the dashboard and reports have the territories; false: run `gcrm cube build` later.",
    )


class PlanPublication(BaseModel):
    """A plan published: where its territories and units are, how many points carry them."""

    id: int = Field(description="The publication.")
    level: str = Field(description="The level whose areas are the territories.")
    unit_level: str = Field(description="The level of the units, nested under it.")
    plan_id: int
    plan_label: str = Field(description="name@version (#id).")
    plan_level: str = Field(description="The plan's own unit level.")
    territories: int = Field(ge=0)
    units: int = Field(ge=0)
    placed: dict[str, int] = Field(
        description="Entity (customers, leads) -> points given a territory."
    )
    totals: dict[str, int] = Field(description="Entity -> all its points.")
    published_by: str
    published_at: str = Field(description="ISO 8601.")
    cube_rebuilt: bool = Field(description="Whether the cube was rebuilt with the territories.")
    summary: str = Field(description="One paragraph saying what was published where.")
    notes: list[str] = Field(description="What is left to do (a cube not rebuilt, and why).")


class PlanReportQuery(ApiQuery):
    """Which file of a published plan's report."""

    example: ClassVar[str] = "/api/territories/plans/current/report?format=pdf"

    format: Literal["pdf", "xlsx", "gpkg", "html"] = Field(
        "pdf", examples=["xlsx"],
        description="pdf: a cover with every territory's balance, then a page per territory "
        "(map, KPIs, balance, top customers); xlsx: a summary sheet and a sheet per "
        "territory; gpkg: the territories' polygons with their KPIs (QGIS); html: an offline "
        "page with a map.",
    )  # fmt: skip
