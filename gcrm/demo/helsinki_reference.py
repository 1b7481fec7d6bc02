"""Published population figures for central Helsinki: what the demo's estimate is held to.

The demo's districts are Voronoi cells named after the OSM ``place`` nodes they grow from
(:mod:`gcrm.demo.helsinki_areas`), not Helsinki's official districts, so no published figure
covers one of them exactly. The reference for a demo district is the published population
density of the official neighbourhood it is named after (or lies in) times the district's
area: Kaisaniemi and Keskusta are parts of Kluuvi, Hakaniemi is the common name of the
Siltasaari sub-area. The figures are the City of Helsinki's "Helsinki by District"
(Helsinki alueittain) counts as quoted in the Wikipedia articles of each neighbourhood;
Statistics Finland's Paavo figures by postal code area were not available offline.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from gcrm.core import METRIC_CRS

__all__ = ["NEIGHBOURHOODS", "REFERENCE_OF_DISTRICT", "Neighbourhood", "reference_population"]


@dataclass(frozen=True)
class Neighbourhood:
    """A published population of an official Helsinki neighbourhood (or sub-area)."""

    name: str
    population: int
    year: int
    land_km2: float
    cited: str

    @property
    def density_per_km2(self) -> float:
        """Residents per km² of land."""
        return self.population / self.land_km2


NEIGHBOURHOODS: dict[str, Neighbourhood] = {
    "Kluuvi": Neighbourhood(
        "Kluuvi",
        514,
        2013,
        0.93,
        "fi.wikipedia.org, Kluuvi (citing Helsinki alueittain 2013); area 0.93 km² per "
        "Helsinki alueittain 2006 as quoted on the German and Portuguese articles",
    ),
    "Kaartinkaupunki": Neighbourhood(
        "Kaartinkaupunki",
        999,
        2013,
        0.33,
        "en.wikipedia.org, Kaartinkaupunki (population 2013, land area 0.33 km²)",
    ),
    "Siltasaari": Neighbourhood(
        "Siltasaari",
        2533,
        2019,
        0.23,
        "fi.wikipedia.org, Siltasaari (citing Helsinki alueittain 2019)",
    ),
}
#: The official neighbourhood whose density stands for each demo district (by name).
REFERENCE_OF_DISTRICT = {
    "Hakaniemi": "Siltasaari",
    "Kaartinkaupunki": "Kaartinkaupunki",
    "Kaisaniemi": "Kluuvi",
    "Keskusta": "Kluuvi",
    "Kluuvi": "Kluuvi",
    "Siltasaari": "Siltasaari",
}


def reference_population(districts: gpd.GeoDataFrame) -> pd.DataFrame:
    """The published-density reference of each demo district.

    Parameters
    ----------
    districts
        The demo's ``district`` areas (any CRS), with ``code`` and ``name``.

    Returns
    -------
    pandas.DataFrame
        Indexed by code: ``name``, ``neighbourhood``, ``area_km2`` (EPSG:3067),
        ``density_per_km2`` and ``population`` (density x area).
    """
    areas_km2 = districts.geometry.to_crs(METRIC_CRS).area.to_numpy() / 1e6
    neighbourhood = districts["name"].map(REFERENCE_OF_DISTRICT)
    density = neighbourhood.map(lambda n: NEIGHBOURHOODS[n].density_per_km2)
    return pd.DataFrame(
        {
            "name": districts["name"].to_numpy(),
            "neighbourhood": neighbourhood.to_numpy(),
            "area_km2": areas_km2,
            "density_per_km2": density.to_numpy(float),
            "population": areas_km2 * density.to_numpy(float),
        },
        index=pd.Index(districts["code"].to_numpy(), name="code"),
    )
