"""Benchmark of the exposure engine against the naive geopandas approach, and at 1M incidents x 400k segments.

Run: ``.venv/bin/python benchmarks/bench_engine.py [--repeats 5] [--out benchmarks/results.md]`` (``make bench``).
Targets (issue 3), h = 10 km, 1 km segments:

1. 100,000 incidents x 40,000 segments: the engine at least 20x faster than buffer + ``gpd.sjoin`` + exact
   distances + sum per segment, with identical results;
2. 1,000,000 incidents x 400,000 segments in under 10 s with peak memory under 1 GB.

Synthetic data: routes are smooth random walks of 1 km steps in a 2,000 x 1,200 km box (the size of Mexico);
70% of the incidents lie near a route (normal offset, sd 3 km) and 30% anywhere in the box. The large case runs
in a child process so that its peak resident memory (``VmHWM``, reset before each run) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BOX = (2_000_000.0, 1_200_000.0)
ORIGIN = (1_500_000.0, 500_000.0)  # roughly where Mexico lies in EPSG:6372
H = 10_000.0


def make_routes(n_routes: int, n_steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of ``n_routes * n_steps`` segments of 1 km along smooth random walks."""
    rng = np.random.default_rng(seed)
    start = np.asarray(ORIGIN) + rng.uniform((0.0, 0.0), BOX, (n_routes, 2))
    heading = rng.uniform(0, 2 * np.pi, n_routes)[:, None] + np.cumsum(rng.normal(0, 0.15, (n_routes, n_steps)), 1)
    steps = np.stack([np.cos(heading), np.sin(heading)], axis=-1) * 1000.0
    xy = np.concatenate([start[:, None, :], start[:, None, :] + np.cumsum(steps, axis=1)], axis=1)
    return xy[:, :-1].reshape(-1, 2).copy(), xy[:, 1:].reshape(-1, 2).copy()


