"""Readers: incident records, enforcement zones, routes, shelters and deployment tables into canonical layers.

Every reader returns a GeoDataFrame in EPSG:4326 with the columns of :mod:`routerisk.schema`, and records every
rejected row (file, row, column, value, reason) and every change in a
:class:`~routerisk._validate.ValidationReport`. A file that cannot be used at all raises
:class:`routerisk.InputError` with one message naming the file.
"""

from __future__ import annotations

from .deployments import read_deployments
from .readers import read_incidents, read_routes, read_shelters, read_zones

__all__ = ["read_deployments", "read_incidents", "read_routes", "read_shelters", "read_zones"]
