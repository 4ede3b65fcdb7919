"""Benchmark of the incident reader: speed and peak memory, chunked and at once, and a 5M-row scored run.

Run: ``.venv/bin/python benchmarks/bench_io.py [--rows 5000000] [--csv PATH] [--out benchmarks/results_io.md]``.

Each measurement runs in its own process, so its peak resident memory (``VmHWM`` via
``routerisk.manifest.peak_memory_mb``, which includes the
~0.3 GB of imported libraries) is its own. Measured:

- ``read_incidents`` of a 1,000,000-row CSV at once (``chunksize=None``) and chunked (``"auto"``);
- ``read_incidents`` of the N-row CSV (default 5,000,000 rows, ~250 MB), chunked, as a GeoDataFrame of Points and
  as a lon/lat table (``geometry=False``, what ``routerisk score`` reads);
- ``routerisk score --incidents <N-row CSV>`` end to end (peak from the
  run's ``manifest.json``).

Target (issue 6, section 5): the N-row run's peak memory stays under 1.5 GB (1536 MB; exit 1 otherwise).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_RUN_MB = 1536

_READ = """
import sys, time
from routerisk._validate import ValidationReport
from routerisk.manifest import peak_memory_mb
from routerisk.io import read_incidents
size = None if sys.argv[2] == "none" else sys.argv[2] if sys.argv[2] == "auto" else int(sys.argv[2])
t = time.perf_counter()
g = read_incidents(sys.argv[1], report=ValidationReport(), chunksize=size, geometry=sys.argv[3] == "points")
print(len(g), time.perf_counter() - t, peak_memory_mb())
"""


def make_csv(path: Path, n: int) -> None:
    """The issue's test file: ``n`` rows resampled from 50,000 synthetic incidents, jittered by ~1 km."""
    import numpy as np
    import pandas as pd

    from routerisk import synthetic_incidents

    inc = synthetic_incidents(50_000, seed=5)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(inc), n)
    base = inc.iloc[idx]
    pd.DataFrame({
        "id": np.arange(n).astype(str),
        "date": base["date"].dt.strftime("%Y-%m-%d").to_numpy(),
        "lat": np.round(base.geometry.y.to_numpy() + rng.normal(0, 0.01, n), 5),
        "lon": np.round(base.geometry.x.to_numpy() + rng.normal(0, 0.01, n), 5),
        "category": base["category"].to_numpy(),
        "victims": base["victims"].to_numpy(),
    }).to_csv(path, index=False)  # fmt: skip


def read_once(path: Path, chunksize: str, geometry: str = "points") -> tuple[int, float, float]:
    """Rows, seconds and peak MB of ``read_incidents`` in a fresh process (``geometry``: "points" or "lonlat")."""
    cmd = [sys.executable, "-c", _READ, str(path), chunksize, geometry]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    n, secs, peak = out.stdout.split()
    return int(n), float(secs), float(peak)


