"""Engines play a world against policy variants and record the decision log.

``reference`` is the SimPy engine: the readable, executable definition of the semantics.
``fast`` produces the same rows without SimPy (:func:`simulate_chunk_fast`); differential
tests keep the two equal.
"""

from __future__ import annotations

from simulator.engine.fast import simulate_chunk_fast
from simulator.engine.reference import EngineSettings, simulate_chunk

__all__ = ["EngineSettings", "simulate_chunk", "simulate_chunk_fast"]
