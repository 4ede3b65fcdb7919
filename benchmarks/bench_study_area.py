"""Benchmark of the study area split (routerisk.studyarea): rows of a worldwide export inside / outside, by band.

Run: ``.venv/bin/python benchmarks/bench_study_area.py [--n 5000000] [--out benchmarks/results_study_area.md]``.
Target: 5,000,000 incidents spread over the Americas split and counted by distance band in under 2 s (one
point-in-polygon test per band, no distance computed), against the embedded corridors' default area.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

TARGET_S = 2.0


def main() -> int:
    import numpy as np
    import pandas as pd

    import routerisk
    from routerisk.studyarea import default_study_area, split_by_study_area

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5_000_000)
    ap.add_argument("--out", default=str(Path(__file__).with_name("results_study_area.md")))
    args = ap.parse_args()
    model = routerisk.RiskModel()
    t0 = time.perf_counter()
    area = default_study_area(routerisk.load_corridors(), model)
    build_s = time.perf_counter() - t0
    rng = np.random.default_rng(2026)
    inc = pd.DataFrame({"lon": rng.uniform(-130, -60, args.n), "lat": rng.uniform(-10, 50, args.n)})
    times = []
    for _ in range(3):
        t = time.perf_counter()
        _kept, counts = split_by_study_area(inc, area, model)
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    ok = med < TARGET_S
    lines = [
        "# Study area split (benchmarks/bench_study_area.py)",
        "",
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}.",
        "",
        "| what | value |",
        "|---|---|",
        f"| incidents | {args.n:,} (uniform over lon -130..-60, lat -10..50) |",
        f"| default area ({counts['area']}) built in | {build_s:.2f} s |",
        f"| split + band counts, median of 3 | {med:.2f} s (target < {TARGET_S:g} s: {'met' if ok else 'NOT met'}) |",
        f"| kept / outside | {counts['kept']:,} / {counts['rows']:,} |",
        f"| by band | {counts['by_reason']} |",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
