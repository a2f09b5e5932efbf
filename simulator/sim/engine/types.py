"""What every engine takes and returns: its settings and a chunk's rows.

Kept apart from the engines so that the fast path never imports SimPy (the reference
engine's library) just to name these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.policy.behavior import Behavior
from simulator.sim.log import DecisionRow, DeviceRow, EpisodeRow


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Engine-side behaviour parameters (SEMANTICS.md §4) and the decision parameters."""

    behavior: Behavior = field(default_factory=Behavior)
    midsession_enforcement: bool = True
    retry_denied_at_launch: bool = True


@dataclass(slots=True)
class ChunkResult:
    """Rows recorded for a chunk of devices under one variant."""

    decisions: list[DecisionRow] = field(default_factory=list)
    episodes: list[EpisodeRow] = field(default_factory=list)
    devices: list[DeviceRow] = field(default_factory=list)
