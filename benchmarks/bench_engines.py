"""Benchmark: decisions per second of the reference (SimPy), fast and compiled engines.

Plays the baseline scenario (scenarios/baseline.toml, 30 days) shrunk to ``--users`` users
(default 150) against its four policy variants under each engine, and prints each
engine's decisions per second and its ratio to the reference. Two measurements:

* **engine** — ``simulate_chunk`` / ``simulate_chunk_fast`` / ``simulate_chunk_compiled``
  on the same pre-drawn world chunk: the engines alone (the compiled engine's figure
  includes building its DataFrames from its arrays, the others return row tuples);
* **simulate** — ``simulate(..., engine=...)`` end to end: world generation, both the
  engine and the DataFrame assembly (the parts outside the engine are the same for both,
  so this ratio is smaller).

The engines run alternately, ``--repeat`` times each, and the best time of each counts
(the least disturbed by other work on a shared machine). The machine's load average is
printed with the figures: compare ratios measured in one run, not absolute figures across
runs. The other engines' tables are also checked equal to the reference's. The compiled
engine's JIT compile (or cache load) happens in a warm-up run first and is reported
separately.

Usage::

    python benchmarks/bench_engines.py                 # 150 users, 3 repeats
    python benchmarks/bench_engines.py --users 200 --repeat 5

This is not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.scenario.load import Scenario, load_scenario, variant_policies
from simulator.sim.engine.compiled import simulate_chunk_compiled
from simulator.sim.engine.fast import simulate_chunk_fast
from simulator.sim.engine.reference import simulate_chunk
from simulator.sim.run import RunResult, engine_settings, simulate
from simulator.sim.world import connector_timeline, n_users, world_chunk

ROOT = Path(__file__).resolve().parents[1]

ENGINES: dict[str, Callable[..., Any]] = {
    "reference": simulate_chunk,
    "fast": simulate_chunk_fast,
    "compiled": simulate_chunk_compiled,
}


def _rows(part: Any) -> int:
    """Decision rows of one engine's chunk result (rows or the compiled engine's frames)."""
    return len(part[0]) if isinstance(part, tuple) else len(part.decisions)


def baseline(users: int) -> Scenario:
    """The baseline scenario with ``users`` users, in one chunk."""
    scenario = load_scenario(ROOT / "scenarios" / "baseline.toml")
    fleet = scenario.model.fleet
    assert fleet is not None
    return scenario.with_changes(
        fleet=fleet.model_copy(update={"users": users}).model_dump(), chunk_size=users
    )


def time_engine(scenario: Scenario, engine: str) -> tuple[int, float]:
    """(decisions, seconds) of one engine alone on the scenario's pre-drawn world."""
    devices = world_chunk(scenario, 0, 0, n_users(scenario))
    settings = engine_settings(scenario)
    connector = connector_timeline(scenario.model)
    horizon = scenario.model.horizon
    run = ENGINES[engine]
    rows = 0
    started = time.perf_counter()
    for name, policies in variant_policies(scenario).items():
        rows += _rows(run(devices, policies, name, connector, horizon, settings))
    return rows, time.perf_counter() - started


def time_simulate(scenario: Scenario, engine: str) -> tuple[int, float, RunResult]:
    """(decisions, seconds, result) of ``simulate`` end to end with one engine."""
    started = time.perf_counter()
    result = simulate(scenario, engine=engine)
    return len(result.decisions), time.perf_counter() - started, result


def main() -> None:
    """Time both engines alternately and print decisions/s and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scenario = baseline(args.users)
    load_before = os.getloadavg()
    print(
        f"baseline scenario, {args.users} users, 30 days, "
        f"{len(variant_policies(scenario))} variants; best of {args.repeat}; "
        f"cpus={os.cpu_count()}, load average {load_before[0]:.2f} {load_before[1]:.2f} "
        f"{load_before[2]:.2f}"
    )

    started = time.perf_counter()
    simulate(baseline(5), engine="compiled")
    print(
        f"compiled engine warm-up (JIT compile or cache load): "
        f"{time.perf_counter() - started:.2f} s"
    )
    best: dict[tuple[str, str], float] = {}
    rows: dict[tuple[str, str], int] = {}
    results: dict[str, RunResult] = {}
    for _ in range(args.repeat):
        for engine in ENGINES:
            n, seconds = time_engine(scenario, engine)
            key = ("engine", engine)
            rows[key], best[key] = n, min(seconds, best.get(key, float("inf")))
            n, seconds, result = time_simulate(scenario, engine)
            key = ("simulate", engine)
            rows[key], best[key] = n, min(seconds, best.get(key, float("inf")))
            results[engine] = result

    for engine in ("fast", "compiled"):
        for table in ("decisions", "episodes", "devices"):
            pd.testing.assert_frame_equal(
                getattr(results[engine], table),
                getattr(results["reference"], table),
                check_exact=True,
            )
        print(f"{engine} engine tables equal the reference's: yes")

    print(f"{'measure':<9} {'engine':<10} {'decisions':>10} {'best s':>8} {'decisions/s':>12}")
    for (measure, engine), seconds in best.items():
        n = rows[measure, engine]
        print(f"{measure:<9} {engine:<10} {n:>10,} {seconds:>8.2f} {n / seconds:>12,.0f}")
    for measure in ("engine", "simulate"):
        for engine in ("fast", "compiled"):
            ratio = best[measure, "reference"] / best[measure, engine]
            print(f"speed-up ({measure}): {engine} vs reference = {ratio:.1f}x")
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")


if __name__ == "__main__":
    main()
