"""The incident formats: one table read by :func:`~routerisk.io.read_incidents`, the CLI and the docs.

Each entry of :data:`INCIDENT_FORMATS` names a table dialect, the detector that recognises it from its column
names, the adapter that turns its rows into canonical parts, and a one-line description. ``read_incidents``
(``format=``), ``routerisk score --incidents-format``, ``routerisk validate --format`` and the manifest check of
``routerisk rerun`` all take their choices from :func:`incident_format_names`; ``docs/data-sources.md`` lists the
same table (a test compares them).

Adding a format is one call to :func:`register_incident_format` (or one entry below, for a format shipped with
routerisk) plus its adapter function and tests:

>>> import numpy as np
>>> from routerisk.io.formats import INCIDENT_FORMATS, register_incident_format
>>> def my_parts(rows, df, file):  # an adapter: rows tracker, string columns, file name -> parts
...     df = rename_columns(rows, df, {"LAT_Y": "lat", "LON_X": "lon"})  # the report keeps LAT_Y, LON_X
...     return INCIDENT_FORMATS["csv"].parts(rows, df, file)
>>> fmt = register_incident_format("lat_y_lon_x", my_parts, detect=lambda names: {"lat_y", "lon_x"} <= names,
...                                description="A table with LAT_Y / LON_X columns.")
>>> "lat_y_lon_x" in incident_format_names()
True
>>> detect_format(["LAT_Y", "LON_X", "fecha"])
'lat_y_lon_x'
>>> unregister_incident_format("lat_y_lon_x")
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd

from ._adapters import acled_parts, iom_parts, is_acled, is_iom
from ._incidents import Parts, generic_parts
from ._tables import _Rows, norm_name, rename_columns

__all__ = [
    "GENERIC",
    "INCIDENT_FORMATS",
    "IncidentFormat",
    "detect_format",
    "incident_format_names",
    "register_incident_format",
    "rename_columns",
    "table_format_names",
    "unregister_incident_format",
]

#: The format used when no detector recognises a table: columns found by their common names.
GENERIC = "csv"
#: Names that are not table dialects: ``auto`` (detect) and ``vector`` (a vector file, read with the generic
#: adapter on its attributes).
_RESERVED = ("auto", "vector")
_NAME_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")

Adapter = Callable[[_Rows, pd.DataFrame, str], Parts]
Detector = Callable[[frozenset[str]], bool]


@dataclass(frozen=True)
class IncidentFormat:
    """One incident table dialect.

    Attributes
    ----------
    name : str
        The value of ``format=`` and of the CLI options (lower case).
    parts : callable
        ``parts(rows, df, file) -> dict``: the adapter, from string columns to one array per canonical column
        plus ``lon``/``lat`` (see :mod:`routerisk.io._adapters` for two). The simplest adapter renames the
        dialect's columns with :func:`rename_columns` and calls the generic one, ``INCIDENT_FORMATS["csv"].parts``.
    detect : callable or None
        ``detect(names) -> bool`` on the set of normalised column names (lower case, accent-free,
        underscore-separated); ``None`` for a format chosen only by name (and for the generic fallback).
    description : str
        One line for the docs and the CLI help.
    """

    name: str
    parts: Adapter
    detect: Detector | None
    description: str


#: Every incident table format, in detection order (the first detector that says yes wins; then ``csv``).
INCIDENT_FORMATS: dict[str, IncidentFormat] = {
    "iom": IncidentFormat(
        "iom", iom_parts, is_iom,
        "IOM Missing Migrants Project CSV, both export generations (Web ID or Main ID, Cause of Death, Coordinates).",
    ),
    "acled": IncidentFormat(
        "acled", acled_parts, is_acled,
        "ACLED export (event_date, event_type, sub_event_type, actor1, fatalities, latitude, longitude).",
    ),
    GENERIC: IncidentFormat(
        GENERIC, generic_parts, None,
        "Any other table: columns found by their English or Spanish names (lat/latitud, fecha, tipo ...).",
    ),
}  # fmt: skip


def incident_format_names() -> tuple[str, ...]:
    """Every value ``format=`` accepts: ``auto``, the table formats, ``vector``.

    Examples
    --------
    >>> incident_format_names()[:4]
    ('auto', 'iom', 'acled', 'csv')
    """
    return (_RESERVED[0], *INCIDENT_FORMATS, _RESERVED[1])


def table_format_names() -> tuple[str, ...]:
    """The table dialects that apply to incidents only (every format but ``auto``, ``csv`` and ``vector``).

    Examples
    --------
    >>> table_format_names()
    ('iom', 'acled')
    """
    return tuple(n for n in INCIDENT_FORMATS if n != GENERIC)


def detect_format(columns: Iterable[object]) -> str:
    """The name of the first format whose detector recognises ``columns``, else ``"csv"``.

    Examples
    --------
    >>> detect_format(["event_date", "event_type", "latitude", "longitude"])
    'acled'
    >>> detect_format(["id", "fecha", "latitud", "longitud"])
    'csv'
    """
    names = frozenset(norm_name(c) for c in columns)
    return next((f.name for f in INCIDENT_FORMATS.values() if f.detect is not None and f.detect(names)), GENERIC)


def register_incident_format(
    name: str, parts: Adapter, *, detect: Detector | None = None, description: str, replace: bool = False
) -> IncidentFormat:
    """Add an incident table format: ``read_incidents(format=name)``, auto-detection and both CLI commands.

    Parameters
    ----------
    name : str
        Lower case, starting with a letter, at most 32 characters of ``a-z 0-9 _ -``; not ``auto`` or ``vector``.
    parts : callable
        The adapter, ``parts(rows, df, file) -> dict`` (see :class:`IncidentFormat`).
    detect : callable, optional
        ``detect(names) -> bool`` on the normalised column names; detectors run in registration order, after
        the built-in ones. Without one, the format is used only when named.
    description : str
        One line for the docs.
    replace : bool, default False
        Replace a format of the same name (otherwise a repeated name is an error).

    Returns
    -------
    IncidentFormat

    Examples
    --------
    >>> f = register_incident_format("plain", INCIDENT_FORMATS["csv"].parts, description="The generic reader.")
    >>> f.name in incident_format_names()
    True
    >>> unregister_incident_format("plain")
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or name in _RESERVED:
        msg = f"incident format name must match {_NAME_RE.pattern} and not be 'auto' or 'vector', got {name!r}"
        raise ValueError(msg)
    if name in INCIDENT_FORMATS and not replace:
        msg = f"incident format {name!r} is already registered; pass replace=True to replace it"
        raise ValueError(msg)
    if not callable(parts) or (detect is not None and not callable(detect)):
        msg = "`parts` (and `detect`, when given) must be callables"
        raise TypeError(msg)
    fmt = IncidentFormat(name, parts, detect, str(description))
    INCIDENT_FORMATS[name] = fmt
    return fmt


def unregister_incident_format(name: str) -> None:
    """Remove a format added with :func:`register_incident_format` (the built-in ones stay).

    Examples
    --------
    >>> unregister_incident_format("csv")
    Traceback (most recent call last):
    ...
    ValueError: 'csv' is built in and cannot be removed
    """
    if name in _BUILT_IN:
        msg = f"{name!r} is built in and cannot be removed"
        raise ValueError(msg)
    INCIDENT_FORMATS.pop(name, None)


_BUILT_IN = tuple(INCIDENT_FORMATS)
