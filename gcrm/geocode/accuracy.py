"""Measuring the geocoder against its own reference, with ground truth.

A sample of address points is turned into queries the way people write addresses, by a
seeded random process (:func:`make_variants`): each variant draws, per query, the form it
takes (which unit form, where a typo falls and of what kind, which second line and where,
one-line or split columns, the order of the one-line parts), so the benchmark measures the
forms rather than a fixed list the normaliser was written for. Held-out points removed from
the reference (their numbers no longer exist) are a separate category: the answer must come
from interpolation or a lower rung. Each answer is compared with the true point.

Some queries cannot be answered right by any geocoder of this reference, and are flagged
(:data:`FLOOR_REASONS`) so that a shortfall can be told apart from a floor: the same address
mapped at two points far apart (and the query lacks the postcode that tells them apart), a
typo that writes another real street, a reference street that carries a building name.

Used by ``benchmarks/geocode_accuracy.py`` and, on a small sample, by the test suite. The
held-out points are taken out of the reference by its one writer,
:func:`gcrm.ingest.delete_addresses`, inside a transaction the caller rolls back; this module
only reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from gcrm.core import PRECISIONS, ValidationError
from gcrm.geocode.ladder import RESULT_COLUMNS, geocode_frame
from gcrm.geocode.normalize import fold_text, split_housenumber

__all__ = [
    "FALSE_MATCH_M",
    "FLOOR_REASONS",
    "VARIANTS",
    "evaluate_geocoder",
    "failures",
    "is_short_name",
    "make_variants",
    "sample_reference",
    "summarize",
]

VARIANTS = (
    "clean",
    "case",
    "abbreviated",
    "unit",
    "second_line",
    "range_letter",
    "typo_1",
    "typo_first_letter",
    "typo_2",
    "typo_short",
    "missing_postcode",
    "wrong_postcode",
    "typo_missing_postcode",
    "typo_wrong_postcode",
    "one_line",
    "mixed",
    "held_out_number",
)
#: Why a query may be beyond any geocoder of the reference (see :func:`evaluate_geocoder`).
FLOOR_REASONS = (
    "twin_address",
    "building_in_street",
    "typed_another_address",
    "typo_is_a_street",
)
#: Street-type endings abbreviated the way people type them (the inverse of the rule tables).
_ABBREVIATIONS = (
    ("katu", "k."),
    ("tie", "t."),
    ("kuja", "kj."),
    ("gatan", "g."),
    ("vägen", "v."),
    ("Street", "St"),
    ("Avenue", "Ave"),
    ("Road", "Rd"),
    ("Boulevard", "Blvd"),
)
#: Street-type endings that are not part of a street's own name, for :func:`is_short_name`.
_STREET_TYPES = re.compile(
    r"(?:katu|tie|kuja|polku|ranta|aukio|tori|puisto|puistikko|kaari|rinne|penger|vayla|"
    r"gatan|gata|vagen|vag|grand|street|road|avenue|lane|drive)$"
)
_ALPHABET = np.array(list("abcdefghijklmnopqrstuvwxyzäö"))
FALSE_MATCH_M = 50.0
WITHIN_M = 30.0
_TYPED = ("street", "housenumber", "postcode", "city", "address")
_FIRMS = ("Kivi", "Lumo", "Aalto", "Nordic Parts", "Vesi", "Acme", "Helmi")
_PEOPLE = ("Matti Virtanen", "Anna Korhonen", "Liisa Nieminen", "John Smith")
_LETTERS = np.array(list("ABCDEFGH"))


def sample_reference(
    conn: Connection, *, n: int, held_out: int = 0, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two disjoint, reproducible samples of address points with their true coordinates.

    The first (``n`` rows) is queried in every variant; the second (``held_out`` rows) is
    removed from the reference by :func:`evaluate_geocoder` and queried as
    ``held_out_number``.
    """
    rows = conn.execute(
        text(
            "SELECT ref, street, housenumber, postcode, city, ST_X(geom) AS lon, ST_Y(geom) AS lat "
            "FROM gcrm.address_points WHERE postcode IS NOT NULL AND city IS NOT NULL ORDER BY ref"
        )
    ).fetchall()
    frame = pd.DataFrame(
        rows, columns=["ref", "street", "housenumber", "postcode", "city", "lon", "lat"]
    )
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(frame))
    sample = frame.iloc[np.sort(order[:n])].reset_index(drop=True)
    held = frame.iloc[np.sort(order[n : n + held_out])].reset_index(drop=True)
    return sample, held


