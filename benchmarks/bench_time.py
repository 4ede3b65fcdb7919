"""Benchmark of the space-time analyses: calibration, power and coverage by simulation, and the cube's speed.

Not a unit test. Run ``.venv/bin/python benchmarks/bench_time.py [--seeds 200] [--no-speed]``; the figures are
printed and written to ``benchmarks/results_time.md``. Exit 1 when a target is missed.

1. Emerging hot spots, power: a straight route of 60 segments of 5 km, 8 quarters; records uniform along the route
   (Poisson, 40 a quarter) plus a planted cluster near km 152.5 (sd 1.5 km) of 3, 6 and 9 records in the last
   three quarters. Target: the segment at the cluster is a new, consecutive or intensifying hot spot in >= 90 %
   of the seeds.
2. Emerging hot spots, calibration: the same without the cluster (homogeneous in space and time). Target: any
   segment with any pattern in <= 10 % of the runs.
3. Change, planted doubling: records uniform along 300 km (0.004 per km and day), a year before and half a year
   after 2020-01-01; after the date the rate doubles on km 100-150. Median rate ratio of the segments whose reach
   lies inside the stretch (truth 2) and outside it (truth 1); coverage of the exact 90 % intervals over both.
   Target: coverage >= 88 %.
4. Speed: 60 monthly periods x 40,000 segments x 100,000 records (synthetic, near the corridors), the whole cube
   (exposure, intervals, attribution, the 60 hot-spot tests). Target: <= 10 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from routerisk.change import segment_change  # noqa: E402
from routerisk.spacetime import spacetime_exposure  # noqa: E402
from routerisk.trends import trend_table  # noqa: E402
from test_change import AFTER, BEFORE, line_segments, planted  # noqa: E402
from test_change import MODEL as CHANGE_MODEL  # noqa: E402
from test_trends import EMERGING, MODEL, QUARTERS, simulate  # noqa: E402

RESULTS = HERE / "results_time.md"


def trends_rates(seeds: int) -> dict:
    seg = line_segments()
    found, anyp, kinds = 0, 0, {}
    for s in range(seeds):
        cube = spacetime_exposure(seg, simulate(s, True), period="quarter", model=MODEL, periods=QUARTERS)
        found += trend_table(cube)["pattern"].iloc[30] in EMERGING
        cube = spacetime_exposure(seg, simulate(100_000 + s, False), period="quarter", model=MODEL, periods=QUARTERS)
        pat = trend_table(cube)["pattern"]
        hit = pat[pat != "no pattern detected"]
        anyp += len(hit) > 0
        for k in hit.unique():
            kinds[k] = kinds.get(k, 0) + 1
    return {"power": found / seeds, "false_pattern_rate": anyp / seeds, "null_patterns": kinds}


def change_rates(seeds: int) -> dict:
    seg = line_segments()
    inside, outside = np.arange(22, 28), np.r_[np.arange(2, 18), np.arange(32, 58)]
    med_in, med_out, cov_in, cov_out = [], [], [], []
    for s in range(seeds):
        out = segment_change(seg, planted(s), BEFORE, AFTER, model=CHANGE_MODEL, level=0.9)
        rr = out["rate_ratio"].replace(np.inf, np.nan)
        med_in.append(np.nanmedian(rr.iloc[inside]))
        med_out.append(np.nanmedian(rr.iloc[outside]))
        lo, hi = out["rr_lo"].to_numpy(), out["rr_hi"].to_numpy()
        cov_in.append(np.mean((lo[inside] <= 2) & (hi[inside] >= 2)))
        cov_out.append(np.mean((lo[outside] <= 1) & (hi[outside] >= 1)))
    return {"median_rr_inside": float(np.median(med_in)), "median_rr_outside": float(np.median(med_out)),
            "coverage_inside": float(np.mean(cov_in)), "coverage_outside": float(np.mean(cov_out))}  # fmt: skip


def speed(n_segments: int = 40_000, n_incidents: int = 100_000, n_months: int = 60, seed: int = 0) -> dict:
    import geopandas as gpd
    import shapely

    from routerisk import RiskModel
    from routerisk.datasets import load_corridors
    from routerisk.routes import segmentize

    rng = np.random.default_rng(seed)
    corridors = load_corridors().to_crs("EPSG:6372")
    segs = segmentize(corridors, segment_length_m=float(corridors.length.sum()) / n_segments)
    geoms = np.asarray(segs.geometry.to_crs("EPSG:6372").values, dtype=object)
    anchor = shapely.line_interpolate_point(geoms[rng.integers(0, len(geoms), n_incidents)],
                                            rng.uniform(0, 1, n_incidents), normalized=True)  # fmt: skip
    xy = shapely.get_coordinates(anchor) + rng.normal(0, 8000, (n_incidents, 2))
    dates = pd.Timestamp("2016-01-01") + pd.to_timedelta(rng.integers(0, n_months * 30.4, n_incidents), unit="D")
    inc = gpd.GeoDataFrame({"category": rng.choice(["homicide", "robbery", "assault"], n_incidents),
                            "date": dates}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:6372")
    segs = segs.to_crs("EPSG:6372")
    model = RiskModel(crs="EPSG:6372")
    spacetime_exposure(segs.iloc[:50], inc.iloc[:200], period="month", model=model)  # compile
    t = time.perf_counter()
    cube = spacetime_exposure(segs, inc, period="month", model=model)
    elapsed = time.perf_counter() - t
    t = time.perf_counter()
    trend_table(cube)
    return {"segments": len(segs), "incidents": n_incidents, "periods": len(cube.periods), "cube_s": elapsed,
            "trends_s": time.perf_counter() - t}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    tr = trends_rates(args.seeds)
    ch = change_rates(args.seeds)
    sp = None if args.no_speed else speed()
    ok = tr["power"] >= 0.9 and tr["false_pattern_rate"] <= 0.10 and min(ch["coverage_inside"],
                                                                           ch["coverage_outside"]) >= 0.88
    if sp is not None:
        ok &= sp["cube_s"] + sp["trends_s"] <= 10.0
    lines = [
        "# Space-time benchmark (benchmarks/bench_time.py)", "",
        f"{dt.date.today().isoformat()}, {platform.machine()}, Python {platform.python_version()}, "
        f"{args.seeds} seeds per simulation, {time.perf_counter() - t0:.0f} s in all.", "",
        "| what | measured | target |", "|---|---|---|",
        f"| planted emerging cluster: new / consecutive / intensifying hot spot | {tr['power']:.1%} | >= 90 % |",
        f"| stationary data: runs with any pattern on any of 60 segments | {tr['false_pattern_rate']:.1%} | <= 10 % |",
        f"| planted doubling: median rate ratio on the stretch (truth 2) | {ch['median_rr_inside']:.2f} | ~2 |",
        f"| planted doubling: median rate ratio elsewhere (truth 1) | {ch['median_rr_outside']:.2f} | ~1 |",
        f"| coverage of the exact 90 % interval, on the stretch | {ch['coverage_inside']:.1%} | >= 88 % |",
        f"| coverage of the exact 90 % interval, elsewhere | {ch['coverage_outside']:.1%} | >= 88 % |",
    ]  # fmt: skip
    if sp is not None:
        lines.append(f"| cube: {sp['periods']} months x {sp['segments']:,} segments x {sp['incidents']:,} records "
                     f"| {sp['cube_s']:.1f} s (+ trends {sp['trends_s']:.1f} s) | <= 10 s |")  # fmt: skip
    lines += ["", f"Patterns seen under the null (runs out of {args.seeds}): {tr['null_patterns']}", "",
              f"All targets met: {'yes' if ok else 'NO'}", ""]  # fmt: skip
    text = "\n".join(lines)
    print(text)
    RESULTS.write_text(text, encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
