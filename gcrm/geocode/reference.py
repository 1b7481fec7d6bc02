"""The geocoder's indexes over the address reference, kept in step with it.

``gcrm.address_streets``, ``gcrm.address_postcodes`` and ``gcrm.address_localities`` are
materialized views over the reference (street, postcode and locality centroids, the street
index of the fuzzy rung); ``gcrm.geocode_cache`` remembers earlier answers. Whoever changes
the reference (``gcrm import addresses|postcodes``) calls :func:`refresh_reference`.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

__all__ = ["REFERENCE_VIEWS", "forget_inputs", "refresh_reference"]

REFERENCE_VIEWS = ("address_streets", "address_postcodes", "address_localities")


def refresh_reference(conn: Connection, *, changed: bool = True) -> None:
    """Rebuild the street, postcode and locality indexes of the reference and empty the
    cache (its answers may be stale) when the reference ``changed``.

    When it did not (an import that found every row as it was), the views are rebuilt only
    if one was never filled (a restored database, say): rebuilding them reads the whole
    reference, 2-3 s for a million points.
    """
    if not changed and _views_populated(conn):
        return
    for view in REFERENCE_VIEWS:
        conn.execute(text(f"REFRESH MATERIALIZED VIEW gcrm.{view}"))
    if changed:
        conn.execute(text("TRUNCATE gcrm.geocode_cache"))


def _views_populated(conn: Connection) -> bool:
    populated = conn.execute(
        text(
            "SELECT count(*) FILTER (WHERE ispopulated) FROM pg_matviews "
            "WHERE schemaname = 'gcrm' AND matviewname = ANY(:views)"
        ),
        {"views": list(REFERENCE_VIEWS)},
    ).scalar_one()
    return int(populated) == len(REFERENCE_VIEWS)


def forget_inputs(conn: Connection, keys: list[str]) -> int:
    """Remove what the cache remembers of these normalised inputs (:func:`input_keys`), by the
    reference and by any online provider (``"<provider>|<key>"``); return how many went."""
    return int(
        conn.execute(
            text(
                "DELETE FROM gcrm.geocode_cache c USING unnest(CAST(:keys AS text[])) AS k(key) "
                "WHERE c.input_key = k.key OR right(c.input_key, length(k.key) + 1) = '|' || k.key"
            ),
            {"keys": list(keys)},
        ).rowcount
    )
