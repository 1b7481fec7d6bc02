"""Lead lists as people read them on a terminal."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

__all__ = ["format_lead_table"]


def format_lead_table(gdf: gpd.GeoDataFrame, *, name_width: int = 40) -> str:
    """A plain-text table: rank, name, category, distance_m (when known), drive_time_s (when
    given), address."""
    if gdf.empty:
        return "(no leads)"
    street = (gdf["street"].fillna("") + " " + gdf["housenumber"].fillna("")).str.strip()
    town = (gdf["postcode"].fillna("") + " " + gdf["city"].fillna("")).str.strip()
    address = (street + ", " + town).str.strip(", ")
    columns = {
        "rank": gdf["rank"],
        "name": gdf["name"].str.slice(0, name_width),
        "category": gdf["category"],
    }
    for number in ("distance_m", "drive_time_s"):
        if number in gdf.columns and gdf[number].notna().any():
            columns[number] = gdf[number].round().astype("Int64")
    columns["address"] = address
    return pd.DataFrame(columns).to_string(index=False)
