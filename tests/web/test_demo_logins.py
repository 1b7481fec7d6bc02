"""The logins `gcrm demo` prints: an admin and a manager per top-level area, that work."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

from gcrm.access import LoginFailed, authenticate
from gcrm.demo.run import create_demo_logins


def test_demo_logins_cover_every_district_and_are_renewed_on_rerun(demo_conn: Connection) -> None:
    # The demo fixture's run made them already; a rerun keeps the users, renews passwords.
    districts = list(
        demo_conn.execute(
            text("SELECT code FROM gcrm.areas WHERE level = 'district' ORDER BY code")
        ).scalars()
    )
    first = create_demo_logins(demo_conn)
    assert [(x.name, x.role, x.scope) for x in first] == [
        ("admin", "admin", "all areas"),
        *((f"manager-{code.lower()}", "manager", f"district:{code}") for code in districts),
    ]
    second = create_demo_logins(demo_conn)
    assert [x.name for x in second] == [x.name for x in first]
    for old, new in zip(first, second, strict=True):
        assert old.password != new.password and len(new.password) >= 10
        principal = authenticate(demo_conn, new.name, new.password)
        assert principal.describe_scope() == new.scope
        with pytest.raises(LoginFailed):
            authenticate(demo_conn, old.name, old.password)