def is_short_name(street: str) -> bool:
    """Whether a street's own name, without its type ending, has five letters or fewer:
    ``"Simonkatu"`` (simon), ``"Bulevardi"`` is not."""
    folded = re.sub(r"[^a-z]", "", fold_text(street))
    return len(_STREET_TYPES.sub("", folded) or folded) <= 5


def _stem_span(street: str) -> tuple[int, int]:
    """Where a street's own name lies in ``street`` (before its type ending)."""
    match = _STREET_TYPES.search(street.lower())
    end = match.start() if match and match.start() > 0 else len(street)
    return 0, end


def _typo(
    street: str,
    edits: int,
    rng: np.random.Generator,
    *,
    first_letter: bool = False,
    span: tuple[int, int] | None = None,
) -> str:
    """``edits`` random typing errors: a letter replaced, dropped, added, or two swapped.

    Positions are uniform over the letters of ``street`` (the first one included), or of
    ``span``; ``first_letter`` puts the first edit on the first letter. The result always
    differs from ``street`` (case aside).
    """
    for _ in range(20):
        chars = list(street)
        lo, hi = span if span is not None else (0, len(chars))
        for k in range(edits):
            hi_k = min(hi, len(chars))
            if hi_k - lo < 2:
                break
            i = lo if first_letter and k == 0 else int(rng.integers(lo, hi_k))
            kind = int(rng.integers(0, 4))
            letter = str(rng.choice(_ALPHABET))
            if i == 0 and chars[0].isupper():
                letter = letter.upper()
            if kind == 0:
                chars[i] = letter
            elif kind == 1:
                del chars[i]
                hi -= 1
            elif kind == 2:
                chars.insert(i, letter)
                hi += 1
            elif i + 1 < hi_k:
                chars[i], chars[i + 1] = chars[i + 1], chars[i]
                if i == 0:
                    chars[0], chars[1] = chars[0].upper(), chars[1].lower()
            else:
                chars[i] = letter
        typed = "".join(chars)
        if typed.casefold() != street.casefold():
            return typed
    return typed


def _abbreviate(street: str) -> str:
    for full, short in _ABBREVIATIONS:
        if street.endswith(full):
            return street[: -len(full)] + short
        if street.endswith(full.lower()):
            return street[: -len(full)] + short
    return street


def _number_parts(housenumber: str) -> tuple[str, str | None, str]:
    """(number or range, staircase letter or None, the number as written without units)."""
    key, _unit = split_housenumber(housenumber)
    if key is None:
        return housenumber, None, housenumber
    letter = key[-1] if key[-1].isalpha() else None
    number = key[:-1] if letter else key
    written = number + (f" {letter.upper()}" if letter else "")
    return number, letter, written


def _unit_form(housenumber: str, rng: np.random.Generator) -> tuple[str, str]:
    """A house number with a unit in one of the forms people write, and the form's name."""
    number, letter, written = _number_parts(housenumber)
    stair = letter.upper() if letter else str(rng.choice(_LETTERS))
    apt = int(rng.integers(1, 120))
    forms: dict[str, Callable[[], str]] = {
        "n L a": lambda: f"{number} {stair} {apt}",
        "nLa": lambda: f"{number}{stair.lower()}{apt}",
        "n L, as. a": lambda: f"{number} {stair}, as. {apt}",
        "n as a": lambda: f"{written} as {apt}",
        "n as. a": lambda: f"{written} as. {apt}",
        "n lgh a": lambda: f"{written} lgh {1000 + int(rng.integers(1, 999))}",
        "n, Apt aL": lambda: f"{written}, Apt {apt}{str(rng.choice(_LETTERS))}",
        "n #a": lambda: f"{written} #{apt}",
        "n Suite a": lambda: f"{written} Suite {100 * int(rng.integers(1, 9))}",
        "n, Flat a": lambda: f"{written}, Flat {apt}",
        "n bst a": lambda: f"{written} bst {apt}",
        "n L": lambda: f"{number} {stair}",
        "nl": lambda: f"{number}{stair.lower()}",
        "N L A (upper)": lambda: f"{number} {stair} {apt}".upper(),
    }
    name = str(rng.choice(list(forms)))
    return forms[name](), name


