"""Donut geomasking of incident points: each point moved between ``min_m`` and ``max_m`` metres.

The displacement comes from OS entropy, or from a keyed PRF (HMAC-SHA256) of the record when the analyst holds a
key file (:func:`read_geomask_key`). :mod:`routerisk.privacy` states the public-mode rules that use it and
re-exports every name here.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from ._errors import ConfigError, InputError
from .crs import analysis_crs

__all__ = [
    "DEFAULT_GEOMASK_M",
    "GEOMASK_COLUMNS",
    "MASKED_ATTR",
    "MIN_KEY_BYTES",
    "donut_mask",
    "is_masked",
    "mask_points",
    "month_only",
    "read_geomask_key",
]

#: Shortest key file :func:`read_geomask_key` accepts, in bytes (128 bits).
MIN_KEY_BYTES = 16
#: ``attrs`` key marking a table whose coordinates :func:`mask_points` displaced.
MASKED_ATTR = "routerisk_geomasked"
#: Default donut radii (metres) of :func:`donut_mask`: far enough that a point never lands on its record's
#: building or street, near enough that kernel scores at a 15 km bandwidth barely change.
DEFAULT_GEOMASK_M = (500.0, 2000.0)
#: Columns a geomasked incident layer keeps (besides the geometry); the date is cut to its month.
GEOMASK_COLUMNS = ("category", "perpetrator", "victims", "location_precision", "month")


def read_geomask_key(path: str | os.PathLike[str]) -> bytes:
    """Read a geomasking key file: its raw bytes, at least :data:`MIN_KEY_BYTES` long.

    The key never leaves this function's caller: routerisk writes neither the key nor any hash of it to an output
    or a manifest. Make one with ``python -c "import secrets; print(secrets.token_hex(32))" > geomask.key`` and
    keep it with the internal data, never with the public outputs.

    Raises
    ------
    InputError
        When the file cannot be read.
    ConfigError
        When it holds fewer than :data:`MIN_KEY_BYTES` bytes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "k"
    >>> _ = p.write_bytes(b"0123456789abcdef0123")
    >>> len(read_geomask_key(p))
    20
    """
    try:
        key = Path(path).read_bytes()
    except OSError as exc:
        msg = f"cannot read the geomask key file {str(path)!r}: {exc.strerror or exc}"
        raise InputError(msg, path=str(path)) from None
    if len(key) < MIN_KEY_BYTES:
        msg = (
            f"the geomask key file {str(path)!r} holds {len(key)} bytes but must hold at least {MIN_KEY_BYTES} "
            "(make one with: python -c \"import secrets; print(secrets.token_hex(32))\" > geomask.key)"
        )
        raise ConfigError(msg)
    return key


def is_masked(incidents: Any) -> bool:
    """Whether ``incidents`` came out of :func:`mask_points` (their coordinates are already displaced).

    Examples
    --------
    >>> is_masked(pd.DataFrame({"lon": [1.0], "lat": [2.0]}))
    False
    """
    return bool(getattr(incidents, "attrs", {}).get(MASKED_ATTR))


def month_only(dates: Any) -> pd.Series:
    """Dates cut to their month, as ``YYYY-MM`` strings (empty where missing).

    Examples
    --------
    >>> month_only(pd.to_datetime(["2020-05-17", None])).tolist()
    ['2020-05', '']
    """
    d = pd.to_datetime(pd.Series(dates), errors="coerce")
    return d.dt.strftime("%Y-%m").fillna("")


def _check_radii(min_m: float, max_m: float) -> None:
    if not (np.isfinite(min_m) and np.isfinite(max_m) and 0 < min_m <= max_m):
        msg = f"geomask radii were ({min_m!r}, {max_m!r}) but must satisfy 0 < min_m <= max_m (metres)"
        raise ConfigError(msg)


def _record_messages(table: pd.DataFrame, lon: np.ndarray, lat: np.ndarray, min_m: float, max_m: float) -> list:
    """One byte string per record for the keyed PRF: the radii, its coordinates, date, id, category,
    perpetrator, victims and its occurrence among identical records (fixed width, built column by column)."""
    n = len(lon)
    fields = [np.ascontiguousarray(v, dtype="<f8").view(np.uint8).reshape(n, 8) for v in (lon, lat)]
    if "date" in table.columns:
        ns = pd.to_datetime(table["date"], errors="coerce").to_numpy(dtype="datetime64[ns]").view("<i8")
        fields.append(np.ascontiguousarray(ns).view(np.uint8).reshape(n, 8))
    for col in ("incident_id", "category", "perpetrator", "victims"):
        if col in table.columns:  # 16 bytes of SHA-256 per distinct value: the same record hashes alike anywhere
            codes, uniques = pd.factorize(table[col], use_na_sentinel=True)
            digests = [hashlib.sha256(str(u).encode("utf-8")).digest()[:16] for u in uniques] + [bytes(16)]
            table_bytes = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 16)
            fields.append(table_bytes[np.where(codes < 0, len(uniques), codes)])
    rows = np.hstack(fields)
    words = pd.DataFrame(np.ascontiguousarray(rows).view("<u8"))  # widths are multiples of 8 bytes
    occurrence = words.groupby(list(words.columns), sort=False).cumcount().to_numpy(dtype="<u4")
    rows = np.hstack([rows, occurrence.view(np.uint8).reshape(n, 4)])
    width = rows.shape[1]
    prefix = b"routerisk-geomask-v2\x1f" + np.array([min_m, max_m], dtype="<f8").tobytes()
    buf = rows.tobytes()
    return [prefix + buf[k : k + width] for k in range(0, n * width, width)]


def _uniforms(n: int, key: bytes | None, messages: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three independent U(0, 1) arrays: from HMAC-SHA256(key, record) when a key is given, else OS entropy."""
    if key is None:
        rng = np.random.default_rng()  # seeded from OS entropy: never from anything a run records
        return rng.random(n), rng.random(n), rng.random(n)
    digests = b"".join(hmac.digest(key, m, hashlib.sha256) for m in messages)
    words = np.frombuffer(digests, dtype=">u8").reshape(n, 4)[:, :3] >> np.uint64(11)  # 53 random bits each
    u = words.astype("float64") / float(1 << 53)
    return u[:, 0], u[:, 1], u[:, 2]


