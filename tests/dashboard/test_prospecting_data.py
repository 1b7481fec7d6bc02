"""The Prospecting page's reads on the demo region (real PostGIS), and the app serving the
page by its path."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import shape
from sqlalchemy import text

from dashboard import create_app
from dashboard.prospecting import data as pdata
from dashboard.prospecting import model as pm
from gcrm.core import GeocodingError, ValidationError
from gcrm.leads import find_leads_by_drive_time, resolve_origin
from gcrm.routing import catchment, read_road_graph
from tests.conftest import Demo

ADDRESS = "Aleksanterinkatu 11, 00100 Helsinki"


def _search(**changes: object) -> pm.Search:
    controls: dict[str, object] = {
        "origin_kind": "address",
        "origin_text": ADDRESS,
        "branch": None,
        "click": None,
        "mode": "radius",
        "radius_m": 300,
        "minutes": 2,
        "area": None,
        "drawn": None,
        "categories": None,
        "zoning": None,
        "min_score": None,
        "customers": None,
    }
    return pm.search_of_controls(**(controls | changes))  # type: ignore[arg-type]


def _audited(demo: Demo) -> int:
    with demo.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM gcrm.audit_log WHERE action = 'dashboard prospecting'")
            ).scalar_one()
        )


def test_drive_time_search_matches_gcrm_leads_and_is_audited(demo: Demo) -> None:
    before = _audited(demo)
    found = pdata.run_search(
        demo.engine, _search(mode="drive"), graphs=pdata.GraphCache(), names=True
    )
    with demo.engine.connect() as conn:
        origin = resolve_origin(conn, address=ADDRESS)
        expected = find_leads_by_drive_time(conn, origin, minutes=2, limit=501)
    assert found.leads["external_id"].tolist() == expected["external_id"].tolist()[:500]
    assert found.capped == (len(expected) > 500)
    assert found.reach is not None and found.reach["type"] in ("Polygon", "MultiPolygon")
    assert "Within 2 min by road" in found.reach_note
    assert "reached from the origin" in found.reach_note
    # The shape drawn is the drive out of the origin, as the leads are timed; one-way
    # streets in the centre make it differ from the drive back to the origin.
    with demo.engine.connect() as conn:
        graph = read_road_graph(conn, store=False)
    out = catchment(graph, origin_xy=(origin.lon, origin.lat), minutes=2, direction="from")
    back = catchment(graph, origin_xy=(origin.lon, origin.lat), minutes=2, direction="to")
    assert shape(found.reach).equals(out)
    assert not out.equals(back)
    assert _audited(demo) == before + 1


def test_branch_and_customer_origins(demo: Demo) -> None:
    with demo.engine.connect() as conn:
        code = conn.execute(
            text("SELECT code FROM gcrm.branches ORDER BY code LIMIT 1")
        ).scalar_one()
        customer, name = conn.execute(
            text("SELECT external_id, name FROM gcrm.customers WHERE geom IS NOT NULL LIMIT 1")
        ).one()
    graphs = pdata.GraphCache()
    found = pdata.run_search(
        demo.engine, _search(origin_kind="branch", branch=code), graphs=graphs, names=True
    )
    assert found.origin is not None and found.origin.label.startswith(f"branch {code}")
    search = _search(origin_kind="customer", origin_text=customer)
    named = pdata.run_search(demo.engine, search, graphs=graphs, names=True)
    assert named.origin is not None and name in named.origin.label
    unnamed = pdata.run_search(demo.engine, search, graphs=graphs, names=False)
    assert unnamed.origin is not None and unnamed.origin.label == f"customer {customer}"
    with pytest.raises(ValidationError, match="branch='NOPE' is not a branch"):
        pdata.run_search(
            demo.engine, _search(origin_kind="branch", branch="NOPE"), graphs=graphs, names=True
        )
    with pytest.raises(GeocodingError, match="could not be geocoded"):
        pdata.run_search(
            demo.engine, _search(origin_text="Nowhere street 99999"), graphs=graphs, names=True
        )


def test_area_search_ranks_by_distance_from_an_origin_and_exports(demo: Demo) -> None:
    with demo.engine.connect() as conn:
        code = conn.execute(
            text(
                "SELECT area_codes->>'district' FROM gcrm.leads WHERE area_codes ? 'district' "
                "GROUP BY 1 ORDER BY count(*) LIMIT 1"
            )
        ).scalar_one()
    found = pdata.run_search(
        demo.engine,
        _search(mode="area", area=f"district:{code}"),
        graphs=pdata.GraphCache(),
        names=True,
    )
    assert len(found.leads) > 0
    assert found.leads["distance_m"].is_monotonic_increasing
    assert found.leads["rank"].tolist() == list(range(1, len(found.leads) + 1))
    csv = pdata.export_found(found, "csv").decode("utf-8").splitlines()
    assert len(csv) == len(found.leads) + 1 and "origin_matched_address" in csv[0]
    with pytest.raises(ValidationError, match="format='pdf' is not a lead export"):
        pdata.export_found(found, "pdf")


def test_plan_visits_from_the_origin(demo: Demo) -> None:
    graphs = pdata.GraphCache()
    found = pdata.run_search(demo.engine, _search(), graphs=graphs, names=True)
    ids = found.leads["external_id"].tolist()[:4]
    plan = pdata.plan_visits(
        demo.engine, found, ids, graphs=graphs, start_time="09:30", day_hours=6
    )
    assert sorted(plan.stops["external_id"]) == sorted(ids)
    assert plan.stops["stop"].tolist() == [1, 2, 3, 4]
    assert plan.stops["arrival"].iloc[0] >= "09:30"
    summary = pdata.route_summary(plan)
    assert summary.startswith(f"4 stops from {found.origin.label} at 09:30")  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="no longer in the search's results"):
        pdata.plan_visits(
            demo.engine, found, ["osm:gone"], graphs=graphs, start_time=None, day_hours=None
        )


def test_the_app_serves_each_page_by_its_path(demo: Demo) -> None:
    app = create_app(demo.settings.model_copy(update={"auth": "off"}))
    client = app.server.test_client()
    assert client.get("/prospecting").status_code == 200

    def layout(referrer: str) -> str:
        answer = client.get("/_dash-layout", headers={"Referer": referrer})
        assert answer.status_code == 200
        return json.dumps(answer.get_json())

    prospecting = layout("http://localhost/prospecting?mode=drive")
    assert '"pr-map"' in prospecting and '"id": "map"' not in prospecting
    dashboard = layout("http://localhost/")
    assert '"id": "map"' in dashboard and '"pr-map"' not in dashboard
    assert '"nav-prospecting"' in dashboard and '"nav-dashboard"' in prospecting


def test_a_role_without_leads_gets_a_notice_not_the_page(demo: Demo) -> None:
    from dashboard.cache import DataByScope
    from dashboard.layout import Account
    from dashboard.prospecting import prospecting_for_request
    from gcrm.access import Principal
    from gcrm.web import Services

    services = Services(demo.settings, owner=demo.engine, data=demo.engine)
    data = DataByScope(services)
    account = Account(name="v", role="viewer", scope="all", csrf_token=None)
    viewer = Principal(name="v", role="viewer", all_areas=True, scoped=False)
    page = json.dumps(
        prospecting_for_request(
            data, viewer, account=account, settings=demo.settings
        ).to_plotly_json(),
        default=str,
    )
    assert "may not read leads" in page and "pr-map" not in page
    prospector = Principal(name="p", role="prospector", all_areas=True, scoped=False)
    page = json.dumps(
        prospecting_for_request(
            data, prospector, account=account, settings=demo.settings
        ).to_plotly_json(),
        default=str,
    )
    assert "pr-map" in page and "may not read leads" not in page