def _range_letter_form(housenumber: str, rng: np.random.Generator) -> tuple[str, str]:
    """The house number as a range or with a letter, written in one of the usual ways.

    A plain number becomes a range starting at it (``10`` -> ``10-12``) or gets a staircase
    letter the reference may not have (``10`` -> ``10 C``: the building is still 10); a
    lettered number or a range is written with other spacing, case or dash.
    """
    number, letter, _written = _number_parts(housenumber)
    if letter is not None:
        forms = {
            "nL": f"{number}{letter.upper()}",
            "n l": f"{number} {letter}",
            "n-L": f"{number}-{letter.upper()}",
        }
    elif "-" in number:
        start, end = number.split("-", 1)
        forms = {"n-m": f"{start}-{end}", "n - m": f"{start} - {end}", "n–m": f"{start}–{end}"}
    else:
        n = int(number)
        new_letter = str(rng.choice(_LETTERS))
        forms = {
            "n-(n+2)": f"{n}-{n + 2}",
            "n–(n+4)": f"{n}–{n + 4}",
            "n - (n+2)": f"{n} - {n + 2}",
            "nL (new letter)": f"{n}{new_letter.lower()}",
            "n L (new letter)": f"{n} {new_letter}",
        }
    name = str(rng.choice(list(forms)))
    return forms[name], name


def _second_line(rng: np.random.Generator) -> tuple[str, str]:
    firm, person = str(rng.choice(_FIRMS)), str(rng.choice(_PEOPLE))
    k = int(rng.integers(1, 9))
    lines = {
        "c/o firm": f"c/o {firm} Oy",
        "c/o person": f"c/o {person}",
        "PL n": f"PL {100 + k * 17}",
        "PO Box n": f"PO Box {k * 31}",
        "Box n": f"Box {k * 7}",
        "Building n": f"Building {k}",
        "Talo L": f"Talo {str(rng.choice(_LETTERS))}",
        "n. krs": f"{k}. krs",
        "Floor n": f"Floor {k}",
        "firm Oy": f"{firm} Oy",
        "firm Ab": f"{firm} Ab",
        "firm Ltd": f"{firm} Ltd",
        "Attn: person": f"Attn: {person}",
    }
    name = str(rng.choice(list(lines)))
    return lines[name], name


def _case(value: str, rng: np.random.Generator) -> tuple[str, str]:
    kind = str(rng.choice(["lower", "upper", "title", "swapcase"]))
    return getattr(value, kind)(), kind


def _one_line(
    street: str,
    number: str,
    postcode: str | None,
    city: str,
    rng: np.random.Generator,
    *,
    extra: str | None = None,
) -> tuple[str, str]:
    """The address on one line in one of the usual orders, ``extra`` before or after the
    street line; returns the line and the layout's name."""
    town = f"{postcode} {city}" if postcode else city
    layout = str(rng.choice(["S N, P C", "P C, S N", "S N P C", "S N\\nP C", "S N, C"]))
    street_line = f"{street} {number}"
    if extra is not None:
        before = bool(rng.integers(0, 2))
        street_line = f"{extra}, {street_line}" if before else f"{street_line}, {extra}"
        layout += " +line before" if before else " +line after"
    if layout.startswith("P C"):
        return f"{town}, {street_line}", layout
    if layout.startswith("S N P C"):
        return f"{street_line} {town}", layout
    if layout.startswith("S N\\nP C"):
        return f"{street_line}\n{town}", layout
    if layout.startswith("S N, C"):
        return f"{street_line}, {city}", layout
    return f"{street_line}, {town}", layout


def _wrong_postcodes(
    truth: np.ndarray, postcodes: Sequence[str], rng: np.random.Generator
) -> np.ndarray:
    others = np.array(sorted(set(postcodes) or set(truth)))
    picks = others[rng.integers(0, len(others), len(truth))]
    same = picks == truth
    picks[same] = others[(np.searchsorted(others, picks[same]) + 1) % len(others)]
    return picks


