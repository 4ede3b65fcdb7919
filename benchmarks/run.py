"""Run every benchmark (``make bench``): each ``benchmarks/bench_*.py`` in its own process, engine first.

Each benchmark writes its own results file (e.g. ``benchmarks/results.md``) and exits non-zero when it misses
a target; this runner reports which ones did and exits non-zero if any did.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    scripts = sorted(HERE.glob("bench_*.py"), key=lambda p: (p.name != "bench_engine.py", p.name))
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        t = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"== {script.name}: exit {code} after {time.perf_counter() - t:.0f} s", flush=True)
        if code:
            failed.append(script.name)
    if failed:
        print(f"benchmarks missing a target or failing: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
