"""What a database holds, as comparable values: the content of every table, and its security.

For tests that must show a database unchanged (an import killed half-way) or copied exactly
(a backup restored).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

#: Row-level security, policies, grants to the application role, the views' options and the
#: functions: what must survive a backup as much as the rows.
SECURITY = {
    "secured tables": (
        "SELECT relname FROM pg_class WHERE relrowsecurity "
        "AND relnamespace = 'gcrm'::regnamespace ORDER BY 1"
    ),
    "policies": (
        "SELECT tablename, policyname, permissive, roles::text, cmd, qual, with_check "
        "FROM pg_policies WHERE schemaname = 'gcrm' ORDER BY 1, 2"
    ),
    "grants": (
        "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
        "WHERE grantee = 'gcrm_app' ORDER BY 1, 2"
    ),
    "view options": (
        "SELECT relname, reloptions::text FROM pg_class WHERE relkind = 'v' "
        "AND relnamespace = 'gcrm'::regnamespace ORDER BY 1"
    ),
    "functions": (
        "SELECT proname, prosecdef, md5(prosrc), proacl::text FROM pg_proc "
        "WHERE pronamespace = 'gcrm'::regnamespace ORDER BY 1"
    ),
    "sequences": (
        "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'gcrm' ORDER BY 1"
    ),
}


def fingerprint(conn: Connection) -> dict[str, tuple[int, str]]:
    """Every table and materialized view of schema gcrm: its row count and an md5 of its rows
    in order."""
    relations = conn.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'gcrm' AND c.relkind IN ('r', 'p', 'm') ORDER BY 1"
        )
    ).scalars()
    result = {}
    for name in list(relations):
        count, digest = conn.execute(
            text(
                "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
                f'FROM gcrm."{name}" t'
            )
        ).one()
        result[name] = (int(count), str(digest))
    return result


def security(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of every query of :data:`SECURITY`."""
    return {name: [tuple(r) for r in conn.execute(text(sql))] for name, sql in SECURITY.items()}
