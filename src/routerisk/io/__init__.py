"""Readers: incident records, enforcement zones, routes, shelters and deployment tables into canonical layers.

Every reader returns a GeoDataFrame in EPSG:4326 with the columns of :mod:`routerisk.schema`, and records every
rejected row (file, row, column, value, reason) and every change in a
:class:`~routerisk.ValidationReport`. A file that cannot be used at all raises
:class:`routerisk.InputError` with one message naming the file.

Rows are numbered as a spreadsheet shows them: in a CSV the header is row 1 and the first record row 2; in a
vector file the first feature is row 1; row 0 is the file as a whole (encoding, assumed or converted CRS).

What is rejected (kept out, with the reason) and what is changed (kept, noted):

- coordinates: missing, non-numeric, ``0, 0``, or out of range -> rejected; ``19,43`` (decimal comma) -> read
  as 19.43; a pair valid only when swapped, or outside the Mexico region (:data:`routerisk.crs.MEXICO_BOUNDS`)
  while its swap is inside -> swapped;
- dates: unparseable, impossible (``2019-02-30``), before 1990 or after today -> rejected; missing -> NaT with
  precision ``unknown``; ``2019-05`` -> month precision, ``2019`` -> year precision (first day stored);
- victims: negative, fractional or more than 1000 -> rejected; missing or 0 -> 1;
- ids: missing -> ``<file stem>-<row>``; a repeated id -> the later row rejected;
- labels (category, perpetrator, agency, kind, mode, precision): English and Spanish synonyms mapped; unknown
  text -> ``other`` / ``unknown`` / ``mixed``;
- location precision when a table does not give it: ``exact`` when both coordinates carry at least 3 decimals
  (about 100 m), else ``locality``;
- geometry: missing or empty -> rejected; invalid polygons repaired with :func:`shapely.make_valid`; zone points
  need ``radius_m``; zero-length routes rejected; other CRSs reprojected to EPSG:4326; no CRS -> EPSG:4326 only
  if every coordinate is a valid longitude/latitude;
- encodings: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 / Latin-1 (noted).
"""

from __future__ import annotations

from .._validate import RejectedRowsWarning, ValidationReport
from .deployments import read_deployments
from .formats import (
    INCIDENT_FORMATS,
    IncidentFormat,
    detect_format,
    incident_format_names,
    register_incident_format,
    unregister_incident_format,
)
from .readers import read_incidents, read_routes, read_shelters, read_zones

__all__ = [
    "INCIDENT_FORMATS",
    "IncidentFormat",
    "RejectedRowsWarning",
    "ValidationReport",
    "detect_format",
    "incident_format_names",
    "read_deployments",
    "read_incidents",
    "read_routes",
    "read_shelters",
    "read_zones",
    "register_incident_format",
    "unregister_incident_format",
]
