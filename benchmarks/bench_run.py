"""Benchmark: decisions evaluated per second and peak memory by fleet size.

Runs the baseline scenario (scenarios/baseline.toml) over 30 days (``--days``) for fleets
of 1k, 10k and 100k users (``--sizes`` to change), one policy variant (Level 3) so that the figures
are per variant, each size in a fresh process so peak memory (ru_maxrss, this process and
its workers) is its own. It goes through the sweep path with one replication and no kept
decision log — per-chunk metrics only — which is how large fleets are meant to run:
memory is bounded by the chunk, not the fleet. Prints one line per size and the ratio of
throughputs, measured in this one run (the machines are shared and noisy: compare
ratios, not absolute figures, across runs).

Usage::

    python benchmarks/bench_run.py                  # 1k, 10k, 100k users, compiled engine
    python benchmarks/bench_run.py --sizes 100000 --days 90 --workers 2
    python benchmarks/bench_run.py --sizes 1000 5000 --workers 2 --engine reference

The compiled engine's JIT compile (or cache load) is timed separately in each process,
before the measured run, and printed as ``jit s``.

This is not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one(users: int, workers: int, chunk: int, engine: str, days: int) -> dict[str, float]:
    """Simulate ``users`` users in this process (and its workers); return the figures."""
    sys.path.insert(0, str(ROOT))
    from simulator.analysis.sweep import SweepSettings, run_sweep
    from simulator.scenario.load import load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "baseline.toml")
    scenario = scenario.with_changes(fleet={"users": users}, chunk_size=chunk, horizon=f"{days}d")
    level3 = [p for p in scenario.policies if p.name.startswith("Level 3")]
    scenario = scenario.with_policies(level3)
    started = time.perf_counter()
    warm = scenario.with_changes(fleet={"users": 2}, chunk_size=2)
    run_sweep(warm, SweepSettings(replications=1, keep_log=False, engine=engine), workers=1)
    jit = time.perf_counter() - started
    started = time.perf_counter()
    settings = SweepSettings(replications=1, keep_log=False, engine=engine)
    result = run_sweep(scenario, settings, workers=workers)
    elapsed = time.perf_counter() - started
    row = result.results[result.results["segment_by"] == "all"].iloc[0]
    decisions = int(row["launches"] + row["checkins"])
    launches = int(row["launches"])
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "users": users,
        "devices": int(row["devices"]),
        "decisions": decisions,
        "launches": launches,
        "simulate_s": elapsed,
        "jit_s": jit,
        "decisions_per_s": decisions / elapsed,
        "launches_per_s": launches / elapsed,
        "peak_mib": max(peak_mib, children),
    }


def main() -> None:
    """Run each size in a subprocess and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--engine", choices=["compiled", "fast", "reference"], default="compiled")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.workers, args.chunk, args.engine, args.days)))
        return
    print(
        f"baseline scenario, {args.days} days, 1 variant, engine={args.engine}, "
        f"workers={args.workers}, chunk={args.chunk}, load {os.getloadavg()[0]:.1f}"
    )
    header = (
        f"{'users':>8} {'devices':>8} {'decisions':>11} {'sim s':>8} "
        f"{'decisions/s':>12} {'launches/s':>11} {'peak MiB':>9} {'jit s':>6}"
    )
    print(header)
    results = []
    for users in args.sizes:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(users),
                "--workers",
                str(args.workers),
                "--chunk",
                str(args.chunk),
                "--engine",
                args.engine,
                "--days",
                str(args.days),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(r)
        print(
            f"{r['users']:>8} {r['devices']:>8} {r['decisions']:>11,} {r['simulate_s']:>8.1f} "
            f"{r['decisions_per_s']:>12,.0f} {r['launches_per_s']:>11,.0f} "
            f"{r['peak_mib']:>9.0f} {r['jit_s']:>6.1f}",
            flush=True,
        )
    base = results[0]["decisions_per_s"]
    print(
        "throughput relative to the smallest fleet: "
        + ", ".join(f"{r['users']}: {r['decisions_per_s'] / base:.2f}x" for r in results)
    )


if __name__ == "__main__":
    main()
