"""What a report shows, computed from a run folder: the riskiest stretches with their nearest localities, the
risk profile of each route, and the optional siting, trend and change tables.

Everything here returns plain data (frames, numbers, text); :mod:`routerisk.report.html` and
:mod:`routerisk.report.pdf` escape the text for their sink. Public runs are read as published: suppressed segments
have no numbers and are left out of the table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import ConfigError, InputError
from ..gazetteer import load_localities
from ..manifest import MANIFEST_NAME, read_manifest
from ..maps import load_run

__all__ = ["ReportData", "RouteProfile", "load_report_data", "nearest_localities", "riskiest_stretches",
           "route_profiles"]  # fmt: skip

#: Metric CRS of the distance computations (Mexico ITRF2008 / LCC, as the analysis default).
METRIC_CRS = "EPSG:6372"
#: A shelter or site is marked on a route's profile when it lies within this distance of the route.
MARK_WITHIN_KM = 15.0


@dataclass
class RouteProfile:
    """Risk along one route: one row per segment (``km_from``, ``km_to``, ``risk``, ``risk_lo``, ``risk_hi``,
    ``zone``), and the km of the shelters and proposed sites near it."""

    route_id: str
    name: str
    table: pd.DataFrame
    shelters_km: list[float] = field(default_factory=list)
    sites_km: list[float] = field(default_factory=list)


@dataclass
class ReportData:
    """Everything a report is made of (see :func:`load_report_data`)."""

    run: Path
    manifest: dict[str, Any]
    privacy: str
    segments: gpd.GeoDataFrame
    zones: Any
    shelters: Any
    incidents: Any
    surface: Any
    map_html: Path | None
    map_png: Path | None
    sites: pd.DataFrame | None
    curve: pd.DataFrame | None
    trends: pd.DataFrame | None
    change: pd.DataFrame | None
    extra_inputs: list[Path] = field(default_factory=list)


def _read_csv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except Exception as exc:  # pandas raises many types for damaged files
        msg = f"cannot read {str(path)!r}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        raise InputError(msg, path=str(path)) from None


def _time_table(folder: str | os.PathLike[str] | None, run: Path, name: str, privacy: str) -> tuple[Any, Any]:
    """``trends.csv`` / ``change.csv`` from the given folder (or the run's), refusing an internal one in a public
    report."""
    where = Path(folder) if folder is not None else run
    path = where / name
    if folder is not None and not path.is_file():
        msg = f"{str(where)!r} holds no {name} (give the output folder of routerisk {name.split('.')[0]})"
        raise InputError(msg, path=str(where))
    table = _read_csv(path)
    if table is None:
        return None, None
    man = where / MANIFEST_NAME
    mode = (read_manifest(man).get("privacy") or {}).get("mode", "internal") if man.is_file() else "internal"
    if privacy == "public" and mode != "public":
        msg = (f"the run is public but {str(path)!r} comes from an {mode} analysis (or has no manifest); a public "
               f"report takes only public tables (run routerisk {name.split('.')[0]} --privacy public)")
        raise ConfigError(msg)
    return table, path


def load_report_data(
    run: str | os.PathLike[str], *, trends: str | os.PathLike[str] | None = None,
    change: str | os.PathLike[str] | None = None,
) -> ReportData:
    """Read a run folder (and optional ``routerisk trends`` / ``change`` folders) for a report.

    Examples
    --------
    >>> load_report_data("/nonexistent")
    Traceback (most recent call last):
    ...
    routerisk._errors.InputError: run folder '/nonexistent' does not exist or is not a folder
    """
    run = Path(run)
    data = load_run(run)
    manifest = data["manifest"]
    privacy = (manifest.get("privacy") or {}).get("mode", "internal")
    seg = data["segments"]
    if privacy != "public" and "suppressed" in seg and seg["suppressed"].fillna(False).astype(bool).any():
        privacy = "public"  # a published (suppressed) table without a manifest is treated as public
    trend_table, trend_path = _time_table(trends, run, "trends.csv", privacy)
    change_table, change_path = _time_table(change, run, "change.csv", privacy)
    map_html = run / str((manifest.get("options") or {}).get("map_name", "map"))
    return ReportData(
        run=run, manifest=manifest, privacy=privacy, segments=seg, zones=data["zones"], shelters=data["shelters"],
        incidents=data["incidents"] if privacy == "internal" else None, surface=data["surface"],
        map_html=map_html.with_suffix(".html") if map_html.with_suffix(".html").is_file() else None,
        map_png=map_html.with_suffix(".png") if map_html.with_suffix(".png").is_file() else None,
        sites=_read_csv(run / "sites.csv"), curve=_read_csv(run / "coverage_curve.csv"),
        trends=trend_table, change=change_table,
        extra_inputs=[p for p in (trend_path, change_path) if p is not None and p.parent != run],
    )  # fmt: skip


def nearest_localities(points: Any) -> pd.DataFrame:
    """The nearest gazetteer locality of each point: ``locality``, ``locality_state``, ``locality_km``.

    Parameters
    ----------
    points : GeoSeries or GeoDataFrame
        Points with a CRS.

    Returns
    -------
    DataFrame
        One row per point, in order.

    Examples
    --------
    >>> pts = gpd.GeoSeries(gpd.points_from_xy([-92.26], [14.91]), crs=4326)  # Tapachula
    >>> nearest_localities(pts)["locality"].iloc[0]
    'Tapachula'
    """
    geoms = gpd.GeoSeries(getattr(points, "geometry", points)).to_crs(METRIC_CRS).to_numpy()
    loc = load_localities()
    loc = loc[loc["population"].fillna(0) > 0] if "population" in loc else loc
    loc_xy = gpd.GeoSeries(loc.geometry.to_numpy(), crs=loc.crs).to_crs(METRIC_CRS).to_numpy()
    tree = shapely.STRtree(loc_xy)
    (i_pt, i_loc), dist = tree.query_nearest(geoms, return_distance=True, all_matches=False)
    out = pd.DataFrame({"locality": [""] * len(geoms), "locality_state": [""] * len(geoms),
                        "locality_km": np.full(len(geoms), np.nan)})  # fmt: skip
    out.loc[i_pt, "locality"] = loc["name"].to_numpy()[i_loc]
    out.loc[i_pt, "locality_state"] = loc["state_name"].to_numpy()[i_loc]
    out.loc[i_pt, "locality_km"] = np.round(dist / 1000.0, 1)
    return out


def _published(seg: pd.DataFrame) -> np.ndarray:
    """Rows whose numbers may be shown: not suppressed and with a risk."""
    keep = pd.to_numeric(seg.get("risk", pd.Series(np.nan, index=seg.index)), errors="coerce").notna().to_numpy()
    if "suppressed" in seg:
        keep = keep & ~seg["suppressed"].fillna(False).astype(bool).to_numpy()
    return keep


def riskiest_stretches(segments: gpd.GeoDataFrame, top: int = 20) -> pd.DataFrame:
    """The ``top`` riskiest segments with their nearest locality, state, intervals, evidence and hot-spot label.

    Suppressed segments (public mode) are never listed. A ``locality`` column of the segments is used when there
    is one; otherwise the nearest gazetteer locality of the segment's midpoint (:func:`nearest_localities`).

    Examples
    --------
    >>> from shapely import LineString
    >>> seg = gpd.GeoDataFrame({"segment_id": [1, 2], "route_id": ["a", "a"], "start_m": [0, 5000],
    ...     "end_m": [5000, 10000], "risk": [10.0, 60.0]},
    ...     geometry=[LineString([(-92.3, 14.9), (-92.25, 14.9)]), LineString([(-92.25, 14.9), (-92.2, 14.9)])],
    ...     crs=4326)
    >>> riskiest_stretches(seg, top=1)[["segment_id", "risk", "locality"]].to_dict("records")
    [{'segment_id': 2, 'risk': 60.0, 'locality': 'El Sacrificio'}]
    """
    seg = segments[_published(segments)]
    seg = seg.sort_values(["risk", "segment_id"] if "segment_id" in seg else ["risk"],
                          ascending=[False, True] if "segment_id" in seg else [False], kind="stable").head(top)
    mid = shapely.line_interpolate_point(seg.geometry.to_crs(METRIC_CRS).to_numpy(), 0.5, normalized=True)
    near = nearest_localities(gpd.GeoSeries(mid, crs=METRIC_CRS))
    out = pd.DataFrame({"rank": np.arange(1, len(seg) + 1)})
    for col in ("segment_id", "route_id"):
        if col in seg:
            out[col] = seg[col].to_numpy()
    out["route"] = (seg["name"] if "name" in seg else seg.get("route_id", pd.Series("", index=seg.index))).to_numpy()
    out["km_from"] = pd.to_numeric(seg.get("start_m", np.nan), errors="coerce").to_numpy() / 1000.0
    out["km_to"] = pd.to_numeric(seg.get("end_m", np.nan), errors="coerce").to_numpy() / 1000.0
    if "locality" in seg:
        out["locality"] = seg["locality"].to_numpy()
        out["locality_km"] = np.nan
    else:
        out["locality"], out["locality_km"] = near["locality"].to_numpy(), near["locality_km"].to_numpy()
    state = seg["state_name"] if "state_name" in seg else seg.get("state", None)
    out["state"] = state.to_numpy() if state is not None else near["locality_state"].to_numpy()
    for col in ("risk", "risk_lo", "risk_hi", "incident_exposure", "incident_exposure_lo", "incident_exposure_hi",
                "risk_class", "n_incidents", "evidence", "hotspot"):
        out[col] = seg[col].to_numpy() if col in seg else np.nan
    return out


def _marks_km(points: Any, seg_metric: Any, seg: pd.DataFrame) -> list[float]:
    """km along the route of each point within :data:`MARK_WITHIN_KM` of it (on its nearest segment)."""
    if points is None or not len(points) or not len(seg):
        return []
    pts = gpd.GeoSeries(getattr(points, "geometry", points)).to_crs(METRIC_CRS).to_numpy()
    (i_pt, i_seg), dist = shapely.STRtree(seg_metric).query_nearest(pts, return_distance=True, all_matches=False)
    ok = dist <= MARK_WITHIN_KM * 1000.0
    frac = shapely.line_locate_point(seg_metric[i_seg[ok]], pts[i_pt[ok]], normalized=True)
    a = seg["start_m"].to_numpy(dtype="float64")[i_seg[ok]]
    b = seg["end_m"].to_numpy(dtype="float64")[i_seg[ok]]
    return sorted(np.round((a + frac * (b - a)) / 1000.0, 2).tolist())


def route_profiles(segments: gpd.GeoDataFrame, *, shelters: Any = None, sites: Any = None) -> list[RouteProfile]:
    """Risk along each route (suppressed segments as gaps), enforcement zones, shelters and sites by km.

    ``zone`` is True where the segment has enforcement exposure (it crosses an active zone). ``sites`` is a table
    with ``lon``/``lat`` (``sites.csv``) or a GeoDataFrame.

    Examples
    --------
    >>> from shapely import LineString
    >>> seg = gpd.GeoDataFrame({"route_id": ["a", "a"], "start_m": [0, 5000], "end_m": [5000, 10000],
    ...     "risk": [10.0, 60.0], "enforcement_exposure": [0.0, 1.0]},
    ...     geometry=[LineString([(-92.3, 14.9), (-92.25, 14.9)]), LineString([(-92.25, 14.9), (-92.2, 14.9)])],
    ...     crs=4326)
    >>> p = route_profiles(seg)[0]
    >>> p.route_id, p.table["zone"].tolist()
    ('a', [False, True])
    """
    if sites is not None and not isinstance(sites, gpd.GeoDataFrame) and {"lon", "lat"} <= set(sites.columns):
        sites = gpd.GeoSeries(gpd.points_from_xy(sites["lon"], sites["lat"]), crs=4326)
    segments = segments.assign(rr_shown=_published(segments))
    profiles = []
    rid = segments["route_id"].astype(str) if "route_id" in segments else pd.Series("route", index=segments.index)
    for route_id in pd.unique(rid):
        seg = segments[(rid == route_id).to_numpy()].sort_values("start_m", kind="stable")
        shown = seg["rr_shown"].to_numpy(dtype=bool)
        table = pd.DataFrame({
            "km_from": seg["start_m"].to_numpy(dtype="float64") / 1000.0,
            "km_to": seg["end_m"].to_numpy(dtype="float64") / 1000.0,
        })  # fmt: skip
        for col in ("risk", "risk_lo", "risk_hi"):
            vals = pd.to_numeric(seg.get(col, np.nan), errors="coerce")
            table[col] = np.where(shown, np.asarray(vals, dtype="float64"), np.nan)
        enf = pd.to_numeric(seg.get("enforcement_exposure", 0.0), errors="coerce")
        table["zone"] = np.asarray(enf, dtype="float64") > 0
        name = str(seg["name"].iloc[0]) if "name" in seg and len(seg) else str(route_id)
        metric = seg.geometry.to_crs(METRIC_CRS).to_numpy()
        profiles.append(RouteProfile(str(route_id), name, table, _marks_km(shelters, metric, seg),
                                     _marks_km(sites, metric, seg)))  # fmt: skip
    return profiles