def mask_points(
    incidents: Any,
    *,
    min_m: float = DEFAULT_GEOMASK_M[0],
    max_m: float = DEFAULT_GEOMASK_M[1],
    key: bytes | None = None,
    crs: str = "auto",
) -> Any:
    """Displace every incident between ``min_m`` and ``max_m`` metres (donut masking), keeping every column.

    The displacement is uniform over the annulus's area (radius ``sqrt(U (max^2 - min^2) + min^2)``, direction
    uniform) in the analysis CRS. Its random numbers come from OS entropy (a fresh draw each call, so two calls
    differ), or, with ``key``, from HMAC-SHA256 of the key and the record (its id, coordinates, date, category,
    perpetrator, victims, the radii and its occurrence among identical records): the analyst holding the key gets
    the same displacement every time, nobody else can compute it. Nothing derived from a seed a run records is
    used. Public mode computes every incident-derived output from the result, so fitting published numbers can
    at best recover these masked positions.

    Parameters
    ----------
    incidents : GeoDataFrame or DataFrame
        Canonical incidents (points), or a lon/lat table (``read_incidents(..., geometry=False)``).
    min_m, max_m : float
        Inner and outer radius in metres (``0 < min_m <= max_m``).
    key : bytes, optional
        Secret key (:func:`read_geomask_key`); OS entropy when None.
    crs : str, default "auto"
        Analysis CRS (see :func:`routerisk.analysis_crs`).

    Returns
    -------
    GeoDataFrame or DataFrame
        The same kind of table, rows in the same order, only coordinates changed (unplaced rows unchanged);
        ``attrs`` marks it as masked (:func:`is_masked`). Not for publication as is (it keeps text and dates):
        publish :func:`donut_mask` instead.

    Examples
    --------
    >>> t = pd.DataFrame({"lon": [-93.9], "lat": [16.25], "category": ["robbery"]})
    >>> m = mask_points(t, key=b"0123456789abcdef")
    >>> m.equals(mask_points(t, key=b"0123456789abcdef")), m["category"].tolist(), is_masked(m)
    (True, ['robbery'], True)
    """
    _check_radii(min_m, max_m)
    min_m, max_m = float(min_m), float(max_m)
    table = not isinstance(incidents, gpd.GeoDataFrame)
    if table:
        lon = pd.to_numeric(incidents["lon"], errors="coerce").to_numpy(dtype="float64")
        lat = pd.to_numeric(incidents["lat"], errors="coerce").to_numpy(dtype="float64")
    else:
        geo = incidents.geometry.to_crs(4326)
        ok_geom = geo.notna().to_numpy() & ~geo.is_empty.to_numpy()
        lon = np.full(len(geo), np.nan)
        lat = np.full(len(geo), np.nan)
        lon[ok_geom] = geo[ok_geom].x.to_numpy()
        lat[ok_geom] = geo[ok_geom].y.to_numpy()
    ok = np.isfinite(lon) & np.isfinite(lat)
    bounds = (lon[ok].min(), lat[ok].min(), lon[ok].max(), lat[ok].max()) if ok.any() else None
    work_crs = analysis_crs(bounds, crs)
    fwd = Transformer.from_crs(4326, work_crs, always_xy=True)
    back = Transformer.from_crs(work_crs, 4326, always_xy=True)
    n = int(ok.sum())
    messages = _record_messages(incidents[ok], lon[ok], lat[ok], min_m, max_m) if key is not None else None
    u_r, u_a, _ = _uniforms(n, key, messages)
    radius = np.sqrt(u_r * (max_m**2 - min_m**2) + min_m**2)
    angle = 2.0 * np.pi * u_a
    x, y = fwd.transform(lon[ok], lat[ok])
    new_lon, new_lat = lon.copy(), lat.copy()
    new_lon[ok], new_lat[ok] = back.transform(x + radius * np.cos(angle), y + radius * np.sin(angle))
    if table:
        out = incidents.copy()
        out["lon"], out["lat"] = new_lon, new_lat
    else:
        geoms = incidents.geometry.to_crs(4326).to_numpy().copy()
        geoms[ok] = shapely.points(new_lon[ok], new_lat[ok])
        out = incidents.copy()
        out = out.set_geometry(gpd.GeoSeries(geoms, index=incidents.index, crs=4326).to_crs(incidents.crs))
    out.attrs = {MASKED_ATTR: {"min_m": min_m, "max_m": max_m, "source": "key-file" if key is not None else
                               "os-entropy"}}
    return out


