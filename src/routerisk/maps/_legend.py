"""Palettes and the HTML of the legend, title and provenance footer (plain HTML/CSS: no CDN, no d3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..attribution import BASEMAP
from ..privacy import DEFAULT_MIN_COUNT
from ._escape import escape_text

__all__ = [
    "COVERAGE_COLOR",
    "GAP_COLOR",
    "HEAT_COLORS",
    "NO_DATA_COLOR",
    "RISK_COLORS",
    "RISK_LABELS",
    "SHELTER_COLORS",
    "SITE_COLOR",
    "ZONE_COLOR",
    "footer_html",
    "legend_html",
    "title_html",
]

#: Risk classes 1-5, ColorBrewer YlOrRd (sequential, colour-blind safe, prints in grey as a ramp).
RISK_COLORS = ("#fed976", "#feb24c", "#fd8d3c", "#e31a1c", "#800026")
RISK_LABELS = ("1 lowest", "2 low", "3 medium", "4 high", "5 highest")
#: Segments without a published class (public mode, too few incidents).
NO_DATA_COLOR = "#9e9e9e"
#: Heat ramp, viridis (perceptually uniform, colour-blind safe), low to high.
HEAT_COLORS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
SHELTER_COLORS = {"shelter": "#1b7837", "asylum_office": "#2166ac"}
ZONE_COLOR = "#542788"
#: Proposed shelter sites and the route stretches they cover; protection gaps (high risk, no shelter in reach).
SITE_COLOR = "#00441b"
COVERAGE_COLOR = "#41ab5d"
GAP_COLOR = "#c51b7d"


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def legend_html(
    *,
    heat_min: float,
    heat_max: float,
    heat_units: str,
    class_ranges: Sequence[str] | None = None,
    suppressed: bool = False,
    shelters: bool = False,
    zones: bool = False,
    min_count: int = DEFAULT_MIN_COUNT,
    heat: bool = True,
    sites: bool = False,
    gaps: bool = False,
    layer: str | None = None,
    deployment: Sequence[tuple[str, str]] | None = None,
) -> str:
    """HTML of the map legend: risk classes, the fixed heat scale and the point symbols.

    ``layer`` names the risk layer the classes show (``"incident"`` or ``"composite"``, the model's
    ``risk_layer``); it is added to the heading.

    Parameters
    ----------
    heat_min, heat_max : float
        The heat scale's fixed ends; the colours do not rescale when the time slider moves.
    heat_units : str
        What the heat values mean.
    class_ranges : sequence of str, optional
        Risk range of each class (e.g. ``"0-20"``), shown beside its label.
    suppressed, shelters, zones : bool
        Add the keys for suppressed segments, shelters and asylum offices, enforcement zones.
    min_count : int
        The public-mode threshold, quoted in the suppressed key.
    heat : bool
        Include the heat scale (there is no heat layer without placed incidents or a surface).
    sites, gaps : bool
        Add the keys for proposed shelter sites (with the route stretches they cover) and protection gaps.
    deployment : sequence of (colour, label), optional
        Rows of a deployment choropleth (:func:`routerisk.maps._deployment.deployment_legend`): a heading, then
        one class of personnel per row; replaces the enforcement-zone key.

    Returns
    -------
    str

    Examples
    --------
    >>> "rr-legend" in legend_html(heat_min=0, heat_max=1, heat_units="x")
    True
    """
    rows = []
    for i, (color, label) in enumerate(zip(RISK_COLORS, RISK_LABELS, strict=True)):
        extra = f" ({escape_text(class_ranges[i])})" if class_ranges and i < len(class_ranges) else ""
        rows.append(f'<div><i class="rr-line" style="background:{color}"></i>{label}{extra}</div>')
    if suppressed:
        rows.append(
            f'<div><i class="rr-line" style="background:{NO_DATA_COLOR}"></i>suppressed '
            f"(fewer than {int(min_count)} incidents)</div>"
        )
    gradient = ", ".join(HEAT_COLORS)
    heat_html = (
        f'<div class="rr-heat"><div class="rr-ramp" style="background:linear-gradient(to right, {gradient})">'
        f'</div><div class="rr-ends"><span>{_fmt(heat_min)}</span><span>{_fmt(heat_max)}</span></div>'
        f'<div class="rr-units">{escape_text(heat_units)}</div></div>'
    )
    symbols = []
    if deployment:
        symbols.append(f"<b>{escape_text(deployment[0][1])}</b>")
        for color, label in deployment[1:]:
            symbols.append(f'<div><i class="rr-box" style="background:{color};border-color:{ZONE_COLOR}"></i>'
                           f"{escape_text(label)}</div>")  # fmt: skip
    elif zones:
        symbols.append(f'<div><i class="rr-box" style="border-color:{ZONE_COLOR}"></i>enforcement zone</div>')
    if shelters:
        for kind, color in SHELTER_COLORS.items():
            symbols.append(f'<div><i class="rr-dot" style="background:{color}"></i>{kind.replace("_", " ")}</div>')
    if sites:
        square = f'<i class="rr-dot" style="background:{SITE_COLOR};border-radius:0"></i>'
        symbols.append(f"<div>{square}proposed site (rank)</div>")
        stretch = f'<i class="rr-line" style="background:{COVERAGE_COLOR}"></i>'
        symbols.append(f"<div>{stretch}covered by a proposed site</div>")
    if gaps:
        symbols.append(f'<div><i class="rr-line" style="background:{GAP_COLOR}"></i>protection gap</div>')
    return (
        '<div class="rr-legend"><b>Segment risk class'
        + (f" ({escape_text(layer)} risk)" if layer else "") + "</b>" + "".join(rows)
        + ("<b>Incident heat</b>" + heat_html if heat else "") + "".join(symbols) + "</div>"
    )


def title_html(title: str, privacy: str) -> str:
    """HTML of the map title, which always names the privacy mode.

    Examples
    --------
    >>> title_html("A <b>", "public")
    '<div class="rr-title">A &lt;b&gt; <span class="rr-mode">public map</span></div>'
    """
    return f'<div class="rr-title">{escape_text(title)} <span class="rr-mode">{escape_text(privacy)} map</span></div>'


def _value_text(value: Any) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{escape_text(k)}={_value_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_value_text(v) for v in value)
    return escape_text(value)


def footer_html(provenance: Mapping[str, Any] | None, *, synthetic: bool, privacy: str) -> str:
    """HTML of the source/provenance footer; a visible notice when the data are synthetic or illustrative.

    Examples
    --------
    >>> "synthetic" in footer_html({"inputs": ["a.csv"]}, synthetic=True, privacy="internal")
    True
    >>> "GeoNames" in footer_html({"attribution": ["Incidents: IOM"]}, synthetic=False, privacy="public")
    True
    """
    notice = ""
    if synthetic:
        notice = (
            '<div class="rr-synthetic">Synthetic / illustrative data: the incidents are generated, not observed; '
            "zones and shelters are illustrative.</div>"
        )
    prov = dict(provenance or {})
    credits = [str(c) for c in (prov.pop("attribution", None) or [])] + [BASEMAP]  # always shown, not folded
    credit_html = "".join(f"<div>{escape_text(c)}</div>" for c in credits)
    items = "".join(f"<div><b>{escape_text(key)}</b>: {_value_text(value)}</div>" for key, value in prov.items())
    mode = (
        "Public map: no individual incident locations or free text; heat from the aggregated surface."
        if privacy == "public"
        else "Internal map: contains individual incident records; do not publish."
    )
    return (
        f'<div class="rr-footer">{notice}<div class="rr-credits">{credit_html}</div>'
        f"<details><summary>Inputs, model and privacy</summary>"
        f"{items}<div>{mode}</div><div>Made with routerisk; map library Leaflet.</div></details></div>"
    )


CSS = """
.rr-title{position:absolute;top:8px;left:50%;transform:translateX(-50%);z-index:1000;background:rgba(255,255,255,.92);
 padding:4px 12px;border-radius:4px;font:600 15px/1.3 system-ui,sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3);
 max-width:60%;text-align:center}
