"""The print map's drawing of each layer (matplotlib): each ``*_mpl(ax, data)`` draws in :data:`PLOT_CRS` and
returns its legend handles. User text drawn here is never mathtext or TeX (:data:`routerisk._sinks.MPL_TEXT`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from .._sinks import MPL_TEXT
from ._common import PLOT_CRS, MapData
from ._deployment import deployment_mpl, is_deployment
from ._legend import (
    COVERAGE_COLOR,
    GAP_COLOR,
    NO_DATA_COLOR,
    RISK_COLORS,
    RISK_LABELS,
    SHELTER_COLORS,
    SITE_COLOR,
    ZONE_COLOR,
)

__all__ = ["gaps_mpl", "incidents_mpl", "line_parts", "segments_mpl", "shelters_mpl", "sites_mpl", "zones_mpl"]


def line_parts(geoms: Any) -> list[np.ndarray]:
    """Coordinate arrays of every part of the (multi)lines in ``geoms``, for a ``LineCollection``.

    Examples
    --------
    >>> from shapely import LineString, MultiLineString
    >>> len(line_parts([LineString([(0, 0), (1, 1)]), MultiLineString([[(0, 0), (1, 0)], [(2, 0), (3, 0)]])]))
    3
    """
    out = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        parts = g.geoms if hasattr(g, "geoms") else [g]
        out.extend(shapely.get_coordinates(p) for p in parts)
    return out


def _line2d(**kwargs: Any) -> Any:
    # lazy: matplotlib costs 0.4 s at start-up (measured, with matplotlib.figure), paid only when a print map is drawn
    from matplotlib.lines import Line2D

    return Line2D([], [], **kwargs)


def _collection(geoms: Any, **kwargs: Any) -> Any:
    from matplotlib.collections import LineCollection  # lazy: see _line2d

    return LineCollection(line_parts(geoms), **kwargs)


def zones_mpl(ax: Any, d: MapData) -> list[Any]:
    """Enforcement zones as dashed outlines."""
    from matplotlib.patches import Patch  # lazy: see _line2d

    if d.zones is None or not len(d.zones):
        return []
    if is_deployment(d.zones):  # a state-month table: one choropleth of the window, legend in personnel
        return deployment_mpl(ax, d.zones, d.model)
    d.zones.to_crs(PLOT_CRS).plot(ax=ax, facecolor="none", edgecolor=ZONE_COLOR, linestyle="--", linewidth=1.0,
                                  zorder=3)
    return [Patch(facecolor="none", edgecolor=ZONE_COLOR, linestyle="--", label="enforcement zone")]


def incidents_mpl(ax: Any, d: MapData) -> list[Any]:
    """Individual incidents as small dots: internal maps only, at most ``point_limit`` of them."""
    inc = d.incidents
    if inc is None or d.public or not 0 < len(inc) <= d.point_limit:
        return []
    pts = inc.to_crs(PLOT_CRS)
    ax.scatter(pts.geometry.x, pts.geometry.y, s=1.5, c="#333333", alpha=0.35, linewidths=0, zorder=4)
    return []


def segments_mpl(ax: Any, d: MapData) -> list[Any]:
    """Segments coloured by risk class; grey where suppressed (public mode: fewer than ``min_count`` incidents)."""
    seg = d.segments.to_crs(PLOT_CRS)
    cls = pd.to_numeric(seg.get("risk_class", pd.Series(np.nan, index=seg.index)), errors="coerce")
    n_inc = pd.to_numeric(seg.get("n_incidents", pd.Series(np.nan, index=seg.index)), errors="coerce")
    hidden = cls.isna().to_numpy().copy()
    if "suppressed" in seg:
        hidden |= seg["suppressed"].fillna(False).astype(bool).to_numpy()
    if d.public:
        hidden |= ~(n_inc.to_numpy() >= d.min_count)
    colors = [NO_DATA_COLOR, *RISK_COLORS]
    for k in range(6):
        sel = hidden if k == 0 else (~hidden & (cls.to_numpy() == k))
        if sel.any():
            ax.add_collection(_collection(seg.geometry[sel], colors=colors[k], linewidths=1.2 + 0.45 * k,
                                          zorder=5 + k, capstyle="round"))
    handles = [_line2d(color=c, lw=3, label=lab) for c, lab in zip(RISK_COLORS, RISK_LABELS, strict=True)]
    if hidden.any():
        handles.append(_line2d(color=NO_DATA_COLOR, lw=3, label=f"suppressed (< {int(d.min_count)} incidents)"))
    return handles


def shelters_mpl(ax: Any, d: MapData) -> list[Any]:
    """Shelters (triangles) and asylum offices (squares), coloured by kind."""
    if d.shelters is None or not len(d.shelters):
        return []
    sh = d.shelters.to_crs(PLOT_CRS)
    kinds = sh["kind"].astype(str) if "kind" in sh else pd.Series("shelter", index=sh.index)
    handles = []
    for kind, color in SHELTER_COLORS.items():
        sel = (kinds == kind).to_numpy()
        if sel.any():
            marker = "^" if kind == "shelter" else "s"
            ax.scatter(sh.geometry.x[sel], sh.geometry.y[sel], s=30, marker=marker, c=color,
                       edgecolors="white", linewidths=0.7, zorder=12)
            handles.append(_line2d(marker=marker, color="none", markerfacecolor=color, markeredgecolor="white",
                                   markersize=7, label=kind.replace("_", " ")))
    return handles


def gaps_mpl(ax: Any, d: MapData) -> list[Any]:
    """Protection gaps (high risk, no shelter in reach) as wide translucent halos under the segments."""
    gaps = d.site_layer("gaps")
    if gaps is None:
        return []
    ax.add_collection(_collection(gaps.to_crs(PLOT_CRS).geometry, colors=GAP_COLOR, linewidths=9, alpha=0.35,
                                  zorder=4, capstyle="round", joinstyle="round"))
    return [_line2d(color=GAP_COLOR, lw=6, alpha=0.45, label="protection gap (no shelter in reach)")]


def sites_mpl(ax: Any, d: MapData) -> list[Any]:
    """Proposed sites (numbered squares) and the route stretches they cover (halos under the segments)."""
    handles = []
    cov, pts = d.site_layer("coverage"), d.site_layer("sites")
    if cov is not None:  # covered stretches and gaps never overlap
        ax.add_collection(_collection(cov.to_crs(PLOT_CRS).geometry, colors=COVERAGE_COLOR, linewidths=10,
                                      alpha=0.55, zorder=4, capstyle="round"))
        handles.append(_line2d(color=COVERAGE_COLOR, lw=6, alpha=0.6, label="covered by a proposed site"))
    if pts is not None:
        p = pts.to_crs(PLOT_CRS)
        ax.scatter(p.geometry.x, p.geometry.y, s=90, marker="s", c=SITE_COLOR, edgecolors="white",
                   linewidths=0.8, zorder=14)
        ranks = p["rank"] if "rank" in p else range(1, len(p) + 1)
        for x, y, r in zip(p.geometry.x, p.geometry.y, ranks, strict=True):
            ax.text(x, y, str(r), color="white", fontsize=6, fontweight="bold", ha="center", va="center", zorder=15,
                    **MPL_TEXT)
        handles.append(_line2d(marker="s", color="none", markerfacecolor=SITE_COLOR, markeredgecolor="white",
                               markersize=8, label="proposed site (rank)"))
    return handles
