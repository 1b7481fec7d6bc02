"""One address on the fast path: the same keys and the same answers as the ladder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text

from gcrm.geocode import (
    GeocodeResult,
    address_keys,
    geocode_frame,
    geocode_one,
    input_keys,
    normalize_address_fields,
    parse_addresses,
)
from gcrm.geocode.accuracy import VARIANTS, make_variants
from gcrm.geocode.keys import city_key, housenumber_key, postcode_key, street_key
from gcrm.geocode.ladder import _street_parts
from gcrm.geocode.normalize import (
    normalize_city,
    normalize_housenumber,
    normalize_postcode,
    normalize_street,
)
from gcrm.ingest import import_addresses
from tests.geocode.test_parse import ONE_LINES

# Letters with and without diacritics, digits, the punctuation addresses carry, and the
# whitespace on which Python's re and pyarrow's RE2 disagree (\x0b, no-break space, em space).
_ALPHABET = "abkKlLtTvVgGäÄöÖåÅéßøı0123456789 .,-_/#'()\t\x0b\u00a0\u2003"
_PIECES = st.sampled_from(
    ["katu", "k.", "tie", "t.", "v.", "gatan", "g.", "vägen", "st.", "ave.", "apt", "as", "bst"]
)
_TEXT = st.lists(st.one_of(st.text(_ALPHABET, max_size=6), _PIECES), max_size=6).map(" ".join)


def _vectorised(fn, value: str) -> object:  # type: ignore[no-untyped-def]
    out = fn(pd.Series([value], dtype="string"))
    if isinstance(out, pd.DataFrame):
        return tuple(None if pd.isna(v) else v for v in out.iloc[0])
    first = out.iloc[0]
    return None if pd.isna(first) else first


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_TEXT)
def test_keys_agree_with_the_vectorised_normalisers(value: str) -> None:
    assert street_key(value) == _vectorised(normalize_street, value)
    assert city_key(value) == _vectorised(normalize_city, value)
    assert postcode_key(value) == _vectorised(normalize_postcode, value)
    assert housenumber_key(value) == _vectorised(normalize_housenumber, value)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(_TEXT, min_size=1, max_size=4).map(", ".join))
def test_address_keys_agree_with_the_ladders(address: str) -> None:
    _assert_keys_agree(address)


@pytest.mark.parametrize("line", [line for line, *_ in ONE_LINES])
def test_one_address_and_many_read_the_same_keys(line: str) -> None:
    _assert_keys_agree(line)


def _assert_keys_agree(address: str) -> None:
    """The one-address keys of ``address`` are the batch path's (parse, normalise, key)."""
    keys = normalize_address_fields(parse_addresses(pd.Series([address], dtype="string")))
    expected = tuple(None if pd.isna(v) else v for v in keys.iloc[0])
    found = address_keys(address)
    assert (
        found.street_norm,
        found.housenumber_norm,
        found.unit,
        found.postcode_norm,
        found.city_norm,
    ) == expected
    if found.input_key is not None:
        assert found.input_key == input_keys(keys).iloc[0]
    parts = _street_parts(parse_addresses(pd.Series([address], dtype="string"))).iloc[0]
    assert found.street_parts == (None if pd.isna(parts) else parts)


def _ladder(conn: Connection, address: str) -> GeocodeResult:
    row = geocode_frame(conn, pd.DataFrame({"address": [address]}), use_cache=False).iloc[0]
    return GeocodeResult(
        lon=None if pd.isna(row["lon"]) else float(row["lon"]),
        lat=None if pd.isna(row["lat"]) else float(row["lat"]),
        precision=str(row["precision"]),
        score=float(row["score"]),
        source=str(row["source"]),
        matched_address=None if pd.isna(row["matched_address"]) else str(row["matched_address"]),
    )


