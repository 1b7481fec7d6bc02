"""Hot and cold spots of a cube measure: Getis-Ord Gi* or local Moran's I per area (esda).

Weights are queen contiguity between the areas' outlines (libpysal), row-standardised; Gi*
counts each area among its own neighbours. An area without a contiguous neighbour (an
island) is joined to its nearest area, or left out of the test (``islands="exclude"``).
Significance is a pseudo p-value from conditional permutations (``permutations``, ``seed``),
adjusted for testing every area at once (``correction``) and compared with ``alpha``. The
result says all of this in ``GeoDataFrame.attrs`` and :func:`describe_hotspots`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xarray as xr
from sqlalchemy import Connection

from gcrm.areas import read_areas
from gcrm.core import ValidationError
from gcrm.cube.ops import measure_unit, select_measure

__all__ = [
    "CORRECTIONS",
    "HOTSPOT_CLASSES",
    "HOTSPOT_METHODS",
    "ISLAND_RULES",
    "MIN_AREAS",
    "NOT_TESTED",
    "describe_hotspots",
    "find_hotspots",
    "hotspots_geojson",
]

Method = Literal["gi", "moran"]
Correction = Literal["fdr", "bonferroni", "none"]
IslandRule = Literal["nearest", "exclude"]

#: The local statistics, by the name the CLI and the API take.
HOTSPOT_METHODS: dict[str, str] = {"gi": "Getis-Ord Gi*", "moran": "local Moran's I"}
#: The multiple-testing corrections over the areas tested.
CORRECTIONS: dict[str, str] = {
    "fdr": "Benjamini-Hochberg false discovery rate",
    "bonferroni": "Bonferroni",
    "none": "no correction for multiple testing",
}
#: What happens to an area with no contiguous neighbour.
ISLAND_RULES: dict[str, str] = {
    "nearest": "joined to the nearest area",
    "exclude": "not tested",
}
#: The class of an area that was not tested (no value, or an island left out).
NOT_TESTED = "not tested"
#: The classes each method assigns, significant ones first.
HOTSPOT_CLASSES: dict[str, tuple[str, ...]] = {
    "gi": ("hot spot", "cold spot", "not significant", NOT_TESTED),
    "moran": ("high-high", "low-low", "high-low", "low-high", "not significant", NOT_TESTED),
}
#: Fewest areas with a value for a local statistic to mean anything.
MIN_AREAS = 5
#: esda's quadrants of local Moran's I (PySAL scheme) -> class.
_QUADRANTS = {1: "high-high", 2: "low-high", 3: "low-low", 4: "high-low"}


def find_hotspots(
    ds: xr.Dataset,
    areas: gpd.GeoDataFrame | Connection,
    *,
    level: str,
    measure: str,
    period: str | None = None,
    segment: str | None = None,
    parent: str | None = None,
    channel: str | None = None,
    branch: str | None = None,
    method: Method = "gi",
    alpha: float = 0.05,
    correction: Correction = "fdr",
    permutations: int = 999,
    seed: int = 0,
    islands: IslandRule = "nearest",
) -> gpd.GeoDataFrame:
    """Hot and cold spots of ``measure`` over the areas of ``level``.

    Parameters
    ----------
    ds
        The region cube (or a user's scope's cube).
    areas
        The areas of ``level`` as :func:`gcrm.areas.read_areas` gives them, or a connection
        to read them from.
    level, measure, period, segment, parent, channel, branch
        The slice of the cube, as in :func:`gcrm.cube.select_measure` (channel or branch:
        order measures only).
    method
        ``"gi"``: Getis-Ord Gi* (hot and cold spots); ``"moran"``: local Moran's I
        (high-high and low-low clusters, high-low and low-high outliers).
    alpha
        Significance level the adjusted p-values are compared with.
    correction
        ``"fdr"`` (Benjamini-Hochberg), ``"bonferroni"`` or ``"none"``, over the areas tested.
    permutations
        Conditional permutations for the pseudo p-values (at least 99); the smallest
        two-sided p-value possible is ``2 / (permutations + 1)``.
    seed
        Seed of the permutations: the same seed gives the same result.
    islands
        An area with no contiguous neighbour: ``"nearest"`` joins it to the nearest area
        (distance between outlines in the areas' UTM zone), ``"exclude"`` leaves it out.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per area of ``level`` (EPSG:4326), by code: ``area_id``, ``level``,
        ``code``, ``name``, ``value``, ``neighbours`` (after joining islands), ``island``,
        ``statistic`` (Gi* z-score or local I), ``p_value`` (two-sided pseudo p from the
        permutations), ``p_adjusted``,
        ``cluster`` (one of :data:`HOTSPOT_CLASSES`). ``attrs`` holds the method, alpha,
        correction, permutations, seed, the number of areas tested and the islands.

    Raises
    ------
    ValidationError
        For an unknown option, a slice the cube refuses, fewer than :data:`MIN_AREAS` areas
        with a value, a measure with one value everywhere, or negative values for Gi*.
    NotFoundError
        When ``level`` has no areas in the database, or ``parent`` is not in the cube.
    """
    _check_options(
        method=method,
        alpha=alpha,
        correction=correction,
        permutations=permutations,
        seed=seed,
        islands=islands,
    )
    values = select_measure(
        ds,
        measure,
        level=level,
        period=period,
        segment=segment,
        parent=parent,
        channel=channel,
        branch=branch,
    )
    if isinstance(areas, Connection):
        areas = read_areas(areas, level=level)
    frame = _areas_with_values(areas, values)
    tested = np.isfinite(frame["value"].to_numpy(dtype=float))
    _check_values(frame.loc[tested, "value"], method=method, measure=measure, level=level)
    neighbours, island_ids, utm = _contiguity(frame.loc[tested], rule=islands)
    if islands == "exclude":
        tested &= ~frame["area_id"].isin(island_ids).to_numpy()
        _check_values(frame.loc[tested, "value"], method=method, measure=measure, level=level)
    ids = list(frame.loc[tested, "area_id"])
    statistic, p_value, cluster = _local_statistic(
        frame.loc[tested, "value"].to_numpy(dtype=float),
        {i: neighbours[i] for i in ids},
        ids=ids,
        method=method,
        permutations=permutations,
        seed=seed,
    )
    adjusted = _adjust(p_value, correction)
    significant = adjusted <= alpha
    out = frame.assign(
        neighbours=frame["area_id"].map(lambda a: len(neighbours.get(a, ()))).astype(int),
        island=frame["area_id"].isin(island_ids),
        statistic=np.nan,
        p_value=np.nan,
        p_adjusted=np.nan,
        cluster=NOT_TESTED,
    )
    out.loc[tested, "statistic"] = statistic
    out.loc[tested, "p_value"] = p_value
    out.loc[tested, "p_adjusted"] = adjusted
    out.loc[tested, "cluster"] = np.where(significant, cluster, "not significant")
    out = out[[*_COLUMNS, "geometry"]]
    out.attrs = {"unit": measure_unit(ds, measure)} | _metadata(
        level=level,
        measure=measure,
        period=period,
        segment=segment,
        parent=parent,
        channel=channel,
        branch=branch,
        method=method,
        alpha=alpha,
        correction=correction,
        permutations=permutations,
        seed=seed,
        islands=islands,
        n_tested=len(ids),
        island_ids=island_ids,
        utm=utm,
    )
    return out


_COLUMNS = [
    "area_id",
    "level",
    "code",
    "name",
    "value",
    "neighbours",
    "island",
    "statistic",
    "p_value",
    "p_adjusted",
    "cluster",
]


def _check_options(
    *,
    method: str,
    alpha: float,
    correction: str,
    permutations: int,
    seed: int,
    islands: str,
) -> None:
    choices = {
        "method": (method, HOTSPOT_METHODS),
        "correction": (correction, CORRECTIONS),
        "islands": (islands, ISLAND_RULES),
    }
    for argument, (value, known) in choices.items():
        if value not in known:
            msg = f"{argument}={value!r} is unknown; use one of {list(known)}"
            raise ValidationError(msg)
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        msg = (
            f"alpha={alpha!r} is not a significance level; pass a number between 0 and 1, e.g. 0.05"
        )
        raise ValidationError(msg)
    if not 99 <= permutations <= 99_999:
        msg = (
            f"permutations={permutations!r} is out of range; pass 99 to 99999 (999 is usual: "
            "the smallest p-value is 2/(permutations+1))"
        )
        raise ValidationError(msg)
    if not 0 <= seed < 2**32:
        msg = f"seed={seed!r} is out of range; pass a whole number from 0 to {2**32 - 1}"
        raise ValidationError(msg)


def _areas_with_values(areas: gpd.GeoDataFrame, values: pd.Series) -> gpd.GeoDataFrame:
    """The areas the cube slice covers, with their value (NaN where it has none)."""
    keep = areas["area_id"].isin(values.index)
    frame = areas.loc[keep, ["area_id", "level", "code", "name", "geometry"]].copy()
    frame["value"] = values.reindex(frame["area_id"]).to_numpy(dtype=float)
    return frame.reset_index(drop=True)


def _check_values(values: pd.Series, *, method: str, measure: str, level: str) -> None:
    if len(values) < MIN_AREAS:
        msg = (
            f"measure {measure!r} has a value in {len(values)} areas of level {level!r}; "
            f"hot spots need at least {MIN_AREAS}: use a finer level or a wider period"
        )
        raise ValidationError(msg)
    if values.nunique() < 2:
        msg = (
            f"measure {measure!r} is {values.iloc[0]:g} in every area of level {level!r}; "
            "there is nothing to test: choose another measure, period or segment"
        )
        raise ValidationError(msg)
    if method == "gi" and (values < 0).any():
        msg = (
            f"measure {measure!r} has negative values, which Getis-Ord Gi* cannot test; "
            "use method='moran'"
        )
        raise ValidationError(msg)


def _contiguity(
    frame: gpd.GeoDataFrame, *, rule: str
) -> tuple[dict[str, list[str]], list[str], str]:
    """Queen neighbours by area id, the islands, and the metric CRS their nearest area was
    found in (``""`` when none was needed)."""
    from libpysal.weights import Queen  # esda and libpysal take seconds to import

    ids = list(frame["area_id"])
    queen = Queen.from_dataframe(
        frame.set_index("area_id")[["geometry"]], use_index=True, silence_warnings=True
    )
    neighbours = {i: [str(n) for n in queen.neighbors[i]] for i in ids}
    island_ids = [i for i in ids if not neighbours[i]]
    if rule != "nearest" or not island_ids:
        return neighbours, island_ids, ""
    # Nearest between outlines, in metres: the UTM zone of the areas, not degrees.
    utm = frame.estimate_utm_crs()
    metric = frame.geometry.to_crs(utm).to_numpy()
    tree = shapely.STRtree(metric)
    where = frame["area_id"].isin(island_ids).to_numpy()
    pairs = tree.query_nearest(metric[where], exclusive=True, all_matches=False)
    for island, nearest in zip(
        np.asarray(ids)[where][pairs[0]], np.asarray(ids)[pairs[1]], strict=True
    ):
        # A handful of islands at most: one symmetric link each.
        neighbours[str(island)].append(str(nearest))
        neighbours[str(nearest)].append(str(island))
    return neighbours, island_ids, str(utm.to_string())


def _local_statistic(
    y: np.ndarray,
    neighbours: dict[str, list[str]],
    *,
    ids: list[str],
    method: str,
    permutations: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The statistic, its pseudo p-value and the class each area takes if significant."""
    from esda.getisord import G_Local  # esda and libpysal take seconds to import
    from esda.moran import Moran_Local
    from libpysal.weights import W

    w = W(neighbours, id_order=ids, silence_warnings=True)
    # esda seeds numpy's global generator; leave the caller's as it was.
    state = np.random.get_state()
    with warnings.catch_warnings():
        # Groups of areas apart from the rest (an archipelago) are separate components of
        # the weights; local statistics need none to be connected, so libpysal's warning
        # when esda rebuilds the weights says nothing here.
        warnings.filterwarnings("ignore", "The weights matrix is not fully connected")
        # esda warns that the default tail of its permutation test will change; G_Local and
        # Moran_Local take no argument for it, and _two_sided below makes the choice here.
        warnings.filterwarnings("ignore", "The alternative hypothesis", DeprecationWarning)
        try:
            if method == "gi":
                # Binary in, so that esda puts each area on its own diagonal (weight 1,
                # Gi*) before it row-standardises.
                w.transform = "B"
                gi = G_Local(
                    y, w, transform="R", star=True, permutations=permutations, seed=seed, n_jobs=1
                )
                hot = gi.Gs > gi.EG_sim
                return (
                    gi.Zs,
                    _two_sided(gi.p_sim, permutations),
                    np.where(hot, "hot spot", "cold spot"),
                )
            lisa = Moran_Local(
                y, w, transformation="r", permutations=permutations, seed=seed, n_jobs=1
            )
            return (
                lisa.Is,
                _two_sided(lisa.p_sim, permutations),
                np.vectorize(_QUADRANTS.__getitem__)(lisa.q),
            )
        finally:
            np.random.set_state(state)


def _two_sided(p_sim: np.ndarray, permutations: int) -> np.ndarray:
    """esda's pseudo p-value counts the permutations beyond the statistic in the tail it lies
    in; an area may be high or low, so the test is two-sided: twice that, at most 1."""
    # esda's p_sim is (count + 1) / (permutations + 1) in single precision: back to the count.
    beyond = np.rint(np.asarray(p_sim, dtype=float) * (permutations + 1))
    return np.minimum(2 * beyond / (permutations + 1), 1.0)


def _adjust(p: np.ndarray, correction: str) -> np.ndarray:
    if correction == "fdr":
        from scipy.stats import false_discovery_control  # scipy.stats: slow to import

        return np.asarray(false_discovery_control(p, method="bh"), dtype=float)
    if correction == "bonferroni":
        return np.minimum(p * len(p), 1.0)
    return np.asarray(p, dtype=float)


def _metadata(
    *,
    level: str,
    measure: str,
    period: str | None,
    segment: str | None,
    parent: str | None,
    channel: str | None,
    branch: str | None,
    method: str,
    alpha: float,
    correction: str,
    permutations: int,
    seed: int,
    islands: str,
    n_tested: int,
    island_ids: list[str],
    utm: str,
) -> dict[str, Any]:
    smallest = 2 / (permutations + 1)
    note = ""
    if correction == "bonferroni" and smallest * n_tested > alpha:
        needed = math.ceil(2 * n_tested / alpha) - 1
        note = (
            f"with {permutations} permutations the smallest two-sided pseudo p-value is {smallest:.4g}, "
            f"so no area can pass Bonferroni over {n_tested} areas at alpha={alpha:g}; "
            f"use at least {needed} permutations or correction='fdr'"
        )
    return {
        "method": method,
        "method_label": HOTSPOT_METHODS[method],
        "level": level,
        "measure": measure,
        "period": period or "all",
        "segment": segment or "all",
        "parent": parent or "",
        "channel": channel or "all",
        "branch": branch or "all",
        "alpha": float(alpha),
        "correction": correction,
        "correction_label": CORRECTIONS[correction],
        "permutations": int(permutations),
        "seed": int(seed),
        "n_areas": int(n_tested),
        "weights": "queen contiguity, row-standardised"
        + (", each area counted among its own neighbours (Gi*)" if method == "gi" else ""),
        "p_value": "two-sided pseudo p-value from conditional permutations (twice esda's "
        "p_sim, the share of permutations as extreme in the tail the statistic lies in)",
        "islands": ISLAND_RULES[islands],
        "island_ids": list(island_ids),
        "island_crs": utm,
        "note": note,
    }


def describe_hotspots(result: gpd.GeoDataFrame) -> str:
    """What :func:`find_hotspots` did and found, in two sentences for people.

    E.g. ``"Getis-Ord Gi* of revenue by district (period all, segment all): 3 hot spots,
    1 cold spot, 19 not significant. 999 permutations (seed 0), alpha 0.05 after
    Benjamini-Hochberg false discovery rate over 23 areas; queen contiguity, ...;
    islands: 1 joined to the nearest area."``
    """
    meta = result.attrs
    counts = result["cluster"].value_counts()
    found = ", ".join(
        f"{counts[name]} {name}{'s' if name.endswith('spot') and counts[name] > 1 else ''}"
        for name in HOTSPOT_CLASSES[meta["method"]]
        if counts.get(name, 0)
    )
    orders = "".join(
        f", {dim} {meta[dim]}" for dim in ("channel", "branch") if meta.get(dim, "all") != "all"
    )
    text = (
        f"{meta['method_label']} of {meta['measure']} by {meta['level']} "
        f"(period {meta['period']}, segment {meta['segment']}{orders}): {found}. "
        f"{meta['permutations']} permutations (seed {meta['seed']}), alpha {meta['alpha']:g} "
        f"after {meta['correction_label']} over {meta['n_areas']} areas; {meta['weights']}; "
        f"islands: {len(meta['island_ids'])} {meta['islands']}."
    )
    return f"{text} Note: {meta['note']}." if meta["note"] else text


def hotspots_geojson(result: gpd.GeoDataFrame) -> dict[str, Any]:
    """The result of :func:`find_hotspots` as a GeoJSON FeatureCollection.

    Features carry ``id`` = area id and the per-area columns as properties (NaN as null);
    the collection carries the metadata (method, alpha, correction, ...) and ``description``
    (:func:`describe_hotspots`) as foreign members.
    """
    frame = result.rename(columns={"area_id": "area"})
    collection: dict[str, Any] = frame.to_geo_dict(na="null", drop_id=True)
    for feature in collection["features"]:
        feature["id"] = feature["properties"]["area"]
    collection.update(result.attrs)
    collection["description"] = describe_hotspots(result)
    return collection
