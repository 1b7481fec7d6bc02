"""Housing types and building forms of every area: what a GCRM knows about the homes.

Per area of a level:

- ``dwellings_detached``, ``dwellings_terraced`` (semi-detached and terraced houses),
  ``dwellings_apartment`` (apartment blocks): from ``gcrm.area_stats`` where the user has
  them; otherwise **estimated** from ``gcrm.buildings`` and labelled so (source
  :data:`ESTIMATE_SOURCE`). A residential building's form follows its OSM ``building``
  value (:data:`FORM_OF_BUILDING`); an untyped one is an apartment block from
  :data:`BLOCK_LEVELS` storeys or :data:`BLOCK_FOOTPRINT_M2` of footprint, else a detached
  house. A detached house holds one dwelling, a terraced row its floor area over
  :data:`M2_PER_TERRACED_DWELLING`, a block its floor area over
  :data:`M2_PER_APARTMENT` (at least two each). Where the area has a ``dwellings`` figure,
  the estimate only splits it: the buildings give the mix, the statistic the level;
- ``buildings_<form>_share``: the share of the area's buildings that are detached houses,
  terraced houses, apartment blocks and non-residential buildings;
- ``buildings_low_share`` (1-2 storeys), ``buildings_mid_share`` (3-5),
  ``buildings_high_share`` (6 or more) and ``mean_levels``: over the buildings whose storeys
  are known (OSM ``building:levels``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from gcrm.store import load_queries

__all__ = [
    "BLOCK_FOOTPRINT_M2",
    "BLOCK_LEVELS",
    "BUILDING_FORMS",
    "DWELLING_MEASURES",
    "DWELLING_TYPES",
    "ESTIMATE_SOURCE",
    "FORM_MEASURES",
    "FORM_OF_BUILDING",
    "HEIGHT_MEASURES",
    "HOUSING_MEASURES",
    "M2_PER_APARTMENT",
    "M2_PER_TERRACED_DWELLING",
    "AreaHousing",
    "area_housing",
]

_SQL = load_queries(__package__, "housing.sql")

DWELLING_TYPES = ("detached", "terraced", "apartment")
BUILDING_FORMS = (*DWELLING_TYPES, "nonresidential")
HEIGHT_BANDS = ("low", "mid", "high")
DWELLING_MEASURES = tuple(f"dwellings_{t}" for t in DWELLING_TYPES)
FORM_MEASURES = tuple(f"buildings_{f}_share" for f in BUILDING_FORMS)
HEIGHT_MEASURES = (*(f"buildings_{b}_share" for b in HEIGHT_BANDS), "mean_levels")
HOUSING_MEASURES = (*DWELLING_MEASURES, *FORM_MEASURES, *HEIGHT_MEASURES)

#: The form of a residential building by its OSM ``building`` value.
FORM_OF_BUILDING: dict[str, tuple[str, ...]] = {
    "detached": (
        "house",
        "detached",
        "bungalow",
        "cabin",
        "farm",
        "villa",
        "static_caravan",
        "houseboat",
    ),
    "terraced": ("semidetached_house", "terrace"),
    "apartment": ("apartments", "dormitory"),
}
#: An untyped residential building of this many storeys or more is an apartment block...
BLOCK_LEVELS = 3.0
#: ... and so is one with this much footprint (a detached house rarely has half of it).
BLOCK_FOOTPRINT_M2 = 400.0
#: Floor area per dwelling: a Finnish row-house home, and a flat (the demo's figure).
M2_PER_TERRACED_DWELLING = 90.0
M2_PER_APARTMENT = 65.0

ESTIMATE_SOURCE = "gcrm estimate from building forms (gcrm.buildings)"
ESTIMATE_VINTAGE = "buildings as stored"
ESTIMATE_METHOD = (
    "OSM building value, storeys and footprint; a house 1 dwelling, floor area per dwelling "
    f"{M2_PER_TERRACED_DWELLING:g} m² (terraced), {M2_PER_APARTMENT:g} m² (apartments)"
)
SPLIT_METHOD = "the area's dwellings figure split by the building-form mix of gcrm.buildings"
_PROVENANCE = ["code", "measure", "source", "vintage", "method"]


@dataclass(frozen=True)
class AreaHousing:
    """Housing measures of one level: ``figures`` indexed by code (:data:`HOUSING_MEASURES`),
    and where the dwelling types come from, one row per (code, measure) (``provenance``:
    code, measure, source, vintage, method)."""

    figures: pd.DataFrame
    provenance: pd.DataFrame


def area_housing(
    conn: Connection, *, level: str, codes: pd.Index, stats: pd.DataFrame
) -> AreaHousing:
    """Dwellings by type, building forms and heights of the areas ``codes`` of ``level``.

    Parameters
    ----------
    conn
        A connection to the gcrm database.
    level
        The areas' level.
    codes
        The areas' codes (rows of the result, in this order).
    stats
        The level's statistics of one vintage (:func:`gcrm.areas.read_area_stats`):
        ``dwellings`` and ``dwellings_<type>`` figures are taken from here where present.

    Returns
    -------
    AreaHousing
        Figures (NaN where unknown: no buildings stored at all, or no building in the area
        for the shares) and the provenance of each dwelling-type figure.
    """
    forms = _forms(conn, level=level)
    counts = forms.pivot_table(
        index="code", columns="form", values="buildings", aggfunc="sum", fill_value=0
    ).reindex(index=codes, columns=list(BUILDING_FORMS), fill_value=0)
    figures = pd.DataFrame(index=codes)
    total = counts.sum(axis=1).astype(float)
    for form in BUILDING_FORMS:
        figures[f"buildings_{form}_share"] = counts[form] / total.where(total > 0)
    figures = figures.join(_heights(forms, codes))
    estimated = forms.pivot_table(
        index="code", columns="form", values="dwellings", aggfunc="sum", fill_value=0.0
    ).reindex(index=codes, columns=list(DWELLING_TYPES), fill_value=0.0)
    if forms.empty and not _any_buildings(conn):
        estimated[:] = np.nan
    dwellings, provenance = _dwellings(estimated, stats, codes)
    return AreaHousing(
        figures=dwellings.join(figures)[list(HOUSING_MEASURES)], provenance=provenance
    )


def _forms(conn: Connection, *, level: str) -> pd.DataFrame:
    result = conn.execute(
        text(_SQL["forms"]),
        {
            "level": level,
            "detached": list(FORM_OF_BUILDING["detached"]),
            "terraced": list(FORM_OF_BUILDING["terraced"]),
            "apartment": list(FORM_OF_BUILDING["apartment"]),
            "block_levels": BLOCK_LEVELS,
            "block_footprint_m2": BLOCK_FOOTPRINT_M2,
            "m2_terraced": M2_PER_TERRACED_DWELLING,
            "m2_apartment": M2_PER_APARTMENT,
        },
    )
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _any_buildings(conn: Connection) -> bool:
    return bool(conn.execute(text("SELECT EXISTS (SELECT FROM gcrm.buildings)")).scalar_one())


def _heights(forms: pd.DataFrame, codes: pd.Index) -> pd.DataFrame:
    """Height bands and mean storeys over the buildings whose storeys are known."""
    sums = (
        forms.groupby("code")[["with_levels", "low", "mid", "high", "levels_sum"]]
        .sum()
        .reindex(codes, fill_value=0)
        .astype(float)
    )
    known = sums["with_levels"].where(sums["with_levels"] > 0)
    out = pd.DataFrame({f"buildings_{b}_share": sums[b] / known for b in HEIGHT_BANDS})
    out["mean_levels"] = sums["levels_sum"] / known
    return out


def _dwellings(
    estimated: pd.DataFrame, stats: pd.DataFrame, codes: pd.Index
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each dwelling type from the statistics where given, else estimated (splitting what the
    area's dwellings figure leaves, where there is one); and where each figure comes from."""
    rows = stats.set_index(["code", "measure"])
    given = pd.DataFrame({m: _stat(rows, codes, m) for m in DWELLING_MEASURES}, index=codes)
    total = _stat(rows, codes, "dwellings")
    est = estimated.set_axis(list(DWELLING_MEASURES), axis=1)
    missing = given.isna()
    # What the total leaves after the types given, shared by the buildings' mix of the others.
    open_types = est.where(missing, 0.0)
    mix = open_types.div(open_types.sum(axis=1).where(lambda s: s > 0), axis=0)
    remainder = (total - given.sum(axis=1)).clip(lower=0.0)
    split = mix.mul(remainder, axis=0)
    has_total = total.notna().to_numpy()[:, None]
    estimate = pd.DataFrame(np.where(has_total, split, est), index=codes, columns=est.columns)
    out = given.where(~missing, estimate)
    return out, _provenance(stats, missing & out.notna(), split=total.notna())


