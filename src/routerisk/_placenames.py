"""Ambiguous place names along a route: the candidate nearest the neighbouring waypoints, with a warning.

Mexico has four places called Tonalá (Chiapas, Guerrero, Jalisco, Veracruz). Without a state, the gazetteer
(:func:`routerisk.gazetteer.resolve_localities`) returns the most populous, Tonalá, Jalisco; a route
``["Tonala", "Arriaga"]`` would then cross the country. :func:`resolve_waypoint_names` chooses, for each name whose
candidates lie more than :data:`AMBIGUOUS_KM` apart, the candidate with the smallest sum of great-circle distances
to the previous and next waypoints, and warns (:class:`AmbiguousPlaceWarning`, listing the candidates) when the
neighbours decided against the most populous candidate or could not decide (the runner-up within
:data:`CLOSE_RATIO` of the best). Writing ``"Tonala, Chiapas"`` removes the ambiguity and the warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import gazetteer as gz

__all__ = ["AMBIGUOUS_KM", "CLOSE_RATIO", "AmbiguousPlaceWarning", "resolve_waypoint_names"]

#: Candidates of one name closer together than this (km) are taken as the same place.
AMBIGUOUS_KM = 50.0
#: The neighbours "cannot decide" when the runner-up's distance is within this factor of the best one's.
CLOSE_RATIO = 1.25
_R_KM = 6371.0088


class AmbiguousPlaceWarning(UserWarning):
    """A place name matched several localities far apart; the one nearest the neighbouring waypoints was used."""


def _km(lon1, lat1, lon2, lat2) -> np.ndarray:
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype="float64")) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * _R_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _candidates(name: str) -> pd.DataFrame:
    """Every locality a name (optionally ``"Name, State"``) matches, most populous first."""
    base, state = gz._split_state(name)
    loc = gz._localities()
    idx = gz._name_index()
    rows = idx.loc[idx["key"] == gz._fold(base), "row"].to_numpy()
    cand = loc.iloc[np.unique(rows)]
    if state is not None:
        cand = cand[cand["state_code"] == state]
    cand = cand.sort_values(["population", "locality_id"], ascending=[False, True])
    return pd.DataFrame(cand[gz._RECORD_COLUMNS]).reset_index(drop=True)


def resolve_waypoint_names(waypoints: Sequence[object], xy: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Resolve the named waypoints of a route, choosing among far-apart namesakes by the neighbouring waypoints.

    Parameters
    ----------
    waypoints : sequence
        Place names (``"Name"`` or ``"Name, State"``) and ``(lon, lat)`` pairs, in route order.
    xy : ndarray, shape (n, 2)
        Coordinates of the ``(lon, lat)`` waypoints (NaN rows for the names); not modified.

    Returns
    -------
    xy : ndarray
        Every waypoint's coordinates.
    labels : list of str
        The chosen localities' names (``""`` for the coordinate waypoints).

    Warns
    -----
    AmbiguousPlaceWarning
        Naming the candidates, when the neighbours chose a less populous namesake or could not decide.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     xy, labels = resolve_waypoint_names(["Tonala", "Arriaga"], np.full((2, 2), np.nan))
    >>> labels, round(float(xy[0, 0]), 2), "Jalisco" in str(w[0].message)
    (['Tonalá', 'Arriaga'], -93.75, True)
    """
    xy = np.array(xy, dtype="float64", copy=True)
    labels = [""] * len(waypoints)
    named = [i for i, w in enumerate(waypoints) if isinstance(w, str)]
    if not named:
        return xy, labels
    first = gz.resolve_localities([waypoints[i] for i in named])  # raises, with suggestions, for unknown names
    xy[named, 0], xy[named, 1] = first["lon"].to_numpy(), first["lat"].to_numpy()
    chosen = {i: first.iloc[k] for k, i in enumerate(named)}
    cands = {}
    for i in named:
        c = _candidates(str(waypoints[i]))
        if len(c) > 1 and _km(c["lon"].min(), c["lat"].min(), c["lon"].max(), c["lat"].max()) > AMBIGUOUS_KM:
            cands[i] = c
    scores: dict[int, np.ndarray] = {}
    for _ in range(2):  # a second pass lets two ambiguous neighbours settle on each other
        for i, c in cands.items():
            nb = [j for j in (i - 1, i + 1) if 0 <= j < len(waypoints)]
            if not nb:
                continue
            d = sum(_km(c["lon"], c["lat"], xy[j, 0], xy[j, 1]) for j in nb)
            best = int(np.argmin(d))
            scores[i] = np.asarray(d)
            chosen[i] = c.iloc[best]
            xy[i] = chosen[i]["lon"], chosen[i]["lat"]
    for i, c in cands.items():
        d = scores.get(i)
        if d is None:
            continue
        order = np.argsort(d, kind="stable")
        best = int(order[0])
        unclear = len(d) > 1 and d[order[1]] <= CLOSE_RATIO * max(d[best], 1e-9)
        if best != 0 or unclear:
            listed = "; ".join(f"{r['name']}, {r['state_name']} (population {int(r['population']):,}, "
                               f"{d[k]:,.0f} km from the neighbouring waypoints)" for k, r in c.iterrows())  # fmt: skip
            pick = chosen[i]
            msg = (
                f"place name {waypoints[i]!r} is ambiguous: {listed}. Using {pick['name']}, {pick['state_name']}, "
                f"the one nearest the neighbouring waypoints; write '{pick['name']}, {pick['state_name']}' to choose"
            )
            warnings.warn(msg, AmbiguousPlaceWarning, stacklevel=4)
    for i in named:
        labels[i] = str(chosen[i]["name"])
    return xy, labels
