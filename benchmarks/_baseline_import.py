"""The baseline of benchmarks/address_import.py: the address import as it was before issue 10.

Run by address_import.py in a subprocess whose PYTHONPATH holds the ``gcrm`` package of the
baseline commit (extracted with ``git archive``; see ``BASELINE_COMMIT`` there): its reader,
checks, staged ``INSERT ... ON CONFLICT`` upsert, all seven indexes of schema 0010
maintained row by row, and views refreshed on every import. It makes a database of its own
with that code's migrations, imports FILE into it twice (the first load, then the same file
again) and prints one JSON line: ``{"first_s": ..., "again_s": ..., "rows": ...}``.

Usage: python benchmarks/_baseline_import.py FILE
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Timer, bench_database  # noqa: E402

from gcrm.ingest import import_addresses  # noqa: E402


def main() -> None:
    path = Path(sys.argv[1])
    with bench_database("import_base") as (_url, engine):
        with Timer() as first, engine.begin() as conn:
            report = import_addresses(conn, path)
        with Timer() as again, engine.begin() as conn:
            repeat = import_addresses(conn, path)
    print(
        json.dumps(
            {
                "first_s": first.seconds,
                "again_s": again.seconds,
                "rows": report.rows_read,
                "inserted": report.inserted,
                "unchanged_again": repeat.unchanged,
                "gcrm": str(Path(sys.modules["gcrm"].__file__ or "").parent),
            }
        )
    )


if __name__ == "__main__":
    main()
