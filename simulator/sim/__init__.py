"""Simulation: the world (every random draw), the engines that play it, the decision log.

- :mod:`~simulator.sim.world` — scenario + seed → per-device timelines, policy-independent;
- :mod:`~simulator.sim.engine` — the SimPy reference engine and the fast engine;
- :mod:`~simulator.sim.log` — decision log, episode and device tables, explanations;
- :mod:`~simulator.sim.run` — :func:`simulate`: chunks × variants, executors, assembly.
"""
