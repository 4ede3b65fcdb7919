"""Benchmark of the network hot-spot test: speed at 40,000 segments x 100,000 incidents, calibration and power.

Not a unit test. Run ``.venv/bin/python benchmarks/bench_hotspots.py``; the figures are printed and appended to
``benchmarks/results_hotspots.md``. Exits non-zero when a target is missed:

- speed: adjacency + 1-step neighbourhood + attribution + test on the 14 shipped corridors cut into ~40,000
  segments with 100,000 incidents near them, in under 5 s (median of 3 runs);
- calibration: a straight 1,000 km route cut into 200 x 5 km segments with about 8 incidents per segment spread
  homogeneously along it (300 m perpendicular jitter, 15 km reach): any hot/cold label at q = 0.10 in at most
  10% of >= 200 runs (the same on the shipped corridor network, whose routes meet and cross);
- power: a cluster of 25 incidents (1 km standard deviation along the route) over that background is found (a
  hot label on a segment whose neighbourhood holds the cluster) in >= 90% of runs; the curve over cluster sizes
  5-30 is reported;
- the line scenario's calibration and power (cluster of 25) also end to end through ``routerisk.score_segments``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import shapely

from routerisk.datasets import load_corridors
from routerisk.routes import segmentize
from routerisk.stats import (
    DEFAULT_NEIGHBOUR_STEPS,
    DEFAULT_SNAP_M,
    attribute_incidents,
    network_neighbourhood,
    segment_adjacency,
    segment_hotspots,
)

RESULTS = Path(__file__).with_name("results_hotspots.md")
REACH_M = 15_000.0
LINE = np.array([shapely.LineString([(i * 5000.0, 0), ((i + 1) * 5000.0, 0)]) for i in range(200)], dtype=object)
CLUSTER_CENTRE = 502_500.0  # the middle of segment 100
NEAR_CLUSTER = slice(98, 103)  # segments whose 1-step neighbourhood holds a segment within 3 km of the centre


def corridor_segments(n_segments: int) -> np.ndarray:
    """The shipped corridors (EPSG:6372) cut into about ``n_segments`` segments."""
    corridors = load_corridors().to_crs("EPSG:6372")
    total_m = float(corridors.length.sum())
    segs = segmentize(corridors, segment_length_m=total_m / n_segments, crs="EPSG:6372")
    return np.asarray(segs.geometry.values, dtype=object)


def points_along(geoms: np.ndarray, n: int, rng, jitter_m: float) -> np.ndarray:
    """``n`` points uniform along the union of ``geoms`` (probability proportional to length), jittered."""
    length = shapely.length(geoms)
    pick = rng.choice(len(geoms), size=n, p=length / length.sum())
    pts = shapely.line_interpolate_point(geoms[pick], rng.uniform(0, 1, n), normalized=True)
    return shapely.get_coordinates(pts) + rng.normal(0, jitter_m, (n, 2))


def run_test(geoms, H, xy, share=None):
    seg = attribute_incidents(geoms, xy, REACH_M)
    counts = np.bincount(seg[seg >= 0], minlength=len(geoms))
    return segment_hotspots(counts, shapely.length(geoms) if share is None else share, H)


def line_run(seed: int, cluster: int = 0):
    rng = np.random.default_rng(seed)
    m = rng.poisson(1600)
    xy = np.c_[rng.uniform(0, 1_000_000, m), rng.normal(0, 300, m)]
    c = np.c_[rng.normal(CLUSTER_CENTRE, 1000, cluster), rng.normal(0, 300, cluster)]
    return run_test(LINE, LINE_H, np.r_[xy, c])


def score_line(seed: int, cluster: int = 0):
    """The line scenario through ``routerisk.score_segments`` (default model, EPSG:6372, dated homicides)."""
    import geopandas as gpd
    import pandas as pd

    from routerisk import RiskModel, score_segments

    offset = np.array([2_000_000.0, 1_000_000.0])  # central Mexico in EPSG:6372
    segs = gpd.GeoDataFrame(
        {"segment_id": [f"s{i:03d}" for i in range(len(LINE))]},
        geometry=[shapely.LineString(np.asarray(g.coords) + offset) for g in LINE], crs="EPSG:6372",
    )
    rng = np.random.default_rng(seed)
    m = rng.poisson(1600)
    xy = np.c_[rng.uniform(0, 1_000_000, m), rng.normal(0, 300, m)]
    c = np.c_[rng.normal(CLUSTER_CENTRE, 1000, cluster), rng.normal(0, 300, cluster)]
    xy = np.r_[xy, c] + offset
    inc = gpd.GeoDataFrame({"category": np.full(len(xy), "homicide"), "date": pd.Timestamp("2024-06-01")},
                           geometry=shapely.points(xy), crs="EPSG:6372")
    return score_segments(segs, inc, model=RiskModel(crs="EPSG:6372"))


def flagged(out) -> bool:
    return bool(out["hotspot"].str.startswith(("hot", "cold")).any())


def wilson(k: int, n: int) -> str:
    """95% Wilson interval of a proportion, as text."""
    z = 1.959964
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"[{max(0, centre - half):.1%}, {min(1, centre + half):.1%}]"


LINE_H = network_neighbourhood(segment_adjacency(LINE), DEFAULT_NEIGHBOUR_STEPS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--segments", type=int, default=40_000)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--no-write", action="store_true", help="Do not append to results_hotspots.md.")
    args = parser.parse_args()
    lines, missed = [], []

    # -- speed
    geoms = corridor_segments(args.segments)
    rng = np.random.default_rng(0)
    xy = points_along(geoms, args.incidents, rng, jitter_m=3000.0)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        A = segment_adjacency(geoms, snap_m=DEFAULT_SNAP_M)
        t1 = time.perf_counter()
        H = network_neighbourhood(A, DEFAULT_NEIGHBOUR_STEPS)
        t2 = time.perf_counter()
        seg = attribute_incidents(geoms, xy, REACH_M)
        t3 = time.perf_counter()
        counts = np.bincount(seg[seg >= 0], minlength=len(geoms))
        out = segment_hotspots(counts, shapely.length(geoms), H)
        t4 = time.perf_counter()
        times.append((t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0))
    med = np.median(np.array(times), axis=0)
    junctions = int((np.diff(A.indptr) > 2).sum())
    lines.append(
        f"speed, {len(geoms):,} segments (shipped corridors, {junctions:,} segments with more than 2 neighbours) x "
        f"{args.incidents:,} incidents, median of 3: adjacency {med[0]:.2f} s, neighbourhood {med[1]:.2f} s, "
        f"attribution {med[2]:.2f} s, test + BH {med[3]:.2f} s; total {med[4]:.2f} s (target < 5 s); "
        f"{int((seg >= 0).sum()):,} incidents attributed, {int(out['p_raw'].notna().sum()):,} segments tested"
    )
    if med[4] >= 5.0:
        missed.append("speed")

    # -- calibration on the line
    t0 = time.perf_counter()
    runs = [line_run(seed) for seed in range(args.seeds)]
    k = sum(flagged(o) for o in runs)
    p = np.concatenate([o["p_raw"].to_numpy() for o in runs])
    labels = np.mean([o["hotspot"].str.startswith(("hot", "cold")).sum() for o in runs])
    lines.append(
        f"calibration, 1,000 km line, 200 x 5 km segments, ~1,600 homogeneous incidents, {args.seeds} seeds: "
        f"any hot/cold label at q = 0.10 in {k}/{args.seeds} runs = {k / args.seeds:.1%} "
        f"(95% CI {wilson(k, args.seeds)}; target <= 10%); mean labelled segments per run {labels:.3f} of 200; "
        f"unadjusted P(p_raw <= 0.05) = {np.mean(p <= 0.05):.4f}, P(p_raw <= 0.10) = {np.mean(p <= 0.10):.4f} "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    if k / args.seeds > 0.10:
        missed.append("calibration (line)")

    # -- calibration on the corridor network (junctions and crossings), 5 km segments
    t0 = time.perf_counter()
    net = corridor_segments(round(float(shapely.length(geoms).sum()) / 5000.0))
    net_H = network_neighbourhood(segment_adjacency(net), DEFAULT_NEIGHBOUR_STEPS)
    k_net = 0
    for seed in range(args.seeds):
        rng = np.random.default_rng(50_000 + seed)
        k_net += flagged(run_test(net, net_H, points_along(net, rng.poisson(8 * len(net)), rng, jitter_m=300.0)))
    lines.append(
        f"calibration, shipped corridors cut into {len(net):,} segments of ~5 km (routes meet and cross), ~8 "
        f"incidents per segment uniform along the network, {args.seeds} seeds: any hot/cold label in "
        f"{k_net}/{args.seeds} runs = {k_net / args.seeds:.1%} (95% CI {wilson(k_net, args.seeds)}) "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    if k_net / args.seeds > 0.10:
        missed.append("calibration (corridors)")

    # -- the same line scenario end to end through routerisk.score_segments (default model: reach of the kernel)
    t0 = time.perf_counter()
    k_score = sum(flagged(score_line(seed)) for seed in range(args.seeds))
    hits = sum(
        bool(score_line(200_000 + seed, 25)["hotspot"].iloc[NEAR_CLUSTER].str.startswith("hot").any())
        for seed in range(args.seeds)
    )
    lines.append(
        f"through routerisk.score_segments (default RiskModel, EPSG:6372), same line scenario, {args.seeds} seeds: "
        f"any hot/cold label in {k_score}/{args.seeds} null runs = {k_score / args.seeds:.1%} "
        f"(95% CI {wilson(k_score, args.seeds)}); 25-incident cluster found in {hits / args.seeds:.1%} "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    if k_score / args.seeds > 0.10:
        missed.append("calibration (score_segments)")
    if hits / args.seeds < 0.90:
        missed.append("power (score_segments)")

    # -- power
    curve = []
    for size in (5, 10, 15, 20, 25, 30):
        hits = sum(
            bool(line_run(100_000 + seed, size)["hotspot"].iloc[NEAR_CLUSTER].str.startswith("hot").any())
            for seed in range(args.seeds)
        )
        curve.append(f"{size}: {hits / args.seeds:.1%}")
        if size == 25 and hits / args.seeds < 0.90:
            missed.append("power")
    lines.append(
        f"power, cluster of n incidents (1 km sd along the line) over the same background, found = a hot label on "
        f"segments 98-102, {args.seeds} seeds per size: " + ", ".join(curve) + " (target >= 90% at 25)"
    )

    print("\n".join(lines))
    if missed:
        print(f"missed: {', '.join(missed)}", file=sys.stderr)
    if not args.no_write:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        head = (f"\n## {stamp} — {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
                f"load average {load} (shared machine)\n\n")
        with RESULTS.open("a", encoding="utf-8") as fh:
            if fh.tell() == 0:
                fh.write("# Network hot-spot benchmark (`benchmarks/bench_hotspots.py`)\n")
            fh.write(head + "\n".join(f"- {line}" for line in lines) + "\n")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
