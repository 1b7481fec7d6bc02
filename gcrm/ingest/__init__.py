"""Reading, validating, normalising and geocoding what users bring, and loading it."""

from gcrm.ingest.customers import import_customers, import_orders
from gcrm.ingest.geocode import (
    PRECISIONS,
    GeocodeResult,
    geocode_address,
    geocode_frame,
    parse_one_line,
)
from gcrm.ingest.layers import (
    LAYERS,
    import_addresses,
    import_area_levels,
    import_area_stats,
    import_areas,
    import_branches,
    import_layer,
    import_leads,
    import_roads,
    import_zones,
)
from gcrm.ingest.validate import ImportReport

__all__ = [
    "LAYERS",
    "PRECISIONS",
    "GeocodeResult",
    "ImportReport",
    "geocode_address",
    "geocode_frame",
    "import_addresses",
    "import_area_levels",
    "import_area_stats",
    "import_areas",
    "import_branches",
    "import_customers",
    "import_layer",
    "import_leads",
    "import_orders",
    "import_roads",
    "import_zones",
    "parse_one_line",
]
