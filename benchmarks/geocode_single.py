"""One address at a time: GET /api/geocode on the served app against a 1,000,000-point reference.

What is measured: the latency a client sees (request sent to answer read, on one kept-alive
HTTP connection, one request at a time) of REQUESTS addresses (default 2,000, each asked once)
through two servers started side by side on the same database, both gunicorn with the same
settings (2 workers x 8 threads) and the same authentication (a prospector's API token):

- gcrm: `gcrm serve`; its route answers with ``gcrm.geocode.geocode_one``, the fast path
  (cache and exact rung in one statement, the whole ladder only when they find nothing);
- baseline: the path before the fast path, the set-based ladder on a one-row frame
  (``gcrm.geocode.geocode_frame``; benchmarks/_baseline_app.py).

The reference is synthetic (benchmarks/_synthetic.py, loaded with the importer). The
addresses are drawn from it, one line each, in a seeded mix of kinds (``--mix``): clean
(``Street 12, 00100 City``), without postcode (``Street 12, City``) and with one typo in the
street name (a letter replaced). The requests go in blocks of 250: each block to one
server then to the other (which goes first alternates), the geocoder's cache emptied before
each, so that neither finds what the other left, and both see the same machine noise.

Target (issue 10): p95 < 15 ms for a single GET /api/geocode against 1,000,000 points
(before the fast path a one-address call cost ~80 ms).

Run: .venv/bin/python benchmarks/geocode_single.py [--points 1000000] [--requests 2000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).parent))
from _common import Timer, bench_database, print_row  # noqa: E402
from _synthetic import synthetic_reference  # noqa: E402
from service_load import _free_port, server  # noqa: E402

from gcrm.access import add_user, create_token  # noqa: E402
from gcrm.core import Settings  # noqa: E402
from gcrm.ingest import import_addresses  # noqa: E402

BLOCK = 250
TARGET_P95_MS = 15.0
KINDS = ("clean", "no-postcode", "typo")
LETTERS = np.array(list("abcdefghijklmnoprstuvyäö"))


@dataclass
class Served:
    """One server's answers: latency (ms) and the answer of each address, by index."""

    name: str
    port: int
    ms: dict[int, float] = field(default_factory=dict)
    answers: dict[int, dict[str, object]] = field(default_factory=dict)


def parse_mix(value: str) -> dict[str, float]:
    """``clean=0.6,no-postcode=0.2,typo=0.2`` -> shares that sum to 1."""
    shares: dict[str, float] = {}
    for part in value.split(","):
        kind, _, share = part.partition("=")
        if kind.strip() not in KINDS:
            msg = f"--mix kind {kind.strip()!r} unknown; use {list(KINDS)}"
            raise argparse.ArgumentTypeError(msg)
        shares[kind.strip()] = float(share)
    total = sum(shares.values())
    return {k: v / total for k, v in shares.items()}


def make_addresses(
    reference: pd.DataFrame, n: int, mix: dict[str, float], *, seed: int
) -> pd.DataFrame:
    """``n`` one-line addresses of distinct reference points, with their kind."""
    rng = np.random.default_rng(seed)
    rows = reference.iloc[rng.choice(len(reference), n, replace=False)].reset_index(drop=True)
    kinds = rng.choice(list(mix), n, p=list(mix.values()))
    streets = rows["street"].to_numpy(dtype=object).copy()
    # A loop over the typo rows only: one letter replaced at a random place of the name.
    for i in np.flatnonzero(kinds == "typo"):
        name = streets[i]
        at = int(rng.integers(0, len(name)))
        others = LETTERS[name[at].lower() != LETTERS]
        streets[i] = name[:at] + str(rng.choice(others)) + name[at + 1 :]
    postcode = np.where(kinds == "no-postcode", "", rows["postcode"] + " ")
    line = streets + " " + rows["housenumber"] + ", " + postcode + rows["city"]
    return pd.DataFrame({"address": line, "kind": kinds})


def load_reference(engine: Engine, reference: pd.DataFrame, folder: Path) -> float:
    """Import the reference with gcrm's importer; return the seconds it took."""
    path = folder / "reference.fgb"
    gpd.GeoDataFrame(
        reference.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(reference["lon"], reference["lat"]),
        crs="EPSG:4326",
    ).to_file(path, engine="pyogrio")
    with Timer() as t, engine.begin() as conn:
        import_addresses(conn, path)
    return t.seconds


def make_token(engine: Engine) -> str:
    with engine.begin() as conn:
        add_user(conn, "bench.geocoder", role="prospector", scopes=["all"])
        return create_token(conn, "bench.geocoder", name="geocode benchmark", expires_days=1)


