"""The compiled and vectorised parts of world generation draw exactly what NumPy would.

World generation makes a chunk's per-user streams with a vectorised ``SeedSequence``
(:mod:`simulator.sim._streams`) and draws launch times and session lengths in Numba
(:func:`simulator.sim._sessions.device_launches`). Both must leave every world
bit-identical, so each is compared here with the plain NumPy code it replaces, over
random keys and parameters.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.sim import _sessions
from simulator.sim._streams import stream_from_state, stream_states
from simulator.sim.world import _stream

keys = st.integers(min_value=0, max_value=2**70)


@settings(max_examples=60, deadline=None)
@given(
    seed=keys,
    replication=st.integers(0, 2**40),
    users=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=20),
    purpose=st.integers(0, 2**36),
)
def test_stream_states_are_numpy_seed_sequence_states(
    seed: int, replication: int, users: list[int], purpose: int
) -> None:
    states = stream_states(seed, replication, np.array(users), purpose)
    for row, user in zip(states, users, strict=True):
        expected = np.random.SeedSequence(seed, spawn_key=(replication, user, purpose))
        assert np.array_equal(row, expected.generate_state(4, np.uint64))


def test_a_generator_from_a_state_is_the_default_rng_of_the_seed_sequence() -> None:
    state = stream_states(42, 3, np.array([0, 99_999]), 15)
    for row, user in zip(state, [0, 99_999], strict=True):
        ours, numpy = stream_from_state(row), _stream(42, 3, user, 15)
        assert np.array_equal(ours.random(8), numpy.random(8))
        assert np.array_equal(ours.standard_normal(8), numpy.standard_normal(8))


def test_negative_keys_are_refused_like_numpy_refuses_them() -> None:
    with pytest.raises(ValueError):
        stream_states(-1, 0, np.array([0]), 0)
    with pytest.raises(ValueError):
        stream_states(1, 0, np.array([-1]), 0)


def _numpy_launches(
    rng: np.random.Generator,
    lam_work: np.ndarray,
    lam_off: np.ndarray,
    work_start: float,
    work_len: float,
    off_len: float,
    lengths: list[tuple[str, float, float]],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The NumPy code world generation used before (per app), raw length draws."""
    days = lam_work.shape[1]
    out = []
    for i, (kind, a, b) in enumerate(lengths):
        n_work = rng.poisson(lam_work[i])
        n_off = rng.poisson(lam_off[i])
        day_work = np.repeat(np.arange(days), n_work)
        day_off = np.repeat(np.arange(days), n_off)
        t_work = day_work * 1440.0 + work_start + rng.uniform(0, work_len, int(n_work.sum()))
        x_off = rng.uniform(0, off_len, int(n_off.sum())) if off_len > 0 else np.empty(0)
        t_off = day_off * 1440.0 + np.where(x_off < work_start, x_off, x_off + work_len)
        starts = np.sort(np.concatenate([t_work, t_off]))
        n = starts.size
        if kind == "fixed":
            drawn = np.full(n, a)
        elif kind == "never":
            drawn = np.full(n, math.inf)
        elif kind == "exponential":
            drawn = rng.exponential(a, n)
        elif kind == "uniform":
            drawn = rng.uniform(a, b, n)
        else:
            drawn = rng.standard_normal(n)
        out.append((starts, drawn))
    return out


KINDS = {
    "fixed": _sessions.LENGTH_FIXED,
    "never": _sessions.LENGTH_NEVER,
    "exponential": _sessions.LENGTH_EXPONENTIAL,
    "uniform": _sessions.LENGTH_UNIFORM,
    "lognormal": _sessions.LENGTH_LOGNORMAL,
}


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    days=st.integers(1, 40),
    hours=st.tuples(st.integers(0, 23), st.integers(1, 24)).filter(lambda h: h[0] < h[1]),
    rates=st.lists(st.floats(0.0, 30.0), min_size=1, max_size=4),
    share=st.floats(0.0, 1.0),
    kinds=st.lists(st.sampled_from(sorted(KINDS)), min_size=4, max_size=4),
)
def test_device_launches_draw_what_the_numpy_code_drew(
    seed: int,
    days: int,
    hours: tuple[int, int],
    rates: list[float],
    share: float,
    kinds: list[str],
) -> None:
    h0, h1 = hours
    work_len = (h1 - h0) * 60.0
    off_len = 1440.0 - work_len
    share = share if off_len > 0 else 1.0
    weekend = (np.arange(days) % 7) >= 5
    profile = np.where(weekend, 0.3, 1.0)
    lam_work = np.array([r * share * profile for r in rates])
    lam_off = np.array([r * (1 - share) * profile for r in rates])
    lengths = [(k, 7.5, 19.0) for k in kinds[: len(rates)]]
    expected_rng, rng = np.random.default_rng(seed), np.random.default_rng(seed)
    expected = _numpy_launches(
        expected_rng, lam_work, lam_off, h0 * 60.0, work_len, off_len, lengths
    )
    starts, drawn, offsets = _sessions.device_launches(
        rng,
        lam_work,
        lam_off,
        h0 * 60.0,
        work_len,
        off_len,
        np.array([KINDS[k] for k, _, _ in lengths], dtype=np.int64),
        np.array([a for _, a, _ in lengths]),
        np.array([b for _, _, b in lengths]),
    )
    for i, (app_starts, app_drawn) in enumerate(expected):
        assert np.array_equal(starts[offsets[i] : offsets[i + 1]], app_starts)
        assert np.array_equal(drawn[offsets[i] : offsets[i + 1]], app_drawn)
    assert offsets[-1] == starts.size
    # the caller's generator has advanced exactly as far as NumPy's
    assert rng.bit_generator.state == expected_rng.bit_generator.state
