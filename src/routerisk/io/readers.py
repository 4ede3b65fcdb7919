"""Public readers: any supported file into a canonical layer in EPSG:4326, with a validation report."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa  # already imported by pandas (string columns)
import shapely

from .._errors import InputError
from .._validate import ValidationReport
from . import _vocab as vocab
from ._deploy_detect import is_deployment_table
from ._fields import validate_lonlat
from ._incidents import combine_chunks, finish_incidents, generic_parts, prepare_chunk
from ._tables import TextChunks, find_column, read_text_table
from ._vector import attributes, is_vector, read_vector, type_names
from ._zones_routes import (
    build_routes,
    build_shelters,
    build_zones,
    geometry_from_table,
    require_geometry_source,
    routes_from_vertices,
)
from .deployments import read_deployments
from .formats import INCIDENT_FORMATS, detect_format, incident_format_names

__all__ = ["read_incidents", "read_routes", "read_shelters", "read_zones"]

LAYER_FORMATS = ("auto", "csv", "vector")


def _start(path, fmt: str, allowed: tuple[str, ...], report: ValidationReport | None):
    if not isinstance(fmt, str) or fmt not in allowed:
        msg = f"`format` was {fmt!r} but must be one of {allowed}"
        raise InputError(msg)
    if not isinstance(path, (str, os.PathLike)):
        msg = f"`path` must be a file path (str or os.PathLike), got {type(path).__name__}"
        raise TypeError(msg)
    p = Path(path)
    own = report is None
    return p, str(path), (ValidationReport() if own else report), own


def _use_vector(p: Path, fmt: str) -> bool:
    return fmt == "vector" or (fmt == "auto" and is_vector(p))


def read_incidents(
    path: str | os.PathLike[str],
    *,
    format: str = "auto",
    report: ValidationReport | None = None,
    layer: str | int | None = None,
    chunksize: int | str | None = "auto",
    geometry: bool = True,
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read incident records into the canonical incidents layer.

    Parameters
    ----------
    path : str or path-like
        A CSV (generic, IOM Missing Migrants Project, ACLED, or a format added with
        :func:`routerisk.io.register_incident_format`) or a vector file (GeoJSON, GeoPackage, GeoParquet,
        Shapefile).
    format : str, default "auto"
        One of :func:`routerisk.io.incident_format_names`: ``"auto"``, a table format of
        :data:`routerisk.io.INCIDENT_FORMATS` (built in: ``"iom"``, ``"acled"``, ``"csv"``) or ``"vector"``.
        ``"auto"`` uses the extension for vector files and the column names for CSV (each format's detector in
        turn, IOM: ``Web ID``, ``Cause of Death``, ``Location Coordinates`` ...; ACLED: ``event_date``,
        ``event_type``, ``latitude``, ``longitude``; else the generic ``"csv"``).
    report : ValidationReport, optional
        Receives every rejected row and every change, and the counts. Without one, a warning says how many
        rows were rejected.
    layer : str or int, optional
        Layer of a multi-layer vector file.
    chunksize : int, "auto" or None, default "auto"
        Rows of a CSV parsed at a time, so that memory does not grow with the size of the text: each chunk is
        validated on its own (rows keep their spreadsheet numbers) and held in compact columns; repeated ids
        are then found over the whole file. ``"auto"`` takes about 24 MB of text per chunk (between 50,000 and
        1,000,000 rows; a file smaller than that is one chunk); ``None`` parses the whole file at once. The
        result and the report are the same for every chunk size. Vector files are read at once, and so is
        every CSV with pandas before 3.0 (its chunked parser does not reliably reject lines with too many fields).
    geometry : bool, default True
        ``False`` returns a pandas DataFrame with float ``lon`` and ``lat`` columns (EPSG:4326) in place of the
        Point geometry: the same rows and columns without a shapely object per row (~200 bytes each, 1 GB for
        5 million incidents). :func:`routerisk.score_segments` and :func:`routerisk.risk_surface` accept it.

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        Columns of :data:`routerisk.schema.INCIDENT_COLUMNS` and Point geometry, EPSG:4326 (with
        ``geometry=False``: a DataFrame with ``lon`` and ``lat`` after those columns). ``category``,
        ``perpetrator``, ``date_precision`` and ``location_precision`` are categoricals (their categories are
        the labels present, sorted); the other text columns are pandas strings.

    Raises
    ------
    routerisk.InputError
        When the file cannot be used at all (missing, empty, binary, not a table, no coordinates, no usable rows).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "inc.csv"
    >>> _ = p.write_text("id,fecha,latitud,longitud,tipo\\n1,2019-05-02,16.9,-92.1,secuestro\\n")
    >>> read_incidents(p)[["incident_id", "category", "victims"]].to_dict("records")
    [{'incident_id': '1', 'category': 'kidnapping', 'victims': 1}]
    """
    p, file, rep, own = _start(path, format, incident_format_names(), report)
    _check_chunksize(chunksize)
    if _use_vector(p, format):
        gdf, rows = read_vector(p, rep, file, layer=layer, kind="incidents")
        geoms = gdf.geometry.values
        single = (shapely.get_type_id(geoms) == 4) & (shapely.get_num_geometries(geoms) == 1)
        geoms = np.where(single, shapely.get_geometry(geoms, 0), geoms)
        missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        rows.reject(missing, "geometry", "missing or empty geometry")
        not_point = ~missing & (shapely.get_type_id(geoms) != 0)
        rows.reject(not_point, "geometry", "incident geometry must be a point", type_names(geoms))
        x, y = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
        pt = ~rows.bad
        x[pt], y[pt] = shapely.get_x(geoms[pt]), shapely.get_y(geoms[pt])
        lon, lat = validate_lonlat(rows, x, y, "geometry", "geometry")
        parts = generic_parts(rows, attributes(gdf), file, lonlat=(lon, lat))
        try:
            out = finish_incidents(rows, parts, file=file, stem=p.stem, geometry=geometry)
        finally:
            rep.count(file, read=len(rows) + rows.n_skipped, kept=int((~rows.bad).sum()))
    else:
        out = _read_incidents_csv(p, file, rep, format, chunksize, geometry)
    if own:
        rep.warn_if_rejected(file)
    return out