ADDRESSES = [
    "Mannerheimintie 10, 00100 Helsinki",  # exact, postcode right
    "MANNERHEIMINT. 12",  # exact, abbreviated, no postcode
    "Mannerheimintie 10, 00990 Helsinki",  # exact, wrong postcode
    "Yrjönkatu 3b, Helsinki",  # exact with a letter
    "yrjonkatu 3 B 5, 00120",  # a unit not in the reference
    "Manerheimnitie 12, 00100 Helsinki",  # fuzzy: the ladder's
    "Annankatu 6, 00120 Helsinki",  # interpolated
    "Rantatie 1",  # the same address in two places: ambiguous, steps down
    "Rantatie 1, 02100 Espoo",  # ... unless the postcode decides
    "00170 Helsinki",  # postcode centroid
    "Helsinki",  # locality
    "Nowhere street 1",  # unplaced
    "Annankatu 10912322353361802, Helsinki",  # a number beyond PostgreSQL's integer
    "Mannerheimintie 10 C 5, 00100 Helsinki",  # a staircase the reference lacks: the house
    "Mannerheimintie 10b5, 00100 Helsinki",  # ... written without spaces
    "Mannerheimintie 10, as. 5, 00100 Helsinki",  # an apartment on a line of its own
    "Mannerheimintie 10 lgh 1102",  # a Swedish apartment number
    "Apt 4B, Mannerheimintie 12",  # a unit before the street
    "Mannerheimintie 10-12, Helsinki",  # a range the reference lacks
    "c/o Firm Oy, Mannerheimintie 10, 00100 Helsinki",  # a c/o line
    "PL 123, Mannerheimintie 12, 00100 Helsinki",  # a PO box line
    "Mannerheimintie 12, Building 3, 00100 Helsinki",  # a building line after the street
    "Acme, Mannerheimintie 12, 00100 Helsinki",  # a line the parser does not know
    "Nannerheimintie 10, 00100 Helsinki",  # a typo in the first letter
    "Mannerheimintie 12, 00990 Helsinki",  # a wrong postcode the reference lacks
    "Manerheimnitie 12, 00170 Helsinki",  # a typo and a wrong postcode
    "Manerheimnitie 12",  # a typo, no postcode, no city: every street is compared
    "PL 123, 00101 Helsinki",  # a PO box alone: the postcode's city
]


@pytest.fixture
def wider_reference(conn: Connection, reference: Path, tmp_path: Path) -> None:
    path = tmp_path / "more.csv"
    path.write_text(
        "ref,street,housenumber,postcode,city,lon,lat\n"
        "b4,Annankatu,4,00120,Helsinki,24.9360,60.1655\n"
        "b10,Annankatu,10,00120,Helsinki,24.9360,60.1664\n"
        "d1,Rantatie,1,02100,Espoo,24.80,60.18\n"
        "d2,Rantatie,1,04400,Järvenpää,25.09,60.47\n",
        encoding="utf-8",
    )
    import_addresses(conn, path)


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_same_answer_as_the_ladder(
    conn: Connection, wider_reference: None, address: str
) -> None:
    assert geocode_one(conn, address) == _ladder(conn, address)


def test_a_cached_answer_comes_first(conn: Connection, reference: Path) -> None:
    """What the cache remembers wins, as on the ladder; the fast path itself writes none."""
    address = "Fabianinkatu 5, 00130 Helsinki"
    assert geocode_one(conn, address).source == "reference:exact"
    count = "SELECT count(*) FROM gcrm.geocode_cache"
    assert conn.execute(text(count)).scalar_one() == 0
    key = address_keys(address).input_key
    conn.execute(
        text(
            "INSERT INTO gcrm.geocode_cache (input_key, lon, lat, precision, score, source, "
            "matched_address) VALUES (:k, 1.5, 2.5, 'street', 0.4, 'reference:street', 'X')"
        ),
        {"k": key},
    )
    assert geocode_one(conn, address) == GeocodeResult(
        1.5, 2.5, "street", 0.4, "reference:street", "X"
    )


