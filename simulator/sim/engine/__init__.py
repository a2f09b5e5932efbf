"""Engines play a world against policy variants and record the decision log.

``reference`` is the SimPy engine: the readable, executable definition of the semantics.
``fast`` produces the same rows without SimPy (:func:`simulate_chunk_fast`); differential
tests keep the two equal. ``types`` holds what both take and return. Import the engine
modules themselves (this package imports neither, so using one never loads the other).
"""
