"""Lead lists as people read them on a terminal."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

__all__ = ["format_lead_table"]


def format_lead_table(gdf: gpd.GeoDataFrame, *, name_width: int = 40) -> str:
    """A plain-text table: rank, name, category, distance_m, address."""
    if gdf.empty:
        return "(no leads)"
    street = (gdf["street"].fillna("") + " " + gdf["housenumber"].fillna("")).str.strip()
    town = (gdf["postcode"].fillna("") + " " + gdf["city"].fillna("")).str.strip()
    address = (street + ", " + town).str.strip(", ")
    table = pd.DataFrame(
        {
            "rank": gdf["rank"],
            "name": gdf["name"].str.slice(0, name_width),
            "category": gdf["category"],
            "distance_m": gdf["distance_m"].round().astype(int),
            "address": address,
        }
    )
    return table.to_string(index=False)
