"""Which enforcement zones exclude shelter sites by default: places, not whole states.

A checkpoint, a detention station or a patrol circle around a town is a place a shelter should not be sited in.
A state-month deployment table (:func:`routerisk.io.read_deployments`) makes every state a zone: excluding every
town inside them leaves no candidate at all (1,735 of 1,738 candidates along the embedded corridors). By default,
siting therefore excludes only zones that are points with a radius, checkpoints or detention sites, and other
zones of at most :data:`MAX_EXCLUDE_KM2` square kilometres that are not rows of a state-month table (zones with a
``state_code``, as :func:`routerisk.io.read_deployments` makes); the others (state-wide deployments) are skipped
and counted (:func:`excludable_zones`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

__all__ = ["ALWAYS_EXCLUDED_KINDS", "MAX_EXCLUDE_KM2", "excludable_zones"]

#: Zones larger than this (km², measured in an equal-area projection) do not exclude sites unless their kind is in
#: :data:`ALWAYS_EXCLUDED_KINDS`. 10,000 km² is a circle of about 56 km radius (the embedded patrol zones, 40 km
#: circles, are 5,027 km²); every Mexican state but Tlaxcala, Morelos, Aguascalientes, Colima and Mexico City is
#: larger, and those are caught as rows of a state-month table.
MAX_EXCLUDE_KM2 = 10_000.0
#: Zone kinds that always exclude sites, whatever their size.
ALWAYS_EXCLUDED_KINDS = ("checkpoint", "detention")
_EQUAL_AREA = "EPSG:6933"  # WGS 84 / NSIDC EASE-Grid 2.0 Global (equal area)


def excludable_zones(zones: Any, max_km2: float = MAX_EXCLUDE_KM2) -> Any:
    """The zones that exclude shelter sites; ``attrs["skipped_large_zones"]`` counts the zones left out.

    Parameters
    ----------
    zones : GeoDataFrame
        Enforcement zones (any CRS; points with ``radius_m`` count as small).
    max_km2 : float
        Largest area of a zone that excludes sites (kinds in :data:`ALWAYS_EXCLUDED_KINDS` always do).

    Returns
    -------
    GeoDataFrame

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point, box
    >>> z = gpd.GeoDataFrame({"kind": ["deployment", "checkpoint", "deployment"]},
    ...                      geometry=[box(-94, 15, -92, 17), box(-94, 15, -92, 17), Point(-93, 16).buffer(0.5)],
    ...                      crs=4326)
    >>> out = excludable_zones(z)
    >>> out["kind"].tolist(), out.attrs["skipped_large_zones"]
    (['checkpoint', 'deployment'], 1)
    """
    if zones is None or not len(zones):
        return zones
    geoms = zones.geometry.to_numpy()
    points = shapely.get_type_id(geoms) == 0
    km2 = np.zeros(len(zones))
    poly = ~points & ~shapely.is_empty(geoms)
    if poly.any():
        km2[poly] = zones.geometry[poly].to_crs(_EQUAL_AREA).area.to_numpy() / 1e6
    kinds = zones["kind"].astype(str).to_numpy() if "kind" in zones.columns else np.full(len(zones), "")
    state_rows = np.zeros(len(zones), dtype=bool)
    if "state_code" in zones.columns:  # a state-month deployment table: whole states, not places
        state_rows = zones["state_code"].notna().to_numpy() & (kinds == "deployment")
    keep = points | ((km2 <= max_km2) & ~state_rows) | np.isin(kinds, ALWAYS_EXCLUDED_KINDS)
    out = zones[keep]
    out.attrs = {**zones.attrs, "skipped_large_zones": int((~keep).sum())}
    return out
