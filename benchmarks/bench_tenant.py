"""Benchmark: reading a tenant's exports, calibrating, and replaying a month.

Writes the test generator's exports (``tests/generate_exports.py``, each call's
``$select`` shape) for ``--users`` users over 28 days into a temporary folder, then times
reading and joining them (records per second), ``calibrate``, and a metrics-only replay
(``replay_metrics``, no log kept) of one policy with the compiled engine in ``--workers``
processes (decisions per second), and reports peak memory of this process and of its
children (``resource.getrusage``). The machines are
shared and noisy: compare ratios, not absolute figures, across runs.

Usage::

    python benchmarks/bench_tenant.py --users 2000

This is not part of the test run.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


_GENERATE = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from tests.generate_exports import truth_scenario, write_exports
write_exports(Path(sys.argv[2]), truth_scenario(int(sys.argv[3])), select=True)
"""


def _written(folder: Path) -> Any:
    """The exports the child wrote, by input (the generator's file names)."""
    from tests.generate_exports import Written

    def pages(stem: str) -> list[Path]:
        def page(path: Path) -> tuple[int, str]:
            digits = "".join(c for c in path.stem.rsplit("page", 1)[-1] if c.isdigit())
            return (int(digits) if digits else 0, path.name)

        return sorted(folder.glob(f"{stem}*.json"), key=page)

    return Written(
        alerts=pages("alerts"),
        devices=pages("devices"),
        app_registrations=pages("app-registrations"),
        signins=pages("signins"),
        mapping=folder / "mapping.toml",
        truth=folder / "truth.toml",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from simulator.scenario.load import variant_policies
    from simulator.tenant.calibrate import calibrate
    from simulator.tenant.inventory import Exports, load_tenant
    from simulator.tenant.mapping import load_mapping
    from simulator.tenant.replay import ReplaySettings, replay_metrics, replay_scenario
    from tests.generate_exports import truth_scenario

    truth = truth_scenario(args.users)
    with tempfile.TemporaryDirectory() as folder:
        # the exports are generated in a child process, so that this process's peak memory
        # is that of reading, calibrating and replaying only (the generator simulates the
        # whole truth world with its log)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", _GENERATE, str(ROOT), folder, str(args.users)], check=True
        )
        generated = time.perf_counter() - started
        written = _written(Path(folder))
        size = sum(p.stat().st_size for p in Path(folder).iterdir())
        started = time.perf_counter()
        exports = Exports(
            written.alerts, written.devices, written.app_registrations, written.signins
        )
        tenant = load_tenant(exports, load_mapping(written.mapping))
        read = time.perf_counter() - started
    records = sum(tenant.stats.read.values())
    started = time.perf_counter()
    calibrate(tenant, truth.model)
    fitted = time.perf_counter() - started
    policy = truth.policies[:1]
    variants = {k: v for k, v in list(variant_policies(truth).items())[:1]}
    started = time.perf_counter()
    metrics, _ = replay_metrics(
        tenant,
        replay_scenario(tenant, truth, policy),
        variants,
        ReplaySettings.from_base(truth.model, policy, 2.0),
        workers=args.workers,
    )
    replayed = time.perf_counter() - started
    every = metrics[metrics["segment_by"] == "all"]
    decisions = int(every["launches"].sum() + every["checkins"].sum())
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"{args.users:,} users, {len(tenant.devices):,} devices, 28 days: "
        f"exports {size / 2**20:,.0f} MiB written in {generated:.0f} s; "
        f"read {records:,} records in {read:.1f} s ({records / read:,.0f}/s); "
        f"calibrate {fitted:.1f} s; replay (metrics only, {args.workers} workers) "
        f"{decisions:,} decisions in {replayed:.1f} s ({decisions / replayed:,.0f}/s); "
        f"peak {peak_self:,.0f} MiB (largest child {peak_children:,.0f} MiB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
