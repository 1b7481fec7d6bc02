"""Classifying values for choropleths, with ``mapclassify`` (PySAL): one implementation for
the HTML maps, the territory reports and the dashboard.

Three schemes: quantiles (equal counts per class, the default), natural breaks (Fisher-Jenks:
classes that minimise the variance within each) and equal interval. Classes are closed on
the right, as ``mapclassify`` makes them: class ``i`` holds values in
``(breaks[i], breaks[i + 1]]``, the first class also ``breaks[0]``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gcrm.core import ValidationError
from gcrm.maps.style import NO_DATA_COLOUR, SEQUENTIAL_PALETTE, format_value, spread

__all__ = ["SCHEMES", "Classes", "classify_values"]

#: Scheme name -> label for people.
SCHEMES: dict[str, str] = {
    "quantiles": "Quantiles",
    "natural_breaks": "Natural breaks (Fisher-Jenks)",
    "equal_interval": "Equal interval",
}
#: Fisher-Jenks is exact but quadratic in the number of values (mapclassify's pure-Python
#: version: ~2 s for 1,454 values here); above this many distinct values it runs on this many
#: evenly spaced quantiles of them, which keeps the distribution and the result deterministic.
_JENKS_SAMPLE = 250


@dataclass(frozen=True)
class Classes:
    """Class breaks of a choropleth: ``len(colours) == len(breaks) - 1`` (no classes when
    there is no finite value)."""

    breaks: tuple[float, ...]
    colours: tuple[str, ...]
    scheme: str = "quantiles"

    def index_of(self, values: np.ndarray) -> np.ndarray:
        """The class of each value, -1 for missing values (or no classes)."""
        x = np.asarray(values, dtype=float)
        if not self.colours:
            return np.full(len(x), -1)
        idx = np.searchsorted(np.asarray(self.breaks[1:-1]), x, side="left")
        return np.where(np.isfinite(x), np.clip(idx, 0, len(self.colours) - 1), -1)

    def colour_of(self, value: float | None) -> str:
        """Colour of ``value``; :data:`~gcrm.maps.style.NO_DATA_COLOUR` when missing."""
        if value is None or not math.isfinite(value):
            return NO_DATA_COLOUR
        return self.colours_for(pd.Series([value])).iloc[0]

    def colours_for(self, values: pd.Series) -> pd.Series:
        """Fill colour per value, on the index of ``values``."""
        idx = self.index_of(values.to_numpy(dtype=float))
        palette = np.array([*self.colours, NO_DATA_COLOUR], dtype=object)
        return pd.Series(palette[idx], index=values.index, dtype=object)

    def legend(self, *, unit: str = "") -> list[tuple[str, str]]:
        """``(colour, "low – high")`` per class, lowest first."""
        if len(self.breaks) == 0:
            return []
        return [
            (colour, f"{format_value(lo, unit=unit)} – {format_value(hi, unit=unit)}")
            for colour, lo, hi in zip(self.colours, self.breaks[:-1], self.breaks[1:], strict=True)
        ]


def _classifier(scheme: str) -> Callable[[np.ndarray, int], np.ndarray]:
    # mapclassify pulls in scipy.stats (~1 s): imported when the first map is classified.
    import mapclassify

    def quantiles(y: np.ndarray, k: int) -> np.ndarray:
        return np.asarray(mapclassify.Quantiles(y, k=k).bins)

    def natural_breaks(y: np.ndarray, k: int) -> np.ndarray:
        distinct = np.unique(y)
        if len(distinct) > _JENKS_SAMPLE:
            sample = np.quantile(y, np.linspace(0.0, 1.0, _JENKS_SAMPLE))
            bins = np.asarray(mapclassify.FisherJenks(sample, k=k).bins)
            bins[-1] = y.max()
            return bins
        return np.asarray(mapclassify.FisherJenks(y, k=k).bins)

    def equal_interval(y: np.ndarray, k: int) -> np.ndarray:
        return np.asarray(mapclassify.EqualInterval(y, k=k).bins)

    return {
        "quantiles": quantiles,
        "natural_breaks": natural_breaks,
        "equal_interval": equal_interval,
    }[scheme]


def classify_values(
    values: pd.Series,
    *,
    scheme: str = "quantiles",
    k: int = 5,
    palette: tuple[str, ...] = SEQUENTIAL_PALETTE,
) -> Classes:
    """Class breaks of the finite ``values`` by ``scheme``, coloured from ``palette``.

    Fewer distinct values than ``k`` make fewer classes (one per value, one for a
    constant); missing values are left out of the classes and drawn as no data.

    Parameters
    ----------
    values
        One value per area.
    scheme
        A key of :data:`SCHEMES`.
    k
        The number of classes wanted, at most ``len(palette)``.
    palette
        Colours, light to dark; fewer classes spread over it end to end.

    Raises
    ------
    ValidationError
        When ``scheme`` is unknown or ``k`` is outside 1..len(palette).
    """
    if scheme not in SCHEMES:
        msg = f"scheme={scheme!r} is not a classification; use one of {list(SCHEMES)}"
        raise ValidationError(msg)
    if not 1 <= k <= len(palette):
        msg = f"k={k!r} classes must be between 1 and {len(palette)} (the palette size)"
        raise ValidationError(msg)
    y = values.to_numpy(dtype=float)
    y = y[np.isfinite(y)]
    distinct = np.unique(y)
    if len(distinct) == 0:
        return Classes(breaks=(), colours=(), scheme=scheme)
    if len(distinct) == 1:
        only = float(distinct[0])
        return Classes((only, only), (palette[len(palette) // 2],), scheme)
    with warnings.catch_warnings():
        # Ties can make two quantiles equal; mapclassify warns and merges them, as below.
        warnings.simplefilter("ignore", UserWarning)
        bins = _classifier(scheme)(y, min(k, len(distinct)))
    breaks = np.unique(np.concatenate([[y.min()], bins]))
    return Classes(tuple(float(b) for b in breaks), spread(palette, len(breaks) - 1), scheme)
