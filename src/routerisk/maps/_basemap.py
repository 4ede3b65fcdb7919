"""The offline basemap: Mexico's state boundaries and its largest localities, from the embedded data."""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import pandas as pd

from ..datasets import load_states
from ..gazetteer import load_localities

__all__ = ["basemap_layers"]


@functools.lru_cache(maxsize=1)
def _states() -> gpd.GeoDataFrame:
    return load_states()[["state_name", "geometry"]]


@functools.lru_cache(maxsize=1)
def _localities() -> pd.DataFrame:
    return pd.DataFrame(load_localities()[["name", "population", "lon", "lat"]])


def _declutter(lon, lat, n_labels: int, min_sep_deg: float):
    chosen: list[int] = []
    for i in range(len(lon)):
        if len(chosen) >= n_labels:
            break
        if all(np.hypot(lon[i] - lon[j], lat[i] - lat[j]) >= min_sep_deg for j in chosen):
            chosen.append(i)
    flags = np.zeros(len(lon), dtype=bool)
    flags[chosen] = True
    return flags


def basemap_layers(
    *, min_population: int = 150_000, n_labels: int = 14, min_sep_deg: float = 1.0
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """State polygons and major localities (``name, population, lon, lat, label``) for the offline basemap.

    Parameters
    ----------
    min_population : int
        Smallest locality shown.
    n_labels : int
        How many of the largest localities get a permanent label.
    min_sep_deg : float
        A labelled locality is at least this far (degrees) from every larger labelled one, so labels do not overlap.

    Examples
    --------
    >>> states, localities = basemap_layers()
    >>> len(states), bool(0 < localities["label"].sum() <= 14)
    (32, True)
    """
    loc = _localities()
    loc = loc[pd.to_numeric(loc["population"], errors="coerce") >= min_population]
    loc = loc.sort_values("population", ascending=False).reset_index(drop=True)
    loc = loc.assign(label=_declutter(loc["lon"].to_numpy(), loc["lat"].to_numpy(), n_labels, min_sep_deg))
    return _states(), loc