#: What each variant does to a query (``mixed`` draws two or three of :data:`_MIXABLE`).
_OPERATIONS: dict[str, tuple[str, ...]] = {
    "clean": (),
    "case": ("case",),
    "abbreviated": ("abbreviate",),
    "unit": ("unit",),
    "second_line": ("second_line",),
    "range_letter": ("range_letter",),
    "typo_1": ("typo",),
    "typo_first_letter": ("typo_first_letter",),
    "typo_2": ("typo_2",),
    "typo_short": ("typo_short",),
    "missing_postcode": ("no_postcode",),
    "wrong_postcode": ("wrong_postcode",),
    "typo_missing_postcode": ("typo", "no_postcode"),
    "typo_wrong_postcode": ("typo", "wrong_postcode"),
    "one_line": (),
}
#: The operations ``mixed`` combines; at most one per group (a number is written one way).
_MIXABLE = (
    ("case", "abbreviate"),
    ("unit", "range_letter"),
    ("second_line",),
    ("typo", "typo_first_letter", "typo_2"),
    ("no_postcode", "wrong_postcode"),
)
#: Variants always on one line, always in split columns; the others draw per query.
_ONE_LINE = {"one_line": True, "clean": False, "case": False, "abbreviated": False}


def _operations(variant: str, rng: np.random.Generator) -> tuple[str, ...]:
    if variant != "mixed":
        return _OPERATIONS[variant]
    groups = rng.choice(len(_MIXABLE), size=int(rng.integers(2, 4)), replace=False)
    return tuple(str(rng.choice(_MIXABLE[g])) for g in sorted(groups))


def _written(
    row: tuple[str, str, str | None, str],
    ops: tuple[str, ...],
    as_line: bool,
    wrong_postcode: str,
    rng: np.random.Generator,
) -> tuple[str | None, str | None, str | None, str | None, str | None, str]:
    """One address written with ``ops``: street, housenumber, postcode, city, address, form."""
    street, number, postcode, city = row
    extra, forms = None, []
    for op in ops:
        if op == "case":
            street, kind = _case(street, rng)
            city = getattr(city, kind)()
            forms.append(kind)
        elif op == "abbreviate":
            street = _abbreviate(street)
        elif op == "unit":
            number, kind = _unit_form(number, rng)
            forms.append(kind)
        elif op == "range_letter":
            number, kind = _range_letter_form(number, rng)
            forms.append(kind)
        elif op == "second_line":
            extra, kind = _second_line(rng)
            forms.append(kind)
        elif op in ("typo", "typo_first_letter", "typo_2", "typo_short"):
            span = _stem_span(street) if op == "typo_short" else None
            edits = 2 if op == "typo_2" else 1
            street = _typo(street, edits, rng, first_letter=op == "typo_first_letter", span=span)
        elif op == "no_postcode":
            postcode = None
        elif op == "wrong_postcode":
            postcode = wrong_postcode
    if len(ops) > 1:
        forms.insert(0, "+".join(ops))
    if as_line:
        address, layout = _one_line(street, number, postcode, city, rng, extra=extra)
        return None, None, None, None, address, " | ".join([*forms, layout])
    if extra is not None:
        before = bool(rng.integers(0, 2))
        sep = str(rng.choice(["\n", ", "]))
        street = f"{extra}{sep}{street}" if before else f"{street}{sep}{extra}"
        forms.append("line before" if before else "line after")
    return street, number, postcode, city, None, " | ".join(forms)


def _variant_rows(
    variant: str, sample: pd.DataFrame, postcodes: Sequence[str], rng: np.random.Generator
) -> pd.DataFrame:
    """The queries of one variant: street, housenumber, postcode, city or address; form."""
    q = sample.copy()
    if variant == "typo_short":
        short = q[[is_short_name(s) for s in q["street"]]]
        if len(short):
            q = short.iloc[rng.integers(0, len(short), len(q))].reset_index(drop=True)
    wrong = _wrong_postcodes(q["postcode"].astype(str).to_numpy(), postcodes, rng)
    one_line = _ONE_LINE.get(variant)
    paths = (
        np.full(len(q), one_line)
        if one_line is not None
        else rng.integers(0, 2, len(q)).astype(bool)
    )
    rows = zip(q["street"], q["housenumber"], q["postcode"], q["city"], strict=True)
    # A loop over a few thousand sampled addresses, only to build test queries: each one
    # draws its own form.
    written = [
        _written(
            (str(s), str(n), None if pd.isna(p) else str(p), str(c)),
            _operations(variant, rng),
            bool(as_line),
            str(w),
            rng,
        )
        for (s, n, p, c), as_line, w in zip(rows, paths, wrong, strict=True)
    ]
    columns = ["street", "housenumber", "postcode", "city", "address", "form"]
    q[columns] = pd.DataFrame(written, columns=columns, index=q.index)
    q["variant"] = variant
    q["path"] = np.where(paths, "one_line", "columns")
    return q


