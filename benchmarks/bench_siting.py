"""Benchmark of shelter siting: 2,000 candidates x 40,000 demand segments, MCLP with k = 20.

Not a unit test. Run ``.venv/bin/python benchmarks/bench_siting.py``; the figures are printed and appended to
``benchmarks/results_siting.md``. The routes are the 14 shipped corridors cut into ~40,000 segments; the risk is
a smooth synthetic profile along each route (seeded); the candidates are 2,000 points scattered within 10 km of
the routes (seeded). The target: solved in under 60 s, or a fall-back to greedy with a clear message. The time to
build the PuLP models is reported on its own (for p-median beside spopt's builder, when spopt is installed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from routerisk.datasets import load_corridors
from routerisk.routes import segmentize
from routerisk.siting import ShelterSiting

RESULTS = Path(__file__).with_name("results_siting.md")


def build_times(siting: ShelterSiting, k: int, seed: int = 0) -> list[str]:
    """Time to build the PuLP models (routerisk's builders; spopt's for p-median when it is installed)."""
    from routerisk.siting import _models
    from routerisk.siting import _solvers as sv

    Ag, wg, _ = sv._reduced(siting._A, siting._residual, k)
    t0 = time.perf_counter()
    sv._sparse_covering(Ag, wg, k)
    t_mclp = time.perf_counter() - t0
    lines = [f"MCLP model built from the non-zeros ({Ag.shape[0]:,} merged rows x {Ag.shape[1]:,} kept candidates, "
             f"{Ag.nnz:,} non-zeros; a dense builder visits {Ag.shape[0] * Ag.shape[1]:,} cells): {t_mclp:.2f} s"]
    m = 2_000
    n = _models.PMEDIAN_MAX_CELLS // m
    rng = np.random.default_rng(seed)
    cost, w = rng.uniform(0, 200, (n, m)), rng.uniform(0.1, 1, n)  # the build time does not depend on the values
    t0 = time.perf_counter()
    sv._pmedian_problem(cost, w, k)
    t_pm = time.perf_counter() - t0
    text = f"p-median model built, {n} x {m:,} = {n * m:,} cells (PMEDIAN_MAX_CELLS): routerisk {t_pm:.2f} s"
    try:
        from spopt.locate import PMedian  # the test reference ([dev]), not a dependency
    except ImportError:
        return [*lines, text + " (spopt not installed: no comparison)"]
    t0 = time.perf_counter()
    PMedian.from_cost_matrix(cost, w, p_facilities=k)
    return [*lines, text + f", spopt.locate.PMedian.from_cost_matrix {time.perf_counter() - t0:.2f} s"]


def instance(n_segments: int, n_candidates: int, seed: int = 0) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Segments of the shipped corridors with smooth synthetic risk, and candidate points near them."""
    rng = np.random.default_rng(seed)
    corridors = load_corridors().to_crs("EPSG:6372")
    total_m = float(corridors.length.sum())
    segs = segmentize(corridors, segment_length_m=total_m / n_segments)
    # smooth risk: a random walk along each route, squashed into 0-100
    steps = rng.normal(0, 1, len(segs))
    walk = segs.assign(step=steps).groupby("route_id")["step"].cumsum().to_numpy()
    segs["risk"] = 100 / (1 + np.exp(-(walk / np.sqrt(np.arange(len(segs)) % 500 + 50) * 3)))
    segs["risk_class"] = np.clip(np.ceil(segs["risk"] / 20), 1, 5).astype(int)
    pick = rng.integers(0, len(segs), n_candidates)
    mid = shapely.line_interpolate_point(np.asarray(segs.geometry.values)[pick], 0.5, normalized=True)
    xy = shapely.get_coordinates(mid) + rng.uniform(-7_000, 7_000, (n_candidates, 2))
    cands = gpd.GeoDataFrame(
        {"name": [f"Candidate {i}" for i in range(n_candidates)], "state_name": "synthetic"},
        geometry=shapely.points(xy), crs="EPSG:6372",
    )
    return segs.to_crs("EPSG:4326"), cands.to_crs("EPSG:4326")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--segments", type=int, default=40_000)
    parser.add_argument("--candidates", type=int, default=2_000)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--radius-km", type=float, default=30.0)
    parser.add_argument("--no-write", action="store_true", help="Do not append to results_siting.md.")
    args = parser.parse_args()

    t0 = time.perf_counter()
    segs, cands = instance(args.segments, args.candidates)
    t_data = time.perf_counter() - t0
    lines = [f"instance: {len(segs):,} segments x {len(cands):,} candidates, radius {args.radius_km:g} km, "
             f"k = {args.k} (built in {t_data:.1f} s, not timed below)"]

    t0 = time.perf_counter()
    siting = ShelterSiting.from_segments(segs, candidates=cands, radius_km=args.radius_km)
    t_setup = time.perf_counter() - t0
    nnz = siting._A.nnz
    lines.append(f"set-up (demand, candidates, sparse route coverage matrix: {nnz:,} non-zeros): {t_setup:.1f} s")

    lines.extend(build_times(siting, args.k))
    for solver, curve_k in (("auto", None), ("cbc", 1), ("greedy", None)):
        t0 = time.perf_counter()
        res = siting.solve("mclp", k=args.k, solver=solver, time_limit_s=30, curve_k=curve_k)
        t_solve = time.perf_counter() - t0
        gap = "optimal" if res.optimal else f"gap <= {res.gap:.2%} ({res.bound_method})"
        curve = f"coverage curve k = 1..{curve_k or args.k}"
        lines.append(
            f"solve(mclp, k={args.k}, solver={solver!r}) incl. ranking, {curve} and gaps: {t_solve:.1f} s "
            f"-> {res.solver}, {gap}; share covered {res.share_covered:.1%}; total with set-up "
            f"{t_setup + t_solve:.1f} s"
        )
        lines.extend(f"  note: {n}" for n in res.notes)
    # p-median needs a dense distance matrix: a quarter of the segments
    small = ShelterSiting.from_segments(segs.iloc[: args.segments // 4], candidates=cands, radius_km=args.radius_km)
    t0 = time.perf_counter()
    res = small.solve("pmedian", k=args.k, solver="auto", time_limit_s=30, curve_k=1)
    t_pm = time.perf_counter() - t0
    gap = "optimal" if res.optimal else f"gap <= {res.gap:.2%} ({res.bound_method})"
    lines.append(
        f"solve(pmedian, k={args.k}, solver='auto') on {args.segments // 4:,} segments x "
        f"{len(small.candidates):,} candidates: {t_pm:.1f} s -> {res.solver}, {gap}"
    )
    lines.extend(f"  note: {n}" for n in res.notes)
    print("\n".join(lines))
    if not args.no_write:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        head = (f"\n## {stamp} — {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
                f"load average {load} (shared machine)\n\n")
        with RESULTS.open("a", encoding="utf-8") as fh:
            if fh.tell() == 0:
                fh.write("# Shelter siting benchmark (`benchmarks/bench_siting.py`)\n")
            fh.write(head + "\n".join(f"- {line}" if not line.startswith("  ") else f"  -{line[7:]}"
                                      for line in lines) + "\n")


if __name__ == "__main__":
    main()
