"""Shared test configuration: a deterministic Hypothesis profile for CI, golden-file flag,
and the compiled engine compiled once before the first test."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-golden``: rewrite golden files from the current code instead of comparing."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the golden files under tests/golden/ from the current code",
    )


_WARM_UP: dict[str, object] = {
    "name": "compile the engine",
    "seed": 1,
    "horizon": "2d",
    "fleet": {"users": 2},
    "policies": [{"name": "p", "apps": ["outlook"], "max_threat_level": "secured"}],
}


@pytest.fixture(scope="session", autouse=True)
def _compiled_engine_cache() -> None:
    """Draw and play a two-user world once, before any test: on a fresh checkout Numba
    compiles the world's and the engine's loops then (15–25 s on a 2-core machine) and
    caches them on disk, instead of inside the first tests that start ``condlaunch`` in
    a subprocess with a timeout, which would fail on the compile, not on what they test.
    """
    from simulator.scenario.load import scenario_from_data
    from simulator.sim.run import simulate

    simulate(scenario_from_data(dict(_WARM_UP)))