def make_variants(
    sample: pd.DataFrame,
    *,
    variants: Sequence[str] = VARIANTS,
    postcodes: Sequence[str] = (),
    seed: int = 0,
) -> pd.DataFrame:
    """Query rows with their truth, one block per variant, drawn by a seeded random process.

    Columns: ``ref``, ``lon``/``lat`` (the truth), ``street``, ``housenumber``, ``postcode``,
    ``city`` (split-column queries) or ``address`` (one-line queries), ``variant``, ``path``
    (``columns`` or ``one_line``) and ``form`` (which unit form, typo, second line or
    one-line layout the query drew). ``held_out_number`` yields no rows here (see
    :func:`evaluate_geocoder`). ``typo_short`` draws its queries from the sample's streets
    with short names (:func:`is_short_name`), with replacement, as many as the sample has;
    ``mixed`` applies two or three of the other variants' changes to each query at once
    (a typo and a unit and a wrong postcode, say).

    Raises
    ------
    ValidationError
        When a variant is not one of :data:`VARIANTS`.
    """
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        msg = f"variants {unknown} are unknown; expected some of {list(VARIANTS)}"
        raise ValidationError(msg)
    rng = np.random.default_rng(seed)
    frames = [_variant_rows(v, sample, postcodes, rng) for v in variants if v != "held_out_number"]
    columns = ["ref", "lon", "lat", "street", "housenumber", "postcode", "city", "address"]
    if not frames:
        return pd.DataFrame(columns=[*columns, "variant", "path", "form"])
    queries = pd.concat(frames, ignore_index=True)
    for col in ("street", "housenumber", "postcode", "city", "address"):
        queries[col] = queries[col].astype("string")
    return queries[[*columns, "variant", "path", "form"]]


