"""Front door: ``routerisk.score_segments`` end to end against the naive geopandas approach, in one run.

Run: ``.venv/bin/python benchmarks/bench_front_door.py [--repeats 5] [--out benchmarks/results_front_door.md]``
(``make bench``). Target (issue 13, item 6): GeoDataFrames in, GeoDataFrame out, 100,000 incidents x ~40,000
segments, at least 150x faster than the naive approach with identical exposures (relative difference <= 1e-9,
identical counts).

Both sides start from the same EPSG:4326 GeoDataFrames (the layers a user reads) and compute the same exposure
``E_s = sum_i w_i K(d_is; h_i)`` (weights: severity x decay x the precision factor; bandwidths widened by the
location precision; the public functions :func:`routerisk.scoring.incident_weights`,
:func:`~routerisk.scoring.incident_bandwidths` and :func:`~routerisk.scoring.precision_factor` give both the same
inputs):

- naive: ``to_crs`` of both layers, ``buffer`` every segment by the largest cutoff (+1% for the polygonal buffer),
  ``gpd.sjoin``, exact ``shapely.distance`` on the joined pairs, the cutoff of each incident, the kernel,
  ``np.bincount``;
- public: ``routerisk.score_segments`` (which also computes the exposure intervals, both risk terms, classes and
  the network hot-spot test).

The run also reports where the public function's time goes (each step timed separately on the same data) and the
exposure-only front door (projection + pieces + engine, no intervals or hot spots).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_engine import make_incidents, make_routes  # noqa: E402

import routerisk  # noqa: E402
from routerisk.engine import exposure, kernel_values  # noqa: E402
from routerisk.model import KERNEL_SUPPORT, RiskModel  # noqa: E402
from routerisk.scoring import incident_bandwidths, incident_weights, precision_factor  # noqa: E402

TARGET = 150.0
# the fixed analysis CRS of Mexico (the synthetic routes wander outside Mexico's box, where "auto" would pick an
# azimuthal projection whose pyproj transform is ~8x slower for both sides)
MODEL = RiskModel(bandwidth_m=10_000.0, segment_length_m=1_000.0, half_life_days=365.0, crs="EPSG:6372")
CATEGORIES = np.array(["homicide", "robbery", "kidnapping", "extortion", "assault"])


def make_layers(n_inc: int, n_routes: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Segments (1 km, smooth random walks) and incidents (70% near a route), both in EPSG:4326."""
    xy0, xy1 = make_routes(n_routes, 1000, seed=1)
    pts, _ = make_incidents(n_inc, xy0, xy1, seed=2)
    lines = shapely.linestrings(np.stack([xy0, xy1], axis=1))
    seg = gpd.GeoDataFrame({"segment_id": np.arange(len(lines))}, geometry=lines, crs="EPSG:6372").to_crs(4326)
    rng = np.random.default_rng(3)
    inc = gpd.GeoDataFrame(
        {
            "category": rng.choice(CATEGORIES, n_inc),
            "victims": rng.integers(1, 4, n_inc),
            "date": pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 900, n_inc), unit="D"),
            "location_precision": rng.choice(["exact", "locality", "municipality"], n_inc),
        },
        geometry=shapely.points(pts),
        crs="EPSG:6372",
    ).to_crs(4326)
    return seg, inc


def naive(seg: gpd.GeoDataFrame, inc: gpd.GeoDataFrame, model: RiskModel) -> tuple[np.ndarray, np.ndarray]:
    """Buffer + sjoin + exact distances, the same exposure (in the analysis CRS routerisk picks for the data)."""
    crs = routerisk.analysis_crs(tuple(seg.total_bounds), model.crs)
    seg_p, inc_p = seg.to_crs(crs), inc.to_crs(crs)
    h = incident_bandwidths(inc, model)
    w = incident_weights(inc, model) * precision_factor(h, model)
    cutoff = KERNEL_SUPPORT[model.kernel] * h
    buffered = gpd.GeoDataFrame(geometry=seg_p.buffer(float(np.nanmax(cutoff)) * 1.01), crs=crs)
    joined = gpd.sjoin(inc_p, buffered, predicate="intersects", how="inner")
    pi = joined.index.to_numpy()
    si = joined["index_right"].to_numpy()
    d = shapely.distance(np.asarray(inc_p.geometry.array)[pi], np.asarray(seg_p.geometry.array)[si])
    inside = d <= cutoff[pi] if model.kernel == "uniform" else d < cutoff[pi]
    pi, si, d = pi[inside], si[inside], d[inside]
    k = kernel_values(d, h[pi], model.kernel)
    n_seg = len(seg)
    return np.bincount(si, weights=w[pi] * k, minlength=n_seg), np.bincount(si, minlength=n_seg)


