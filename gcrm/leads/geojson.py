"""Lead searches as GeoJSON text built by PostgreSQL: the interactive routes' fast path.

:func:`gcrm.leads.find_nearby_leads` returns a GeoDataFrame, which is what exports and maps
need; turning it into JSON for one API response cost ~40 ms of Python per request while the
search itself takes about one. These functions run the same statements (``query.sql``) and
have PostgreSQL build the FeatureCollection, so the text goes to the client as it comes from
the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from gcrm.leads.filtered import LeadFilters, drive_query, drive_rows, within_query
from gcrm.leads.query import Kind, check_sort, run_checked, statement
from gcrm.leads.search import _EVERY_LEAD, Origin, first_fetch, search_params

__all__ = ["NearbyGeoJSON", "drive_time_geojson", "nearby_geojson", "within_geojson"]


@dataclass(frozen=True)
class NearbyGeoJSON:
    """A FeatureCollection as JSON text, and how many features it holds."""

    body: str
    features: int


def _run(
    conn: Connection, kind: Kind, params: dict[str, object], *, order: str, origin: bool = True
) -> tuple[NearbyGeoJSON, int]:
    sql = statement(kind, order=order, geojson=True, origin=origin)

    def run(p: dict[str, object]) -> tuple[NearbyGeoJSON, int, int, bool]:
        row = conn.execute(text(sql), p).one()
        found = NearbyGeoJSON(body=str(row.body), features=int(row.features))
        return found, found.features, int(row.fetched), bool(row.complete)

    return run_checked(run, params)


def _counted(found: NearbyGeoJSON) -> tuple[NearbyGeoJSON, int]:
    return found, found.features


def _origin_params(origin: Origin | None) -> dict[str, object]:
    if origin is None:
        return {"origin_label": None, "origin_precision": None}
    return {"origin_label": origin.label, "origin_precision": origin.precision}


def nearby_geojson(
    conn: Connection,
    origin: Origin,
    *,
    radius_m: float = 1000,
    limit: int = 50,
    categories: Sequence[str] | None = None,
    zoning_classes: Sequence[str] | None = None,
    area: str | tuple[str, str] | None = None,
    min_score: float | None = None,
    customers: str = "exclude",
    sort: str | None = None,
) -> NearbyGeoJSON:
    """The leads nearest to ``origin`` as a GeoJSON FeatureCollection, nearest first.

    Parameters
    ----------
    conn
        Connection to the gcrm database.
    origin
        Where the search starts (:func:`gcrm.leads.resolve_origin`); it goes into the
        foreign member ``origin`` (lon, lat, label, precision).
    radius_m, limit, categories, zoning_classes, area, min_score, customers, sort
        As for :func:`gcrm.leads.find_nearby_leads`.

    Returns
    -------
    NearbyGeoJSON
        The collection as text: each feature a point (EPSG:4326) with properties ``rank``,
        the lead columns, ``distance_m``, ``score``, ``percentile``, ``reasons`` and
        ``area_<level>`` codes, the same content as :func:`find_nearby_leads` shaped by
        ``gcrm.api.leads_collection``; and its count.

    Raises
    ------
    ValidationError
        When a coordinate, ``radius_m``, ``limit``, ``sort``, the area or a filter is
        invalid.
    """
    order = check_sort(sort, kind="nearest", min_score=min_score)
    params = search_params(
        conn,
        lon=origin.lon,
        lat=origin.lat,
        radius_m=radius_m,
        limit=limit,
        categories=categories,
        zoning_classes=zoning_classes,
        area=area,
        min_score=min_score,
        customers=customers,
    )
    params |= _origin_params(origin)
    fetch = first_fetch(params, order=order)
    while True:
        found, fetched = _run(conn, "nearest", params | {"fetch": fetch}, order=order)
        if found.features >= limit or fetched < fetch:
            return found
        fetch = min(fetch * 8, _EVERY_LEAD)


def drive_time_geojson(
    conn: Connection,
    origin: Origin,
    *,
    minutes: float,
    limit: int = 50,
    categories: Sequence[str] | None = None,
    zoning_classes: Sequence[str] | None = None,
    area: str | tuple[str, str] | None = None,
    min_score: float | None = None,
    customers: str = "exclude",
    sort: str | None = None,
) -> NearbyGeoJSON:
    """The leads within ``minutes`` by road from ``origin``, as a GeoJSON FeatureCollection.

    The same rows as :func:`gcrm.leads.find_leads_by_drive_time` (with ``drive_time_s``);
    arguments as there.

    Raises
    ------
    ValidationError
        As :func:`gcrm.leads.find_leads_by_drive_time`.
    """
    params, order, limit_s = drive_query(
        conn,
        origin,
        minutes=minutes,
        limit=limit,
        area=area,
        filters=LeadFilters(categories, zoning_classes, min_score, customers),
        sort=sort,
    )
    params |= _origin_params(origin)
    return drive_rows(
        conn,
        origin,
        params,
        order=order,
        limit_s=limit_s,
        run=lambda kind, p: _counted(_run(conn, kind, p, order=order)[0]),
    )


def within_geojson(
    conn: Connection,
    *,
    polygon: BaseGeometry | None = None,
    area: str | tuple[str, str] | None = None,
    limit: int = 1000,
    categories: Sequence[str] | None = None,
    zoning_classes: Sequence[str] | None = None,
    min_score: float | None = None,
    customers: str = "exclude",
    sort: str | None = None,
) -> NearbyGeoJSON:
    """The leads inside a polygon or an area, as a GeoJSON FeatureCollection.

    The same rows as :func:`gcrm.leads.find_leads_within`; arguments as there. The
    collection's ``origin`` member is null (there is none).

    Raises
    ------
    ValidationError
        As :func:`gcrm.leads.find_leads_within`.
    """
    params, order = within_query(
        conn,
        polygon=polygon,
        area=area,
        limit=limit,
        filters=LeadFilters(categories, zoning_classes, min_score, customers),
        sort=sort,
    )
    params |= _origin_params(None)
    return _run(conn, "within", params, order=order, origin=False)[0]
