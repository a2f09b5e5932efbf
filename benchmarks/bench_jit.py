"""Benchmark: the compiled engine's first compile (a fresh install's first run) and cache load.

Each trial starts a fresh Python process with an empty ``NUMBA_CACHE_DIR`` (a temporary
folder) and times, inside it:

* ``parallel`` — :func:`simulator.sim.jit.ensure_compiled`, what every run does
  first: the world's functions compile in a second process while this one compiles the
  engine's loop;
* ``serial`` — the same two warm-ups one after the other in one process, which is what a
  run paid before ``ensure_compiled`` (Numba compiles lazily, one function at a time);
* ``cached`` — ``ensure_compiled`` plus both warm-ups again in a new process on the
  cache the parallel trial left: what every later run pays;
* ``sweep parallel`` / ``sweep serial`` — the same with the compiled metrics, which a
  sweep (and a replay or streamed run) also compiles: in the helper process after the
  world's draws, or last in one process.

The modes alternate, ``--repeat`` times each (the machine is shared and noisy: compare
figures from one run), and the machine's load average is printed with them.

Usage::

    python benchmarks/bench_jit.py             # 3 trials of each
    python benchmarks/bench_jit.py --repeat 5

This is not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_SERIAL = (
    "from simulator.sim import jit; import simulator.analysis.metrics; "
    "jit._checked.update(('world', 'engine', 'metrics')); "
    "jit.compile_engine(); jit.compile_world()"
)
_CODE = {
    "parallel": "from simulator.sim.jit import ensure_compiled as f; f()",
    "serial": _SERIAL,
    "cached": (
        "from simulator.sim import jit; jit.ensure_compiled(); "
        "jit.compile_engine(); jit.compile_world()"
    ),
    "sweep parallel": (
        "import simulator.analysis.metrics; from simulator.sim import jit; "
        "jit.ensure_compiled(also=('metrics',))"
    ),
    "sweep serial": _SERIAL + "; import simulator.analysis._counts_kernel as m; m.warm()",
}
"""What each mode runs: ``parallel`` is what ``condlaunch run`` does (the engine's loop
here, the world's draws in a helper process), ``serial`` the lazy order without the
helper; the ``sweep`` modes add the compiled metrics, which a sweep also needs."""


def trial(mode: str, cache: str) -> float:
    """Seconds ``mode`` takes in a new process whose Numba cache is ``cache``."""
    code = (
        "import time; t = time.perf_counter(); " + _CODE[mode] + "; print(time.perf_counter() - t)"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Alternate the modes and print each one's times and median."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"compiled engine, first compile from an empty Numba cache; cpus={os.cpu_count()}, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    times: dict[str, list[float]] = {mode: [] for mode in _CODE}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="condlaunch-jit-") as cache:
            times["parallel"].append(trial("parallel", cache))
            times["cached"].append(trial("cached", cache))
        for mode in ("serial", "sweep parallel", "sweep serial"):
            with tempfile.TemporaryDirectory(prefix="condlaunch-jit-") as cache:
                times[mode].append(trial(mode, cache))
    for mode, values in times.items():
        shown = ", ".join(f"{v:.1f}" for v in values)
        print(f"  {mode:>14}: median {statistics.median(values):5.1f} s   ({shown})")
    ratio = statistics.median(times["serial"]) / statistics.median(times["parallel"])
    print(f"serial / parallel: {ratio:.2f}x")
    ratio = statistics.median(times["sweep serial"]) / statistics.median(times["sweep parallel"])
    print(f"sweep serial / sweep parallel: {ratio:.2f}x")


if __name__ == "__main__":
    main()
