"""Static print maps (PNG, PDF, SVG) with matplotlib's Agg canvas: no display, no global backend switch."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from .._atomic import atomic_file
from .._errors import OutputError
from .._sinks import MPL_TEXT
from ..attribution import BASEMAP
from ..privacy import DEFAULT_MIN_COUNT, check_privacy, publishable_shelters
from ._basemap import basemap_layers
from ._common import PLOT_CRS, MapData, check_segments, is_synthetic
from .layers import MapLayer, select_layers

__all__ = ["FORMATS", "save_static", "static_map"]

FORMATS = ("png", "pdf", "svg")


def _nice_length(span_m: float) -> float:
    target = span_m / 5.0
    power = 10 ** np.floor(np.log10(target))
    for step in (5, 2, 1):
        if step * power <= target:
            return float(step * power)
    return float(power)


def _scale_bar(ax: Any, extent: tuple[float, float, float, float]) -> None:
    from matplotlib.patches import Rectangle  # lazy: see _figure

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


def _figure(seg: Any, figsize: tuple[float, float]) -> tuple[Any, Any, tuple[float, float, float, float]]:
    """The figure and map axes, sized to the segments' extent (padded) so the page has no empty bands."""
    # lazy: matplotlib.figure costs 0.4 s at start-up (measured), paid only when a print map is drawn
    from matplotlib.figure import Figure

    xmin, ymin, xmax, ymax = seg.total_bounds
    pad = 0.12 * max(xmax - xmin, ymax - ymin, 50_000.0)
    extent = (xmin - pad, xmax + pad, ymin - pad, ymax + pad)
    aspect = float(np.clip((extent[3] - extent[2]) / (extent[1] - extent[0]), 0.4, 1.6))
    width = figsize[0]
    height = min(figsize[1] * 1.5, max(4.0, width * 0.74 * aspect / 0.8))
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0.02, 0.1, 0.74, 0.8))
    ax.set_aspect("equal")
    ax.set_facecolor("#dfeaf2")
    return fig, ax, extent


def _localities(ax: Any, localities: Any, extent: tuple[float, float, float, float]) -> None:
    """The basemap's labelled localities inside the map extent."""
    if not len(localities):
        return
    lp = gpd.GeoDataFrame(localities, geometry=gpd.points_from_xy(localities["lon"], localities["lat"]), crs=4326)
    lp = lp.to_crs(PLOT_CRS)
    inside = lp.geometry.x.between(extent[0], extent[1]) & lp.geometry.y.between(extent[2], extent[3])
    lp = lp[inside & lp["label"].to_numpy()]
    ax.scatter(lp.geometry.x, lp.geometry.y, s=6, c="#222222", zorder=13)
    for x, y, name in zip(lp.geometry.x, lp.geometry.y, lp["name"], strict=True):
        ax.text(x, y, f" {name}", fontsize=7, color="#222222", zorder=13, va="center", **MPL_TEXT)


def _frame(fig: Any, ax: Any, extent: tuple[float, float, float, float], handles: list[Any], heading: str) -> None:
    """Limits, scale bar, north arrow and the legend (user text never mathtext: `$x$` stays `$x$`)."""
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    _scale_bar(ax, extent)
    _north_arrow(ax)
    legend = fig.legend(handles=handles, title=heading, loc="upper left", bbox_to_anchor=(0.77, 0.92), fontsize=8,
                        title_fontsize=9, frameon=False)
    for text in (*legend.get_texts(), legend.get_title()):
        text.set(**MPL_TEXT)


def _notes(fig: Any, ax: Any, width: float, source: str | Mapping[str, Any] | None, synthetic: bool) -> None:
    """The synthetic-data notice and the wrapped source line."""
    if synthetic:
        ax.text(0.5, 0.03, "SYNTHETIC / ILLUSTRATIVE DATA: not observed incidents", transform=ax.transAxes,
                ha="center", va="bottom", fontsize=10, fontweight="bold", color="#b2182b", zorder=30,
                bbox={"facecolor": "white", "edgecolor": "#b2182b", "alpha": 0.9, "boxstyle": "round,pad=0.3"})
    if isinstance(source, Mapping):
        source = "; ".join(f"{k}: {_plain(v)}" for k, v in source.items())
    line = f"Source: {source}. " if source else ""
    line += f"{BASEMAP}. Projection: EPSG:6372. Made with routerisk."
    # wrapped here, not with wrap=True: matplotlib's wrapping measures `$...$` as mathtext even with parse_math=False
    per_line = max(40, int(width * 72 * 0.96 / (7 * 0.6)))  # characters of 7 pt text across the figure
    fig.text(0.02, 0.02, "\n".join(textwrap.wrap(line, per_line)), fontsize=7, color="#333333", va="bottom",
             **MPL_TEXT)


