"""Scenarios: a fleet, its threats, signal path, behaviour parameters and policies, as data.

- :mod:`~simulator.scenario.models` — the pydantic models of a scenario file (the schema);
- :mod:`~simulator.scenario.load` — :class:`Scenario` and :func:`load_scenario`;
- :mod:`~simulator.scenario.variants` — policy variants and ``[sweep]`` grids.
"""
