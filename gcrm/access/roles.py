"""Roles and what each may do, and the principal a request or a command acts for.

The table of :data:`PERMISSIONS` is the one the README shows. Scopes limit *which rows* a
user sees (enforced by PostgreSQL, see migration 0006); roles limit *what* they may do with
them (enforced by the API, the dashboard and the CLI).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from gcrm.core import ValidationError

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "Principal",
    "check_role",
    "role_table",
]

#: From most to least trusted.
ROLES = ("admin", "manager", "planner", "prospector", "viewer")

#: Permission -> the roles that have it.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    # KPIs, the cube, maps of areas, customer points without names.
    "view_aggregates": ROLES,
    # Customers one by one: names, addresses, contacts; exports of them; top customers.
    "read_customers": ("admin", "manager", "planner"),
    # Territory reports (they list each territory's top customers).
    "territory_reports": ("admin", "manager", "planner"),
    # Designing, editing, saving and publishing territory plans (reading them is a report's).
    "plan_territories": ("admin", "planner"),
    # Leads near a point, lead lists.
    "read_leads": ("admin", "manager", "planner", "prospector"),
    # Geocoding and reverse geocoding through the API.
    "geocode": ("admin", "manager", "planner", "prospector"),
    # Users, tokens of other users, the audit log, forgetting a customer.
    "administer": ("admin",),
}

#: What each permission means, for the README and ``gcrm users --help``.
PERMISSION_LABELS = {
    "view_aggregates": "dashboard, KPIs, cube slices, area maps",
    "read_customers": "customers one by one (names, addresses, contacts), customer exports",
    "territory_reports": "territory reports (with top customers), territory plans",
    "plan_territories": "designing, editing, saving and publishing territory plans",
    "read_leads": "nearby leads, lead lists",
    "geocode": "geocoding and reverse geocoding through the API",
    "administer": "users, tokens, audit log, forgetting a customer",
}


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`; a ValidationError naming them otherwise."""
    if role not in ROLES:
        msg = f"role {role!r} unknown; use one of {list(ROLES)}"
        raise ValidationError(msg)
    return role


@dataclass(frozen=True)
class Principal:
    """Who a request or a command acts for: a gcrm user, or the operator at the CLI.

    ``user_id`` is None for the operator (the database owner: no row-level security) and for
    the single local user of ``GCRM_AUTH=off``.
    """

    name: str
    role: str
    all_areas: bool
    scopes: tuple[tuple[str, str], ...] = ()
    user_id: int | None = None
    #: Rows of the database are filtered by the user's scope (False: the owner reads all).
    scoped: bool = True
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def can(self, permission: str) -> bool:
        """True when the principal's role has ``permission``."""
        return self.role in PERMISSIONS[permission]

    @property
    def scope_key(self) -> str:
        """A name for the scope, the same for every user with the same areas (``"all"`` for
        users who see every area): per-scope caches (cubes, map geometry) key on it."""
        if self.all_areas or not self.scoped:
            return "all"
        if not self.scopes:
            return "none"
        text = "|".join(f"{level}:{code}" for level, code in sorted(self.scopes))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def describe_scope(self) -> str:
        """``"all areas"`` or the area ids, for people."""
        if self.all_areas or not self.scoped:
            return "all areas"
        return ", ".join(f"{level}:{code}" for level, code in self.scopes) or "no area"


def role_table() -> list[tuple[str, dict[str, bool]]]:
    """``(permission label, {role: allowed})`` rows, for the README and help texts."""
    return [
        (PERMISSION_LABELS[p], {r: r in roles for r in ROLES}) for p, roles in PERMISSIONS.items()
    ]
