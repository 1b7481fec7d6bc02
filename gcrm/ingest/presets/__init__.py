"""Column mappings for the exports people really have, shipped as TOML files.

``customers/<name>.toml`` and ``leads/<name>.toml`` are :mod:`gcrm.ingest.mapping` files
(the same format ``--mapping FILE`` reads), each for one CRM's export as that system writes
it: its column names, date formats and status values. ``gcrm import customers FILE --preset
salesforce`` reads a Salesforce Accounts report; ``gcrm import leads FILE --preset
salesforce`` a Salesforce Leads report. A preset's ``[preset]`` table says which export it
reads and how to make it. A column a preset maps but the file lacks leaves its field
unmapped (reports differ in the columns they hold); a required field's message then says
which column the preset reads it from.
"""

from __future__ import annotations

import tomllib
from importlib import resources

from gcrm.core import ValidationError
from gcrm.ingest.mapping import ColumnMapping, read_mapping_file

__all__ = ["PRESET_ENTITIES", "describe_preset", "load_preset", "preset_names"]

#: The importers that take a preset.
PRESET_ENTITIES = ("customers", "leads")


def preset_names(entity: str) -> tuple[str, ...]:
    """The presets shipped for ``entity`` (``"customers"`` or ``"leads"``), sorted."""
    if entity not in PRESET_ENTITIES:
        msg = f"entity {entity!r} has no presets; presets exist for {list(PRESET_ENTITIES)}"
        raise ValidationError(msg)
    folder = resources.files(__package__).joinpath(entity)
    return tuple(
        sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))
    )


def load_preset(entity: str, name: str) -> ColumnMapping:
    """The mapping of preset ``name`` for ``entity``.

    Raises
    ------
    ValidationError
        When there is no such preset; the message lists the ones there are.
    """
    names = preset_names(entity)
    key = name.strip().lower()
    if key not in names:
        msg = f"--preset {name!r} unknown for {entity}; use one of {list(names)} or --mapping FILE"
        raise ValidationError(msg)
    with resources.as_file(resources.files(__package__).joinpath(entity, f"{key}.toml")) as path:
        return read_mapping_file(path, source=f"--preset {key}:", if_present=True)


def describe_preset(entity: str, name: str) -> str:
    """The ``[preset]`` table's ``export`` text: which export the preset reads."""
    load_preset(entity, name)  # checks the name
    text = (
        resources.files(__package__)
        .joinpath(entity, f"{name.strip().lower()}.toml")
        .read_text(encoding="utf-8")
    )
    return str(tomllib.loads(text).get("preset", {}).get("export", ""))