def donut_mask(
    incidents: Any,
    *,
    min_m: float = DEFAULT_GEOMASK_M[0],
    max_m: float = DEFAULT_GEOMASK_M[1],
    key: bytes | None = None,
    crs: str = "auto",
) -> gpd.GeoDataFrame:
    """Donut-masked incident points for publication: each moved between ``min_m`` and ``max_m`` metres away.

    The points of :func:`mask_points` (OS entropy, or a keyed PRF with ``key``; a table that is already masked
    is used as it is, not masked twice) with free text, ids, sources and exact dates dropped: only
    :data:`GEOMASK_COLUMNS` remain (``month`` as ``YYYY-MM``), in an order that cannot be matched to the source
    table (random, or sorted by a keyed PRF with ``key``). No published point lies within ``min_m`` of its true
    position, none farther than ``max_m``.

    Parameters
    ----------
    incidents : GeoDataFrame or DataFrame
        Canonical incidents (points, or a lon/lat table), or the output of :func:`mask_points`.
    min_m, max_m : float
        Inner and outer radius in metres (``0 < min_m <= max_m``).
    key : bytes, optional
        Secret key (:func:`read_geomask_key`): the same key gives the same points; OS entropy when None.
    crs : str, default "auto"
        Analysis CRS (see :func:`routerisk.analysis_crs`).

    Returns
    -------
    GeoDataFrame
        In the input's CRS (EPSG:4326 for a lon/lat table); unplaced records are dropped.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import Point
    >>> inc = gpd.GeoDataFrame({"category": ["robbery"], "date": pd.to_datetime(["2020-05-17"]),
    ...                         "notes": ["secret"]}, geometry=[Point(-93.9, 16.25)], crs=4326)
    >>> out = donut_mask(inc)
    >>> list(out.columns), out["month"].iloc[0]
    (['category', 'month', 'geometry'], '2020-05')
    """
    masked = incidents if is_masked(incidents) else mask_points(incidents, min_m=min_m, max_m=max_m, key=key, crs=crs)
    if isinstance(masked, gpd.GeoDataFrame):
        ok = (masked.geometry.notna() & ~masked.geometry.is_empty).to_numpy()
        geom = masked.geometry[ok].to_numpy()
        crs_out = masked.crs
    else:
        lon = pd.to_numeric(masked["lon"], errors="coerce").to_numpy(dtype="float64")
        lat = pd.to_numeric(masked["lat"], errors="coerce").to_numpy(dtype="float64")
        ok = np.isfinite(lon) & np.isfinite(lat)
        geom = shapely.points(lon[ok], lat[ok])
        crs_out = "EPSG:4326"
    kept = masked[ok]
    out = pd.DataFrame({c: kept[c].to_numpy() for c in GEOMASK_COLUMNS if c in kept.columns})
    if "date" in kept.columns:
        out["month"] = month_only(kept["date"]).to_numpy()
    n = len(out)
    if key is not None:
        # order by a keyed PRF of the masked coordinates: reproducible with the key, unrelated to the input order
        xy = np.round(shapely.get_coordinates(geom), 9)
        msgs = [b"routerisk-geomask-order-v1\x1f" + row.tobytes() for row in xy]
        _, _, u = _uniforms(n, key, msgs)
        order = np.lexsort((xy[:, 1], xy[:, 0], u))
    else:
        order = np.random.default_rng().permutation(n)
    result = gpd.GeoDataFrame(out, geometry=geom, crs=crs_out)
    return result.iloc[order].reset_index(drop=True)
