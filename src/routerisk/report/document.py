"""The report as a list of sections of plain blocks, rendered by both :mod:`.html` and :mod:`.pdf`.

A block is ``("p", text)``, ``("table", rows)`` (first row the header), ``("figure", caption, make)`` (``make()``
returns a matplotlib figure, drawn at the sink's resolution) or ``("map",)`` (the interactive map in HTML, the
print map in PDF). All text is plain (unescaped) here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import figures
from .content import ReportData, riskiest_stretches, route_profiles
from .methods import methods_sections

__all__ = ["REPORT_SECTIONS", "ReportSection", "build_document"]

#: Headings of the report's sections, in order (the optional ones only when their data exist).
REPORT_SECTIONS = ("Interactive map", "Riskiest stretches", "Risk profiles along the routes",
                   "Shelter coverage and proposed sites", "Trends over time", "Change between two periods", "Methods")


@dataclass
class ReportSection:
    """A section: heading, blocks, and sub-sections (the methods)."""

    heading: str
    blocks: list[tuple[Any, ...]] = field(default_factory=list)
    level: int = 2


def _num(v: Any, digits: int = 1) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "" if v is None else str(v)
    return "–" if math.isnan(f) else f"{f:.{digits}f}"


def _interval(v: Any, lo: Any, hi: Any, digits: int = 1) -> str:
    return f"{_num(v, digits)} ({_num(lo, digits)}–{_num(hi, digits)})"


def _stretch_rows(table: pd.DataFrame) -> list[list[str]]:
    rows = [["#", "route", "km", "nearest locality", "state", "risk (90 % interval)",
             "incident exposure (90 % interval)", "incidents", "evidence", "hot spot"]]  # fmt: skip
    for r in table.itertuples(index=False):
        near = str(r.locality) + (f" ({_num(r.locality_km)} km)" if pd.notna(r.locality_km) else "")
        rows.append([str(r.rank), str(r.route), f"{_num(r.km_from)}–{_num(r.km_to)}", near, str(r.state),
                     _interval(r.risk, r.risk_lo, r.risk_hi),
                     _interval(r.incident_exposure, r.incident_exposure_lo, r.incident_exposure_hi, 2),
                     _num(r.n_incidents, 0), "" if pd.isna(r.evidence) else str(r.evidence),
                     "" if pd.isna(r.hotspot) else str(r.hotspot)])  # fmt: skip
    return rows


def _summary(data: ReportData) -> list[tuple[Any, ...]]:
    seg = data.segments
    n_routes = seg["route_id"].nunique() if "route_id" in seg else 1
    km = (pd.to_numeric(seg.get("length_m", pd.Series(dtype=float)), errors="coerce").sum() / 1000.0)
    text = (f"{len(seg)} segments on {n_routes} routes ({km:,.0f} km), scored by routerisk "
            f"({data.privacy} mode).")  # fmt: skip
    blocks: list[tuple[Any, ...]] = [("p", text)]
    if (data.manifest.get("data") or {}).get("synthetic_incidents"):
        blocks.append(("p", "Synthetic / illustrative data: the incidents are generated, not observed."))
    if data.privacy == "internal":
        blocks.append(("p", "Internal report: contains individual incident records. Do not publish."))
    return blocks


def _optional(data: ReportData, seg_label: dict[Any, str]) -> list[ReportSection]:
    out = []
    if data.curve is not None and len(data.curve):
        blocks: list[tuple[Any, ...]] = [("figure", "Share of route risk covered by the existing shelters (k = 0) "
                                          "and the first k proposed sites.",
                                          lambda: figures.coverage_figure(data.curve))]  # fmt: skip
        if data.sites is not None and len(data.sites):
            cols = [c for c in ("rank", "locality", "state", "marginal_risk_covered", "cum_share_covered",
                                "nearest_existing_km") if c in data.sites]  # fmt: skip
            rows = [cols] + [[_num(v, 3) if isinstance(v, float) else str(v) for v in r]
                             for r in data.sites[cols].itertuples(index=False)]  # fmt: skip
            blocks.append(("table", rows))
        out.append(ReportSection("Shelter coverage and proposed sites", blocks))
    if data.trends is not None and len(data.trends):
        out.append(ReportSection("Trends over time", [
            ("p", "Emerging hot-spot patterns per segment (Mann-Kendall trend of the per-period hot-spot z-scores) "
                  "and the records in reach per period, from routerisk trends."),
            ("figure", "Patterns (left) and records per period (right).", lambda: figures.trends_figure(data.trends)),
        ]))  # fmt: skip
    if data.change is not None and len(data.change):
        out.append(ReportSection("Change between two periods", [
            ("p", "Rate ratios (after / before) of the records in reach of each segment, with exact conditional "
                  "95 % intervals, for the segments with the smallest adjusted p-values (routerisk change)."),
            ("figure", "log2 rate ratio per segment.",
             lambda: figures.change_figure(data.change, labels=lambda s: seg_label.get(s, str(s)))),
        ]))  # fmt: skip
    return out


def build_document(data: ReportData, *, title: str, top: int = 20) -> list[ReportSection]:
    """The report's sections from the data of a run (:func:`routerisk.report.content.load_report_data`)."""
    seg = data.segments
    table = riskiest_stretches(seg, top=top)
    profiles = route_profiles(seg, shelters=data.shelters, sites=data.sites)
    seg_label = {}
    if "segment_id" in seg:
        names = seg["name"] if "name" in seg else seg.get("route_id", pd.Series("", index=seg.index))
        seg_label = {s: f"{n}, km {_num(a / 1000.0, 0)}" for s, n, a in zip(seg["segment_id"], names,
                                                                           seg.get("start_m", 0.0), strict=True)}
    sections = [
        ReportSection(title, _summary(data), level=1),
        ReportSection("Interactive map", [("map",)]),
        ReportSection("Riskiest stretches", [
            ("p", f"The {len(table)} segments with the highest risk (suppressed segments are never listed), with "
                  "the nearest locality of the segment's midpoint, the 90 % intervals and the evidence."),
            ("table", _stretch_rows(table)),
        ]),
        ReportSection("Risk profiles along the routes", [
            ("p", "Risk by km along each route with its 90 % interval band; shaded: enforcement zones; triangles: "
                  "shelters; squares: proposed sites; grey bars at the bottom: suppressed stretches."),
            *[("figure", p.name, (lambda p=p: figures.profile_figure(p))) for p in profiles],
        ]),
        *_optional(data, seg_label),
        ReportSection("Methods", []),
    ]
    sections += [ReportSection(s.heading, [*(("p", t) for t in s.paragraphs),
                                           *([("table", s.table)] if s.table else [])], level=3)
                 for s in methods_sections(data.manifest, data.privacy)]  # fmt: skip
    return sections
