"""The importers' contracts: which columns each layer has, how it is checked and stored.

One :class:`LayerSpec` per layer kind; the file importers, the in-memory importer and the
OSM converter all read their columns from here, so they never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gcrm.core import BUILDING_USES, ZONE_CLASSES, ValidationError

__all__ = [
    "DEFAULT_FIELD_LIMIT",
    "FIELD_LIMITS",
    "LAYERS",
    "LayerSpec",
    "field_limit",
    "layer_spec",
]

#: The most characters a text field of an import may hold. A longer value is rejected with
#: its row and the reason, never cut: a 2 MB "name" is a broken export, not a name. Ids 100;
#: names 200; a street 300 (the longest real ones are under 100); e-mail 254 (the longest
#: address SMTP carries, RFC 5321); phone 50; a URL 2048 (what browsers and servers accept).
FIELD_LIMITS: dict[str, int] = {
    # identifiers (the file's and gcrm's names for them)
    "customer_id": 100,
    "external_id": 100,
    "lead_external_id": 100,
    "order_id": 100,
    "ref": 100,
    "code": 100,
    "parent_code": 100,
    "branch_code": 100,
    # names
    "name": 200,
    "label": 200,
    # address parts
    "street": 300,
    "house_number": 50,
    "housenumber": 50,
    "unit": 50,
    "postcode": 20,
    "city": 100,
    # contact
    "email": 254,
    "phone": 50,
    "website": 2048,
    # classes, categories, levels
    "segment": 100,
    "status": 50,
    "channel": 100,
    "class": 100,
    "use": 100,
    "building": 100,
    "landuse": 100,
    "surface": 100,
    "category_group": 100,
    "category": 100,
    "level": 100,
    "measure": 100,
    # provenance
    "source": 300,
    "vintage": 50,
    "method": 300,
    "derivation": 300,
    # what gcrm writes for a geocoded lead, and a lead file's other columns (as JSON)
    "geocode_precision": 20,
    "geocode_source": 100,
    "matched_address": 500,
    "attributes": 100_000,
}
#: The limit of a stored text field not named in :data:`FIELD_LIMITS`.
DEFAULT_FIELD_LIMIT = 1000

_POINT = (
    "CASE WHEN GeometryType(s.geom) = 'POINT' THEN s.geom "
    "ELSE ST_PointOnSurface(ST_MakeValid(s.geom)) END"
)
_MULTIPOLYGON = "ST_Multi(ST_CollectionExtract(ST_MakeValid(s.geom), 3))"
_LINESTRING = "s.geom"


@dataclass(frozen=True)
class LayerSpec:
    """How one kind of layer is validated and loaded."""

    kind: str
    table: str
    key: tuple[str, ...]
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    family: str | None = None  # Point / LineString / Polygon; None: a plain table
    geom_sql: str = "s.geom"
    numeric: tuple[str, ...] = ()
    boolean: tuple[str, ...] = ()
    lowercase: tuple[str, ...] = ()
    allowed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    not_empty: tuple[str, ...] = ()
    #: Stored columns gcrm fills itself, not a file's (a geocoded lead's precision, ...).
    written: tuple[str, ...] = ()
    #: SQL expressions over the staged row ``s`` for columns stored otherwise than staged.
    expressions: dict[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """The layer's fields, in file order: required, then optional."""
        return [*self.required, *self.optional]

    @property
    def stored(self) -> list[str]:
        """The columns a load writes: the fields, then what gcrm fills itself."""
        return [*self.columns, *self.written]