def evaluate_geocoder(
    conn: Connection, queries: pd.DataFrame, *, held_out: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Geocode ``queries`` and attach the error in metres to the true point, and the reason
    (``floor``, one of :data:`FLOOR_REASONS`, or missing) a query may be beyond reach.

    ``held_out`` rows (from :func:`sample_reference`) are queried as the ``held_out_number``
    variant; the caller removes them from the reference first, in a transaction it rolls
    back afterwards::

        delete_addresses(conn, held["ref"])  # gcrm.ingest
        results = evaluate_geocoder(conn, queries, held_out=held)

    Raises
    ------
    ValidationError
        When a held-out point is still in the reference.
    """
    if held_out is not None and len(held_out):
        still = conn.execute(
            text("SELECT count(*) FROM gcrm.address_points WHERE ref = ANY(:refs)"),
            {"refs": held_out["ref"].tolist()},
        ).scalar_one()
        if still:
            msg = (
                f"held_out: {still} of {len(held_out)} points are still in the reference; remove "
                "them first with gcrm.ingest.delete_addresses(conn, held_out['ref'])"
            )
            raise ValidationError(msg)
        extra = held_out.assign(
            variant="held_out_number", address=pd.NA, path="columns", form=""
        ).astype({c: "string" for c in ("street", "housenumber", "postcode", "city", "address")})
        queries = pd.concat(
            [queries[queries["variant"] != "held_out_number"], extra], ignore_index=True
        )
    split = queries[queries["address"].isna()]
    lines = queries[queries["address"].notna()]
    parts = []
    if len(split):
        parts.append(
            geocode_frame(
                conn,
                split[["street", "housenumber", "postcode", "city"]].astype("string"),
                use_cache=False,
            )
        )
    if len(lines):
        parts.append(geocode_frame(conn, lines[["address"]], use_cache=False))
    result = pd.concat(parts).loc[queries.index]
    keep = ["ref", "variant", "path", "form", "lon", "lat", *_TYPED]
    out = queries.reindex(columns=keep).rename(columns={"lon": "true_lon", "lat": "true_lat"})
    out = pd.concat([out, result[list(RESULT_COLUMNS)]], axis=1)
    out["error_m"] = _haversine_m(out["true_lon"], out["true_lat"], out["lon"], out["lat"])
    out["floor"] = _floor_reasons(conn, queries, result)
    return out


_TRUTH_SQL = """
SELECT a.ref, a.street, a.street_norm, a.postcode_norm, count(t.ref) AS twins,
       bool_or(t.postcode_norm IS NOT DISTINCT FROM a.postcode_norm) AS twin_same_pc
FROM gcrm.address_points a
LEFT JOIN gcrm.address_points t
  ON t.street_norm = a.street_norm AND t.housenumber_norm = a.housenumber_norm
 AND t.ref <> a.ref AND ST_Distance(t.geom::geography, a.geom::geography) > :far
WHERE a.ref = ANY(:refs)
GROUP BY a.ref, a.street, a.street_norm, a.postcode_norm
"""


def _floor_reasons(conn: Connection, queries: pd.DataFrame, result: pd.DataFrame) -> pd.Series:
    """Per query, why no geocoder of this reference may answer it right (missing: no reason).

    - ``twin_address``: the true address is mapped at another point more than 30 m away,
      and the query does not carry the postcode that tells the two apart;
    - ``typed_another_address``: the typed street and number (as normalised) are another
      address of the reference, none of whose points is within 30 m of the truth (a new
      staircase letter that exists, a range that is an address of its own, a typo that
      wrote another street having the number);
    - ``typo_is_a_street``: the typed street is another street of the reference (spaces
      and hyphens aside: "Asemaaukio" is "Asema-aukio", not a typo of "Asemanaukio");
    - ``building_in_street``: the reference street carries a building name before a comma
      (``"Kaivopiha, Mannerheimintie"``), which the query did not write as it stands there
      (a typo in it, or a line order that makes it a second line): the geocoder reads such a
      name as a line that is not the street.
    """
    rows = conn.execute(
        text(_TRUTH_SQL),
        {"refs": queries["ref"].dropna().unique().tolist(), "far": WITHIN_M},
    ).fetchall()
    truth = pd.DataFrame(
        rows, columns=["ref", "street", "street_norm", "postcode_norm", "twins", "twin_same_pc"]
    ).set_index("ref")
    known = set(
        conn.execute(text("SELECT DISTINCT street_norm FROM gcrm.address_streets")).scalars()
    )
    info = truth.reindex(queries["ref"].to_numpy()).set_axis(queries.index)
    typed_pc = pd.Series(result["postcode_norm"].to_numpy(), queries.index, dtype="string")
    typed_street = pd.Series(result["street_norm"].to_numpy(), queries.index, dtype="string")
    same_pc_twin = info["twin_same_pc"].astype("boolean").fillna(False)
    true_pc = info["postcode_norm"].astype("string")
    pc_tells = typed_pc.eq(true_pc).fillna(False) & ~same_pc_twin
    twin = (info["twins"].fillna(0) > 0) & ~pc_tells
    # As the fuzzy rung reads names: without spaces and hyphens.
    squashed = typed_street.str.replace(r"[\s-]", "", regex=True)
    typo_street = squashed.ne(
        info["street_norm"].astype("string").str.replace(r"[\s-]", "", regex=True)
    ).fillna(False) & squashed.isin({re.sub(r"[\s-]", "", k) for k in known})
    building = info["street"].fillna("").str.contains(",", regex=False) & typed_street.ne(
        info["street_norm"].astype("string")
    ).fillna(True)
    other = _typed_elsewhere(conn, queries, result)
    conditions = [c.to_numpy(dtype=bool) for c in (twin, building, other, typo_street)]
    reasons = np.select(conditions, list(FLOOR_REASONS), default="").astype(object)
    reasons[reasons == ""] = None
    return pd.Series(reasons, index=queries.index, dtype="string")


_ELSEWHERE_SQL = """
SELECT q.i
FROM unnest(CAST(:streets AS text[]), CAST(:numbers AS text[]), CAST(:lons AS float8[]),
            CAST(:lats AS float8[])) WITH ORDINALITY AS q(street_norm, housenumber_norm, lon, lat, i)
JOIN gcrm.address_points a
  ON a.street_norm = q.street_norm AND a.housenumber_norm = q.housenumber_norm
GROUP BY q.i
HAVING min(ST_Distance(a.geom::geography,
                       ST_SetSRID(ST_MakePoint(q.lon, q.lat), 4326)::geography)) > :far
"""


def _typed_elsewhere(conn: Connection, queries: pd.DataFrame, result: pd.DataFrame) -> pd.Series:
    """Whether the typed street and number are an address of the reference far from the
    truth (``typed_another_address`` of :func:`_floor_reasons`)."""
    typed = pd.DataFrame(
        {
            "street": result["street_norm"].to_numpy(),
            "number": result["housenumber_norm"].to_numpy(),
            "lon": queries["lon"].to_numpy(dtype=float),
            "lat": queries["lat"].to_numpy(dtype=float),
        }
    )
    found = np.zeros(len(queries), dtype=bool)
    complete = typed["street"].notna() & typed["number"].notna()
    if complete.any():
        part = typed[complete.to_numpy()]
        rows = conn.execute(
            text(_ELSEWHERE_SQL),
            {
                "streets": part["street"].astype(str).tolist(),
                "numbers": part["number"].astype(str).tolist(),
                "lons": part["lon"].tolist(),
                "lats": part["lat"].tolist(),
                "far": WITHIN_M,
            },
        ).scalars()
        positions = np.flatnonzero(complete.to_numpy())
        found[positions[[int(i) - 1 for i in rows]]] = True
    return pd.Series(found, index=queries.index)


def _haversine_m(lon1: pd.Series, lat1: pd.Series, lon2: pd.Series, lat2: pd.Series) -> np.ndarray:
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(a))


def _flags(results: pd.DataFrame) -> pd.DataFrame:
    precise = results["precision"].isin(["rooftop", "interpolated"])
    return results.assign(
        false_match=precise & (results["error_m"] > FALSE_MATCH_M),
        within_30m=results["error_m"] <= WITHIN_M,
        at_floor=results["floor"].notna() if "floor" in results else False,
    )


def summarize(results: pd.DataFrame, *, by: str | Sequence[str] = "variant") -> pd.DataFrame:
    """Per variant (or per ``by``): share at each precision, median / p95 error, within
    30 m, false matches, the share of queries at a floor (``floor``) and, of the others,
    the share within 30 m and of false matches (``..._above_floor``); an ``overall`` row
    for everything but the held-out numbers, which are a category of their own."""
    results = _flags(results)
    keys = [by] if isinstance(by, str) else list(by)
    grouped = results.groupby(keys, sort=False)
    shares = pd.crosstab(
        [results[k] for k in keys], results["precision"], normalize="index"
    ).reindex(columns=list(PRECISIONS), fill_value=0.0)
    above_floor = results[~results["at_floor"]].groupby(keys, sort=False)
    above = above_floor["within_30m"].mean()
    false_above = above_floor["false_match"].mean()
    table = pd.DataFrame(
        {
            "n": grouped.size(),
            "rooftop": shares["rooftop"],
            "interpolated": shares["interpolated"],
            "street": shares["street"],
            "postcode": shares["postcode"],
            "locality": shares["locality"],
            "none": shares["none"],
            "within_30m": grouped["within_30m"].mean(),
            "median_error_m": grouped["error_m"].median(),
            "p95_error_m": grouped["error_m"].quantile(0.95),
            "false_match": grouped["false_match"].mean(),
            "floor": grouped["at_floor"].mean(),
            "within_30m_above_floor": above,
            "false_match_above_floor": false_above,
        }
    )
    if keys == ["variant"]:
        order = [v for v in VARIANTS if v in table.index]
        table = table.loc[order]
    else:
        table = table.sort_index()
    rest = results[results["variant"] != "held_out_number"]
    total = pd.DataFrame(
        {
            "n": [len(rest)],
            "within_30m": [rest["within_30m"].mean()],
            "false_match": [rest["false_match"].mean()],
            "median_error_m": [rest["error_m"].median()],
            "p95_error_m": [rest["error_m"].quantile(0.95)],
            "floor": [rest["at_floor"].mean()],
            "within_30m_above_floor": [rest.loc[~rest["at_floor"], "within_30m"].mean()],
            "false_match_above_floor": [rest.loc[~rest["at_floor"], "false_match"].mean()],
        },
        index=["overall"],
    )
    if keys != ["variant"]:
        total.index = pd.MultiIndex.from_tuples([("overall",) * len(keys)])
    return pd.concat([table, total])


def failures(results: pd.DataFrame) -> pd.DataFrame:
    """The queries of :func:`evaluate_geocoder` that were not placed within 30 m, or were
    placed falsely: what was typed, the answer and the floor reason; what to read when a
    variant misses its target."""
    flagged = _flags(results)
    bad = flagged[~flagged["within_30m"] | flagged["false_match"]]
    columns = ["variant", "path", "form", *_TYPED, "precision", "source", "matched_address"]
    return bad[[*columns, "error_m", "floor"]]
