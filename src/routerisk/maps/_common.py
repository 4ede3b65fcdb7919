"""Facts shared by both renderers (interactive and static): limits, the plot CRS and the synthetic-data notice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .._errors import InputError
from ..privacy import DEFAULT_MIN_COUNT

__all__ = ["PLOT_CRS", "POINT_LIMIT", "Leaflet", "MapData", "check_segments", "class_ranges", "is_synthetic"]

#: Most placed incidents drawn as points (client-side heat and markers on the HTML map, dots on the print map);
#: beyond, the heat comes from the pre-computed surface image and no point is drawn.
POINT_LIMIT = 20_000
#: Projected CRS of the print maps (Mexico ITRF2008 / LCC).
PLOT_CRS = "EPSG:6372"


@dataclass
class MapData:
    """Everything a map layer may draw, for either renderer (see :mod:`routerisk.maps.layers`).

    ``shelters`` are already publishable (:func:`routerisk.privacy.publishable_shelters`); ``extent`` is the print
    map's ``(xmin, xmax, ymin, ymax)`` in :data:`PLOT_CRS` (None on the HTML map).
    """

    segments: Any
    incidents: Any = None
    zones: Any = None
    shelters: Any = None
    sites: Mapping[str, Any] | None = None
    detention: Any = None
    surface: tuple[Any, Any, Any] | None = None
    privacy: str = "internal"
    min_count: int = DEFAULT_MIN_COUNT
    model: Any = None
    point_limit: int = POINT_LIMIT
    time_step: str = "auto"
    heat_max: float | None = None
    cell_m: float = 2000.0
    extent: tuple[float, float, float, float] | None = None

    @property
    def public(self) -> bool:
        """Whether the map is drawn in public mode."""
        return self.privacy == "public"

    def site_layer(self, key: str) -> Any:
        """One layer of :attr:`sites` (``"sites"``, ``"coverage"``, ``"gaps"``), or None when absent or empty."""
        layer = (self.sites or {}).get(key)
        return layer if layer is not None and len(layer) else None


@dataclass
class Leaflet:
    """What a layer's ``draw_folium`` returns: escaped JSON ``data`` and the JavaScript body ``code`` of
    ``function (map, D) {...}`` returning a Leaflet layer (see :mod:`routerisk.maps._leaflet`).

    A layer with ``periods`` drives the time slider (it has ``setPeriod(k)``); ``scale`` is its legend's
    ``(vmin, vmax, units)``.
    """

    data: Any
    code: str
    periods: Sequence[str] | None = None
    scale: tuple[float, float, str] | None = None


def check_segments(segments: Any) -> None:
    """Raise :class:`routerisk.InputError` unless ``segments`` is a GeoDataFrame with a CRS.

    Examples
    --------
    >>> check_segments(None)
    Traceback (most recent call last):
    ...
    routerisk._errors.InputError: `segments` must be a GeoDataFrame of lines with a CRS
    """
    if segments is None or "geometry" not in getattr(segments, "columns", ()) or segments.crs is None:
        msg = "`segments` must be a GeoDataFrame of lines with a CRS"
        raise InputError(msg)


def class_ranges(segments: Any) -> list[str] | None:
    """Risk range of each class 1-5 (``"12–40"``, ``"none"``), for the legend; None without ``risk_class``.

    Examples
    --------
    >>> class_ranges(pd.DataFrame({"risk": [10.0, 30.0], "risk_class": [1, 1]}))[:2]
    ['10–30', 'none']
    >>> class_ranges(pd.DataFrame({"risk": [1.0, 4.8, 5.1, 5.3], "risk_class": [1, 1, 2, 2]}))[:2]
    ['1.0–4.8', '4.8–5.3']
    """
    if "risk" not in segments or "risk_class" not in segments:
        return None
    pairs: list[tuple[float, float] | None] = []
    prev = None  # contiguous ranges: a class starts where the one below ended ("2 low (5.2–7.9)", never "5–5")
    for k in range(1, 6):
        r = pd.to_numeric(segments.loc[segments["risk_class"] == k, "risk"], errors="coerce").dropna()
        if not len(r):
            pairs.append(None)
            continue
        pairs.append(((float(r.min()) if prev is None else prev), float(r.max())))
        prev = float(r.max())
    shown = [p for p in pairs if p is not None]
    d = next((d for d in (0, 1, 2) if all(f"{lo:.{d}f}" != f"{hi:.{d}f}" for lo, hi in shown)), 2)  # one precision
    out = []
    for p in pairs:
        if p is None:
            out.append("none")
        else:
            lo, hi = f"{p[0]:.{d}f}", f"{p[1]:.{d}f}"
            out.append(f"{lo}–{hi}" if lo != hi else hi)
    return out


def is_synthetic(incidents: Any, zones: Any, shelters: Any, provenance: Mapping[str, Any] | None = None) -> bool:
    """Whether a map shows the "synthetic / illustrative data" notice: flagged in ``provenance``, incidents marked
    ``synthetic`` or zones/shelters marked ``illustrative``.

    Examples
    --------
    >>> is_synthetic(pd.DataFrame({"synthetic": [False, True]}), None, None)
    True
    """
    flags = [bool((provenance or {}).get("synthetic", False))]
    for layer, col in ((incidents, "synthetic"), (zones, "illustrative"), (shelters, "illustrative")):
        if layer is not None and col in layer and len(layer):
            flags.append(bool(layer[col].fillna(False).astype(bool).any()))
    return any(flags)
