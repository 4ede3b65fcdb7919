"""The ``detention`` map layer: migration stations and checkpoints as their own point layer.

Drawn only when a detention layer is given (:func:`routerisk.detention.load_detention` /
:func:`routerisk.detention.read_detention`; ``routerisk access --detention``). The sites are placed at **city level**
from public reporting, so the layer is public-safe; names are escaped into the layer's JSON data, never code.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._common import PLOT_CRS, Leaflet, MapData
from ._escape import escape_text
from ._mpl import _line2d

__all__ = ["DETENTION_COLORS", "detention_folium", "detention_mpl"]

#: Colour of each detention kind (migration station, checkpoint); other kinds use the last one.
DETENTION_COLORS = {"migration_station": "#6a3d9a", "checkpoint": "#b15928", "other": "#444444"}
_DIGITS = 5


def _kinds(det: Any) -> pd.Series:
    kinds = det["kind"].astype(str) if "kind" in det else pd.Series("migration_station", index=det.index)
    return kinds.where(kinds.isin(list(DETENTION_COLORS)), "other")


def detention_folium(d: MapData) -> Leaflet | None:
    """Leaflet layer: one diamond per detention site with an escaped tooltip (name, kind, city level)."""
    det = d.detention
    if det is None or not len(det):
        return None
    det = det.to_crs(4326)
    kinds = _kinds(det)
    names = det["name"].astype(str) if "name" in det else pd.Series("", index=det.index)
    tips = [
        f"<b>{escape_text(n)}</b><br>{escape_text(k.replace('_', ' '))} (city level)"
        for n, k in zip(names, kinds, strict=True)
    ]
    data = {
        "lat": np.round(det.geometry.y.to_numpy(), _DIGITS).tolist(),
        "lon": np.round(det.geometry.x.to_numpy(), _DIGITS).tolist(),
        "color": [DETENTION_COLORS[k] for k in kinds],
        "t": tips,
    }
    code = """
  var g = L.featureGroup([], {pane: 'rrPoints'});
  for (var i = 0; i < D.lat.length; i++) {
    L.marker([D.lat[i], D.lon[i]], {pane: 'rrPoints', icon: L.divIcon({className: 'rr-detention',
      html: '<div style="width:11px;height:11px;transform:rotate(45deg);border:1.5px solid #fff;background:' +
            D.color[i] + '"></div>', iconSize: [14, 14], iconAnchor: [7, 7]})}).bindTooltip(D.t[i]).addTo(g);
  }
  return g;
"""
    return Leaflet(data, code)


def detention_mpl(ax: Any, d: MapData) -> list[Any]:
    """Detention sites as diamonds on the print map, one legend entry per kind."""
    det = d.detention
    if det is None or not len(det):
        return []
    pts = det.to_crs(PLOT_CRS)
    kinds = _kinds(pts).to_numpy()
    handles = []
    for kind, color in DETENTION_COLORS.items():
        sel = kinds == kind
        if sel.any():
            ax.scatter(pts.geometry.x[sel], pts.geometry.y[sel], s=34, marker="D", c=color, edgecolors="white",
                       linewidths=0.7, zorder=12)
            handles.append(_line2d(marker="D", color="none", markerfacecolor=color, markeredgecolor="white",
                                   markersize=7, label=kind.replace("_", " ")))
    return handles