def exposure_only(seg: gpd.GeoDataFrame, inc: gpd.GeoDataFrame, model: RiskModel):
    """The exposure front door alone: one projection of each layer's coordinates, pieces, the engine."""
    from routerisk._coords import ProjectedSegments, _projected_point_xy

    crs = routerisk.analysis_crs(tuple(seg.total_bounds), model.crs)
    h = incident_bandwidths(inc, model)
    w = incident_weights(inc, model) * precision_factor(h, model)
    x, y, ok = _projected_point_xy(inc, crs)
    segs = ProjectedSegments(seg, crs)
    return exposure(segs.xy0, segs.xy1, np.column_stack([x, y])[ok], w[ok], h[ok], model.kernel,
                    piece_segment=segs.piece_segment, n_segments=segs.n)  # fmt: skip


def _timed(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times, out


def breakdown(seg: gpd.GeoDataFrame, inc: gpd.GeoDataFrame, model: RiskModel) -> dict[str, float]:
    """Each step of ``score_segments`` timed on its own (same functions, same data)."""
    from routerisk._coords import ProjectedSegments, _projected_point_xy
    from routerisk.intervals import exposure_interval, mean_reach_kernel
    from routerisk.stats import attribute_incidents, network_neighbourhood, segment_adjacency, segment_hotspots

    crs = routerisk.analysis_crs(tuple(seg.total_bounds), model.crs)
    out: dict[str, float] = {}

    def step(name, fn):
        t = time.perf_counter()
        r = fn()
        out[name] = time.perf_counter() - t
        return r

    segs = step("project segments (one transform; pieces, lengths)", lambda: ProjectedSegments(seg, crs))
    geoms, (xy0, xy1, ps), seg_len = segs.raw, segs.pieces, segs.length
    x, y, ok = step("project incident coordinates", lambda: _projected_point_xy(inc, crs))
    h = step("weights and bandwidths", lambda: incident_bandwidths(inc, model))
    w = incident_weights(inc, model) * precision_factor(h, model)
    pts = np.column_stack([x, y])[ok]
    e, _, v, m = step("engine (exposure + moments)", lambda: exposure(
        xy0, xy1, pts, w[ok], h[ok], model.kernel, piece_segment=ps, n_segments=len(geoms), moments=True))
    step("intervals", lambda: exposure_interval(e, v, m, mean_reach_kernel(model.kernel, model.bandwidth_m, seg_len)))
    att = step("attribution (nearest segment)", lambda: attribute_incidents(
        geoms, pts, KERNEL_SUPPORT[model.kernel] * h[ok], pieces=(xy0, xy1, ps)))
    A = step("adjacency", lambda: segment_adjacency(geoms, snap_m=model.junction_snap_m, pieces=(xy0, xy1, ps)))
    H = step("neighbourhoods", lambda: network_neighbourhood(A, model.neighbour_steps))
    counts = np.bincount(att[att >= 0], minlength=len(geoms))
    step("binomial test + FDR + Gi*", lambda: segment_hotspots(counts, seg_len, H))
    return out


def _median_breakdown(seg, inc, model, repeats: int) -> dict[str, float]:
    runs = [breakdown(seg, inc, model) for _ in range(repeats)]
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def run(n_inc: int, n_routes: int, repeats: int, naive_repeats: int) -> dict:
    seg, inc = make_layers(n_inc, n_routes)
    routerisk.score_segments(seg.iloc[:200], inc.iloc[:2000], model=MODEL)  # load the compiled functions
    t_pub, pub_runs, scored = _timed(lambda: routerisk.score_segments(seg, inc, model=MODEL), repeats)
    t_exp, _, (e_exp, n_exp) = _timed(lambda: exposure_only(seg, inc, MODEL), repeats)
    t_nv, nv_runs, (e_nv, n_nv) = _timed(lambda: naive(seg, inc, MODEL), naive_repeats)
    e_pub = scored["incident_exposure"].to_numpy()
    n_pub = scored["n_incidents"].to_numpy()
    scale = np.maximum(np.abs(e_nv), 1e-300)
    rel = float(np.max(np.where(e_nv > 0, np.abs(e_pub - e_nv) / scale, np.abs(e_pub))))
    rel_exp = float(np.max(np.where(e_nv > 0, np.abs(e_exp - e_nv) / scale, np.abs(e_exp))))
    return {
        "n_incidents": n_inc,
        "n_segments": len(seg),
        "pairs": int(n_nv.sum()),
        "public_s": t_pub,
        "public_runs": pub_runs,
        "exposure_only_s": t_exp,
        "naive_s": t_nv,
        "naive_runs": nv_runs,
        "speedup": t_nv / t_pub,
        "speedup_exposure_only": t_nv / t_exp,
        "max_rel_diff": rel,
        "max_rel_diff_exposure_only": rel_exp,
        "count_mismatches": int(np.sum(n_pub != n_nv)) + int(np.sum(n_exp != n_nv)),
        "breakdown": _median_breakdown(seg, inc, MODEL, repeats),
    }


def report(r: dict) -> str:
    ok = r["speedup"] >= TARGET and r["max_rel_diff"] <= 1e-9 and r["count_mismatches"] == 0
    rows = "\n".join(f"| {k} | {v * 1000:.1f} |" for k, v in r["breakdown"].items())
    return f"""# Front door: `score_segments` against the naive geopandas approach

Generated by `benchmarks/bench_front_door.py` on {platform.node() or "this machine"} ({platform.processor() or
platform.machine()}, Python {platform.python_version()}), {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}.
Both sides start from the same EPSG:4326 GeoDataFrames; medians of the runs.

| case | value |
|---|---|
| incidents x segments | {r["n_incidents"]:,} x {r["n_segments"]:,} ({r["pairs"]:,} pairs in reach) |
| naive (to_crs + buffer + sjoin + distance + bincount) | {r["naive_s"]:.2f} s |
| `routerisk.score_segments` end to end (exposure, intervals, both terms, classes, hot spots) | {r["public_s"]:.3f} s |
| speed-up, public function | **{r["speedup"]:.0f}x** (target {TARGET:.0f}x: {"met" if ok else "NOT met"}) |
| exposure-only front door (projection + pieces + engine) | {r["exposure_only_s"]:.3f} s |
| speed-up, exposure only | {r["speedup_exposure_only"]:.0f}x |
| largest relative difference of the exposure vs naive (public / exposure only) | {r["max_rel_diff"]:.1e} / \
{r["max_rel_diff_exposure_only"]:.1e} |
| segments whose count of incidents in reach differs | {r["count_mismatches"]} |

Where the public function's time goes (each step timed alone, median of the runs, ms; the steps overlap a little
with the end-to-end figure, which also copies the table and computes the terms and classes):

| step | ms |
|---|---|
{rows}

Runs (s): public {", ".join(f"{t:.3f}" for t in r["public_runs"])}; naive {", ".join(f"{t:.2f}" for t in
r["naive_runs"])}. The machine is shared (2 cores), so the runs vary; the speed-up is the ratio of medians
measured in the same process, minutes apart at most.
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--incidents", type=int, default=100_000)
    ap.add_argument("--routes", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--naive-repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=HERE / "results_front_door.md")
    args = ap.parse_args(argv)
    r = run(args.incidents, args.routes, args.repeats, args.naive_repeats)
    text = report(r)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    assert r["max_rel_diff"] <= 1e-9 and r["count_mismatches"] == 0, "results differ from the naive approach"
    return 0 if r["speedup"] >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
