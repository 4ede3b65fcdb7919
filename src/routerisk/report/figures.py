"""The report's figures (matplotlib, Agg, no pyplot): risk profiles, coverage curve, trends and change.

User text (route names) is drawn with ``parse_math=False`` (no mathtext); figures are returned as PNG bytes, at
the resolution of the sink (screen for HTML, 300 dpi for print).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..maps._legend import COVERAGE_COLOR, NO_DATA_COLOR, RISK_COLORS, SHELTER_COLORS, SITE_COLOR, ZONE_COLOR
from .content import RouteProfile

__all__ = ["change_figure", "coverage_figure", "png_bytes", "profile_figure", "trends_figure"]

_TEXT = {"parse_math": False}


def _figure(width: float, height: float) -> tuple[Any, Any]:
    # lazy: matplotlib.figure costs ~0.4 s at start-up (measured in the maps), paid only by a report
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def png_bytes(fig: Any, dpi: int = 110) -> bytes:
    """The figure as PNG bytes.

    Examples
    --------
    >>> png_bytes(coverage_figure(pd.DataFrame({"k": [0, 1], "share_covered": [0.2, 0.5]})))[:4]
    b'\\x89PNG'
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def profile_figure(profile: RouteProfile, *, risk_max: float = 100.0) -> Any:
    """km along the route vs risk, its 90 % interval band, enforcement zones shaded, shelters and sites marked.

    Suppressed segments (public mode) are gaps with a grey bar at the bottom.
    """
    fig, ax = _figure(7.2, 2.5)
    t = profile.table
    x = np.column_stack([t["km_from"], t["km_to"]]).ravel()
    rep = {c: np.repeat(t[c].to_numpy(dtype="float64"), 2) for c in ("risk", "risk_lo", "risk_hi")}
    ax.fill_between(x, rep["risk_lo"], rep["risk_hi"], color=RISK_COLORS[1], alpha=0.45, lw=0,
                    label="90 % interval")  # fmt: skip
    ax.plot(x, rep["risk"], color=RISK_COLORS[4], lw=1.4, label="risk")
    for a, b, z in zip(t["km_from"], t["km_to"], t["zone"], strict=True):
        if z:
            ax.axvspan(a, b, color=ZONE_COLOR, alpha=0.12, lw=0)
    gaps = t[t["risk"].isna()]
    for a, b in zip(gaps["km_from"], gaps["km_to"], strict=True):
        ax.plot([a, b], [0, 0], color=NO_DATA_COLOR, lw=4, solid_capstyle="butt")
    top = max(risk_max, float(np.nanmax(t["risk_hi"])) if t["risk_hi"].notna().any() else 0.0)
    if profile.shelters_km:
        ax.plot(profile.shelters_km, [top * 0.96] * len(profile.shelters_km), "v", color=SHELTER_COLORS["shelter"],
                ms=6, label="shelter")  # fmt: skip
    if profile.sites_km:
        ax.plot(profile.sites_km, [top * 0.96] * len(profile.sites_km), "s", color=SITE_COLOR, ms=5,
                label="proposed site")  # fmt: skip
    if t["zone"].any():
        ax.axvspan(np.nan, np.nan, color=ZONE_COLOR, alpha=0.12, lw=0, label="enforcement zone")
    ax.set_xlim(float(t["km_from"].min()) if len(t) else 0, float(t["km_to"].max()) if len(t) else 1)
    ax.set_ylim(0, top * 1.02)
    ax.set_xlabel("km along the route")
    ax.set_ylabel("risk (0-100)")
    ax.set_title(profile.name, loc="left", fontsize=9, pad=14, **_TEXT)
    ax.grid(alpha=0.25, lw=0.5)
    ax.legend(fontsize=7, loc="lower right", ncols=5, frameon=False, bbox_to_anchor=(1.0, 1.0), borderaxespad=0)
    return fig


def coverage_figure(curve: pd.DataFrame) -> Any:
    """Share of route risk covered against the number of proposed sites (0 = existing shelters only)."""
    fig, ax = _figure(5.0, 2.8)
    k = pd.to_numeric(curve["k"], errors="coerce")
    share = 100 * pd.to_numeric(curve["share_covered"], errors="coerce")
    ax.plot(k, share, "o-", color=COVERAGE_COLOR)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("proposed sites (k)")
    ax.set_ylabel("risk covered (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.25, lw=0.5)
    return fig


def trends_figure(trends: pd.DataFrame) -> Any:
    """Pattern counts over segments (left) and the counts per period summed over segments (right)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # lazy, as in _figure

    fig = Figure(figsize=(7.2, 2.8), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.3])
    patterns = trends["pattern"].astype("string").fillna("suppressed").value_counts().sort_values()
    left.barh(range(len(patterns)), patterns.to_numpy(), color=RISK_COLORS[2])
    left.set_yticks(range(len(patterns)), [str(p) for p in patterns.index], fontsize=7)
    left.set_xlabel("segments")
    cols = [c for c in trends.columns if str(c).startswith("count_")]
    totals = trends[cols].apply(pd.to_numeric, errors="coerce").sum(min_count=1) if cols else pd.Series(dtype=float)
    right.bar(range(len(totals)), totals.fillna(0).to_numpy(), color=RISK_COLORS[3])
    step = max(1, len(totals) // 8)
    right.set_xticks(range(0, len(totals), step), [str(c)[6:] for c in cols[::step]], rotation=45, fontsize=7)
    right.set_ylabel("records in reach (sum)")
    return fig


def change_figure(change: pd.DataFrame, labels: Callable[[Any], str] | None = None, n: int = 15) -> Any:
    """log2 rate ratio with its interval for the ``n`` segments with the smallest adjusted p-values."""
    fig, ax = _figure(7.2, 0.6 + 0.22 * min(n, max(1, len(change))))
    t = change.apply(pd.to_numeric, errors="coerce") if len(change) else change
    t = t[np.isfinite(t.get("rate_ratio", pd.Series(dtype=float)))]
    t = t.sort_values("p_adjusted" if "p_adjusted" in t else "rate_ratio", kind="stable").head(n)
    y = np.arange(len(t))[::-1]
    rr = np.log2(t["rate_ratio"].clip(lower=1e-6))
    lo = np.log2(t["rr_lo"].clip(lower=1e-6)) if "rr_lo" in t else rr
    hi = np.log2(t["rr_hi"].clip(lower=1e-6)) if "rr_hi" in t else rr
    ax.errorbar(rr, y, xerr=[np.clip(rr - lo, 0, None), np.clip(hi - rr, 0, None)], fmt="o", color=RISK_COLORS[4],
                ms=4, lw=1)  # fmt: skip
    ax.axvline(0, color="#555", lw=0.8)
    names = [labels(s) if labels else str(s) for s in change.loc[t.index, "segment_id"]] if "segment_id" in change \
        else [str(i) for i in t.index]  # fmt: skip
    ax.set_yticks(y, names, fontsize=7)
    for lab in ax.get_yticklabels():
        lab.set_parse_math(False)
    ax.set_xlabel("log2 rate ratio (after / before), 95 % interval")
    return fig
