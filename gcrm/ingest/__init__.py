"""Reading, validating, normalising and geocoding what users bring, and loading it."""

from gcrm.ingest.customers import import_customers, import_orders
from gcrm.ingest.geocode import (
    PRECISIONS,
    GeocodeResult,
    ReverseResult,
    geocode_address,
    geocode_batch,
    geocode_frame,
    parse_addresses,
    parse_one_line,
    reverse_geocode,
    reverse_geocode_frame,
)
from gcrm.ingest.layers import (
    LAYERS,
    import_addresses,
    import_area_levels,
    import_area_stats,
    import_areas,
    import_branches,
    import_buildings,
    import_layer,
    import_leads,
    import_postcodes,
    import_roads,
    import_zones,
)
from gcrm.ingest.validate import ImportReport

__all__ = [
    "LAYERS",
    "PRECISIONS",
    "GeocodeResult",
    "ReverseResult",
    "ImportReport",
    "geocode_address",
    "geocode_batch",
    "geocode_frame",
    "import_addresses",
    "import_area_levels",
    "import_area_stats",
    "import_areas",
    "import_branches",
    "import_buildings",
    "import_customers",
    "import_layer",
    "import_leads",
    "import_orders",
    "import_postcodes",
    "import_roads",
    "import_zones",
    "parse_addresses",
    "parse_one_line",
    "reverse_geocode",
    "reverse_geocode_frame",
]
