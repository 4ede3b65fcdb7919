"""Static print maps (PNG, PDF, SVG) with matplotlib's Agg canvas: no display, no global backend switch."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError, OutputError
from .._sinks import MPL_TEXT
from ._legend import HEAT_COLORS, NO_DATA_COLOR, RISK_COLORS, RISK_LABELS, SHELTER_COLORS, ZONE_COLOR

__all__ = ["FORMATS", "save_static", "static_map"]

FORMATS = ("png", "pdf", "svg")
_PLOT_CRS = "EPSG:6372"


def _nice_length(span_m: float) -> float:
    target = span_m / 5.0
    power = 10 ** np.floor(np.log10(target))
    for step in (5, 2, 1):
        if step * power <= target:
            return float(step * power)
    return float(power)


def _scale_bar(ax: Any, extent: tuple[float, float, float, float]) -> None:
    from matplotlib.patches import Rectangle

    xmin, xmax, ymin, ymax = extent
    length = _nice_length(xmax - xmin)
    x0 = xmin + 0.04 * (xmax - xmin)
    y0 = ymin + 0.05 * (ymax - ymin)
    h = 0.012 * (ymax - ymin)
    for i in range(2):
        ax.add_patch(Rectangle((x0 + i * length / 2, y0), length / 2, h, facecolor="k" if i == 0 else "w",
                               edgecolor="k", lw=0.8, zorder=20))
    label = f"{length / 1000:g} km"
    ax.text(x0 + length / 2, y0 + 1.8 * h, label, ha="center", va="bottom", fontsize=8, zorder=20)
    ax.text(x0, y0 - 0.6 * h, "0", ha="center", va="top", fontsize=7, zorder=20)


def _north_arrow(ax: Any) -> None:
    ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.86), xycoords="axes fraction", ha="center", va="center",
                fontsize=11, fontweight="bold", arrowprops={"arrowstyle": "-|>", "color": "k", "lw": 1.5}, zorder=20)


def _lines(geoms: Any) -> list[np.ndarray]:
    import shapely

    out = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        parts = g.geoms if hasattr(g, "geoms") else [g]
        out.extend(shapely.get_coordinates(p) for p in parts)
    return out


def static_map(
    segments: Any,
    *,
    incidents: Any = None,
    zones: Any = None,
    shelters: Any = None,
    surface: tuple[np.ndarray, Any, Any] | None = None,
    privacy: str = "internal",
    min_count: int = 5,
    model: Any = None,
    title: str = "Risk along migration routes",
    source: str | Mapping[str, Any] | None = None,
    synthetic: bool | None = None,
    figsize: tuple[float, float] = (10.0, 8.0),
    heat_max: float | None = None,
    sites: Mapping[str, Any] | None = None,
) -> Any:
    """Draw the print map: state boundaries, heat surface, zones, segments by risk class, shelters.

    Parameters
    ----------
    segments : GeoDataFrame
        Scored segments (``risk_class``, ``n_incidents``; public mode greys those below ``min_count``).
    incidents : GeoDataFrame, optional
        Source of the heat surface when ``surface`` is not given; drawn as points in internal mode only.
    zones, shelters : GeoDataFrame, optional
        Enforcement zones; shelters and asylum offices (``kind``).
    surface : (array, transform, crs), optional
        A :func:`routerisk.risk_surface`; its cells with NaN (suppressed) stay empty.
    privacy : {"internal", "public"}
        Public mode draws no incident points and masks heat cells of fewer than ``min_count`` incidents.
    min_count : int, default 5
        Public-mode threshold.
    model : RiskModel, optional
        Parameters of the heat surface computed from ``incidents``.
    title : str
        Title; the privacy mode is appended.
    source : str or mapping, optional
        Source line (inputs, dates, model); a mapping is written as ``key: value`` pairs.
    synthetic : bool, optional
        Show the "synthetic / illustrative data" notice; by default when incidents are ``synthetic`` or zones or
        shelters ``illustrative``.
    figsize : (float, float)
        Inches.
    heat_max : float, optional
        Top of the fixed heat colour scale; default the 99th percentile of the surface's non-empty cells.
    sites : mapping, optional
        Layers of a shelter-siting result (:func:`routerisk.siting.sites_layers`): proposed sites (numbered
        squares), the route stretches they cover and the protection gaps.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> seg = gpd.GeoDataFrame({"risk_class": [2]}, geometry=[LineString([(-99, 19), (-98, 19.5)])], crs=4326)
    >>> fig = static_map(seg, title="Demo")
    >>> fig.axes[0].get_title().endswith("(internal map)")
    True
    """
    from matplotlib.collections import LineCollection
    from matplotlib.colors import LinearSegmentedColormap, ListedColormap, Normalize
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from ..privacy import check_privacy
    from ._basemap import basemap_layers
    from ._frames import heat_scale_max
    from .interactive import _is_synthetic

    check_privacy(privacy, min_count)
    if segments is None or "geometry" not in getattr(segments, "columns", ()) or segments.crs is None:
        msg = "`segments` must be a GeoDataFrame of lines with a CRS"
        raise InputError(msg)
    public = privacy == "public"
    if public and shelters is not None:
        from .run import publishable_shelters

        shelters = publishable_shelters(shelters, "public")
    seg = segments.to_crs(_PLOT_CRS)
    xmin, ymin, xmax, ymax = seg.total_bounds
    pad = 0.12 * max(xmax - xmin, ymax - ymin, 50_000.0)
    extent = (xmin - pad, xmax + pad, ymin - pad, ymax + pad)
    # figure height follows the map's aspect, so the page has no empty bands
    aspect = float(np.clip((extent[3] - extent[2]) / (extent[1] - extent[0]), 0.4, 1.6))
    width = figsize[0]
    height = min(figsize[1] * 1.5, max(4.0, width * 0.74 * aspect / 0.8))
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0.02, 0.1, 0.74, 0.8))
    ax.set_aspect("equal")
    ax.set_facecolor("#dfeaf2")

    states, localities = basemap_layers()
    states.to_crs(_PLOT_CRS).plot(ax=ax, facecolor="#f2efe9", edgecolor="#8a8a8a", linewidth=0.6, zorder=1)

    if surface is None and incidents is not None and len(incidents):
        from ..privacy import is_masked, mask_points
        from ..surface import risk_surface

        if public and not is_masked(incidents):  # public heat from masked positions only (docs/threat-model.md)
            incidents = mask_points(incidents, crs=getattr(model, "crs", "auto"))
        try:
            surface = risk_surface(incidents, model=model, cell_m=2000.0, crs=_PLOT_CRS,
                                   min_count=min_count if public else None)
        except InputError:
            surface = None
    heat_norm = None
    # heat: viridis with opacity rising from faint to solid, so the basemap shows through low values
    ramp = np.linspace(0.0, 1.0, 256)
    rgba = LinearSegmentedColormap.from_list("rr_heat", HEAT_COLORS)(ramp)
    rgba[:, 3] = 0.25 + 0.7 * np.sqrt(ramp)
    cmap = ListedColormap(rgba)
    if surface is not None:
        from rasterio.warp import Resampling, reproject

        arr, transform, crs = surface
        arr = np.asarray(arr, dtype="float64")
        if str(crs) != _PLOT_CRS:
            from rasterio.transform import from_origin

            cell = abs(transform.a)
            nx, ny = int((extent[1] - extent[0]) / cell) + 1, int((extent[3] - extent[2]) / cell) + 1
            dst_t = from_origin(extent[0], extent[3], cell, cell)
            dst = np.full((ny, nx), np.nan)
            reproject(arr, dst, src_transform=transform, src_crs=crs, dst_transform=dst_t, dst_crs=_PLOT_CRS,
                      resampling=Resampling.bilinear, src_nodata=np.nan, dst_nodata=np.nan)
            arr, transform = dst, dst_t
        vmax = float(heat_max) if heat_max else heat_scale_max(arr)
        heat_norm = Normalize(0.0, vmax)
        shown = np.ma.masked_where(~np.isfinite(arr) | (arr <= vmax * 1e-3), arr)
        rows, cols = arr.shape
        img_extent = (transform.c, transform.c + transform.a * cols, transform.f + transform.e * rows, transform.f)
        ax.imshow(shown, extent=img_extent, cmap=cmap, norm=heat_norm, zorder=2,
                  interpolation="nearest")

    if zones is not None and len(zones):
        zones.to_crs(_PLOT_CRS).plot(ax=ax, facecolor="none", edgecolor=ZONE_COLOR, linestyle="--", linewidth=1.0,
                                     zorder=3)
    if incidents is not None and not public and 0 < len(incidents) <= 20_000:
        pts = incidents.to_crs(_PLOT_CRS)
        ax.scatter(pts.geometry.x, pts.geometry.y, s=1.5, c="#333333", alpha=0.35, linewidths=0, zorder=4)

    cls = pd.to_numeric(seg.get("risk_class", pd.Series(np.nan, index=seg.index)), errors="coerce")
    n_inc = pd.to_numeric(seg.get("n_incidents", pd.Series(np.nan, index=seg.index)), errors="coerce")
    hidden = cls.isna().to_numpy().copy()
    if "suppressed" in seg:
        hidden |= seg["suppressed"].fillna(False).astype(bool).to_numpy()
    if public:
        hidden |= ~(n_inc.to_numpy() >= min_count)
    colors = [NO_DATA_COLOR, *RISK_COLORS]
    for k in range(6):
        sel = hidden if k == 0 else (~hidden & (cls.to_numpy() == k))
        if sel.any():
            lc = LineCollection(_lines(seg.geometry[sel]), colors=colors[k], linewidths=1.2 + 0.45 * k,
                                zorder=5 + k, capstyle="round")
            ax.add_collection(lc)

    handles = [Line2D([], [], color=c, lw=3, label=lab) for c, lab in zip(RISK_COLORS, RISK_LABELS, strict=True)]
    if hidden.any():
        handles.append(Line2D([], [], color=NO_DATA_COLOR, lw=3, label=f"suppressed (< {int(min_count)} incidents)"))
    if zones is not None and len(zones):
        handles.append(Patch(facecolor="none", edgecolor=ZONE_COLOR, linestyle="--", label="enforcement zone"))
    if shelters is not None and len(shelters):
        sh = shelters.to_crs(_PLOT_CRS)
        kinds = sh["kind"].astype(str) if "kind" in sh else pd.Series("shelter", index=sh.index)
        for kind, color in SHELTER_COLORS.items():
            sel = (kinds == kind).to_numpy()
            if sel.any():
                marker = "^" if kind == "shelter" else "s"
                ax.scatter(sh.geometry.x[sel], sh.geometry.y[sel], s=30, marker=marker, c=color,
                           edgecolors="white", linewidths=0.7, zorder=12)
                handles.append(Line2D([], [], marker=marker, color="none", markerfacecolor=color,
                                      markeredgecolor="white", markersize=7, label=kind.replace("_", " ")))

    _draw_sites(ax, sites, handles)

    loc = localities
    if len(loc):
        import geopandas as gpd

        lp = gpd.GeoDataFrame(loc, geometry=gpd.points_from_xy(loc["lon"], loc["lat"]), crs=4326).to_crs(_PLOT_CRS)
        inside = (lp.geometry.x.between(extent[0], extent[1]) & lp.geometry.y.between(extent[2], extent[3]))
        lp = lp[inside & lp["label"].to_numpy()]
        ax.scatter(lp.geometry.x, lp.geometry.y, s=6, c="#222222", zorder=13)
        for x, y, name in zip(lp.geometry.x, lp.geometry.y, lp["name"], strict=True):
            ax.text(x, y, f" {name}", fontsize=7, color="#222222", zorder=13, va="center", **MPL_TEXT)

    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    # user text (title, file names in the source line, place names) is never mathtext or TeX: `$x$` stays `$x$`
    ax.set_title(f"{title} ({privacy} map)", fontsize=13, fontweight="bold", **MPL_TEXT)
    _scale_bar(ax, extent)
    _north_arrow(ax)
    layer = segments.attrs.get("routerisk", {}).get("risk_layer") or getattr(model, "risk_layer", None)
    legend = fig.legend(handles=handles, title="Segment risk class" + (f"\n({layer} risk)" if layer else ""),
                        loc="upper left", bbox_to_anchor=(0.77, 0.92), fontsize=8, title_fontsize=9, frameon=False)
    for text in (*legend.get_texts(), legend.get_title()):
        text.set(**MPL_TEXT)
    if heat_norm is not None:
        from matplotlib.cm import ScalarMappable

        cax = fig.add_axes((0.79, 0.2, 0.17, 0.02))
        cb = fig.colorbar(ScalarMappable(norm=heat_norm, cmap=cmap), cax=cax, orientation="horizontal")
        cb.set_label("incident heat: weighted incidents\nper km² (top: 99th percentile)", fontsize=8)
        cb.ax.tick_params(labelsize=7)

    syn = _is_synthetic(incidents, zones, shelters, None) if synthetic is None else bool(synthetic)
    if syn:
        ax.text(0.5, 0.03, "SYNTHETIC / ILLUSTRATIVE DATA: not observed incidents", transform=ax.transAxes,
                ha="center", va="bottom", fontsize=10, fontweight="bold", color="#b2182b", zorder=30,
                bbox={"facecolor": "white", "edgecolor": "#b2182b", "alpha": 0.9, "boxstyle": "round,pad=0.3"})
    if isinstance(source, Mapping):
        source = "; ".join(f"{k}: {_plain(v)}" for k, v in source.items())
    line = f"Source: {source}. " if source else ""
    line += "Boundaries: INEGI states via libpysal; localities: GeoNames. Projection: EPSG:6372. Made with routerisk."
    # wrapped here, not with wrap=True: matplotlib's wrapping measures `$...$` as mathtext even with parse_math=False
    per_line = max(40, int(width * 72 * 0.96 / (7 * 0.6)))  # characters of 7 pt text across the figure
    line = "\n".join(textwrap.wrap(line, per_line))
    fig.text(0.02, 0.02, line, fontsize=7, color="#333333", va="bottom", **MPL_TEXT)
    return fig


def _plain(value: Any) -> str:
    """A source value as text: lists joined by commas (not their repr, which doubles backslashes)."""
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_plain(v)}" for k, v in value.items())
    return str(value)


def _draw_sites(ax: Any, sites: Mapping[str, Any] | None, handles: list[Any]) -> None:
    """Coverage stretches, protection gaps and numbered proposed sites, with their legend keys."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    from ._legend import COVERAGE_COLOR, GAP_COLOR, SITE_COLOR

    if not sites:
        return
    cov, gaps, pts = sites.get("coverage"), sites.get("gaps"), sites.get("sites")
    if cov is not None and len(cov):
        # halos under the risk-coloured segments: covered stretches and gaps never overlap
        ax.add_collection(LineCollection(_lines(cov.to_crs(_PLOT_CRS).geometry), colors=COVERAGE_COLOR,
                                         linewidths=10, alpha=0.55, zorder=4, capstyle="round"))
        handles.append(Line2D([], [], color=COVERAGE_COLOR, lw=6, alpha=0.6, label="covered by a proposed site"))
    if gaps is not None and len(gaps):
        ax.add_collection(LineCollection(_lines(gaps.to_crs(_PLOT_CRS).geometry), colors=GAP_COLOR,
                                         linewidths=9, alpha=0.35, zorder=4, capstyle="round", joinstyle="round"))
        handles.append(Line2D([], [], color=GAP_COLOR, lw=6, alpha=0.45, label="protection gap (no shelter in reach)"))
    if pts is not None and len(pts):
        p = pts.to_crs(_PLOT_CRS)
        ax.scatter(p.geometry.x, p.geometry.y, s=90, marker="s", c=SITE_COLOR, edgecolors="white",
                   linewidths=0.8, zorder=14)
        ranks = p["rank"] if "rank" in p else range(1, len(p) + 1)
        for x, y, r in zip(p.geometry.x, p.geometry.y, ranks, strict=True):
            ax.text(x, y, str(r), color="white", fontsize=6, fontweight="bold", ha="center", va="center", zorder=15,
                    **MPL_TEXT)
        handles.append(Line2D([], [], marker="s", color="none", markerfacecolor=SITE_COLOR, markeredgecolor="white",
                              markersize=8, label="proposed site (rank)"))


def save_static(fig: Any, path: str | os.PathLike[str], *, dpi: int = 300, fmt: str | None = None) -> Path:
    """Write a figure from :func:`static_map` as PNG (300 dpi by default), PDF or SVG, atomically.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The map.
    path : path
        The file to write (replaced only when complete).
    dpi : int, default 300
        Resolution of a PNG (and of rasters embedded in a PDF or SVG).
    fmt : {"png", "pdf", "svg"}, optional
        Format; by default from the file suffix.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import LineString
    >>> seg = gpd.GeoDataFrame({"risk_class": [2]}, geometry=[LineString([(-99, 19), (-98, 19.5)])], crs=4326)
    >>> save_static(static_map(seg), pathlib.Path(tempfile.mkdtemp()) / "m.svg").suffix
    '.svg'
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from .._atomic import atomic_file

    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        msg = f"format was {fmt!r} (from {str(path)!r}) but must be one of {FORMATS}"
        raise OutputError(msg)
    FigureCanvasAgg(fig)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, metadata={"Creator": "routerisk"} if fmt != "png" else None)
    return path
