"""Results of siting: ranking, protection gaps, map layers and the output folder."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from scipy import sparse

from .._atomic import atomic_dir
from .._sinks import write_csv
from ..manifest import sha256_file, write_manifest
from ..schema import WGS84
from . import _solvers as sv
from ._result import SitingResult
from .registry import MODELS

if TYPE_CHECKING:
    from ._core import ShelterSiting

__all__ = ["build_result", "protection_gaps", "result_summary", "sites_layers", "write_site_files", "write_sites"]

#: Defaults of the protection gaps: ``risk_class`` at or above, else ``risk`` at or above.
HIGH_RISK_CLASS = 4
HIGH_RISK = 60.0


def _merge_lines(geoms: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """One merged (Multi)LineString per group id in ``range(n_groups)``; empty where a group has no line."""
    out = np.array([shapely.MultiLineString()] * n_groups, dtype=object)
    if len(geoms) == 0:
        return out
    sort = np.argsort(group, kind="stable")
    parts, idx = shapely.get_parts(geoms[sort], return_index=True)
    present, compact = np.unique(group[sort][idx], return_inverse=True)
    merged = shapely.line_merge(shapely.multilinestrings(parts, indices=compact.ravel()))
    out[present] = merged
    return out


def _high_risk(frame: pd.DataFrame, gap_min_risk: float | None) -> tuple[np.ndarray, str]:
    risk = pd.to_numeric(frame["risk"], errors="coerce") if "risk" in frame.columns else None
    if gap_min_risk is not None:
        if risk is None:
            return np.zeros(len(frame), dtype=bool), "no `risk` column: no gaps computed"
        return (risk >= gap_min_risk).to_numpy(), f"risk >= {gap_min_risk:g}"
    if "risk_class" in frame.columns and pd.api.types.is_numeric_dtype(frame["risk_class"]):
        return (frame["risk_class"] >= HIGH_RISK_CLASS).to_numpy(), f"risk_class >= {HIGH_RISK_CLASS}"
    if risk is not None:
        return (risk >= HIGH_RISK).to_numpy(), f"risk >= {HIGH_RISK:g}"
    return np.zeros(len(frame), dtype=bool), "no `risk` column: no gaps computed"


def protection_gaps(siting: ShelterSiting, covered: np.ndarray, gap_min_risk: float | None) -> tuple:
    """Runs of consecutive high-risk segments (same route, ``seq`` order) that no shelter covers, ranked."""
    d = siting._demand
    frame = d.frame
    high, rule = _high_risk(frame, gap_min_risk)
    o = d.order
    flag = high[o] & ~covered[o]
    route = d.route[o]
    prev = np.r_[False, flag[:-1] & (route[1:] == route[:-1])]
    run = np.cumsum(flag & ~prev) - 1
    sel = o[flag]
    cols = ["rank", "route_id", "from_km", "to_km", "length_km", "mean_risk", "score", "n_segments"]
    if not len(sel):
        empty = gpd.GeoDataFrame({c: [] for c in cols}, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
        return empty, rule
    risk = pd.to_numeric(frame["risk"], errors="coerce").to_numpy(dtype="float64")[sel]
    length = d.length_m[sel]
    tab = pd.DataFrame({
        "run": run[flag], "route_id": d.route_ids[d.route[sel]], "start": d.start_m[sel],
        "end": d.start_m[sel] + length, "len": length, "rl": risk * length,
    })
    for extra in ("name", "state_name"):
        if extra in frame.columns:
            tab[extra] = frame[extra].to_numpy()[sel]
    agg = {"route_id": "first", "start": "min", "end": "max", "len": "sum", "rl": "sum", "run": "size"}
    agg.update({c: "first" for c in ("name", "state_name") if c in tab.columns})
    g = tab.groupby("run", sort=True).agg(agg).rename(columns={"run": "n_segments"})
    out = pd.DataFrame({
        "route_id": g["route_id"],
        "from_km": g["start"] / 1000.0,
        "to_km": g["end"] / 1000.0,
        "length_km": g["len"] / 1000.0,
        "mean_risk": g["rl"] / g["len"].where(g["len"] > 0),
    })
    out["score"] = out["length_km"] * out["mean_risk"]
    out["n_segments"] = g["n_segments"]
    for c in ("name", "state_name"):
        if c in g.columns:
            out[c] = g[c]
    geoms = _merge_lines(frame.geometry.to_numpy()[sel], run[flag], len(g))
    gaps = gpd.GeoDataFrame(out.reset_index(drop=True), geometry=geoms, crs=frame.crs)
    gaps = gaps.sort_values(["score", "length_km"], ascending=False, kind="stable").reset_index(drop=True)
    gaps.insert(0, "rank", np.arange(1, len(gaps) + 1))
    return gaps.to_crs(WGS84), rule


def build_result(
    siting: ShelterSiting, model: str, chosen: np.ndarray, info: dict, notes: list[str], params: dict,
    curve_k: int | None, gap_min_risk: float | None, solver: str, time_limit_s: float,
) -> SitingResult:
    """Rank the chosen sites and assemble the :class:`SitingResult`."""
    A, r, w = siting._A, siting._residual, siting._demand.weight
    chosen = np.unique(np.asarray(chosen, dtype=np.int64))
    order, marg = sv.greedy_order(A, r, len(chosen), among=chosen) if len(chosen) else (chosen, np.array([]))
    if (marg <= 0).any():
        n_zero = int((marg <= 0).sum())
        notes.append(f"{n_zero} proposed site(s) cover no risk within the radius beyond the higher-ranked sites")
    base = siting.total_demand * siting.existing_share
    cand = siting.candidates.iloc[order]
    sites = gpd.GeoDataFrame(
        {"rank": np.arange(1, len(order) + 1), "site_id": cand["site_id"].to_numpy(),
         "locality": cand["locality"].to_numpy(), "state": cand["state"].to_numpy()},
        geometry=cand.geometry.values, crs=siting.crs,
    )
    near = np.full(len(sites), np.nan)
    if len(siting.existing) and len(sites):
        _, dist = shapely.STRtree(siting.existing.geometry.to_numpy()).query_nearest(
            sites.geometry.to_numpy(), return_distance=True, all_matches=False
        )
        near = dist / 1000.0
    sites = sites.to_crs(WGS84)
    sites.insert(4, "lon", sites.geometry.x.round(6))
    sites.insert(5, "lat", sites.geometry.y.round(6))
    sites.insert(6, "marginal_risk_covered", marg)
    sites.insert(7, "cum_share_covered", (base + np.cumsum(marg)) / siting.total_demand)
    sites.insert(8, "nearest_existing_km", near)

    sub = sparse.coo_matrix(A[:, order]) if len(order) else sparse.coo_matrix((len(w), 0))
    site_rank = np.full(len(w), np.iinfo(np.int64).max)
    np.minimum.at(site_rank, sub.row, sub.col + 1)
    covered_new = site_rank < np.iinfo(np.int64).max
    site_rank[~covered_new] = 0
    covered = covered_new | siting._covered_existing
    segs = siting._demand.frame.copy()
    segs["demand"], segs["covered_existing"] = w, siting._covered_existing
    segs["covered_new"], segs["site_rank"] = covered_new, site_rank
    segs = segs.to_crs(WGS84)

    geoms = _merge_lines(siting._demand.frame.geometry.to_numpy()[sub.row], sub.col, len(order))
    per_site = np.bincount(sub.col, weights=w[sub.row], minlength=len(order))
    km = np.bincount(sub.col, weights=siting._demand.length_m[sub.row], minlength=len(order)) / 1000.0
    coverage = gpd.GeoDataFrame(
        {"rank": sites["rank"].to_numpy(), "site_id": sites["site_id"].to_numpy(),
         "locality": sites["locality"].to_numpy(), "risk_within_reach": per_site, "covered_km": km},
        geometry=geoms, crs=siting.crs,
    ).to_crs(WGS84)

    n_c = len(siting.candidates)
    K = min(int(curve_k) if curve_k else max(len(order), 1), n_c)
    curve = siting.coverage_curve(K, solver="greedy" if info["solver"] == "greedy" else solver,
                                  time_limit_s=time_limit_s)
    gaps, rule = protection_gaps(siting, covered, gap_min_risk)
    obj, bound = float(info["objective"]), float(info["bound"])
    if info["optimal"]:
        gap = 0.0
    elif not np.isfinite(bound):
        gap = float("nan")
    elif MODELS[model].maximise:
        gap = (bound - obj) / bound if bound > 0 else 0.0
    else:
        gap = (obj - bound) / obj if obj > 0 else 0.0
    params = {**params, "gap_rule": rule}
    return SitingResult(
        model=model, sites=sites, curve=curve, gaps=gaps, coverage=coverage, segments=segs,
        existing=siting.existing.to_crs(WGS84), solver=str(info["solver"]), optimal=bool(info["optimal"]),
        objective=obj, bound=bound, gap=max(gap, 0.0) if np.isfinite(gap) else gap,
        bound_method=str(info["bound_method"]), total_risk=siting.total_demand,
        existing_share=siting.existing_share, share_covered=float(w[covered].sum() / siting.total_demand),
        params=params, notes=notes,
    )


def sites_layers(result: SitingResult) -> dict[str, gpd.GeoDataFrame]:
    """Map layers of a siting result, all in EPSG:4326.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        ``"sites"`` (points: rank, locality, marginal risk covered...), ``"coverage"`` (the route stretches
        each site covers within the radius: rank, site_id, locality, risk_within_reach, covered_km),
        ``"gaps"`` (lines of the protection gaps, ranked) and ``"existing"`` (points of the existing shelters
        as given: apply the publication rules for sensitive shelters before publishing them).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, Point
    >>> from routerisk.siting import ShelterSiting
    >>> segs = gpd.GeoDataFrame({"route_id": ["a"]}, geometry=[LineString([(0, 0), (1000, 0)])],
    ...     crs="EPSG:6372")
    >>> town = gpd.GeoDataFrame(geometry=[Point(500, 0)], crs="EPSG:6372")
    >>> layers = sites_layers(ShelterSiting(segs, town, weights=[1.0], radius_km=1).solve(k=1))
    >>> sorted(layers)
    ['coverage', 'existing', 'gaps', 'sites']
    """
    return {"sites": result.sites, "coverage": result.coverage, "gaps": result.gaps, "existing": result.existing}


def _plot_curve(curve: pd.DataFrame, path: Path, title: str) -> None:
    # lazy: matplotlib costs 0.4 s at start-up (measured, with matplotlib.figure), paid only when the curve is drawn
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(curve["k"], 100 * curve["share_covered"], marker="o", color="#b2182b")
    ax.axhline(100 * curve["share_covered"].iloc[0], color="grey", lw=0.8, ls="--", label="existing shelters")
    ax.set_xlabel("new sites (k)")
    ax.set_ylabel("share of route risk covered (%)")
    ax.set_ylim(0, 100)
    ax.set_xticks(curve["k"])
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def _write_layer(gdf: gpd.GeoDataFrame, path: Path, layer: str, geometry_type: str) -> None:
    if len(gdf):
        multi = geometry_type.startswith("Multi")
        gdf.to_file(path, layer=layer, driver="GPKG", engine="pyogrio", promote_to_multi=multi)
    else:
        pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", geometry_type=geometry_type)


def _finite(doc: dict[str, Any]) -> dict[str, Any]:
    """NaN and infinity are not JSON: write them as null."""
    return {k: None if isinstance(v, float) and not np.isfinite(v) else v for k, v in doc.items()}


def write_site_files(result: SitingResult, folder: str | os.PathLike[str]) -> list[Path]:
    """Write the siting tables, layers and curve into an existing folder (no manifest; not atomic by itself).

    :func:`write_sites` wraps it in an atomic folder with a manifest; :func:`routerisk.pipeline.run` calls it
    inside a run's temporary folder. Files: ``sites.gpkg`` (layers ``sites``, ``coverage``, ``gaps``),
    ``sites.csv``, ``coverage_curve.csv``, ``coverage_curve.png``, ``gaps.csv``.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    tmp = Path(folder)
    gpkg = tmp / "sites.gpkg"
    _write_layer(result.sites, gpkg, "sites", "Point")
    _write_layer(result.coverage, gpkg, "coverage", "MultiLineString")
    _write_layer(result.gaps, gpkg, "gaps", "MultiLineString")
    from ..qgis import add_layer_styles  # function-level: qgis -> maps._legend -> maps package (no cycle at import)

    add_layer_styles(gpkg)  # QGIS default styles (layer_styles), the colours of the maps
    write_csv(result.sites.drop(columns="geometry"), tmp / "sites.csv")
    write_csv(result.curve, tmp / "coverage_curve.csv")
    write_csv(result.gaps.drop(columns="geometry"), tmp / "gaps.csv")
    par = result.params
    title = f"{result.model.upper()}, radius {par.get('radius_km', 0):g} km ({par.get('measure')})"
    _plot_curve(result.curve, tmp / "coverage_curve.png", title)
    names = ("sites.gpkg", "sites.csv", "coverage_curve.csv", "coverage_curve.png", "gaps.csv")
    return [tmp / n for n in names]


