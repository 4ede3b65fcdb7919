"""Mexico's 32 states: INEGI codes and names, snake-case keys, polygons and point-in-state assignment.

The polygons come from libpysal's ``mexicojoin.shp``, embedded in routerisk's data folder, mapped to INEGI
codes by name. :func:`assign_states` gives each point the state containing it, else the nearest one.
"""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import InputError
from ._paths import data_path
from ._text import fold
from .crs import MEXICO_CRS
from .schema import WGS84

__all__ = ["STATES", "assign_states", "load_states", "state_key"]

#: INEGI state code -> INEGI state name (Catálogo Único de Claves de Áreas Geoestadísticas).
STATES: dict[str, str] = {
    "01": "Aguascalientes",
    "02": "Baja California",
    "03": "Baja California Sur",
    "04": "Campeche",
    "05": "Coahuila de Zaragoza",
    "06": "Colima",
    "07": "Chiapas",
    "08": "Chihuahua",
    "09": "Ciudad de México",
    "10": "Durango",
    "11": "Guanajuato",
    "12": "Guerrero",
    "13": "Hidalgo",
    "14": "Jalisco",
    "15": "México",
    "16": "Michoacán de Ocampo",
    "17": "Morelos",
    "18": "Nayarit",
    "19": "Nuevo León",
    "20": "Oaxaca",
    "21": "Puebla",
    "22": "Querétaro",
    "23": "Quintana Roo",
    "24": "San Luis Potosí",
    "25": "Sinaloa",
    "26": "Sonora",
    "27": "Tabasco",
    "28": "Tamaulipas",
    "29": "Tlaxcala",
    "30": "Veracruz de Ignacio de la Llave",
    "31": "Yucatán",
    "32": "Zacatecas",
}

# NAME in libpysal's mexicojoin.shp -> INEGI code. The shapefile's CODE column ("MX05" = Chiapas) is an
# alphabetical code, NOT the INEGI one (INEGI 05 is Coahuila), and its INEGI column holds a region class.
_SHAPEFILE_NAMES: dict[str, str] = {
    "Aguascalientes": "01",
    "Baja California Norte": "02",
    "Baja California Sur": "03",
    "Campeche": "04",
    "Coahuila De Zaragoza": "05",
    "Colima": "06",
    "Chiapas": "07",
    "Chihuahua": "08",
    "Distrito Federal": "09",
    "Durango": "10",
    "Guanajuato": "11",
    "Guerrero": "12",
    "Hidalgo": "13",
    "Jalisco": "14",
    "Mexico": "15",
    "Michoacan de Ocampo": "16",
    "Morelos": "17",
    "Nayarit": "18",
    "Nuevo Leon": "19",
    "Oaxaca": "20",
    "Puebla": "21",
    "Queretaro de Arteaga": "22",
    "Quintana Roo": "23",
    "San Luis Potosi": "24",
    "Sinaloa": "25",
    "Sonora": "26",
    "Tabasco": "27",
    "Tamaulipas": "28",
    "Tlaxcala": "29",
    "Veracruz-Llave": "30",
    "Yucatan": "31",
    "Zacatecas": "32",
}


def state_key(name: str) -> str:
    """Snake-case key of a state name, as in the state-month deployment tables.

    Examples
    --------
    >>> state_key("Veracruz de Ignacio de la Llave")
    'veracruz_de_ignacio_de_la_llave'
    """
    return "_".join(fold(name).replace("-", " ").split())


@functools.cache
def _states() -> gpd.GeoDataFrame:
    shp = data_path("mexicojoin.shp")  # libpysal's example, embedded (data/README.md: source and licence)
    raw = gpd.read_file(str(shp), columns=["NAME"])
    unknown = sorted(set(raw["NAME"]) - set(_SHAPEFILE_NAMES))
    if unknown or len(raw) != 32:
        msg = f"libpysal's mexicojoin.shp has unexpected states {unknown} ({len(raw)} rows); cannot map to INEGI"
        raise InputError(msg)
    codes = raw["NAME"].map(_SHAPEFILE_NAMES)
    out = gpd.GeoDataFrame(
        {
            "state_code": codes.astype(str),
            "state_name": codes.map(STATES).astype(str),
            "state_key": codes.map(STATES).map(state_key).astype(str),
        },
        geometry=shapely.make_valid(raw.geometry.to_numpy()),
        crs=WGS84,  # lon/lat WGS84; the shapefile's .prj is empty
    )
    return out.sort_values("state_code").reset_index(drop=True)


def load_states() -> gpd.GeoDataFrame:
    """Mexico's 32 states (INEGI codes and names) from libpysal's shapefile (embedded), in EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        ``state_code`` (INEGI, ``"01"`` .. ``"32"``), ``state_name`` (INEGI name), ``state_key`` (snake case
        without accents, as in the state-month deployment tables, e.g. ``"ciudad_de_mexico"``), ``geometry``.

    Examples
    --------
    >>> states = load_states()
    >>> len(states), states.crs.to_epsg()
    (32, 4326)
    >>> states.set_index("state_code").loc["07", "state_name"]
    'Chiapas'
    """
    return _states().copy()


def assign_states(points: gpd.GeoSeries | gpd.GeoDataFrame) -> pd.DataFrame:
    """INEGI state of each point: the state containing it, else the nearest one (coastal points, islands).

    Parameters
    ----------
    points : GeoSeries or GeoDataFrame of Points
        Any CRS; null or empty points get missing values.

    Returns
    -------
    pandas.DataFrame
        ``state_code`` and ``state_name`` aligned to ``points``' index.

    Examples
    --------
    >>> from shapely import Point
    >>> pts = gpd.GeoSeries([Point(-92.26, 14.91), Point(-86.5, 21.2)], crs="EPSG:4326")
    >>> assign_states(pts)["state_name"].tolist()
    ['Chiapas', 'Quintana Roo']
    """
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geoms.crs is None:
        msg = "`points` has no CRS; set one (e.g. `.set_crs('EPSG:4326')`) before assigning states"
        raise InputError(msg)
    states = _states_projected()
    pts = geoms.to_crs(MEXICO_CRS).to_numpy()
    n = len(pts)
    idx = np.full(n, -1, dtype="int64")
    usable = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    tree = shapely.STRtree(states.geometry.to_numpy())
    inp, tre = tree.query(pts, predicate="within")
    # a point on a shared border falls in two states: keep the lower-numbered one
    order = np.lexsort((tre, inp))
    inp, tre = inp[order], tre[order]
    first = np.unique(inp, return_index=True)[1]
    idx[inp[first]] = tre[first]
    todo = np.flatnonzero(usable & (idx < 0))
    if todo.size:
        qi, qt = tree.query_nearest(pts[todo], return_distance=False, all_matches=False)
        idx[todo[qi]] = qt
    ok = idx >= 0
    code = np.full(n, None, dtype=object)
    name = np.full(n, None, dtype=object)
    code[ok] = states["state_code"].to_numpy()[idx[ok]]
    name[ok] = states["state_name"].to_numpy()[idx[ok]]
    return pd.DataFrame({"state_code": code, "state_name": name}, index=geoms.index)


@functools.cache
def _states_projected() -> gpd.GeoDataFrame:
    return _states().to_crs(MEXICO_CRS)
