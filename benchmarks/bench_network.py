"""Benchmark of the route network: access columns for ~40,000 segments, NKDE on 40,000 lixels x 100,000 incidents.

Not a unit test. Run ``.venv/bin/python benchmarks/bench_network.py``; the figures are printed and appended to
``benchmarks/results_network.md``. The routes are the shipped corridors. Access: the corridors cut into ~40,000
segments, the embedded shelters and COMAR offices, the illustrative zones; the timed part is
``protection_access`` on the graph's ``NetworkArrays`` (the graph construction, the arrays and the call on the
networkx graph are reported beside it). NKDE: the corridors cut
into 5 km segments, lixels of ``total length / 40,000``, 100,000 incidents scattered around points drawn along the
routes (seeded, 2 km normal noise), bandwidth 10 km, quartic kernel, each method timed after a small warm-up call
(numba compilation). Targets: access <= 1 s, each NKDE method <= 5 s.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import time
from pathlib import Path

import numpy as np
import shapely

from routerisk.access import NetworkArrays, protection_access
from routerisk.datasets import load_corridors, load_shelters, load_zones
from routerisk.netkde import NKDE_METHODS, nkde
from routerisk.network import route_network
from routerisk.routes import segmentize

RESULTS = Path(__file__).with_name("results_network.md")
N_SEGMENTS, N_LIXELS, N_INCIDENTS = 40_000, 40_000, 100_000
BANDWIDTH_M = 10_000.0


def bench_access() -> tuple[list[str], bool]:
    corridors = load_corridors().to_crs("EPSG:6372")
    total = float(corridors.length.sum())
    segs = segmentize(corridors, segment_length_m=total / N_SEGMENTS)
    t = time.perf_counter()
    graph = route_network(segs)
    t_graph = time.perf_counter() - t
    t = time.perf_counter()
    arrays = NetworkArrays(graph)
    t_arr = time.perf_counter() - t
    shelters, zones = load_shelters(), load_zones()
    protection_access(arrays, shelters, zones=zones)  # warm-up (imports)
    t = time.perf_counter()
    acc = protection_access(arrays, shelters, zones=zones)
    t_acc = time.perf_counter() - t
    t = time.perf_counter()
    protection_access(graph, shelters, zones=zones)
    t_whole = time.perf_counter() - t
    lines = [f"| access columns, {len(acc):,} segments ({graph.number_of_nodes():,} nodes), on NetworkArrays | "
             f"{t_acc:.2f} s | <= 1 s | graph built in {t_graph:.1f} s, its arrays in {t_arr:.2f} s; "
             f"from the networkx graph: {t_whole:.2f} s |"]  # fmt: skip
    return lines, t_acc <= 1.0


def bench_nkde() -> tuple[list[str], bool]:
    corridors = load_corridors().to_crs("EPSG:6372")
    total = float(corridors.length.sum())
    segs = segmentize(corridors, segment_length_m=5000)
    graph = route_network(segs)
    rng = np.random.default_rng(7)
    lines_geom = corridors.geometry.to_numpy()
    which = rng.choice(len(lines_geom), N_INCIDENTS, p=corridors.length.to_numpy() / total)
    at = shapely.line_interpolate_point(lines_geom[which], rng.random(N_INCIDENTS), normalized=True)
    xy = shapely.get_coordinates(at) + rng.normal(0, 2000, (N_INCIDENTS, 2))
    w = rng.uniform(0.3, 1.0, N_INCIDENTS)
    lixel_m = total / N_LIXELS
    rows, ok = [], True
    for method in NKDE_METHODS:
        nkde(graph, xy[:100], BANDWIDTH_M, lixel_m * 20, method=method, weights=w[:100])  # warm-up
        t = time.perf_counter()
        lx = nkde(graph, xy, BANDWIDTH_M, lixel_m, method=method, weights=w)
        dt_ = time.perf_counter() - t
        mass = float((lx["density"] * lx["length_m"]).sum())
        rows.append(f"| NKDE {method}, {len(lx):,} lixels x {N_INCIDENTS:,} incidents, h = 10 km | {dt_:.2f} s | "
                    f"<= 5 s | mass {mass:,.0f} of {w.sum():,.0f} |")  # fmt: skip
        ok &= dt_ <= 5.0
    return rows, ok


def main() -> int:
    acc_rows, acc_ok = bench_access()
    nkde_rows, nkde_ok = bench_nkde()
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = [f"\n## {stamp} ({platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()})\n",
            "| case | time | target | note |", "|---|---|---|---|", *acc_rows, *nkde_rows, ""]  # fmt: skip
    print("\n".join(text))
    if not RESULTS.exists():
        RESULTS.write_text("# Route network benchmarks (benchmarks/bench_network.py)\n", encoding="utf-8")
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("\n".join(text))
    return 0 if acc_ok and nkde_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
