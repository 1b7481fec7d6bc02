"""The locustfile of benchmarks/service_load.py: what the users of a gcrm server do.

Read by locust (``locust -f benchmarks/_locust_service.py``), configured by service_load.py.
``LOAD_PLAN`` names a JSON file with the people (each a district's manager: login, token and
points in their district to search leads around), addresses to geocode, the area levels and
periods of the cube, and the recorded dashboard requests. Each simulated user is one of the
people, in turn.
The user class is chosen on locust's command line: ``MixedUser`` (managers on the dashboard
and the API, with think time), ``LeadsUser`` or ``GeocodeUser`` (closed loop on one route, no
think time).
"""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, constant, task

PLAN: dict[str, Any] = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())
_TURN = itertools.count()


class _GcrmUser(FastHttpUser):
    abstract = True

    def on_start(self) -> None:
        self.rng = random.Random()
        self.person = PLAN["people"][next(_TURN) % len(PLAN["people"])]
        self.auth = {"Authorization": f"Bearer {self.person['token']}"}

    def leads_near(self) -> None:
        lon, lat = self.rng.choice(self.person["points"])
        self.client.get(
            f"/api/leads/near?lon={lon:.6f}&lat={lat:.6f}&radius_m=1000&limit=50",
            headers=self.auth,
            name="/api/leads/near",
        )

    def geocode(self) -> None:
        address = self.rng.choice(PLAN["addresses"])
        self.client.get(
            "/api/geocode", params={"address": address}, headers=self.auth, name="/api/geocode"
        )


class LeadsUser(_GcrmUser):
    """A client asking for nearby leads as fast as it is answered."""

    wait_time = constant(0)

    @task
    def near(self) -> None:
        self.leads_near()


class GeocodeUser(_GcrmUser):
    """A client geocoding one address at a time as fast as it is answered."""

    wait_time = constant(0)

    @task
    def one(self) -> None:
        self.geocode()


class MixedUser(_GcrmUser):
    """A manager, planner or rep at work: the dashboard, cube slices, leads, geocodes."""

    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        super().on_start()
        login = self.person
        self.session_headers: dict[str, str] = {}
        page = self.client.get("/login", name="/login")
        token = _csrf_from(page.text or "")
        done = self.client.post(
            "/login",
            data={"username": login["name"], "password": login["password"], "csrf_token": token},
            name="/login POST",
        )
        if done.status_code != 200 or "/login" in (done.url or ""):
            raise RuntimeError(f"login as {login['name']} failed: {done.status_code}")
        # The dashboard's scripts read the CSRF token from this cookie and send it back in a
        # header with every callback; so does this user.
        cookie = next((c.value for c in self.client.cookiejar if c.name == "gcrm_csrf"), "")
        self.session_headers = {"X-CSRF-Token": cookie or token}

    @task(3)
    def dashboard_view(self) -> None:
        """What the browser asks for when the dashboard opens: the page, then its callbacks."""
        self.client.get("/", name="/ (dashboard page)")
        for request in PLAN["dashboard_requests"]:
            self.client.post(
                request.get("path", "/_dash-update-component"),
                json=request["body"],
                headers={**self.session_headers, "Content-Type": "application/json"},
                name=f"dash: {request['label']}",
            )

    @task(3)
    def cube_slice(self) -> None:
        level = self.rng.choice(PLAN["levels"])
        period = self.rng.choice(PLAN["periods"])
        measure = self.rng.choice(["customers", "active", "revenue", "orders", "churned"])
        self.client.get(
            f"/api/cube/slice?level={level}&measure={measure}&period={period}",
            headers=self.auth,
            name="/api/cube/slice",
        )

    @task(3)
    def leads(self) -> None:
        self.leads_near()

    @task(2)
    def geocode_one(self) -> None:
        self.geocode()

    @task(1)
    def customers_page(self) -> None:
        offset = self.rng.randrange(0, 2000, 50)
        self.client.get(
            f"/api/customers?limit=50&offset={offset}", headers=self.auth, name="/api/customers"
        )


def _csrf_from(page: str) -> str:
    """The CSRF token a gcrm page carries (meta tag or hidden field)."""
    for marker in ('name="csrf-token" content="', 'name="csrf_token" value="'):
        start = page.find(marker)
        if start >= 0:
            start += len(marker)
            return page[start : page.index('"', start)]
    return ""
