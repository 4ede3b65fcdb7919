"""The ``access`` map layer: network km to the nearest asylum office, and ways that pass enforcement.

Drawn only when the segments carry ``asylum_office_km`` (:func:`routerisk.protection_access`, ``routerisk
access``); otherwise the layer is left out. Numbers only go into the layer's JSON data (no text field).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from ._common import PLOT_CRS, Leaflet, MapData
from ._leaflet import _line_coords, _num

__all__ = ["ACCESS_BREAKS_KM", "ACCESS_COLORS", "access_folium", "access_mpl"]

#: Class limits (network km to the nearest asylum office) and their colours, near to far.
ACCESS_BREAKS_KM = (50.0, 150.0, 300.0)
ACCESS_COLORS = ("#1a9850", "#fee08b", "#f46d43", "#a50026")


def _classes(seg: Any) -> np.ndarray:
    km = pd.to_numeric(seg["asylum_office_km"], errors="coerce").to_numpy(dtype="float64")
    return np.digitize(np.where(np.isfinite(km), km, np.inf), ACCESS_BREAKS_KM)


def _labels() -> list[str]:
    b = ACCESS_BREAKS_KM
    return [f"asylum office < {b[0]:g} km", *(f"{lo:g}-{hi:g} km" for lo, hi in itertools.pairwise(b)),
            f"> {b[-1]:g} km or none"]  # fmt: skip


def access_folium(d: MapData) -> Leaflet | None:
    """Leaflet layer: segments coloured by network km to the nearest asylum office; dashed where the way passes
    enforcement."""
    seg = d.segments
    if seg is None or "asylum_office_km" not in seg or not len(seg):
        return None
    seg = seg.to_crs(4326)
    passes = seg["passes_enforcement"].fillna(False).astype(bool) if "passes_enforcement" in seg else False
    data = {
        "c": [_line_coords(g) for g in seg.geometry],
        "k": _classes(seg).tolist(),
        "km": _num(seg["asylum_office_km"], 0),
        "sk": _num(seg.get("shelter_km", np.nan), 0),
        "p": np.broadcast_to(np.asarray(passes, dtype=bool), (len(seg),)).tolist(),
        "colors": list(ACCESS_COLORS),
    }
    code = """
  var g = L.featureGroup([]);
  function f(v) { return v === null ? 'none reachable' : v + ' km'; }
  for (var i = 0; i < D.c.length; i++) {
    var tip = '<b>Access to protection</b><br>asylum office: ' + f(D.km[i]) + '<br>shelter: ' + f(D.sk[i]) +
              (D.p[i] ? '<br>the way passes enforcement' : '');
    L.polyline(D.c[i], {color: D.colors[D.k[i]], weight: 4, opacity: 0.9, dashArray: D.p[i] ? '6 4' : null})
      .bindTooltip(tip, {sticky: true}).addTo(g);
  }
  return g;
"""
    return Leaflet(data, code)


def access_mpl(ax: Any, d: MapData) -> list[Any]:
    """Print map: segments coloured by network km to the nearest asylum office (four classes)."""
    from matplotlib.collections import LineCollection  # lazy: matplotlib costs 0.4 s
    from matplotlib.lines import Line2D

    seg = d.segments
    if seg is None or "asylum_office_km" not in seg or not len(seg):
        return []
    import shapely

    seg = seg.to_crs(PLOT_CRS)
    k = _classes(seg)
    lines = [shapely.get_coordinates(g) for g in seg.geometry]
    ax.add_collection(LineCollection(lines, colors=[ACCESS_COLORS[i] for i in k], linewidths=2.5, zorder=5))
    return [Line2D([], [], color=c, lw=3, label=lab) for c, lab in zip(ACCESS_COLORS, _labels(), strict=True)]