def score_run(path: Path, out: Path) -> tuple[float, float, int]:
    """Wall seconds, manifest peak MB and incidents kept of ``routerisk score`` on ``path``."""
    exe = Path(sys.executable).parent / "routerisk"
    cmd = [str(exe), "score", "--incidents", str(path), "--out", str(out), "--overwrite"]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t
    manifest = json.loads((out / "manifest.json").read_text())
    return wall, float(manifest["peak_memory_mb"]), int(manifest["data"]["incidents"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--csv", type=Path, help="an existing N-row CSV (id,date,lat,lon,category,victims) to reuse")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results_io.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        small = tmp / "inc1m.csv"
        big = args.csv
        t = time.perf_counter()
        if big is None:
            big = tmp / f"inc{args.rows}.csv"
            make_csv(big, args.rows)
        with big.open("rb") as src, small.open("wb") as dst:  # the first 1,000,000 rows
            for i, line in enumerate(src):
                if i > 1_000_000:
                    break
                dst.write(line)
        print(f"inputs ready in {time.perf_counter() - t:.0f} s", flush=True)
        rows = []
        big_label = f"{args.rows / 1e6:g}M, chunked"
        for label, path, size, geometry in (("1M, at once", small, "none", "points"),
                                            ("1M, chunked", small, "auto", "points"),
                                            (big_label, big, "auto", "points"),
                                            (f"{big_label}, lon/lat table", big, "auto", "lonlat")):  # fmt: skip
            n, secs, peak = read_once(path, size, geometry)
            rows.append((f"read_incidents {label}", n, path.stat().st_size / 1e6, secs, peak))
            print(rows[-1], flush=True)
        wall, peak, n = score_run(big, tmp / "run")
        rows.append((f"routerisk score {args.rows / 1e6:g}M", n, big.stat().st_size / 1e6, wall, peak))
        print(rows[-1], flush=True)
    ok = peak < TARGET_RUN_MB
    lines = [
        "# Incident reader benchmark",
        "",
        f"`benchmarks/bench_io.py`, {time.strftime('%Y-%m-%d')}, {platform.machine()}, Python "
        f"{platform.python_version()}. Each line is a fresh process; peak = peak resident memory (`VmHWM`, "
        "including ~0.3 GB of imported libraries). The CSV is the issue's test file (resampled synthetic incidents, "
        "columns id,date,lat,lon,category,victims, ~50 bytes a row). `score` runs with the default model "
        "(analytic intervals, exact hot-spot test) and writes every output, including `incidents.gpkg`.",
        "",
        "| what | rows kept | CSV MB | seconds | peak MB |",
        "|---|---:|---:|---:|---:|",
        *[f"| {w} | {n:,} | {mb:.0f} | {s:.1f} | {p:,.0f} |" for w, n, mb, s, p in rows],
        "",
        f"Target: the {args.rows:,}-row run peaks under {TARGET_RUN_MB} MB: {'met' if ok else 'MISSED'}.",
        "",
        "History of the 5,000,000-row run (same machine, same file; seconds are wall time on a shared 2-core "
        "machine, upper bounds):",
        "",
        "| version | read_incidents 5M s / peak MB | routerisk score 5M s / peak MB |",
        "|---|---:|---:|",
        "| before chunked reading (ea48500) | 58-72 / 4,178 | 290-326 / 5,097 |",
        "| chunked reading (ff4e390) | 19.5 / 2,054 | 60-64 / 3,432-3,483 |",
        "| coordinates projected, labels looked up once (b772a8f) | 19.5 / 2,054 | 50 / 2,759 |",
        "| lon/lat table, incidents.gpkg streamed in batches (this) | see the table above | see the table above |",
        "",
        "Before chunked reading `read_incidents` held the whole file as bytes, then as one decoded string, then "
        "every column as text at once, label columns as 5M Python strings, and checked duplicates over a full hash "
        "table; writing `incidents.gpkg` took 212 s and +2.0 GB (WKB and object copies of every column).",
        "",
        "Where the memory went at ff4e390 (5M rows, phases sampled from `/proc/self/status`): imported libraries "
        "~0.28 GB; the incidents layer ~1.5 GB, of which 5,000,000 shapely Points ~1.03 GB (~206 bytes each) and "
        "the columns ~0.35 GB (categoricals for labels, pandas strings for ids and free text); reading peaks "
        "~0.25 GB above its result. `score_segments` added ~1.6 GB: `GeoSeries.to_crs` made a second set of 5M "
        "Points (+1.2 GB) and `incident_weights` / `incident_bandwidths` mapped 5M labels through object Series "
        "(+0.9 / +0.7 GB transient); writing `incidents.gpkg` through Arrow added ~0.7 GB.",
        "",
        "What changed: `score_segments` and `risk_surface` project the incidents' coordinates with a pyproj "
        "Transformer (bit-identical to `to_crs`) and look up one weight per distinct category and one sigma per "
        "distinct location precision; `routerisk score` reads the incidents as a lon/lat table "
        "(`read_incidents(..., geometry=False)`: no shapely Point per row), scores it directly, and writes "
        "`incidents.gpkg` as one Arrow stream of 500,000-row batches (Points and WKB built per batch). The outputs "
        "are identical (`segments_ranked.csv` byte for byte, the GeoPackages' features equal; "
        "`tests/test_lean_scoring.py`). The run's peak is now set by reading (the columns plus one chunk) and the "
        "scoring's per-incident float arrays; maps (`--maps`) and geomasking still build the Points of every "
        "incident.",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