def ask(client: http.client.HTTPConnection, address: str, token: str) -> tuple[float, dict]:
    """One GET /api/geocode; (milliseconds, answer)."""
    start = time.perf_counter()
    client.request(
        "GET",
        "/api/geocode?" + urlencode({"address": address}),
        headers={"Authorization": f"Bearer {token}"},
    )
    response = client.getresponse()
    body = response.read()
    ms = (time.perf_counter() - start) * 1000
    if response.status != 200:
        raise SystemExit(f"GET /api/geocode {address!r}: {response.status} {body[:300]!r}")
    return ms, json.loads(body)


def run_block(
    path: Served, addresses: pd.DataFrame, indices: range, token: str, engine: Engine
) -> None:
    """The addresses ``indices`` through one server, on a new connection, cache emptied."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE gcrm.geocode_cache"))
    client = http.client.HTTPConnection("127.0.0.1", path.port, timeout=60)
    try:
        for i in indices:
            path.ms[i], path.answers[i] = ask(client, addresses.at[i, "address"], token)
    finally:
        client.close()


def summary(ms: list[float]) -> str:
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return f"p50 {p50:6.1f}  p95 {p95:6.1f}  p99 {p99:6.1f}  mean {np.mean(ms):6.1f} ms"


def report(paths: tuple[Served, Served], addresses: pd.DataFrame) -> None:
    gcrm_path, base = paths
    for path in paths:
        print_row(f"{path.name}: all {len(path.ms):,} requests", summary(list(path.ms.values())))
        for kind in KINDS:
            idx = addresses.index[addresses["kind"] == kind]
            if len(idx):
                print_row(f"  {kind} ({len(idx):,})", summary([path.ms[i] for i in idx]))
    g95 = np.percentile(list(gcrm_path.ms.values()), 95)
    b95 = np.percentile(list(base.ms.values()), 95)
    g50 = np.percentile(list(gcrm_path.ms.values()), 50)
    b50 = np.percentile(list(base.ms.values()), 50)
    print_row("ratio baseline / gcrm (p50; p95)", f"{b50 / g50:6.1f} x; {b95 / g95:.1f} x")
    same = sum(
        gcrm_path.answers[i].get("precision") == base.answers[i].get("precision")
        and gcrm_path.answers[i].get("lon") == base.answers[i].get("lon")
        for i in gcrm_path.answers
    )
    print_row("same answer from both (precision and place)", f"{same:,} of {len(addresses):,}")
    verdict = "met" if g95 < TARGET_P95_MS else "not met"
    print_row("target", f"p95 < {TARGET_P95_MS:g} ms: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, default=1_000_000,
                        help="address points in the reference (default %(default)s)")  # fmt: skip
    parser.add_argument("--requests", type=int, default=2_000,
                        help="addresses asked, each once per server (default %(default)s)")  # fmt: skip
    parser.add_argument("--warmup", type=int, default=100,
                        help="other addresses asked first, not counted (default %(default)s)")  # fmt: skip
    parser.add_argument("--mix", type=parse_mix, default="clean=0.6,no-postcode=0.2,typo=0.2",
                        help="shares of the kinds of address, from "
                        f"{list(KINDS)} (default %(default)s)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=10, help="of the addresses (default 10)")
    args = parser.parse_args()
    mix: dict[str, float] = args.mix

    print(f"single geocode: {args.points:,} reference points, {args.requests:,} requests, "
          f"mix {', '.join(f'{k} {v:.0%}' for k, v in mix.items())}")  # fmt: skip
    reference = synthetic_reference(points=args.points)
    addresses = make_addresses(reference, args.requests + args.warmup, mix, seed=args.seed)
    warmup, measured = addresses.iloc[: args.warmup], addresses.iloc[args.warmup :]
    measured = measured.reset_index(drop=True)
    with (
        tempfile.TemporaryDirectory(prefix="gcrm-single-") as tmp,
        bench_database("single") as (url, engine),
    ):
        print_row("load the reference (gcrm import addresses)",
                  f"{load_reference(engine, reference, Path(tmp)):8.1f} s")  # fmt: skip
        token = make_token(engine)
        settings = Settings(database_url=url, data_dir=Path(tmp) / "data")
        gcrm_path = Served("gcrm (GET /api/geocode, fast path)", _free_port())
        base = Served("baseline (geocode_frame, one row)", _free_port())
        with (
            server(settings, port=gcrm_path.port),
            server(settings, port=base.port, app="_baseline_app:app"),
        ):
            for path in (gcrm_path, base):
                scratch = Served(path.name, path.port)
                run_block(scratch, warmup.reset_index(drop=True), range(len(warmup)), token, engine)
            for block, start in enumerate(range(0, len(measured), BLOCK)):
                indices = range(start, min(start + BLOCK, len(measured)))
                order = (gcrm_path, base) if block % 2 == 0 else (base, gcrm_path)
                for path in order:
                    run_block(path, measured, indices, token, engine)
    report((gcrm_path, base), measured)


if __name__ == "__main__":
    main()