def _check_chunksize(chunksize) -> None:
    ok = chunksize is None or chunksize == "auto"
    ok = ok or (isinstance(chunksize, (int, np.integer)) and not isinstance(chunksize, bool) and chunksize > 0)
    if not ok:
        msg = f"`chunksize` must be a positive number of rows, 'auto' or None, got {chunksize!r}"
        raise ValueError(msg)


def _slash_effect(day_over_12: bool, month_over_12: bool) -> tuple[bool, bool]:
    """How a date column's ``a/b/yyyy`` values are read: (month first, ambiguous ones noted)."""
    month_first = month_over_12 and not day_over_12
    return month_first, not month_first and not day_over_12


def _csv_chunks(p: Path, file: str, report: ValidationReport, fmt: str, chunksize, slash_order: dict):
    """Read a CSV chunk by chunk through its format adapter. Returns the chunks, the reader and the slash-date
    evidence seen in each chunk."""
    table = TextChunks(p, report, file, chunksize)
    chunks, seen = [], []
    for df, rows in table:
        rows.slash_order = slash_order
        if fmt == "auto":
            fmt = detect_format(list(df.columns))
        parts = INCIDENT_FORMATS[fmt].parts(rows, df, file)
        del df
        seen.append(dict(rows.slash_seen))
        chunks.append(prepare_chunk(rows, parts, stem=p.stem))
        del parts
    table.finish()
    return chunks, table, seen


def _read_incidents_csv(
    p: Path, file: str, rep: ValidationReport, fmt: str, chunksize, geometry: bool = True
) -> pd.DataFrame:
    """The CSV branch of :func:`read_incidents`: chunked reading, then the checks over the whole file.

    Entries go to a scratch report merged into ``rep`` at the end. The only decision that needs the whole
    file before any row is parsed is the day/month order of ``a/b/yyyy`` dates; when the chunks disagree
    with the whole file, the file is read a second time with the order fixed (rare: it needs both readings
    to occur in the file and some chunk to hold only one of them).
    """
    slash_order: dict[str, tuple[bool, bool]] = {}
    for _attempt in range(2):
        scratch = ValidationReport()
        try:
            chunks, table, seen = _csv_chunks(p, file, scratch, fmt, chunksize, slash_order)
        except BaseException:
            rep.extend(scratch)
            raise
        whole: dict[str, tuple[bool, bool]] = {}
        for s in seen:
            for col, (a, b) in s.items():
                wa, wb = whole.get(col, (False, False))
                whole[col] = (wa or a, wb or b)
        differs = any(_slash_effect(*v) != _slash_effect(*whole[c]) for s in seen for c, v in s.items())
        if slash_order or not differs:
            break
        slash_order = whole
        chunks = None  # free the first reading before the second
    read, kept = table.n_data + table.n_skipped, 0
    try:
        out = combine_chunks(chunks, file=file, report=scratch, geometry=geometry)
        kept = len(out)
    finally:
        rep.extend(scratch)
        rep.count(file, read=read, kept=kept)
        _release_arrow_memory()
    return out


def _release_arrow_memory() -> None:
    """Return the memory Arrow kept from the chunks' text to the system (~0.13 GB after 5M rows)."""
    pa.default_memory_pool().release_unused()


