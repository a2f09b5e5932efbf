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


@pytest.fixture(scope="session", autouse=True)
def _compiled_engine_cache() -> None:
    """Compile the world's, the engine's and the metrics' Numba functions once, before any test
    (:func:`simulator.sim.jit.ensure_compiled`; 15-20 s on a fresh 2-core
    machine, nothing when cached), instead of inside the first tests that start
    ``condlaunch`` in a subprocess with a timeout, which would fail on the compile, not
    on what they test.
    """
    import simulator.analysis.metrics  # noqa: F401  (registers the compiled metrics)
    from simulator.sim.jit import ensure_compiled

    ensure_compiled(also=("metrics",))
