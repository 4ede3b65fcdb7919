"""Maps of the space-time outputs: small multiples per period, the pattern map and the rate-ratio map (PNG).

The interactive trends map is :func:`routerisk.timefolium.trends_folium`.

matplotlib runs on the Agg backend; every figure carries the data's attribution.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["PATTERN_COLOURS", "pattern_map", "period_maps", "rate_ratio_map"]

#: Colours of the 17 patterns (hot: reds, cold: blues, none: light grey), after ArcGIS Pro's legend.
PATTERN_COLOURS = {
    "new hot spot": "#8b0000", "consecutive hot spot": "#c0392b", "intensifying hot spot": "#e74c3c",
    "persistent hot spot": "#e67e22", "diminishing hot spot": "#f5b041", "sporadic hot spot": "#f1948a",
    "oscillating hot spot": "#d98880", "historical hot spot": "#fad7a0",
    "new cold spot": "#1b2631", "consecutive cold spot": "#1f618d", "intensifying cold spot": "#2e86c1",
    "persistent cold spot": "#5dade2", "diminishing cold spot": "#85c1e9", "sporadic cold spot": "#a9cce3",
    "oscillating cold spot": "#7fb3d5", "historical cold spot": "#d6eaf8",
    "no pattern detected": "#cfcfcf",
}  # fmt: skip


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _lines(segments) -> list[np.ndarray]:
    import shapely

    geoms = np.asarray(segments.to_crs("EPSG:4326").geometry.values, dtype=object)
    out = []
    for g in geoms:
        if g is None or g.is_empty:
            out.append(np.zeros((0, 2)))
        else:
            parts = getattr(g, "geoms", [g])
            out.append(np.vstack([np.asarray(shapely.get_coordinates(p))[:, :2] for p in parts]))
    return out


def _draw(ax, lines, colours, width=1.6) -> None:
    from matplotlib.collections import LineCollection

    ax.add_collection(LineCollection(lines, colors=colours, linewidths=width))
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def _save(fig, path: str | os.PathLike[str], attribution: str) -> Path:
    fig.text(0.01, 0.005, attribution, fontsize=6, ha="left", va="bottom", color="#444444")
    fig.savefig(path, dpi=150)
    _plt().close(fig)
    return Path(path)


def period_maps(segments, table: pd.DataFrame, periods, path, *, prefix: str = "z_", attribution: str = "",
                title: str = "Hot-spot z of each period", max_panels: int = 64, clip: float = 4.0) -> Path:  # fmt: skip
    """Small multiples: one panel per period, segments coloured by ``<prefix><period>`` (diverging around 0, the
    scale clipped at ``+-clip``).

    With more than ``max_panels`` periods, the last ``max_panels`` are drawn (the title says so). Suppressed
    (NaN) values are drawn light grey and thin.
    """
    from matplotlib.collections import LineCollection

    plt = _plt()
    shown = list(periods)[-max_panels:]
    cols = min(len(shown), 6) or 1
    rows = math.ceil(len(shown) / cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.4 * rows + 0.7), squeeze=False)
    lines = _lines(segments)
    cmap = plt.get_cmap("coolwarm")
    for ax, p in zip(axes.ravel(), shown, strict=False):
        v = np.clip(table[f"{prefix}{p}"].to_numpy(dtype=np.float64), -clip, clip)
        ok = np.isfinite(v)
        colours = [cmap(0.5 + 0.5 * x / clip) if f else (0.9, 0.9, 0.9, 1.0) for x, f in zip(v, ok, strict=True)]
        widths = np.where(ok, 0.6 + 1.6 * np.abs(np.nan_to_num(v)) / clip, 0.4)
        ax.add_collection(LineCollection(lines, colors=colours, linewidths=widths))
        ax.autoscale_view()
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(str(p), fontsize=8)
    for ax in axes.ravel()[len(shown):]:
        ax.axis("off")
    more = f"; last {len(shown)} of {len(list(periods))} periods" if len(shown) < len(list(periods)) else ""
    fig.suptitle(f"{title} (blue: fewer records than expected, red: more; clipped at +-{clip:g}{more})", fontsize=9)
    fig.tight_layout(rect=(0, 0.03, 1, 0.96))
    return _save(fig, path, attribution)


def pattern_map(segments, table: pd.DataFrame, path, *, attribution: str = "",
                title: str = "Emerging hot spots along the routes") -> Path:  # fmt: skip
    """The pattern of every segment (17 categories, legend lists those present)."""
    from matplotlib.lines import Line2D

    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 6.5))
    pat = table["pattern"].astype(object).where(table["pattern"].notna(), None).to_numpy()
    colours = [PATTERN_COLOURS.get(p, "#eeeeee") if p is not None else "#eeeeee" for p in pat]
    _draw(ax, _lines(segments), colours, width=2.0)
    present = [p for p in PATTERN_COLOURS if p in set(pat)]
    handles = [Line2D([0], [0], color=PATTERN_COLOURS[p], lw=3, label=f"{p} ({int((pat == p).sum())})")
               for p in present]  # fmt: skip
    if (pd.isna(table["pattern"])).any():
        handles.append(Line2D([0], [0], color="#eeeeee", lw=3, label="suppressed (public mode)"))
    ax.legend(handles=handles, fontsize=7, loc="lower left")
    ax.set_title(title, fontsize=10)
    return _save(fig, path, attribution)


def rate_ratio_map(segments, change: pd.DataFrame, path, *, attribution: str = "",
                   title: str = "Rate ratio after / before") -> Path:  # fmt: skip
    """Segments coloured by ``log2(rate_ratio)`` (blue: fewer records after, red: more), grey where untested;
    segments whose BH-adjusted p-value is <= 0.05 are drawn thicker."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 6.5))
    rr = change["rate_ratio"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore"):
        lr = np.clip(np.log2(rr), -3, 3)
    cmap = plt.get_cmap("RdBu_r")
    colours = [cmap(0.5 + x / 6) if not np.isnan(x) else (0.85, 0.85, 0.85, 1.0) for x in lr]
    sig = change["p_adjusted"].to_numpy(dtype=np.float64) <= 0.05
    widths = np.where(sig, 3.0, 1.2)
    from matplotlib.collections import LineCollection

    ax.add_collection(LineCollection(_lines(segments), colors=colours, linewidths=widths))
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(-3, 3))
    cb = fig.colorbar(sm, ax=ax, shrink=0.6)
    cb.set_label("log2 rate ratio (clipped to +-3); thick: BH-adjusted p <= 0.05", fontsize=7)
    ax.set_title(title, fontsize=10)
    return _save(fig, path, attribution)
