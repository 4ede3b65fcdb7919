"""Maps of the space-time outputs: small multiples per period, the pattern map and the rate-ratio map (PNG), and
the interactive trends map (one offline HTML file with a period slider and the pattern layer).

matplotlib runs on the Agg backend; every figure carries the data's attribution.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["PATTERN_COLOURS", "pattern_map", "period_maps", "rate_ratio_map", "trends_html"]

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


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<style>body{{font-family:sans-serif;margin:8px}} svg{{border:1px solid #ccc;background:#fbfbfb}}
#lg span{{display:inline-block;margin-right:10px;font-size:12px}}
.sw{{display:inline-block;width:14px;height:4px;margin-right:3px;vertical-align:middle}}</style>
</head><body><h3>{title}</h3>
<div><label><input type="radio" name="lay" value="pattern" checked> Pattern layer</label>
<label><input type="radio" name="lay" value="period"> Period</label>
<input id="sl" type="range" min="0" max="{nmax}" value="{nmax}" style="width:320px">
<b id="pl"></b></div>
<svg id="m" width="900" height="640" viewBox="{viewbox}"></svg><div id="lg"></div>
<p style="font-size:11px;color:#444">{attribution}</p>
<script type="application/json" id="d">{data}</script>
<script>
const D=JSON.parse(document.getElementById('d').textContent);
const svg=document.getElementById('m');const NS='http://www.w3.org/2000/svg';
const paths=D.lines.map(function(c){{const p=document.createElementNS(NS,'polyline');
p.setAttribute('points',c.map(function(q){{return q[0]+','+(-q[1]);}}).join(' '));
p.setAttribute('fill','none');p.setAttribute('stroke-width',D.width);
p.appendChild(document.createElementNS(NS,'title'));svg.appendChild(p);return p;}});
function col(z){{if(z===null)return '#cccccc';const x=Math.max(-1,Math.min(1,z/D.vmax));
const r=x>0?255:Math.round(255*(1+x)),b=x<0?255:Math.round(255*(1-x)),g=Math.round(255*(1-Math.abs(x)));
return 'rgb('+r+','+g+','+b+')';}}
function legend(lay){{const lg=document.getElementById('lg');lg.textContent='';
if(lay==='pattern'){{Object.keys(D.colours).forEach(function(k){{const s=document.createElement('span');
const w=document.createElement('i');w.className='sw';w.style.background=D.colours[k];
s.appendChild(w);s.appendChild(document.createTextNode(k));lg.appendChild(s);}});return;}}
const s=document.createElement('span');
s.textContent='blue: fewer records than expected in the neighbourhood, red: more (z, scale +-'+D.vmax+')';
lg.appendChild(s);}}
function draw(){{const lay=document.querySelector('input[name=lay]:checked').value;
const t=+document.getElementById('sl').value;
document.getElementById('pl').textContent=lay==='period'?D.periods[t]:'';
paths.forEach(function(p,i){{let c,txt;
if(lay==='pattern'){{const k=D.pattern[i];c=k===null?'#eeeeee':D.colours[k];
txt=D.ids[i]+': '+(k===null?'suppressed':k);}}
else{{const z=D.z[i][t];c=col(z);txt=D.ids[i]+' '+D.periods[t]+': z='+(z===null?'suppressed':z);}}
p.setAttribute('stroke',c);p.firstChild.textContent=txt;}});legend(lay);}}
document.querySelectorAll('input').forEach(function(e){{e.addEventListener('input',draw);}});draw();
</script></body></html>
"""


def trends_html(segments, table: pd.DataFrame, periods, path, *, title: str = "Emerging hot spots",
                attribution: str = "") -> Path:  # fmt: skip
    """One self-contained, offline HTML file: the segments as SVG lines with the pattern layer and a period
    slider (each period's hot-spot z). No external resource; every text goes through JSON (no HTML injection)."""
    from html import escape

    from ._atomic import atomic_file

    lines = _lines(segments)
    allc = np.vstack([c for c in lines if len(c)]) if any(len(c) for c in lines) else np.zeros((1, 2))
    x0, y0 = allc.min(axis=0)
    x1, y1 = allc.max(axis=0)
    pad = 0.02 * max(x1 - x0, y1 - y0, 1e-6)
    periods = [str(p) for p in periods]
    z = np.column_stack([table[f"z_{p}"].to_numpy(dtype=np.float64) for p in periods]).round(2)
    finite = z[np.isfinite(z)]
    data = {
        "lines": [np.round(c, 4).tolist() for c in lines],
        "ids": [str(v) for v in table["segment_id"]],
        "pattern": [None if pd.isna(p) else str(p) for p in table["pattern"]],
        "z": [[None if not np.isfinite(v) else float(v) for v in row] for row in z],
        "periods": periods,
        "colours": {k: v for k, v in PATTERN_COLOURS.items() if k in set(table["pattern"].dropna())},
        "vmax": float(max(np.abs(finite).max() if finite.size else 1.0, 1e-9)),
        "width": float(0.004 * max(x1 - x0, y1 - y0, 1e-6)),
    }
    doc = _HTML.format(
        title=escape(title), nmax=max(len(periods) - 1, 0), attribution=escape(attribution),
        viewbox=f"{x0 - pad} {-(y1 + pad)} {x1 - x0 + 2 * pad} {y1 - y0 + 2 * pad}",
        data=json.dumps(data, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e"),
    )
    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_text(doc, encoding="utf-8")
    return path