def _read_layer(
    path, fmt: str, report: ValidationReport | None, layer, kind: str, build: Callable
) -> gpd.GeoDataFrame:
    p, file, rep, own = _start(path, fmt, LAYER_FORMATS, report)
    read_n = None
    if _use_vector(p, fmt):
        gdf, rows = read_vector(p, rep, file, layer=layer, kind=kind)
        df, geoms = attributes(gdf), gdf.geometry.values
    else:
        df, rows = read_text_table(p, rep, file)
        require_geometry_source(df, file)
        if kind == "routes" and find_column(df.columns, vocab.WKT_ALIASES) is None:
            read_n = len(rows) + rows.n_skipped
            df, geoms, rows, counts = routes_from_vertices(rows, df, file)
        else:
            geoms = geometry_from_table(rows, df, file)
    try:
        out = build(rows, df, geoms, file=file, stem=p.stem)
    finally:
        if read_n is None:
            rep.count(file, read=len(rows) + rows.n_skipped, kept=int((~rows.bad).sum()))
        else:
            kept = int(counts.to_numpy()[~rows.bad].sum())
            rep.count(file, read=read_n, kept=kept)
    if own:
        rep.warn_if_rejected(file, stacklevel=4)
    return out


def read_zones(
    path: str | os.PathLike[str],
    *,
    format: str = "auto",
    report: ValidationReport | None = None,
    layer: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Read enforcement zones into the canonical zones layer.

    A CSV whose columns are those of a state-month deployment table (year, month, state, personnel; see
    :func:`routerisk.io._deploy_detect.is_deployment_table`) is read with :func:`routerisk.io.read_deployments`.
    Polygons are kept (invalid ones repaired with :func:`shapely.make_valid` and noted); points are buffered
    by their ``radius_m`` in the analysis CRS; a point without a radius is rejected. A CSV gives geometry in a
    WKT column (``geometry``/``wkt``) or as latitude/longitude with ``radius_m``.

    Parameters
    ----------
    path : str or path-like
        CSV or vector file.
    format : {"auto", "csv", "vector"}, default "auto"
    report : ValidationReport, optional
    layer : str or int, optional

    Returns
    -------
    geopandas.GeoDataFrame
        Columns of :data:`routerisk.schema.ZONE_COLUMNS`, (Multi)Polygon geometry, EPSG:4326.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "z.csv"
    >>> _ = p.write_text("zone_id,lat,lon,radius_m,kind\\nz1,16.2,-93.9,2000,reten\\n")
    >>> z = read_zones(p)
    >>> z.loc[0, "kind"], z.geom_type[0]
    ('checkpoint', 'Polygon')
    """
    if format == "auto" and is_deployment_table(path):  # a state-month table: time-varying zones, no format needed
        return read_deployments(path, report=report)
    return _read_layer(path, format, report, layer, "zones", build_zones)


def read_routes(
    path: str | os.PathLike[str],
    *,
    format: str = "auto",
    report: ValidationReport | None = None,
    layer: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Read migration routes into the canonical routes layer.

    Lines come from a vector file, a WKT column, or a table of vertices (``route_id``, coordinates, and an
    optional ``seq``/``order`` column). Missing, empty and zero-length geometries are rejected.

    Parameters
    ----------
    path : str or path-like
    format : {"auto", "csv", "vector"}, default "auto"
    report : ValidationReport, optional
    layer : str or int, optional

    Returns
    -------
    geopandas.GeoDataFrame
        Columns of :data:`routerisk.schema.ROUTE_COLUMNS`, (Multi)LineString geometry, EPSG:4326.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
    >>> _ = p.write_text("route_id,seq,lat,lon,mode\\na,1,14.9,-92.3,tren\\na,2,16.4,-95.0,tren\\n")
    >>> r = read_routes(p)
    >>> r.loc[0, "mode"], len(r.geometry[0].coords)
    ('rail', 2)
    """
    return _read_layer(path, format, report, layer, "routes", build_routes)


def read_shelters(
    path: str | os.PathLike[str],
    *,
    format: str = "auto",
    report: ValidationReport | None = None,
    layer: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Read shelters and asylum offices into the canonical shelters layer (points).

    Parameters
    ----------
    path : str or path-like
    format : {"auto", "csv", "vector"}, default "auto"
    report : ValidationReport, optional
    layer : str or int, optional

    Returns
    -------
    geopandas.GeoDataFrame
        Columns of :data:`routerisk.schema.SHELTER_COLUMNS`, Point geometry, EPSG:4326.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = p.write_text("nombre,tipo,latitud,longitud\\nCasa,albergue,17.5,-92.0\\n")
    >>> read_shelters(p).loc[0, "kind"]
    'shelter'
    """
    return _read_layer(path, format, report, layer, "shelters", build_shelters)