.rr-mode{font-weight:400;font-size:12px;color:#fff;background:#444;border-radius:3px;padding:1px 5px;margin-left:6px}
.rr-legend,.rr-footer,.rr-slider{background:rgba(255,255,255,.93);padding:6px 8px;border-radius:4px;
 font:12px/1.35 system-ui,sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3)}
.rr-legend b{display:block;margin-top:3px}
.rr-line{display:inline-block;width:22px;height:5px;margin:0 6px 2px 0;vertical-align:middle}
.rr-dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin:0 6px 0 6px;vertical-align:middle}
.rr-box{display:inline-block;width:14px;height:10px;border:2px dashed;margin:0 6px 0 2px;vertical-align:middle}
.rr-ramp{height:10px;width:160px}.rr-ends{display:flex;justify-content:space-between;width:160px}
.rr-units{color:#555;max-width:170px}
.rr-footer{max-width:420px}.rr-footer summary{cursor:pointer}.rr-credits{color:#333;font-size:11px}
.rr-synthetic{color:#b2182b;font-weight:600}
.rr-slider input{width:200px;vertical-align:middle}.rr-slider output{margin-left:6px;font-weight:600}
.rr-fs a{font-size:18px;line-height:30px;text-align:center;cursor:pointer}
.rr-fullscreen{position:fixed!important;top:0;left:0;width:100vw!important;height:100vh!important;z-index:9999}
.rr-label{background:transparent;border:0;box-shadow:none;font:11px sans-serif;color:#333;
 text-shadow:0 0 2px #fff,0 0 2px #fff}
.rr-label:before{display:none}
"""