def test_demo_sample_gives_the_ladders_answers(demo_conn: Connection) -> None:
    """Every way of writing 150 demo addresses: the fast path and the ladder agree."""
    rows = demo_conn.execute(
        text(
            "SELECT street, housenumber, postcode, city FROM gcrm.address_points "
            "ORDER BY md5(ref) LIMIT 150"
        )
    ).all()
    forms = [
        lambda s, n, p, c: f"{s} {n}, {p or ''} {c or ''}",
        lambda s, n, p, c: f"{s.upper()} {n}",
        lambda s, n, p, c: f"{p or ''} {c or ''}, {s} {n}",
        lambda s, n, p, c: f"{s[:-1]} {n}, {c or ''}",
    ]
    addresses = [form(*row) for i, row in enumerate(rows) for form in forms[i % 4 : i % 4 + 1]]
    fast = [geocode_one(demo_conn, a) for a in addresses]
    slow = [_ladder(demo_conn, a) for a in addresses]
    assert fast == slow
    assert sum(r.source == "reference:exact" for r in fast) > len(fast) / 2


def test_every_variant_of_the_benchmark_gets_the_ladders_answer(demo_conn: Connection) -> None:
    """The one-line queries of every variant of the accuracy benchmark (units, second lines,
    ranges, typos, postcodes missing or wrong, mixes): the fast path and the ladder agree."""
    rows = demo_conn.execute(
        text(
            "SELECT ref, street, housenumber, postcode, city, ST_X(geom) AS lon, "
            "ST_Y(geom) AS lat FROM gcrm.address_points WHERE postcode IS NOT NULL "
            "AND city IS NOT NULL ORDER BY md5(ref) LIMIT 40"
        )
    ).all()
    sample = pd.DataFrame(
        rows, columns=["ref", "street", "housenumber", "postcode", "city", "lon", "lat"]
    )
    queries = make_variants(
        sample,
        variants=[v for v in VARIANTS if v != "held_out_number"],
        postcodes=sorted(set(sample["postcode"])),
        seed=11,
    )
    addresses = queries.loc[queries["path"] == "one_line", "address"].tolist()
    assert len(addresses) > 200
    fast = [geocode_one(demo_conn, a) for a in addresses]
    slow = [_ladder(demo_conn, a) for a in addresses]
    differ = [(a, f, s) for a, f, s in zip(addresses, fast, slow, strict=True) if f != s]
    assert not differ, differ[:5]
    assert sum(r.precision == "rooftop" for r in fast) > 0.95 * len(fast)


def test_the_staging_table_serves_every_role_of_the_session(
    conn: Connection, reference: Path
) -> None:
    """``_geo_one`` is made once per session by whichever role climbs the ladder first, and
    the other (the owner, or the scoped ``gcrm_app`` of the API) uses it as it is."""
    typo = "Manerheimnitie 12, 00100 Helsinki"
    forget = text("DELETE FROM gcrm.geocode_cache")
    for first, second in (("gcrm_app", None), (None, "gcrm_app")):
        conn.execute(text("DROP TABLE IF EXISTS _geo_one"))
        answers = []
        for role in (first, second):
            conn.execute(text("RESET ROLE"))
            conn.execute(forget)  # so that the ladder is climbed, not the cache read
            if role is not None:
                conn.execute(text(f"SET LOCAL ROLE {role}"))
            answers.append(geocode_one(conn, typo))
        conn.execute(text("RESET ROLE"))
        assert answers[0] == answers[1] == _ladder(conn, typo)
        assert answers[0].source == "reference:fuzzy"


def test_the_staging_table_is_kept_for_the_session_and_emptied_at_commit(engine: Engine) -> None:
    with engine.connect() as conn:
        with conn.begin():
            geocode_one(conn, "Nowhere street 1, Atlantis")  # no reference: the whole ladder
        with conn.begin():
            exists = conn.execute(text("SELECT to_regclass('pg_temp._geo_one')")).scalar_one()
            assert exists is not None
            assert conn.execute(text("SELECT count(*) FROM _geo_one")).scalar_one() == 0
