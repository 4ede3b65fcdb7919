"""Embedded default data: Mexico's states, migration corridors, illustrative zones and shelters, synthetic incidents.

The states live in :mod:`routerisk.states` and the corridors in :mod:`routerisk.corridors`; they are re-exported
here so that every embedded layer has one front door.

Every file lives in the package's ``data/`` folder (see ``data/README.md`` for sources, licences and what is real,
illustrative or synthetic). Loaders return the canonical layers of :mod:`routerisk.schema` in EPSG:4326 and cache
the parsed file in-process (each call returns a fresh copy, so callers may modify it).
"""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._paths import data_path
from .corridors import CORRIDORS_FILE, corridor_waypoints, load_corridors
from .crs import MEXICO_CRS
from .gazetteer import load_localities, resolve_localities
from .schema import SHELTER_COLUMNS, WGS84, ZONE_COLUMNS
from .states import STATES, assign_states, load_states, state_key
from .synthetic import read_table, synthetic_incidents

__all__ = [
    "CORRIDORS_FILE",
    "INCIDENTS_FILE",
    "SHELTERS_FILE",
    "STATES",
    "ZONES_FILE",
    "assign_states",
    "corridor_waypoints",
    "load_corridors",
    "load_incidents",
    "load_localities",
    "load_shelters",
    "load_states",
    "load_zones",
    "state_key",
    "synthetic_incidents",
]

#: Names of the embedded files in ``data/`` behind each loader (for manifests and hashes).
ZONES_FILE = "zones.csv"
SHELTERS_FILE = "shelters.csv"
INCIDENTS_FILE = "incidents_synthetic.csv"

# --------------------------------------------------------------------------------------------- zones, shelters


def _place_table(name: str) -> pd.DataFrame:
    """Read a CSV of places given by ``locality`` and ``state`` and add their gazetteer coordinates."""
    table = pd.read_csv(data_path(name), dtype=str, keep_default_na=False, encoding="utf-8")
    res = resolve_localities(table["locality"].tolist(), table["state"].tolist())
    table["lon"] = res["lon"].to_numpy()
    table["lat"] = res["lat"].to_numpy()
    table["state_name"] = res["state_name"].to_numpy()
    return table


def _as_bool(values: pd.Series) -> np.ndarray:
    return values.str.strip().str.lower().isin(["true", "1", "yes"]).to_numpy(dtype=bool)


@functools.cache
def _zones() -> gpd.GeoDataFrame:
    table = _place_table(ZONES_FILE)
    points = gpd.GeoSeries(gpd.points_from_xy(table["lon"], table["lat"]), crs=WGS84).to_crs(MEXICO_CRS)
    radius = table["radius_m"].astype("float64").to_numpy()
    circles = gpd.GeoSeries(shapely.buffer(points.to_numpy(), radius, quad_segs=32), crs=MEXICO_CRS).to_crs(WGS84)
    df = pd.DataFrame(
        {
            "zone_id": table["zone_id"].astype(object),
            "name": table["name"].astype(object),
            "agency": table["agency"].astype(object),
            "kind": table["kind"].astype(object),
            "start_date": pd.to_datetime(table["start_date"].replace("", None), format="%Y-%m-%d").astype(
                "datetime64[ns]"
            ),
            "end_date": pd.to_datetime(table["end_date"].replace("", None), format="%Y-%m-%d").astype(
                "datetime64[ns]"
            ),
            "intensity": table["intensity"].astype("float64"),
            "illustrative": _as_bool(table["illustrative"]),
        }
    )
    return gpd.GeoDataFrame(df[list(ZONE_COLUMNS)], geometry=circles.to_numpy(), crs=WGS84)


def load_zones() -> gpd.GeoDataFrame:
    """Illustrative enforcement zones: detention stations, checkpoint areas, deployments and patrols.

    Each zone of ``data/zones.csv`` is a locality (resolved through the gazetteer) with a ``radius_m``; the
    circle is buffered in EPSG:6372 and returned in EPSG:4326. Every zone is ``illustrative``: the kinds of
    place are documented, but positions, radii, dates and intensities are illustrative (see
    ``data/README.md``).

    Returns
    -------
    geopandas.GeoDataFrame
        The zones layer: ``zone_id, name, agency, kind, start_date, end_date, intensity, illustrative`` and
        Polygon geometry.

    Examples
    --------
    >>> zones = load_zones()
    >>> bool(zones["illustrative"].all()), zones.geom_type.unique().tolist()
    (True, ['Polygon'])
    """
    return _zones().copy()


@functools.cache
def _shelters() -> gpd.GeoDataFrame:
    table = _place_table(SHELTERS_FILE)
    df = pd.DataFrame(
        {
            "shelter_id": table["shelter_id"].astype(object),
            "name": table["name"].astype(object),
            "kind": table["kind"].astype(object),
            "locality": table["locality"].astype(object),
            "state": table["state_name"].astype(object),
            "sensitive": _as_bool(table["sensitive"]),
            "illustrative": _as_bool(table["illustrative"]),
        }
    )
    geometry = gpd.points_from_xy(table["lon"], table["lat"])
    return gpd.GeoDataFrame(df[list(SHELTER_COLUMNS)], geometry=geometry, crs=WGS84)


def load_shelters() -> gpd.GeoDataFrame:
    """Migrant shelters and asylum (COMAR) offices at city level, in EPSG:4326.

    Each is placed at its city's gazetteer coordinates, never at a street address. Named shelters whose
    presence in the city is public knowledge are ``illustrative=False`` and ``sensitive=True`` (do not
    publish finer positions); the others are ``illustrative=True``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``shelter_id, name, kind (shelter | asylum_office), locality, state, sensitive, illustrative`` and
        Point geometry.

    Examples
    --------
    >>> shelters = load_shelters()
    >>> sorted(shelters["kind"].unique())
    ['asylum_office', 'shelter']
    """
    return _shelters().copy()


# --------------------------------------------------------------------------------------------- incidents


@functools.cache
def _incidents() -> gpd.GeoDataFrame:
    return read_table(data_path(INCIDENTS_FILE))


def load_incidents() -> gpd.GeoDataFrame:
    """The committed synthetic incidents (``data/incidents_synthetic.csv``) as the canonical incidents layer.

    The file is the output of ``synthetic_incidents(n=1500, seed=2021)`` (see :mod:`routerisk.synthetic` for
    the model); every row is ``synthetic=True`` and describes no real event.

    Examples
    --------
    >>> inc = load_incidents()
    >>> len(inc), bool(inc["synthetic"].all()), inc.crs.to_epsg()
    (1500, True, 4326)
    """
    return _incidents().copy()
