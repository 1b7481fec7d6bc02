"""Publishing a territory plan: every customer and lead gets its territory and rep, and the
plan becomes an area level of the cube (migration 0023).

In one transaction, :func:`publish_plan` writes

- the plan's territories as the areas of a level (``territory`` by default, label
  "Territory"): code ``T01``.. by territory number (zero-padded to the width of k), name the
  territory's name with its rep in brackets, geometry the union of its units (MultiPolygon,
  EPSG:4326), derivation ``plan:<id>``;
- the plan's units again as a level nested under it (``<level>_unit``, e.g.
  ``territory_unit``): each unit's code, name and geometry with ``parent_code`` its
  territory's code, so the dashboard drills from a territory into its units (a level has one
  parent level, and the units' own level keeps its parent, e.g. zone under superdistrict);
- both codes into every customer's and lead's ``area_codes``, from the code of the plan's
  unit level each already carries (set-based; points outside the plan's units lose an older
  publication's codes);
- the publication (who, when, which plan, how many points placed) and the territories now
  published with their reps (``gcrm.published_territories``, read by exports and the API);

and marks the plan current. The areas of an earlier publication on the same level are
replaced. Enrichment keeps the codes: ``gcrm enrich`` places new and moved points in the
areas of every level, these two included (the units' copy by spatial join, the territory
from its parent code in the vectorised engine, as for any nested level). The cube is not
rebuilt here: the caller rebuilds it (``gcrm territories publish`` does).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import xarray as xr
from sqlalchemy import Connection, Engine, text

from gcrm.core import POINT_ENTITIES, NotFoundError, ValidationError
from gcrm.cube import build_region_cube, load_cube, save_cube
from gcrm.store import load_queries
from gcrm.territories.plans import read_plan, set_current_plan

__all__ = [
    "PUBLISHED_LEVEL",
    "Publication",
    "publish_plan",
    "read_publications",
    "rebuild_cube",
    "unit_level_name",
]

_SQL = load_queries(__package__, "publish.sql")
#: The level a plan is published as unless told otherwise.
PUBLISHED_LEVEL = "territory"
#: Area level names as the schema checks them (``gcrm.area_levels``).
_LEVEL_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Publication:
    """One publication of a plan, as :func:`publish_plan` made it."""

    id: int
    #: The level whose areas are the territories, e.g. ``"territory"``.
    level: str
    #: The level of the units nested under them, e.g. ``"territory_unit"``.
    unit_level: str
    plan_id: int
    #: ``name@version (#id)``.
    plan_label: str
    #: The plan's own unit level, e.g. ``"zone"``.
    plan_level: str
    territories: int
    units: int
    #: Points given a territory, and all points, per entity (``customers``, ``leads``).
    placed: dict[str, int]
    totals: dict[str, int]
    published_by: str
    published_at: datetime

    def summary(self) -> str:
        """One paragraph: what was published where, and how many points it placed."""
        placed = ", ".join(
            f"{self.placed[e]:,} of {self.totals[e]:,} {e}" for e in ("customers", "leads")
        )
        return (
            f"published {self.plan_label} as level {self.level!r}: {self.territories} "
            f"territories of {self.units} {self.plan_level} units (drill into them at level "
            f"{self.unit_level!r}); {placed} carry their territory"
        )


def unit_level_name(level: str) -> str:
    """The level the units are published as under ``level``: ``territory_unit``."""
    return f"{level}_unit"


def publish_plan(
    conn: Connection,
    ref: int | str,
    *,
    level: str = PUBLISHED_LEVEL,
    published_by: str,
    on_step: Callable[[str], None] | None = None,
) -> Publication:
    """Publish plan ``ref`` as the areas of ``level``; see the module's docstring.

    Parameters
    ----------
    conn
        The owner's connection in a transaction (the caller commits): publishing writes the
        areas and the enrichment's area codes, which the application role may not write.
    ref
        The plan: id, name (latest version), ``name@version`` or ``current``.
    level
        The level the territories become [default ``territory``]; the units go to
        ``<level>_unit``. Either may be new or a level an earlier publication wrote.
    published_by
        Who publishes, as the record names them.
    on_step
        Called with a step label before each step (progress bars).

    Returns
    -------
    Publication

    Raises
    ------
    ValidationError
        When ``level`` is not a valid level name, is the plan's own unit level, or names a
        level that was imported rather than published (it would be replaced).
    NotFoundError
        When the plan does not exist, or none of its units is an area of its level.
    """
    step = on_step or (lambda _label: None)
    plan = read_plan(conn, ref)
    unit_level = unit_level_name(level)
    plan_rank = _check_levels(conn, level=level, unit_level=unit_level, plan_level=plan.level)
    params = {
        "level": level,
        "unit_level": unit_level,
        "plan_id": plan.id,
        "plan_level": plan.level,
    }
    step("areas")
    _write_levels(
        conn,
        level=level,
        unit_level=unit_level,
        plan_id=plan.id,
        plan_level=plan.level,
        plan_label=plan.label,
        rank=plan_rank,
    )
    row = conn.execute(
        text(_SQL["insert_publication"]),
        {**params, "plan_label": plan.label, "published_by": published_by},
    ).one()
    publication_id = int(row.id)
    conn.execute(text(_SQL["delete_published"]), {"level": level})
    conn.execute(
        text(_SQL["insert_published_territories"]),
        {**params, "publication_id": publication_id, "width": max(2, len(str(plan.k)))},
    )
    territories = conn.execute(text(_SQL["insert_territory_areas"]), params).rowcount
    units = conn.execute(text(_SQL["insert_unit_areas"]), params).rowcount
    if not units:
        msg = (
            f"plan {plan.label}: none of its {len(plan.assignment)} units is an area of level "
            f"{plan.level!r}; import the {plan.level} areas again or publish another plan"
        )
        raise NotFoundError(msg)
    conn.execute(text(_SQL["analyze_areas"]))
    placed: dict[str, int] = {}
    totals: dict[str, int] = {}
    for name, entity in POINT_ENTITIES.items():
        step(name)
        conn.execute(text(entity.fill(_SQL["clear_codes"])), params)
        conn.execute(text(entity.fill(_SQL["set_codes"])), params)
        counted = conn.execute(text(entity.fill(_SQL["count_placed"])), params).one()
        placed[name], totals[name] = int(counted.placed), int(counted.total)
    conn.execute(
        text(_SQL["finish_publication"]),
        {
            "level": level,
            "customers": placed.get("customers", 0),
            "leads": placed.get("leads", 0),
            "publication_id": publication_id,
        },
    )
    set_current_plan(conn, plan.id)
    return Publication(
        id=publication_id,
        level=level,
        unit_level=unit_level,
        plan_id=plan.id,
        plan_label=plan.label,
        plan_level=plan.level,
        territories=int(territories),
        units=int(units),
        placed=placed,
        totals=totals,
        published_by=published_by,
        published_at=row.published_at,
    )


def rebuild_cube(engine: Engine, cube_path: Path) -> xr.Dataset:
    """Build the region's cube again after a publication, at the statistics vintage it had,
    and save it to ``cube_path`` (a server sees the new file by its time and loads it; each
    user's scope cube follows at its next use, being older). Returns the cube.

    Parameters
    ----------
    engine
        The owner's engine (the cube counts every customer).
    cube_path
        The region's cube (``Settings.cube_path``).
    """
    vintage = None
    if cube_path.exists():
        chosen = load_cube(cube_path).attrs.get("statistics_vintage")
        vintage = None if chosen in (None, "", "latest") else str(chosen)
    with engine.connect() as conn:
        ds = build_region_cube(conn, vintage=vintage)
    save_cube(ds, cube_path)
    return ds


def read_publications(conn: Connection) -> pd.DataFrame:
    """The plans published now, one row per level: ``id``, ``level``, ``unit_level``,
    ``plan_id``, ``plan_label``, ``plan_level``, ``territories``, ``customers``, ``leads``,
    ``published_by``, ``published_at`` (empty when nothing is published)."""
    rows = conn.execute(text(_SQL["current_publication"])).mappings().all()
    columns = [
        "id",
        "level",
        "unit_level",
        "plan_id",
        "plan_label",
        "plan_level",
        "territories",
        "customers",
        "leads",
        "published_by",
        "published_at",
    ]
    return pd.DataFrame(rows, columns=columns)


def _check_levels(conn: Connection, *, level: str, unit_level: str, plan_level: str) -> int:
    """Raise unless ``level`` and ``unit_level`` may be (re)written; return the plan level's
    rank."""
    if not _LEVEL_NAME.match(level) or len(level) > 58:
        msg = (
            f"--level-name {level!r} is not a level name; use lower-case letters, digits and "
            "underscores, starting with a letter, e.g. --level-name territory"
        )
        raise ValidationError(msg)
    if plan_level in (level, unit_level):
        msg = (
            f"--level-name {level!r}: the plan's units are the areas of level {plan_level!r}, "
            f"which publishing would replace; choose another name, e.g. --level-name territory"
        )
        raise ValidationError(msg)
    rows = {
        r.level: r
        for r in conn.execute(text(_SQL["level_rows"]), {"levels": [level, unit_level, plan_level]})
    }
    if plan_level not in rows:
        msg = f"the plan's unit level {plan_level!r} is not an area level any more; import its areas again"
        raise NotFoundError(msg)
    published = set(conn.execute(text(_SQL["published_levels"])).scalars())
    taken = sorted(lv for lv in (level, unit_level) if lv in rows and lv not in published)
    if taken:
        msg = (
            f"--level-name {level!r}: level {taken[0]!r} holds imported areas, which publishing "
            f"would replace; choose another name, e.g. --level-name territory_{plan_level}"
        )
        raise ValidationError(msg)
    return int(rows[plan_level].rank)


def _write_levels(
    conn: Connection,
    *,
    level: str,
    unit_level: str,
    plan_id: int,
    plan_level: str,
    plan_label: str,
    rank: int,
) -> None:
    """The two levels (new, or updated to say which plan they hold now), their areas
    emptied."""
    label = "Territory" if level == PUBLISHED_LEVEL else level.replace("_", " ").capitalize()
    derivation = f"the territories of plan {plan_label} (#{plan_id}), published"
    for row in (
        {
            "level": level,
            "parent_level": None,
            "rank": rank,
            "label": label,
            "derivation": f"{derivation}: the union of their {plan_level} units",
            "nested": False,
        },
        {
            "level": unit_level,
            "parent_level": level,
            "rank": rank + 1,
            "label": f"{label} unit ({plan_level})",
            "derivation": f"{derivation}: their {plan_level} units, each under its territory",
            "nested": True,
        },
    ):
        conn.execute(text(_SQL["upsert_level"]), row)
    conn.execute(text(_SQL["delete_areas"]), {"levels": [level, unit_level]})
