"""How big a run will be, before it starts: decisions, time and memory.

A fleet of 10¹² users validates (every field is in range) but cannot run on any machine;
``condlaunch run`` and ``sweep`` ask :func:`estimate` first, refuse what cannot fit in
memory or finish in reasonable time, and print the estimate of a long run. The figures are
rough (within a factor of about two): they come from the scenario's launch rates, not from
simulating, and from throughput and memory per row measured on a 2-core machine.
"""

from __future__ import annotations

import os
from typing import Final, NamedTuple

from simulator.durations import MINUTES_PER_DAY
from simulator.scenario.load import Scenario, variant_policies

DECISIONS_PER_SECOND: Final = {"compiled": 400_000.0, "fast": 60_000.0, "reference": 15_000.0}
"""End-to-end throughput of one worker per engine (``condlaunch run``, explanations, metrics
and files included; measured on this 2-core machine: compiled 520k–610k/s simulating,
about 300k/s for the whole run; fast 52k–79k/s; the reference about a quarter of fast)."""

LOG_BYTES_PER_DECISION: Final = 600.0
"""Peak memory of an in-memory ``condlaunch run`` per decision-log row: the log itself is
about 62 bytes a row, but joining, sorting, metrics, checks and the Parquet table each
hold copies or arrays of it (measured: 1.82 GB peak for 3.2M rows, 4.13 GB for 8.0M)."""

STREAMED_BYTES_PER_DECISION: Final = 15.0
"""Disk per decision-log row in ``decisions.parquet`` (dictionary-encoded; measured: 11.4 MB
for the baseline's 798k rows)."""

CHECKIN_FACTOR: Final = 1.05
"""Rows per launch: in-session check-ins add a few percent at the default session lengths."""


class Estimate(NamedTuple):
    """A run's expected size."""

    decisions: float
    """Decision-log rows, all variants, one replication."""
    seconds: float
    """Wall time with one worker (divide by the workers for a rough parallel figure)."""
    log_bytes: float
    """Memory to hold the decision log of one replication."""


def estimate(scenario: Scenario, engine: str = "compiled") -> Estimate:
    """The expected size of one replication of ``scenario`` under all its variants, with
    ``engine``'s throughput."""
    model = scenario.model
    variants = max(1, len(variant_policies(scenario)))
    if model.script is not None:
        launches = sum(1 for e in model.script.events if e.type == "launch")
        per_variant = 2.0 * launches  # scripted timelines are small: launches and check-ins
    else:
        fleet = model.fleet
        assert fleet is not None
        days = model.horizon / MINUTES_PER_DAY
        weekday_factor = (5 + 2 * model.launches.weekend_factor) / 7
        devices = fleet.users * (1 + fleet.second_device_share)
        sessions = sum(a.share * a.sessions_per_day for a in model.apps)
        per_variant = devices * sessions * weekday_factor * days * CHECKIN_FACTOR
    decisions = per_variant * variants
    return Estimate(
        decisions=decisions,
        seconds=decisions / DECISIONS_PER_SECOND.get(engine, DECISIONS_PER_SECOND["fast"]),
        log_bytes=decisions * LOG_BYTES_PER_DECISION,
    )


def physical_memory() -> float | None:
    """This machine's memory in bytes, if the system says."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None
