"""Embedded default data: Mexico's states, migration corridors, illustrative zones and shelters, synthetic incidents.

Every file lives in the package's ``data/`` folder (see ``data/README.md`` for sources, licences and what is real,
illustrative or synthetic). Loaders return the canonical layers of :mod:`routerisk.schema` in EPSG:4326 and cache
the parsed file in-process (each call returns a fresh copy, so callers may modify it).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._data import data_path
from ._errors import InputError
from ._text import fold
from .gazetteer import load_localities
from .schema import ROUTE_COLUMNS, SHELTER_COLUMNS, WGS84, ZONE_COLUMNS
from .synthetic import synthetic_incidents

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
CORRIDORS_FILE = "corridors.csv"
ZONES_FILE = "zones.csv"
SHELTERS_FILE = "shelters.csv"
INCIDENTS_FILE = "incidents_synthetic.csv"

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
    # find the file without importing libpysal (its import pulls in scikit-learn: ~1 s for every command)
    spec = importlib.util.find_spec("libpysal")
    root = Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None
    shp = (root or Path("libpysal-not-installed")) / "examples" / "mexico" / "mexicojoin.shp"
    if not shp.is_file():  # pragma: no cover - broken libpysal install
        msg = f"libpysal's Mexico example {str(shp)!r} is missing; reinstall libpysal"
        raise InputError(msg)
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
    """Mexico's 32 states (INEGI codes and names) from libpysal's shipped shapefile, in EPSG:4326.

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
    from .crs import MEXICO_CRS

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
    from .crs import MEXICO_CRS

    return _states().to_crs(MEXICO_CRS)


# --------------------------------------------------------------------------------------------- corridors


@functools.cache
def _corridor_table() -> pd.DataFrame:
    from .gazetteer import resolve_localities

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
    from .routes import geodesic_line

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


# --------------------------------------------------------------------------------------------- zones, shelters


def _place_table(name: str) -> pd.DataFrame:
    """Read a CSV of places given by ``locality`` and ``state`` and add their gazetteer coordinates."""
    from .gazetteer import resolve_localities

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
    from .crs import MEXICO_CRS

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
    from .synthetic import read_table

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