def static_map(
    segments: Any,
    *,
    incidents: Any = None,
    zones: Any = None,
    shelters: Any = None,
    surface: tuple[np.ndarray, Any, Any] | None = None,
    privacy: str = "internal",
    min_count: int = DEFAULT_MIN_COUNT,
    model: Any = None,
    title: str = "Risk along migration routes",
    source: str | Mapping[str, Any] | None = None,
    synthetic: bool | None = None,
    figsize: tuple[float, float] = (10.0, 8.0),
    heat_max: float | None = None,
    sites: Mapping[str, Any] | None = None,
    layers: Iterable[str] | Mapping[str, MapLayer] | str | None = None,
    cell_m: float = 2000.0,
    detention: Any = None,
) -> Any:
    """Draw the print map: state boundaries, then each selected layer (heat, zones, segments, shelters, ...).

    Parameters
    ----------
    segments : GeoDataFrame
        Scored segments (``risk_class``, ``n_incidents``; public mode greys those below ``min_count``).
    incidents : GeoDataFrame, optional
        Source of the heat surface when ``surface`` is not given; drawn as points in internal mode only (at most
        :data:`routerisk.maps.POINT_LIMIT`).
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
    layers : None, names or mapping, optional
        Which layers of :data:`routerisk.maps.layers.LAYERS` to draw (see
        :func:`routerisk.maps.layers.select_layers`); default every layer the privacy mode allows. Each
        layer's legend keys follow the risk classes.
    cell_m : float, default 2000
        Cell size in metres of the heat surface computed from ``incidents`` when no ``surface`` is given.
    detention : geopandas.GeoDataFrame, optional
        Detention sites (:func:`routerisk.detention.load_detention`), drawn as the "detention" layer.

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
    check_privacy(privacy, min_count)
    check_segments(segments)
    chosen = select_layers(layers, privacy)
    if privacy == "public" and shelters is not None:
        shelters = publishable_shelters(shelters, "public")
    fig, ax, extent = _figure(segments.to_crs(PLOT_CRS), figsize)
    states, localities = basemap_layers()
    states.to_crs(PLOT_CRS).plot(ax=ax, facecolor="#f2efe9", edgecolor="#8a8a8a", linewidth=0.6, zorder=1)
    data = MapData(
        segments, incidents=incidents, zones=zones, shelters=shelters, sites=sites, surface=surface,
        privacy=privacy, min_count=min_count, model=model, heat_max=heat_max, extent=extent, cell_m=cell_m,
        detention=detention,
    )
    keys = {name: layer.draw_mpl(ax, data) for name, layer in chosen.items()}
    handles = [*keys.pop("segments", []), *(h for hs in keys.values() for h in hs)]  # risk classes first
    _localities(ax, localities, extent)
    ax.set_title(f"{title} ({privacy} map)", fontsize=13, fontweight="bold", **MPL_TEXT)
    layer = segments.attrs.get("routerisk", {}).get("risk_layer") or getattr(model, "risk_layer", None)
    _frame(fig, ax, extent, handles, "Segment risk class" + (f"\n({layer} risk)" if layer else ""))
    syn = is_synthetic(incidents, zones, shelters) if synthetic is None else bool(synthetic)
    _notes(fig, ax, figsize[0], source, syn)
    return fig


def _plain(value: Any) -> str:
    """A source value as text: lists joined by commas (not their repr, which doubles backslashes)."""
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_plain(v)}" for k, v in value.items())
    return str(value)


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
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: see _figure

    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        msg = f"format was {fmt!r} (from {str(path)!r}) but must be one of {FORMATS}"
        raise OutputError(msg)
    FigureCanvasAgg(fig)
    with atomic_file(path) as tmp:
        # bbox_inches="tight": the figure grows to hold the legend and the source line, never clips them
        fig.savefig(tmp, format=fmt, dpi=dpi, metadata={"Creator": "routerisk"} if fmt != "png" else None,
                    bbox_inches="tight", pad_inches=0.15)
    return path
