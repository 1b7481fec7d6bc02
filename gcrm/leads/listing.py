"""Lead lists as people read them on a terminal."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

__all__ = ["format_lead_table", "reasons_text"]


def reasons_text(reasons: pd.Series) -> pd.Series:
    """Each row's list of reasons as one text, ``"r1; r2; r3"`` (None when unscored)."""
    return reasons.map(lambda r: "; ".join(r) if isinstance(r, list | tuple) else None)


def format_lead_table(gdf: gpd.GeoDataFrame, *, name_width: int = 40) -> str:
    """A plain-text table: rank, name, category, distance_m (when known), drive_time_s (when
    given), score (when any lead is scored), address, and the score's reasons ("r1; r2")."""
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
    scored = "score" in gdf.columns and gdf["score"].notna().any()
    if scored:
        columns["score"] = gdf["score"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    columns["address"] = address
    if scored and "reasons" in gdf.columns:
        columns["reasons"] = reasons_text(gdf["reasons"])
    return pd.DataFrame(columns).to_string(index=False)
