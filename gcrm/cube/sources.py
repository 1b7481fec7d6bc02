"""Where the cube's statistics come from: source, vintage and method per area and statistic.

The cube keeps them as string variables on (area, statistic) (``statistic_source``,
``statistic_vintage``, ``statistic_method``; "" where an area has no figure), and the
vintage it was built at in ``attrs["statistics_vintage"]`` (``"latest"`` unless ``gcrm cube
build --vintage`` chose one). Tooltips, reports and tables call :func:`describe_sources`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import xarray as xr

from gcrm.cube.build import SOURCE_VARIABLES

__all__ = ["SOURCE_OF", "area_sources", "describe_sources", "measure_sources"]

#: Derived measures and the statistic their figures rest on.
SOURCE_OF = {"penetration": "households"}


def measure_sources(
    ds: xr.Dataset, measure: str, *, areas: Sequence[str] | None = None
) -> pd.DataFrame:
    """Where the figures of ``measure`` come from, one row per provenance.

    Parameters
    ----------
    ds
        The region cube.
    measure
        A measure of the cube; a derived one (penetration) answers for the statistic it
        rests on (:data:`SOURCE_OF`). A measure gcrm counts itself (customers, revenue, ...)
        has no rows.
    areas
        Area ids to describe (e.g. the areas on screen); None: every area.

    Returns
    -------
    pandas.DataFrame
        Columns ``source``, ``vintage``, ``method``, ``areas`` (how many of the areas have
        figures of that provenance), most areas first. Empty for an older cube without
        provenance.
    """
    columns = ["source", "vintage", "method", "areas"]
    sub = _provenance(ds, measure)
    if sub is None:
        return pd.DataFrame(columns=columns)
    if areas is not None:
        sub = sub.sel(area=list(areas))
    frame = pd.DataFrame(
        {
            "source": sub["statistic_source"].values.astype(object),
            "vintage": sub["statistic_vintage"].values.astype(object),
            "method": sub["statistic_method"].values.astype(object),
        }
    )
    frame = frame[frame["source"] != ""]
    counted = frame.groupby(["source", "vintage", "method"], sort=False).size().rename("areas")
    out = counted.reset_index().sort_values("areas", ascending=False, kind="stable")
    return out.reset_index(drop=True)[columns]


def describe_sources(ds: xr.Dataset, measure: str, *, areas: Sequence[str] | None = None) -> str:
    """``"<source>, <vintage>"`` of ``measure`` (several joined by ``"; "``, most areas
    first); ``""`` for a measure gcrm counts itself."""
    rows = measure_sources(ds, measure, areas=areas)
    return "; ".join(f"{r.source}, {r.vintage}" for r in rows.itertuples(index=False))


def area_sources(ds: xr.Dataset, measure: str, areas: Sequence[str]) -> pd.Series:
    """``"<source>, <vintage>"`` of ``measure``'s figure in each of ``areas`` (a map's
    tooltips), indexed by area id; ``""`` where the area has no figure, for a measure gcrm
    counts itself, and for an older cube without provenance."""
    empty = pd.Series("", index=pd.Index(list(areas), name="area"), dtype=object)
    provenance = _provenance(ds, measure)
    if provenance is None:
        return empty
    sub = provenance.sel(area=list(areas))
    source = pd.Series(sub["statistic_source"].values.astype(object), index=empty.index)
    vintage = pd.Series(sub["statistic_vintage"].values.astype(object), index=empty.index)
    return (source + ", " + vintage).where(source != "", "")


def _provenance(ds: xr.Dataset, measure: str) -> xr.Dataset | None:
    """The source variables of the statistic ``measure`` rests on (:data:`SOURCE_OF`), per
    area; None for a measure gcrm counts itself and for a cube without provenance."""
    statistic = SOURCE_OF.get(measure, measure)
    if "statistic" not in ds.dims or statistic not in set(ds["statistic"].values.tolist()):
        return None
    return ds[list(SOURCE_VARIABLES)].sel(statistic=statistic)