LAYERS: dict[str, LayerSpec] = {
    "addresses": LayerSpec(
        "addresses",
        "gcrm.address_points",
        key=("ref",),
        required=("ref", "street", "housenumber"),
        optional=("unit", "postcode", "city", "source"),
        family="Point",
        geom_sql=_POINT,
        not_empty=("street", "housenumber"),
    ),
    "postcodes": LayerSpec(
        "postcodes",
        "gcrm.postcode_points",
        key=("postcode",),
        required=("postcode",),
        optional=("city", "source"),
        family="Point",
        geom_sql=_POINT,
    ),
    "areas": LayerSpec(
        "areas",
        "gcrm.areas",
        key=("level", "code"),
        required=("level", "code", "name"),
        optional=("parent_code", "derivation"),
        family="Polygon",
        geom_sql=_MULTIPOLYGON,
        lowercase=("level",),
        not_empty=("name",),
    ),
    "area-stats": LayerSpec(
        "area-stats",
        "gcrm.area_stats",
        # Vintages of one measure sit side by side (migration 0009).
        key=("level", "code", "measure", "vintage"),
        required=("level", "code", "measure", "value", "source", "vintage"),
        optional=("method",),
        numeric=("value",),
        lowercase=("level", "measure"),
        not_empty=("source", "vintage"),
    ),
    "roads": LayerSpec(
        "roads",
        "gcrm.roads",
        key=("ref",),
        required=("ref", "class"),
        optional=("speed_kmh", "name", "oneway", "surface"),
        family="LineString",
        geom_sql=_LINESTRING,
        numeric=("speed_kmh",),
        boolean=("oneway",),
        lowercase=("class",),
        not_empty=("class",),
    ),
    "zones": LayerSpec(
        "zones",
        "gcrm.zones",
        key=("ref",),
        required=("ref", "class"),
        optional=("landuse", "name"),
        family="Polygon",
        geom_sql=_MULTIPOLYGON,
        lowercase=("class",),
        allowed={"class": ZONE_CLASSES},
    ),
    "buildings": LayerSpec(
        "buildings",
        "gcrm.buildings",
        key=("ref",),
        required=("ref", "use"),
        optional=("building", "levels", "residential"),
        family="Polygon",
        geom_sql=_MULTIPOLYGON,
        numeric=("levels",),
        boolean=("residential",),
        lowercase=("use",),
        allowed={"use": BUILDING_USES},
    ),
    # A name and a location are all a lead needs (gcrm.ingest.leads derives a missing id,
    # geocodes an address and gathers the file's other columns into ``attributes``).
    "leads": LayerSpec(
        "leads",
        "gcrm.lead_records",
        key=("external_id",),
        required=("external_id", "name"),
        optional=(
            "category_group",
            "category",
            "street",
            "housenumber",
            "postcode",
            "city",
            "phone",
            "website",
            "source",
        ),
        written=(
            "geocode_precision",
            "geocode_score",
            "geocode_source",
            "matched_address",
            "attributes",
        ),
        family="Point",
        geom_sql=_POINT,
        numeric=("geocode_score",),
        lowercase=("category_group", "category"),
        not_empty=("name",),
        # No category is an empty one (readers show categories as text); COPY loads an
        # empty string as NULL.
        expressions={
            "category_group": "coalesce(s.category_group, '')",
            "category": "coalesce(s.category, '')",
            "attributes": "coalesce(s.attributes, '{}'::jsonb)",
        },
    ),
    "branches": LayerSpec(
        "branches",
        "gcrm.branches",
        key=("code",),
        required=("code", "name"),
        optional=("street", "housenumber", "postcode", "city"),
        family="Point",
        geom_sql=_POINT,
        not_empty=("name",),
    ),
}


def layer_spec(kind: str) -> LayerSpec:
    """The spec of layer ``kind``; a ValidationError naming the kinds otherwise."""
    if kind not in LAYERS:
        msg = f"layer kind {kind!r} unknown; expected one of {sorted(LAYERS)}"
        raise ValidationError(msg)
    return LAYERS[kind]


def field_limit(name: str) -> int:
    """The most characters field ``name`` may hold (:data:`FIELD_LIMITS`)."""
    return FIELD_LIMITS.get(name, DEFAULT_FIELD_LIMIT)
