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
- ``routerisk.score_segments(..., inference=False)``: what the naive approach computes (the exposure and the
  counts) plus the density, both risk terms, the percentile, classes and evidence, in the same output table. The
  150x target applies to this call;
- ``routerisk.score_segments`` (the default, ``inference=True``): the same plus the statistical inference the naive
  approach does not compute: the 90 % exposure intervals and the network hot-spot test (attribution of the records,
  adjacency, neighbourhoods, exact binomial tests, FDR, Gi*). Reported beside it, not held to the target.

The calls are timed in interleaved rounds (so a change of the machine's load hits all of them alike), medians. The
run also reports where the default call's time goes (each step timed separately on the same data) and the
exposure-only front door (projection + pieces + engine).
"""

from __future__ import annotations

import argparse
import os
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


def _rounds(fns: dict, repeats: int, naive_repeats: int) -> dict[str, tuple[float, list[float], object]]:
    """Median wall time of each function, timed in interleaved rounds; the naive one only ``naive_repeats`` times."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    outs: dict[str, object] = {}
    for r in range(repeats):
        for name, fn in fns.items():
            if name == "naive" and r >= naive_repeats:
                continue
            t = time.perf_counter()
            outs[name] = fn()
            times[name].append(time.perf_counter() - t)
    return {k: (statistics.median(v), v, outs[k]) for k, v in times.items()}


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
    def weights_and_bandwidths():
        h = incident_bandwidths(inc, model)
        return h, incident_weights(inc, model) * precision_factor(h, model)

    h, w = step("weights and bandwidths", weights_and_bandwidths)
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
    for inference in (True, False):  # load the compiled functions
        routerisk.score_segments(seg.iloc[:200], inc.iloc[:2000], model=MODEL, inference=inference)
    load_before = os.getloadavg()
    res = _rounds({
        "naive": lambda: naive(seg, inc, MODEL),
        "lean": lambda: routerisk.score_segments(seg, inc, model=MODEL, inference=False),
        "public": lambda: routerisk.score_segments(seg, inc, model=MODEL),
        "exposure_only": lambda: exposure_only(seg, inc, MODEL),
    }, repeats, naive_repeats)  # fmt: skip
    load_after = os.getloadavg()
    t_nv, nv_runs, (e_nv, n_nv) = res["naive"]
    t_lean, lean_runs, lean = res["lean"]
    t_pub, pub_runs, scored = res["public"]
    t_exp, _, (e_exp, n_exp) = res["exposure_only"]
    scale = np.maximum(np.abs(e_nv), 1e-300)

    def rel(e):
        return float(np.max(np.where(e_nv > 0, np.abs(e - e_nv) / scale, np.abs(e))))

    inference_cols = ["incident_exposure_lo", "incident_exposure_hi", "risk_lo", "risk_hi", "hotspot", "p_value",
                      "gi_z"]  # fmt: skip
    pd.testing.assert_frame_equal(lean.drop(columns=inference_cols), scored.drop(columns=inference_cols),
                                  check_exact=True)  # fmt: skip
    return {
        "n_incidents": n_inc,
        "n_segments": len(seg),
        "pairs": int(n_nv.sum()),
        "load": (load_before, load_after),
        "public_s": t_pub,
        "public_runs": pub_runs,
        "lean_s": t_lean,
        "lean_runs": lean_runs,
        "exposure_only_s": t_exp,
        "naive_s": t_nv,
        "naive_runs": nv_runs,
        "speedup": t_nv / t_pub,
        "speedup_lean": t_nv / t_lean,
        "speedup_exposure_only": t_nv / t_exp,
        "max_rel_diff": max(rel(scored["incident_exposure"].to_numpy()), rel(lean["incident_exposure"].to_numpy())),
        "max_rel_diff_exposure_only": rel(e_exp),
        "count_mismatches": int(np.sum(scored["n_incidents"].to_numpy() != n_nv))
        + int(np.sum(lean["n_incidents"].to_numpy() != n_nv))
        + int(np.sum(n_exp != n_nv)),
        "breakdown": _median_breakdown(seg, inc, MODEL, repeats),
    }


def report(r: dict) -> str:
    ok = r["speedup_lean"] >= TARGET and r["max_rel_diff"] <= 1e-9 and r["count_mismatches"] == 0
    rows = "\n".join(f"| {k} | {v * 1000:.1f} |" for k, v in r["breakdown"].items())
    (b1, b5, b15), (a1, _, _) = r["load"]
    return f"""# Front door: `score_segments` against the naive geopandas approach

Generated by `benchmarks/bench_front_door.py` on {platform.node() or "this machine"} ({platform.processor() or
platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} CPUs), \
{time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}; load average {b1:.2f} / {b5:.2f} / {b15:.2f} (1 / 5 / 15 min)
before the timed rounds, {a1:.2f} after. Both sides start from the same EPSG:4326 GeoDataFrames; the calls are timed
in interleaved rounds, medians.

The naive approach computes the exposure and the count of each segment. `score_segments(..., inference=False)` computes
the same plus the density, both risk terms, the percentile, the classes and the evidence, in the output table: **the
150x target applies to it**. The default call (`inference=True`) also computes what the naive approach does not: the
90 % exposure intervals and the network hot-spot test (attribution, adjacency, neighbourhoods, exact binomial tests,
FDR, Gi*); its speed-up is reported beside it. Both calls give the same values in every other column (checked).

| case | value |
|---|---|
| incidents x segments | {r["n_incidents"]:,} x {r["n_segments"]:,} ({r["pairs"]:,} pairs in reach) |
| naive (to_crs + buffer + sjoin + distance + bincount) | {r["naive_s"]:.2f} s |
| `score_segments(..., inference=False)` (exposure, counts, both terms, percentile, classes, evidence) | \
{r["lean_s"] * 1000:.1f} ms |
| **speed-up, `inference=False`** | **{r["speedup_lean"]:.0f}x** (target {TARGET:.0f}x: {"met" if ok else "NOT met"}) |
| `score_segments` default (the above + intervals + hot-spot test) | {r["public_s"] * 1000:.1f} ms |
| speed-up, default call | {r["speedup"]:.0f}x |
| exposure-only front door (projection + pieces + engine) | {r["exposure_only_s"] * 1000:.1f} ms |
| speed-up, exposure only | {r["speedup_exposure_only"]:.0f}x |
| largest relative difference of the exposure vs naive (score_segments / exposure only) | {r["max_rel_diff"]:.1e} / \
{r["max_rel_diff_exposure_only"]:.1e} |
| segments whose count of incidents in reach differs | {r["count_mismatches"]} |

Where the default call's time goes (each step timed alone, median of the runs, ms; the steps overlap a little
with the end-to-end figure, which also copies the table and computes the terms and classes; `inference=False` runs
only the first four):

| step | ms |
|---|---|
{rows}

Runs: `inference=False` (ms) {", ".join(f"{t * 1000:.1f}" for t in r["lean_runs"])}; default (ms) \
{", ".join(f"{t * 1000:.1f}" for t in r["public_runs"])}; naive (s) {", ".join(f"{t:.2f}" for t in r["naive_runs"])}.
The machine is shared (2 cores), so the runs vary; the speed-ups are ratios of medians measured in the same process.
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--incidents", type=int, default=100_000)
    ap.add_argument("--routes", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--naive-repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=HERE / "results_front_door.md")
    args = ap.parse_args(argv)
    r = run(args.incidents, args.routes, args.repeats, args.naive_repeats)
    text = report(r)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    assert r["max_rel_diff"] <= 1e-9 and r["count_mismatches"] == 0, "results differ from the naive approach"
    return 0 if r["speedup_lean"] >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