def result_summary(result: SitingResult) -> dict[str, Any]:
    """JSON-ready facts of a siting result (for a manifest).

    Examples
    --------
    >>> from shapely import LineString, Point
    >>> from routerisk.siting import ShelterSiting
    >>> segs = gpd.GeoDataFrame({"route_id": ["a"]}, geometry=[LineString([(0, 0), (1000, 0)])], crs="EPSG:6372")
    >>> town = gpd.GeoDataFrame(geometry=[Point(500, 0)], crs="EPSG:6372")
    >>> result_summary(ShelterSiting(segs, town, weights=[1.0], radius_km=1).solve(k=1))["share_covered"]
    1.0
    """
    return _finite({
        "model": result.model, "solver": result.solver, "optimal": result.optimal,
        "objective": result.objective, "bound": result.bound, "gap": result.gap,
        "bound_method": result.bound_method, "total_risk": result.total_risk,
        "existing_share": result.existing_share, "share_covered": result.share_covered,
        "n_sites": len(result.sites), "n_gaps": len(result.gaps), "notes": result.notes,
    })  # fmt: skip


def write_sites(
    result: SitingResult,
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: Mapping[str, str | os.PathLike[str]] | None = None,
    command: str | None = None,
) -> Path:
    """Write a siting result into ``out_dir`` atomically.

    Files: ``sites.gpkg`` (layers ``sites``, ``coverage``, ``gaps``), ``sites.csv``, ``coverage_curve.csv``,
    ``coverage_curve.png``, ``gaps.csv`` and ``manifest.json`` (parameters, inputs with SHA-256, solver facts,
    software versions). The existing shelters are an input and are not written: some are sensitive (see
    :func:`routerisk.maps.publishable_shelters` for what may be published).

    Parameters
    ----------
    result : SitingResult
    out_dir : path
        Output folder; must be empty or absent unless ``overwrite``.
    overwrite : bool, default False
    inputs : mapping of name to path, optional
        Input files to record with their SHA-256.
    command : str, optional
        Command line to record.

    Returns
    -------
    pathlib.Path
        The output folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import geopandas as gpd
    >>> from shapely import LineString, Point
    >>> from routerisk.siting import ShelterSiting
    >>> segs = gpd.GeoDataFrame({"route_id": ["a"], "risk": [70.0]}, geometry=[LineString([(0, 0), (1000, 0)])],
    ...     crs="EPSG:6372")
    >>> town = gpd.GeoDataFrame({"name": ["T"]}, geometry=[Point(500, 0)], crs="EPSG:6372")
    >>> res = ShelterSiting(segs, town, weights=[1.0], radius_km=1).solve(k=1)
    >>> out = write_sites(res, pathlib.Path(tempfile.mkdtemp()) / "sites")
    >>> sorted(p.name for p in out.iterdir())[:3]
    ['coverage_curve.csv', 'coverage_curve.png', 'gaps.csv']
    """
    recorded: dict[str, Any] = {}
    for name, p in (inputs or {}).items():
        recorded[name] = {"path": str(p), "sha256": sha256_file(p)} if p and Path(p).is_file() else {"path": str(p)}
    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        write_site_files(result, tmp)
        write_manifest(tmp, {
            "command": command or "routerisk.siting.write_sites",
            "inputs": recorded,
            "parameters": result.params,
            "result": result_summary(result),
        })
    return Path(out_dir).absolute()
