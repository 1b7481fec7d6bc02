"""The grid fixtures (``grid_url``, ``units``) for every territory test module."""

from tests.territories.grid import grid_url, units

__all__ = ["grid_url", "units"]
