"""Reading, validating and loading what users bring: CRM exports, reference layers, OSM.

Every importer validates at the boundary (bad rows to a rejects file with row number and
reason), loads the good rows in one transaction, and is idempotent. Customers, and leads
that come with an address only, are geocoded on the way in (:mod:`gcrm.geocode`); stored
customers can be geocoded again (:func:`regeocode_customers`). CRM exports are read through
column mappings and presets (:mod:`gcrm.ingest.mapping`, :mod:`gcrm.ingest.presets`).
"""

from gcrm.ingest.area_import import import_area_levels, import_area_stats, import_areas
from gcrm.ingest.crm import (
    STATUS_ALIASES,
    delete_customer,
    import_customers,
    import_orders,
    parse_dates,
)
from gcrm.ingest.frames import import_frame
from gcrm.ingest.hierarchy import check_area_hierarchy
from gcrm.ingest.interpolation import (
    INTERPOLATION_METHODS,
    InterpolationReport,
    interpolate_area_stats,
)
from gcrm.ingest.leads import import_leads
from gcrm.ingest.load import (
    delete_addresses,
    import_addresses,
    import_branches,
    import_buildings,
    import_layer,
    import_postcodes,
    import_roads,
    import_zones,
)
from gcrm.ingest.mapping import ColumnMapping, parse_code_widths, parse_map_options
from gcrm.ingest.osm import OSM_LAYERS, import_osm, read_osm_layers
from gcrm.ingest.presets import describe_preset, load_preset, preset_names
from gcrm.ingest.regeocode import RegeocodeReport, parse_where, regeocode_customers
from gcrm.ingest.specs import LAYERS, LayerSpec
from gcrm.ingest.validate import ImportReport

__all__ = [
    "INTERPOLATION_METHODS",
    "LAYERS",
    "OSM_LAYERS",
    "STATUS_ALIASES",
    "ColumnMapping",
    "ImportReport",
    "InterpolationReport",
    "LayerSpec",
    "RegeocodeReport",
    "check_area_hierarchy",
    "delete_addresses",
    "delete_customer",
    "describe_preset",
    "import_addresses",
    "import_area_levels",
    "import_area_stats",
    "import_areas",
    "import_branches",
    "import_buildings",
    "import_customers",
    "import_frame",
    "import_layer",
    "import_leads",
    "import_orders",
    "import_osm",
    "import_postcodes",
    "import_roads",
    "import_zones",
    "interpolate_area_stats",
    "load_preset",
    "parse_code_widths",
    "parse_dates",
    "parse_map_options",
    "parse_where",
    "preset_names",
    "read_osm_layers",
    "regeocode_customers",
]
