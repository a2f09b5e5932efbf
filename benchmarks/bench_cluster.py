"""Benchmark: a sweep in one process vs on a 2-worker Dask LocalCluster, in one run.

Runs the threshold sweep (scenarios/threshold_sweep.toml: 300 users, 30 days, 8 variants)
for ``--replications`` replications (default 4) in this process (``workers=1``) and on a
``LocalCluster`` of two single-threaded worker processes (``run_sweep(executor=client)``),
with two local worker processes (``LocalProcesses(2)``) beside them for reference,
alternately, ``--repeat`` times each; the best time of each counts (the least disturbed
by other work on a shared machine). The cluster's start-up is timed apart (it is paid once
per sweep from the command line, seconds). The two summaries are checked identical. The
machine's load average is printed with the figures: compare the ratio measured in one
run, not absolute figures across runs.

Usage::

    python benchmarks/bench_cluster.py                  # 4 replications, 1 repeat
    python benchmarks/bench_cluster.py --replications 10 --repeat 2

Needs the ``distributed`` extra. This is not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from simulator.analysis.sweep import SweepResult, SweepSettings, run_sweep
from simulator.scenario.load import load_scenario
from simulator.sim.cluster import connect
from simulator.sim.run import Executor, InProcess, LocalProcesses

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "threshold_sweep.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replications", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    scenario = load_scenario(SCENARIO)
    settings = SweepSettings(replications=args.replications)
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    started = time.perf_counter()
    with connect(None, workers=2) as executor:
        startup = time.perf_counter() - started
        where: dict[str, Executor] = {
            "one process": InProcess(),
            "2 local processes": LocalProcesses(2),
            "LocalCluster, 2 workers": executor,
        }
        best = dict.fromkeys(where, float("inf"))
        results: dict[str, SweepResult] = {}
        for _ in range(args.repeat):
            for name, runner in where.items():
                began = time.perf_counter()
                results[name] = run_sweep(scenario, settings, executor=runner)
                best[name] = min(best[name], time.perf_counter() - began)
    same = all(
        getattr(results["one process"], t).equals(getattr(result, t))
        for result in results.values()
        for t in ("results", "summary", "paired")
    )
    print(f"threshold sweep, {args.replications} replications × 8 variants, best of {args.repeat}")
    for name, seconds in best.items():
        ratio = best["one process"] / seconds
        print(f"  {name + ':':25} {seconds:7.1f} s   speed-up {ratio:.2f}×")
    print(f"  (LocalCluster start-up {startup:.1f} s, not included); tables identical: {same}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
