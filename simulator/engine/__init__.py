"""Engines play a world against policy variants and record the decision log.

``reference`` is the SimPy engine: the readable, executable definition of the semantics.
"""

from __future__ import annotations

from simulator.engine.reference import EngineSettings, simulate_chunk

__all__ = ["EngineSettings", "simulate_chunk"]
