"""The San Francisco Bay Area region: MTC travel model zones, land use, ZIP codes.

A second, larger demo region built from data that ships inside packages: the 1,454 zones
of the Metropolitan Transportation Commission's travel model and their land use (example
data of the ``activitysim`` wheel) and US ZIP code centroids (``zipcodes``). Businesses,
branches, customers and orders are synthetic. ``data/README.md`` says how every file is
derived.
"""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from gcrm.demo.bayarea_areas import (
    POSTCODE_COLUMNS,
    build_bayarea_area_levels,
    build_bayarea_area_stats,
    build_bayarea_areas,
    build_postcodes,
)
from gcrm.demo.bayarea_sources import read_bayarea_sources
from gcrm.demo.bayarea_synthetic import (
    BAYAREA_TRUTH_COLUMNS,
    US_LOCALE,
    bayarea_lead_pool,
    build_bayarea_leads,
    choose_bayarea_branches,
    zone_placer,
)
from gcrm.demo.region_files import start_build, write_csv, write_layer
from gcrm.demo.synthetic_customers import build_customer_export
from gcrm.demo.synthetic_orders import build_orders

__all__ = ["BAYAREA_FILES", "build_bayarea_region"]

#: Names of the files written, in the order they are built. There are no addresses, roads
#: or land-use zones in this region: the geocoding reference is ``postcodes.csv``.
BAYAREA_FILES = (
    "area_levels",
    "areas",
    "area_stats",
    "postcodes",
    "leads",
    "branches",
    "customers",
    "customers_truth",
    "orders",
)
_STEPS = 7


def build_bayarea_region(
    out_dir: Path, *, customers: int = 10000, seed: int = 42, progress: bool = False
) -> dict[str, Path]:
    """Write the San Francisco Bay Area region: MTC areas and land use, synthetic CRM data.

    Deterministic: the same ``customers`` and ``seed`` give byte-identical CSV files. See
    ``data/README.md`` for how every file is derived.

    Parameters
    ----------
    out_dir
        Directory to write into (created if missing; existing files are overwritten).
    customers
        Number of rows in ``customers.csv`` (at least 50).
    seed
        Seed of the synthetic leads, customers and orders; areas, stats, postcodes and
        branches do not depend on it.
    progress
        Show a progress bar of the build steps.

    Returns
    -------
    dict of str to pathlib.Path
        File name stem (``BAYAREA_FILES``) to the path written.

    Raises
    ------
    ValidationError
        If ``customers`` is below 50.
    ConfigurationError
        If activitysim (or its example data) is not installed.
    """
    out_dir = start_build(out_dir, customers=customers)
    paths: dict[str, Path] = {}
    with tqdm(total=_STEPS, disable=not progress, desc="bay area", unit="step") as bar:
        bar.set_postfix_str("reading MTC zones and ZIP codes")
        sources = read_bayarea_sources()
        zones = sources.zones
        postcodes = build_postcodes(sources.zips, zones)
        bar.update()

        bar.set_postfix_str("areas and stats")
        paths["area_levels"] = write_csv(build_bayarea_area_levels(), out_dir, "area_levels")
        paths["areas"] = write_layer(build_bayarea_areas(zones), out_dir, "areas")
        paths["area_stats"] = write_csv(build_bayarea_area_stats(zones), out_dir, "area_stats")
        paths["postcodes"] = write_csv(postcodes[POSTCODE_COLUMNS], out_dir, "postcodes")
        bar.update()

        bar.set_postfix_str("leads")
        leads = build_bayarea_leads(zones, postcodes, seed=seed)
        paths["leads"] = write_layer(leads, out_dir, "leads")
        bar.update()

        bar.set_postfix_str("branches")
        branches = choose_bayarea_branches(zones, postcodes)
        paths["branches"] = write_csv(branches, out_dir, "branches")
        bar.update()

        bar.set_postfix_str("customers")
        branch_rows = postcodes.set_index("postcode").loc[branches["postcode"]]
        branches_xy = branch_rows[["x", "y"]].to_numpy(float)
        export = build_customer_export(
            zone_placer(zones, postcodes),
            count=customers,
            seed=seed,
            locale=US_LOCALE,
            truth_columns=BAYAREA_TRUTH_COLUMNS,
            leads=bayarea_lead_pool(leads, zones),
            branches_xy=branches_xy,
        )
        paths["customers"] = write_csv(export.customers, out_dir, "customers")
        paths["customers_truth"] = write_csv(export.truth, out_dir, "customers_truth")
        bar.update()

        bar.set_postfix_str("orders")
        orders = build_orders(
            export.valid,
            branches_xy=branches_xy,
            branch_codes=branches["code"].tolist(),
            seed=seed,
        )
        paths["orders"] = write_csv(orders, out_dir, "orders")
        bar.update()
        bar.set_postfix_str("done")
        bar.update()
    return {name: paths[name] for name in BAYAREA_FILES}
