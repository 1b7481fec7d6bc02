"""Synthetic address references at any size, for the speed benchmarks.

Street names are built from Finnish-looking syllables and street types, so normalisation,
abbreviations and typos behave as they do on real data. Every street lies in one postcode;
postcodes belong to cities; numbers run 1..N along the street, odd on one side, even on the
other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SYLLABLES = np.array(
    [
        "ka",
        "ko",
        "ku",
        "la",
        "lo",
        "lu",
        "ma",
        "mi",
        "mo",
        "na",
        "ne",
        "ni",
        "no",
        "pa",
        "pe",
        "pi",
        "po",
        "ra",
        "re",
        "ri",
        "ro",
        "sa",
        "se",
        "si",
        "so",
        "ta",
        "te",
        "ti",
        "to",
        "va",
        "ve",
        "vi",
        "ha",
        "he",
        "hi",
        "ja",
        "jo",
        "ju",
        "kai",
        "lei",
        "mai",
        "nie",
        "pui",
        "rau",
        "sii",
        "tuo",
        "vuo",
    ]
)
TYPES = np.array(["katu", "tie", "kuja", "polku", "vayla", "rinne", "ranta", "puisto"])
CITIES = np.array(
    [
        "Aurala",
        "Borgby",
        "Kivikylä",
        "Lahdenpää",
        "Mäntylä",
        "Niemelä",
        "Ojala",
        "Pyhälä",
        "Rantala",
        "Salmela",
    ]
)


def synthetic_reference(
    *, points: int, numbers_per_street: int = 50, seed: int = 0
) -> pd.DataFrame:
    """A frame of ``points`` address points: ref, street, housenumber, postcode, city, lon, lat."""
    rng = np.random.default_rng(seed)
    n_streets = int(np.ceil(points / numbers_per_street))
    streets = _street_names(n_streets, rng)
    n_postcodes = max(1, n_streets // 100)
    street_pc = rng.integers(0, n_postcodes, n_streets)
    postcodes = np.char.zfill(((np.arange(n_postcodes) * 10) % 100000).astype(str), 5)
    city_of_pc = np.arange(n_postcodes) % len(CITIES)
    # Streets laid out on a grid of ~100 m blocks around 60.2N 24.9E.
    side = int(np.ceil(np.sqrt(n_streets)))
    sx, sy = np.arange(n_streets) % side, np.arange(n_streets) // side
    street_idx = np.repeat(np.arange(n_streets), numbers_per_street)[:points]
    number = np.tile(np.arange(1, numbers_per_street + 1), n_streets)[:points]
    along = (number - 1) // 2 * 12.0  # metres along the street
    across = np.where(number % 2 == 0, 8.0, -8.0)
    x_m = sx[street_idx] * 400.0 + along
    y_m = sy[street_idx] * 60.0 + across
    lat = 60.0 + y_m / 111_320.0
    lon = 24.0 + x_m / (111_320.0 * np.cos(np.radians(60.2)))
    pc = street_pc[street_idx]
    return pd.DataFrame(
        {
            "ref": np.char.add("s", np.arange(points).astype(str)),
            "street": streets[street_idx],
            "housenumber": number.astype(str),
            "postcode": postcodes[pc],
            "city": CITIES[city_of_pc[pc]],
            "lon": lon,
            "lat": lat,
        }
    )


def _street_names(n: int, rng: np.random.Generator) -> np.ndarray:
    names: set[str] = set()
    out: list[str] = []
    # A loop until enough distinct names exist: rejection sampling, done once per run.
    while len(out) < n:
        k = n - len(out)
        parts = SYLLABLES[rng.integers(0, len(SYLLABLES), (k * 2, 3))]
        stems = np.char.add(np.char.add(parts[:, 0], parts[:, 1]), parts[:, 2])
        types = TYPES[rng.integers(0, len(TYPES), k * 2)]
        for stem, kind in zip(stems, types, strict=True):
            name = stem.capitalize() + ("n" if kind in ("katu", "tie", "kuja") else "") + kind
            if name not in names:
                names.add(name)
                out.append(name)
                if len(out) == n:
                    break
    return np.array(out)
