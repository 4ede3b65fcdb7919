"""The documented migration corridors: ordered localities (``data/corridors.csv``) joined by geodesic lines."""

from __future__ import annotations

import functools

import geopandas as gpd
import pandas as pd

from ._paths import data_path
from .gazetteer import resolve_localities
from .routes import geodesic_line
from .schema import ROUTE_COLUMNS, WGS84

__all__ = ["CORRIDORS_FILE", "corridor_waypoints", "load_corridors"]

#: Name of the embedded corridor table in ``data/`` (for manifests and hashes).
CORRIDORS_FILE = "corridors.csv"


@functools.cache
def _corridor_table() -> pd.DataFrame:
    path = data_path(CORRIDORS_FILE)
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    table["seq"] = table["seq"].astype("int64")
    table["_order"] = pd.factorize(table["route_id"])[0]
    table = table.sort_values(["_order", "seq"], kind="stable").drop(columns="_order")
    res = resolve_localities(table["locality"].tolist(), table["state"].tolist())
    table["lon"] = res["lon"].to_numpy()
    table["lat"] = res["lat"].to_numpy()
    table["locality_id"] = res["locality_id"].to_numpy()
    table["state_code"] = res["state_code"].to_numpy()
    return table.reset_index(drop=True)


@functools.cache
def _corridors() -> gpd.GeoDataFrame:
    table = _corridor_table()
    order = list(dict.fromkeys(table["route_id"]))
    rows, geoms = [], []
    for route_id in order:
        sub = table[table["route_id"] == route_id]
        rows.append((route_id, sub["name"].iloc[0], sub["mode"].iloc[0], False))
        geoms.append(geodesic_line(sub[["lon", "lat"]].to_numpy(), densify_km=25.0))
    df = pd.DataFrame(rows, columns=list(ROUTE_COLUMNS))
    return gpd.GeoDataFrame(df, geometry=geoms, crs=WGS84)


def load_corridors() -> gpd.GeoDataFrame:
    """Documented migration corridors across Mexico as a routes layer (EPSG:4326).

    Each corridor is an ordered list of real localities (``data/corridors.csv``) resolved through the
    gazetteer and joined by geodesic lines (a vertex every 25 km at most). The localities are real; the
    lines between them are a simplification of the actual roads and railways (``illustrative`` is False
    because the corridor itself is documented, but a segment's exact position is approximate).

    Returns
    -------
    geopandas.GeoDataFrame
        ``route_id, name, mode, illustrative`` and LineString geometry.

    Examples
    --------
    >>> corridors = load_corridors()
    >>> len(corridors) >= 10, set(corridors["mode"]) <= {"rail", "road"}
    (True, True)
    """
    return _corridors().copy()


def corridor_waypoints() -> pd.DataFrame:
    """The corridor table: one row per locality of each corridor, with its resolved coordinates.

    Examples
    --------
    >>> corridor_waypoints().query("route_id == 'isthmus'")["locality"].iloc[0]
    'Arriaga'
    """
    return _corridor_table().copy()
