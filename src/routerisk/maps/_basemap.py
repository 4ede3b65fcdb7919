"""The offline basemap: Mexico's states, its neighbours and coastlines, and locality labels that never overlap.

- **States** of Mexico from libpysal (INEGI outlines, :func:`routerisk.datasets.load_states`).
- **Neighbouring countries** (the United States, Guatemala, Belize, Honduras, El Salvador, Cuba, ...) from
  ``data/countries.geojson``: Natural Earth 1:110m Admin 0 (public domain), built by
  ``scripts/build_countries.py``; their outlines are also the coastlines outside Mexico.
- **Localities** from GeoNames (CC BY 4.0) with at least ``min_population`` inhabitants, each with the first zoom
  level at which its label is shown (``minzoom``): labels are placed largest place first, and a label is shown at a
  zoom only where its box (the name's width to the right of the point, at that zoom's scale) overlaps no label
  already shown there. The print map shows the labels of zoom :data:`BASE_ZOOM` (``label``).
"""

from __future__ import annotations

import functools
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._paths import data_path
from ..attribution import BASEMAP
from ..datasets import load_states
from ..gazetteer import load_localities
from ..schema import WGS84

__all__ = ["ATTRIBUTION", "BASE_ZOOM", "MAX_LABEL_ZOOM", "basemap_layers", "countries", "label_zooms"]

#: Zoom of the whole country (the HTML map opens at it; the print map's labels are those of this zoom).
BASE_ZOOM = 5
#: Deepest zoom for which labels are placed (every locality of the basemap is labelled by then, if it fits).
MAX_LABEL_ZOOM = 11
#: Width of one character and height of a label at :data:`BASE_ZOOM`, in degrees (a 12 px tooltip at zoom 5 is
#: about 0.3 degree per character and 0.8 degree high; the print map's 7 pt labels are smaller).
_CHAR_DEG, _HEIGHT_DEG = 0.3, 0.8
#: Credits of the basemap's sources (every map shows them).
ATTRIBUTION = BASEMAP


@functools.lru_cache(maxsize=1)
def _states() -> gpd.GeoDataFrame:
    states = load_states()[["state_name", "geometry"]]
    return states.assign(kind="state")


@functools.lru_cache(maxsize=1)
def countries() -> gpd.GeoDataFrame:
    """Mexico's neighbouring countries (``name``, ``iso_a3``, geometry), Natural Earth 1:110m, EPSG:4326.

    Examples
    --------
    >>> sorted({"USA", "GTM", "BLZ"} & set(countries()["iso_a3"]))
    ['BLZ', 'GTM', 'USA']
    """
    doc = json.loads(data_path("countries.geojson").read_text(encoding="utf-8"))
    feats = doc["features"]
    geoms = [shapely.geometry.shape(f["geometry"]) for f in feats]
    attrs = {"name": [f["properties"]["name"] for f in feats], "iso_a3": [f["properties"]["iso_a3"] for f in feats]}
    return gpd.GeoDataFrame(attrs, geometry=geoms, crs=WGS84)


@functools.lru_cache(maxsize=1)
def _localities() -> pd.DataFrame:
    return pd.DataFrame(load_localities()[["name", "population", "lon", "lat"]])


def label_zooms(
    lon: np.ndarray, lat: np.ndarray, names: list[str], *, base: int = BASE_ZOOM, top: int = MAX_LABEL_ZOOM
) -> np.ndarray:
    """First zoom at which each label (in priority order) fits without overlapping a label already shown there.

    A label is the box from its point rightwards ``len(name) + 1`` characters wide and one line high, both halving
    at each zoom level; a label shown at zoom ``z`` stays shown at every deeper zoom. ``top + 1`` means never.

    Examples
    --------
    >>> z = label_zooms(np.array([-117.04, -115.47, -99.13]), np.array([32.53, 32.62, 19.43]),
    ...                 ["Tijuana", "Mexicali", "Mexico City"])
    >>> z.tolist()  # Mexicali's label would cover Tijuana's at the national zoom
    [5, 6, 5]
    """
    n = len(lon)
    out = np.full(n, top + 1, dtype="int64")
    widths = (np.array([len(s) for s in names], dtype="float64") + 1.0) * _CHAR_DEG
    placed: list[int] = []
    for i in range(n):
        if placed:
            p = np.asarray(placed)
            for z in range(base, top + 1):
                s = 2.0 ** (base - z)
                shown = p[out[p] <= z]
                x0, x1 = lon[i], lon[i] + widths[i] * s
                overlap = (x0 < lon[shown] + widths[shown] * s) & (lon[shown] < x1) & \
                          (np.abs(lat[shown] - lat[i]) < _HEIGHT_DEG * s)  # fmt: skip
                if not overlap.any():
                    out[i] = z
                    break
        else:
            out[i] = base
        if out[i] <= top:
            placed.append(i)
    return out


@functools.lru_cache(maxsize=4)
def _placed(min_population: int) -> pd.DataFrame:
    loc = _localities()
    loc = loc[pd.to_numeric(loc["population"], errors="coerce") >= min_population]
    loc = loc.sort_values(["population", "name"], ascending=[False, True]).reset_index(drop=True)
    zooms = label_zooms(loc["lon"].to_numpy(), loc["lat"].to_numpy(), loc["name"].astype(str).tolist())
    return loc.assign(minzoom=zooms)


def basemap_layers(
    *, min_population: int = 50_000, n_labels: int = 14, min_sep_deg: float = 1.0
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Boundaries (states and neighbouring countries) and localities (``name, population, lon, lat, minzoom,
    label``) for the offline basemap.

    Parameters
    ----------
    min_population : int
        Smallest locality shown (its label appears from its ``minzoom`` on).
    n_labels : int
        How many labels the national view (zoom :data:`BASE_ZOOM`, and the print map) shows at most.
    min_sep_deg : float
        Kept for compatibility; labels are placed by their boxes (:func:`label_zooms`).

    Returns
    -------
    boundaries : GeoDataFrame
        ``state_name`` (a state's or a country's name), ``kind`` (``"state"`` or ``"country"``), geometry.
    localities : DataFrame

    Examples
    --------
    >>> bounds, localities = basemap_layers()
    >>> int((bounds["kind"] == "state").sum()), "United States of America" in set(bounds["state_name"])
    (32, True)
    >>> bool(0 < localities["label"].sum() <= 14), int(localities["minzoom"].min())
    (True, 5)
    """
    del min_sep_deg
    loc = _placed(int(min_population))
    national = (loc["minzoom"] <= BASE_ZOOM).to_numpy()
    label = national & (np.cumsum(national) <= n_labels)
    nb = countries()
    boundaries = pd.concat([_states(), gpd.GeoDataFrame({"state_name": nb["name"], "kind": "country"},
                                                        geometry=nb.geometry.to_numpy(), crs=WGS84)],
                           ignore_index=True)  # fmt: skip
    return gpd.GeoDataFrame(boundaries, geometry="geometry", crs=WGS84), loc.assign(label=label)
