"""Offline geocoding: normalisation rules, the ladder, fuzzy streets, providers, reverse
geocoding, accuracy measurement, geocoding the tables users bring, and one address on a fast
path (:func:`geocode_one`)."""

from gcrm.geocode.keys import AddressKeys, address_keys
from gcrm.geocode.ladder import (
    LADDER_STEPS,
    RESULT_COLUMNS,
    GeocodeResult,
    geocode_address,
    geocode_batch,
    geocode_frame,
    input_keys,
    normalize_address_fields,
)
from gcrm.geocode.normalize import (
    normalize_city,
    normalize_housenumber,
    normalize_postcode,
    normalize_street,
)
from gcrm.geocode.parse import parse_addresses, parse_one_line
from gcrm.geocode.providers import (
    GeopyProvider,
    Provider,
    ReferenceProvider,
    nominatim_provider,
    refine_with_provider,
)
from gcrm.geocode.reference import forget_inputs, refresh_reference
from gcrm.geocode.reverse import ReverseResult, reverse_geocode, reverse_geocode_frame
from gcrm.geocode.single import geocode_one

__all__ = [
    "LADDER_STEPS",
    "RESULT_COLUMNS",
    "AddressKeys",
    "GeocodeResult",
    "GeopyProvider",
    "Provider",
    "ReferenceProvider",
    "ReverseResult",
    "address_keys",
    "forget_inputs",
    "geocode_address",
    "geocode_batch",
    "geocode_frame",
    "geocode_one",
    "input_keys",
    "nominatim_provider",
    "normalize_address_fields",
    "normalize_city",
    "normalize_housenumber",
    "normalize_postcode",
    "normalize_street",
    "parse_addresses",
    "parse_one_line",
    "refine_with_provider",
    "refresh_reference",
    "reverse_geocode",
    "reverse_geocode_frame",
]