def make_incidents(n: int, xy0: np.ndarray, xy1: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Incident coordinates (70% near a route) and weights."""
    rng = np.random.default_rng(seed)
    n_near = int(0.7 * n)
    at = rng.integers(0, len(xy0), n_near)
    near = (xy0[at] + xy1[at]) / 2.0 + rng.normal(0.0, 3000.0, (n_near, 2))
    anywhere = np.asarray(ORIGIN) + rng.uniform((0.0, 0.0), BOX, (n - n_near, 2))
    return np.concatenate([near, anywhere]), rng.uniform(0.3, 2.0, n)


def engine_run(lines, points, w, h, kernel):
    """The engine end to end from shapely geometries: explode pieces, read coordinates, score."""
    import shapely

    from routerisk.engine import exposure, segment_pieces

    xy0, xy1, ps = segment_pieces(lines)
    pts = shapely.get_coordinates(points)
    return exposure(xy0, xy1, pts, w, h, kernel, piece_segment=ps, n_segments=len(lines))


def naive_run(seg_gdf, inc_gdf, w, h, kernel):
    """Buffer every segment by slightly more than the cutoff, sjoin, exact distances on joined rows, sum."""
    import geopandas as gpd
    import shapely

    from routerisk.engine import kernel_values
    from routerisk.model import KERNEL_SUPPORT

    cutoff = KERNEL_SUPPORT[kernel] * h
    # polygonal buffers lie up to R (1 - cos(pi / 32)) = 0.5% inside the true circle: widen by 1%
    buffered = gpd.GeoDataFrame(geometry=seg_gdf.buffer(cutoff * 1.01), crs=seg_gdf.crs)
    joined = gpd.sjoin(inc_gdf, buffered, predicate="intersects", how="inner")
    pi = joined.index.to_numpy()
    si = joined["index_right"].to_numpy()
    d = shapely.distance(np.asarray(inc_gdf.geometry.array)[pi], np.asarray(seg_gdf.geometry.array)[si])
    inside = d < cutoff if kernel != "uniform" else d <= cutoff
    pi, si, d = pi[inside], si[inside], d[inside]
    k = kernel_values(d, h, kernel)
    n_seg = len(seg_gdf)
    return np.bincount(si, weights=w[pi] * k, minlength=n_seg), np.bincount(si, minlength=n_seg)


def _timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times, out


def compare_case(n_inc: int, n_routes: int, kernel: str, repeats: int, naive_repeats: int) -> dict:
    """Engine (numba and numpy backends) against naive, same data, same answers."""
    import geopandas as gpd
    import shapely

    from routerisk.engine import exposure, segment_pieces

    xy0, xy1 = make_routes(n_routes, 1000, seed=1)
    pts, w = make_incidents(n_inc, xy0, xy1, seed=2)
    lines = shapely.linestrings(np.stack([xy0, xy1], axis=1))
    points = shapely.points(pts)
    seg_gdf = gpd.GeoDataFrame(geometry=lines, crs="EPSG:6372")
    inc_gdf = gpd.GeoDataFrame(geometry=points, crs="EPSG:6372")

    t0 = time.perf_counter()
    engine_run(lines, points, w, H, kernel)  # first call: loads the compiled kernels from numba's cache
    first = time.perf_counter() - t0
    t_eng, eng_times, (e, n) = _timed(lambda: engine_run(lines, points, w, H, kernel), repeats)
    a, b, ps = segment_pieces(lines)
    t_np, np_times, (e_np, n_np) = _timed(
        lambda: exposure(a, b, pts, w, H, kernel, piece_segment=ps, backend="numpy"), 1
    )
    t_nv, nv_times, (e_nv, n_nv) = _timed(lambda: naive_run(seg_gdf, inc_gdf, w, H, kernel), naive_repeats)
    scale = np.maximum(np.abs(e_nv), 1e-300)
    return {
        "n_incidents": n_inc,
        "n_segments": len(lines),
        "kernel": kernel,
        "pairs": int(n.sum()),
        "engine_s": t_eng,
        "engine_runs": eng_times,
        "engine_first_call_s": first,
        "numpy_backend_s": t_np,
        "numpy_runs": np_times,
        "naive_s": t_nv,
        "naive_runs": nv_times,
        "speedup": t_nv / t_eng,
        "max_rel_diff_vs_naive": float(np.max(np.where(e_nv > 0, np.abs(e - e_nv) / scale, np.abs(e)))),
        "count_mismatches_vs_naive": int(np.sum(n != n_nv)),
        "max_rel_diff_numpy_backend": float(np.max(np.where(e > 0, np.abs(e - e_np) / np.maximum(e, 1e-300), 0))),
        "count_mismatches_numpy_backend": int(np.sum(n != n_np)),
    }


def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key = line.split(":")[0]
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(line.split()[1]) * 1024
    return out


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def large_case_child(n_inc: int, n_routes: int, kernel: str, repeats: int) -> dict:
    """Runs in a fresh process: time and peak memory of ``exposure`` on coordinate arrays."""
    from routerisk.engine import exposure

    xy0, xy1 = make_routes(n_routes, 1000, seed=3)
    pts, w = make_incidents(n_inc, xy0, xy1, seed=4)
    exposure(xy0[:10], xy1[:10], pts[:10], w[:10], H, kernel)  # load compiled kernels outside the measurement
    base = _status()["VmRSS"]
    times, peaks, pairs = [], [], 0
    for _ in range(repeats):
        can_reset = _reset_peak()
        t = time.perf_counter()
        e, n = exposure(xy0, xy1, pts, w, H, kernel)
        times.append(time.perf_counter() - t)
        peaks.append(_status()["VmHWM"])
        pairs = int(n.sum())
        del e, n
    return {
        "n_incidents": n_inc,
        "n_segments": len(xy0),
        "kernel": kernel,
        "pairs": pairs,
        "engine_s": statistics.median(times),
        "engine_runs": times,
        "baseline_rss_bytes": base,
        "peak_rss_bytes": max(peaks) if can_reset else None,
        "peak_extra_bytes": (max(peaks) - base) if can_reset else None,
        "input_bytes": int(xy0.nbytes + xy1.nbytes + pts.nbytes + w.nbytes),
    }


def large_case(n_inc: int, n_routes: int, kernel: str, repeats: int) -> dict:
    args = [sys.executable, __file__, "--child", str(n_inc), str(n_routes), kernel, str(repeats)]
    done = subprocess.run(args, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> dict:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import numba

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "numba": numba.__version__,
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "load_average_at_start": os.getloadavg()[0],
    }


def render(mach: dict, cmp: list[dict], large: list[dict], repeats: int) -> str:
    gb = 1024**3
    lines = [
        "# Exposure engine benchmark",
        "",
        f"Machine: {mach['nproc']} CPUs ({mach['cpu']}), Python {mach['python']}, numba {mach['numba']} "
        f"with {mach['numba_threads']} threads; 1-minute load average at start {mach['load_average_at_start']:.1f} "
        f"(a load above {mach['nproc']} means other work shared the CPUs and the times are pessimistic).",
        f"Data: smooth random-walk routes of 1 km segments in a 2,000 x 1,200 km box, 70% of incidents near a route; "
        f"h = {H / 1000:g} km. Times are medians over {repeats} runs (naive: fewer; numpy backend: one) "
        "after one warm-up call that loads the compiled kernels from numba's on-disk cache.",
        "",
        "## Engine against the naive geopandas approach",
        "",
        "Naive: buffer each segment by 1.01 x cutoff, `gpd.sjoin` (intersects), `shapely.distance` on the joined "
        "rows, kernel, `np.bincount` per segment. Engine: `segment_pieces` + `exposure` from the same shapely "
        "geometries.",
        "",
        "| incidents | segments | kernel (cutoff) | pairs in reach | engine | numpy backend | naive | speed-up "
        "| max rel. diff vs naive | count mismatches |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in cmp:
        cut = "3h" if r["kernel"] == "gaussian" else "h"
        lines.append(
            f"| {r['n_incidents']:,} | {r['n_segments']:,} | {r['kernel']} ({cut}) | {r['pairs']:,} "
            f"| {r['engine_s']:.3f} s | {r['numpy_backend_s']:.2f} s | {r['naive_s']:.2f} s | {r['speedup']:.0f}x "
            f"| {r['max_rel_diff_vs_naive']:.1e} | {r['count_mismatches_vs_naive']} |"
        )
    lines += [
        "",
        "## Large case (target: < 10 s, peak memory < 1 GB)",
        "",
        "`exposure` on coordinate arrays in a fresh process; peak = the process's peak resident memory (`VmHWM`, "
        "reset before each run), which includes the interpreter, numpy, numba and the inputs.",
        "",
        "| incidents | segments | kernel (cutoff) | pairs in reach | engine (median) | runs | peak RSS of the process "
        "| peak above baseline |",
        "|---:|---:|---|---:|---:|---|---:|---:|",
    ]
    for r in large:
        cut = "3h" if r["kernel"] == "gaussian" else "h"
        runs = ", ".join(f"{t:.2f}" for t in r["engine_runs"])
        peak = "n/a" if r["peak_rss_bytes"] is None else f"{r['peak_rss_bytes'] / gb:.2f} GB"
        extra = "n/a" if r["peak_extra_bytes"] is None else f"{r['peak_extra_bytes'] / 1024**2:.0f} MB"
        lines.append(
            f"| {r['n_incidents']:,} | {r['n_segments']:,} | {r['kernel']} ({cut}) | {r['pairs']:,} "
            f"| {r['engine_s']:.2f} s | {runs} | {peak} | {extra} |"
        )
    lines += [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        n_inc, n_routes, kernel, repeats = int(argv[1]), int(argv[2]), argv[3], int(argv[4])
        print(json.dumps(large_case_child(n_inc, n_routes, kernel, repeats)))
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5, help="runs of the engine per case (median reported)")
    p.add_argument("--naive-repeats", type=int, default=3, help="runs of the naive approach")
    p.add_argument("--scale", type=float, default=1.0, help="shrink the cases (e.g. 0.1) for a quick look")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results.md"), help="markdown file to write")
    args = p.parse_args(argv)
    mach = machine()
    s = args.scale
    cmp = []
    for kernel in ("gaussian", "quartic"):
        r = compare_case(int(100_000 * s), max(1, int(40 * s)), kernel, args.repeats, args.naive_repeats)
        print(json.dumps(r), file=sys.stderr)
        cmp.append(r)
    large = []
    for kernel in ("gaussian", "quartic"):
        r = large_case(int(1_000_000 * s), max(1, int(400 * s)), kernel, max(3, args.repeats // 2 + 1))
        print(json.dumps(r), file=sys.stderr)
        large.append(r)
    text = render(mach, cmp, large, args.repeats)
    ok_speed = all(r["speedup"] >= 20 and r["max_rel_diff_vs_naive"] < 1e-9 for r in cmp)
    ok_large = all(r["engine_s"] < 10 and (r["peak_rss_bytes"] or 0) < 1024**3 for r in large)
    text += f"\nTargets: speed-up >= 20x with identical results: {'met' if ok_speed else 'NOT met'}; "
    text += f"1M x 400k under 10 s and 1 GB: {'met' if ok_large else 'NOT met'}.\n"
    print(text)
    Path(args.out).write_text(text, encoding="utf-8")
    return 0 if ok_speed and ok_large else 1


if __name__ == "__main__":
    raise SystemExit(main())