def _stat(rows: pd.DataFrame, codes: pd.Index, measure: str) -> pd.Series:
    """The figure of ``measure`` for each code (NaN where none)."""
    if rows.empty or measure not in rows.index.get_level_values("measure"):
        return pd.Series(np.nan, index=codes, dtype=float)
    return rows.xs(measure, level="measure")["value"].reindex(codes).astype(float)


def _provenance(stats: pd.DataFrame, estimated: pd.DataFrame, *, split: pd.Series) -> pd.DataFrame:
    """Source, vintage and method of each dwelling-type figure: the statistic's own, or the
    estimate's (naming the dwellings figure it splits, where it splits one)."""
    given = stats[stats["measure"].isin(DWELLING_MEASURES)][_PROVENANCE]
    total = stats[stats["measure"] == "dwellings"].set_index("code")
    long = estimated.rename_axis(index="code", columns="measure").stack().rename("estimated")
    long = long[long].reset_index()[["code", "measure"]]
    splits = long["code"].map(split).fillna(False).to_numpy(bool)
    # astype(object) first: a level without a dwellings statistic maps to an all-NaN float
    # series, which pandas will not fill with text; astype(str): "+" refuses floats.
    total_source = long["code"].map(total["source"]).astype(object).fillna("").astype(str)
    long["source"] = np.where(splits, ESTIMATE_SOURCE + " and " + total_source, ESTIMATE_SOURCE)
    total_vintage = long["code"].map(total["vintage"]).astype(object).fillna(ESTIMATE_VINTAGE)
    long["vintage"] = np.where(splits, total_vintage, ESTIMATE_VINTAGE)
    long["method"] = np.where(splits, SPLIT_METHOD, ESTIMATE_METHOD)
    return pd.concat([given, long[_PROVENANCE]], ignore_index=True)
