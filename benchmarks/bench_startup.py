"""Benchmark of the front door of the command line: ``routerisk --help``, ``import routerisk`` and ``routerisk demo``.

Run: ``.venv/bin/python benchmarks/bench_startup.py [--repeats 5] [--out benchmarks/results_startup.md]``.
Targets (issue 13): ``routerisk --help`` under 0.3 s (best of 5); ``routerisk demo`` under 600 MB peak resident
memory and, warm (numba's cache and the bytecode written by a first run), under 6 s wall time.

Every figure is measured in a fresh process: wall time with ``time.perf_counter`` around the child, peak memory
as the child's own ``ru_maxrss`` (``os.wait4``), which counts the shared libraries it maps (GDAL twice, LLVM,
OpenBLAS) as ``/usr/bin/time -v`` does. The demo is run once with the page cache as found, then again after the
environment's shared libraries are evicted from it (:func:`evict_shared_libraries`); the target is judged on the
latter, and both are reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELP_TARGET_S = 0.3
DEMO_PEAK_TARGET_MB = 600.0
DEMO_WARM_TARGET_S = 6.0


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("routerisk")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "routerisk"]


def run_child(argv: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, peak resident MiB and exit code of one child process."""
    env = {**os.environ, "TQDM_DISABLE": "1", "MPLBACKEND": "Agg"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.stderr.write(proc.stderr.read().decode(errors="replace"))
    proc.stderr.close()
    return wall, usage.ru_maxrss / 1024.0, proc.returncode


def evict_shared_libraries() -> int:
    """Drop the environment's shared libraries from the page cache (``posix_fadvise(DONTNEED)``); return how many.

    Straight after ``pip install`` has written them, the kernel maps these freshly cached files in large blocks, and
    a process's resident peak counts up to ~110 MB more library pages (llvmlite, GDAL, Arrow) than the same process
    once the files are read back from disk (docs/performance.md). Evicting them first measures the pages the process
    actually touches, as on any machine some time after the install; the peak as found is reported beside it.
    """
    n = 0
    for lib in Path(sys.prefix).rglob("*.so*"):
        try:
            fd = os.open(lib, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            n += 1
        finally:
            os.close(fd)
    return n


def best(argv: list[str], repeats: int, cwd: Path) -> tuple[float, float]:
    """Best wall time and its peak memory over ``repeats`` runs (after one untimed run)."""
    run_child(argv, cwd)
    runs = [run_child(argv, cwd) for _ in range(repeats)]
    assert all(code == 0 for *_, code in runs), f"{argv} failed"
    wall, peak, _ = min(runs)
    return wall, peak


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results_startup.md")
    args = ap.parse_args()

    from routerisk.cli import _SUBCOMMANDS

    cli = _console_script()
    with tempfile.TemporaryDirectory(prefix="routerisk-bench-") as tmp:
        tmp = Path(tmp)
        floor, _ = best([sys.executable, "-c", "pass"], args.repeats, tmp)
        help_s, help_mb = best([*cli, "--help"], args.repeats, tmp)
        import_s, import_mb = best([sys.executable, "-c", "import routerisk"], args.repeats, tmp)
        full_s, full_mb = best([sys.executable, "-c", "import routerisk.pipeline, routerisk.maps"], 3, tmp)
        commands = {name: best([*cli, name, "--help"], 3, tmp) for name in sorted(_SUBCOMMANDS)}
        demo = [*cli, "demo", "--out", str(tmp / "demo"), "--overwrite"]
        found_s, found_mb, code = run_child(demo, tmp)  # the page cache as found (e.g. straight after pip install)
        assert code == 0, "routerisk demo failed"
        evicted = evict_shared_libraries()
        cold_s, cold_mb, code = run_child(demo, tmp)  # numba's cache and bytecode may already be warm
        assert code == 0, "routerisk demo failed"
        warm = [run_child(demo, tmp) for _ in range(3)]
        assert all(c == 0 for *_, c in warm), "routerisk demo failed"
    warm_s = min(w for w, _, _ in warm)
    peak_mb = max(m for _, m, _ in [*warm, (cold_s, cold_mb, 0)])

    ok_help = help_s < HELP_TARGET_S
    ok_peak = peak_mb < DEMO_PEAK_TARGET_MB
    ok_warm = warm_s < DEMO_WARM_TARGET_S
    mark = {True: "yes", False: "**no**"}
    rows = "\n".join(f"| `routerisk {name} --help` | {s:.2f} | {mb:.0f} |" for name, (s, mb) in commands.items())
    text = f"""# Start-up and demo benchmark

`benchmarks/bench_startup.py`, {dt.date.today().isoformat()}, {platform.machine()}, Python {platform.python_version()},
{os.cpu_count()} CPUs (shared with other work while measured: timings are upper bounds). Each figure is a fresh
process; times are the best of {args.repeats} after one untimed run (3 for the subcommands), memory is the child's
peak resident set (`ru_maxrss`, shared libraries included, as `/usr/bin/time -v` reports it).

| what | seconds | peak MB |
|---|---:|---:|
| `python -c pass` (the interpreter alone) | {floor:.3f} | |
| `routerisk --help` | {help_s:.3f} | {help_mb:.0f} |
| `python -c "import routerisk"` | {import_s:.3f} | {import_mb:.0f} |
| `import routerisk.pipeline, routerisk.maps` (what a run imports) | {full_s:.2f} | {full_mb:.0f} |
{rows}
| `routerisk demo`, the page cache as found | {found_s:.1f} | {found_mb:.0f} |
| `routerisk demo`, first run after evicting the {evicted} shared libraries from the page cache | {cold_s:.1f} | \
{cold_mb:.0f} |
| `routerisk demo`, warm (best of 3; peak: largest) | {warm_s:.1f} | {peak_mb:.0f} |

Targets (issue 13): `routerisk --help` < {HELP_TARGET_S} s: {mark[ok_help]}; demo peak < {DEMO_PEAK_TARGET_MB:.0f} MB:
{mark[ok_peak]}; demo warm < {DEMO_WARM_TARGET_S:.0f} s: {mark[ok_warm]}. The peak is judged on the runs after the
environment's shared libraries were evicted from the page cache; the first run's figure ({found_mb:.0f} MB) can also
counts library pages the kernel mapped only because pip had just written the files (docs/performance.md).

`routerisk --help` and `import routerisk` import no command and no scientific library (the command list is read
from `routerisk.cli._SUBCOMMANDS`, the public names are imported on first use). A subcommand's own `--help`
imports that command's module and whatever its options need (the map layers and siting registries).
"""
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0 if ok_help and ok_peak and ok_warm else 1


if __name__ == "__main__":
    raise SystemExit(main())
