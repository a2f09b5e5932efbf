"""Compiled helper of world generation: which launches open a session (Numba).

Kept out of :mod:`simulator.sim.world` so that importing the package (the CLI's start-up,
``validate``) does not load Numba; it is imported when a random world is first drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit


@njit(cache=True)
def sessions(starts: Any, lengths: Any, horizon: float) -> Any:
    """Which sorted launch ``starts`` open a session, and each kept session's duration.

    A launch during the app's previous session is the same session; sessions are cut at
    the horizon. The same float operations as ``min(max(length, 0.0), horizon - start)``.
    """
    n = starts.size
    keep = np.zeros(n, dtype=np.bool_)
    durations = np.zeros(n)
    end = -np.inf
    for i in range(n):
        start = starts[i]
        if start >= horizon:
            break
        if start < end:
            continue
        length = lengths[i]
        duration = 0.0 if length < 0.0 else length
        room = horizon - start
        if room < duration:
            duration = room
        keep[i] = True
        durations[i] = duration
        end = start + duration
    return keep, durations


@njit(cache=True)
def launch_starts(
    rng: Any, lam_work: Any, lam_off: Any, work_start: float, work_len: float, off_len: float
) -> Any:
    """One app's sorted launch times over the horizon's days, drawn from ``rng``.

    Per day a Poisson count of working-hours launches (rate ``lam_work[day]``) and one of
    off-hours launches (``lam_off[day]``); then a uniform time within working hours
    (``work_start`` + [0, ``work_len``) minutes of the day) for each working launch, and
    one within the day's off-hours (``off_len`` minutes, wrapping round working hours) for
    each off-hours launch — all working counts, then all off counts, then the working
    times, then the off times, which is the order (and so the stream) of the NumPy code
    this replaces. Numba's ``Generator.poisson`` / ``uniform`` are ports of NumPy's and
    advance the caller's generator, so every value is bit-identical
    (``tests/unit/test_world_streams.py`` compares them with that NumPy code).
    """
    days = lam_work.size
    n_work = np.empty(days, np.int64)
    n_off = np.empty(days, np.int64)
    for d in range(days):
        n_work[d] = rng.poisson(lam_work[d])
    for d in range(days):
        n_off[d] = rng.poisson(lam_off[d])
    total_work = 0
    total_off = 0
    for d in range(days):
        total_work += n_work[d]
        total_off += n_off[d]
    out = np.empty(total_work + total_off)
    k = 0
    for d in range(days):
        base = d * 1440.0 + work_start
        for _ in range(n_work[d]):
            out[k] = base + rng.uniform(0.0, work_len)
            k += 1
    if off_len > 0:  # else no off-hours: their rates, and so their counts, are 0
        for d in range(days):
            base = d * 1440.0
            for _ in range(n_off[d]):
                x = rng.uniform(0.0, off_len)
                out[k] = base + (x if x < work_start else x + work_len)
                k += 1
    return _by_day_sorted(out, n_work, n_off)


@njit(cache=True)
def _by_day_sorted(out: Any, n_work: Any, n_off: Any) -> Any:
    """``out`` (every day's working times, then every day's off-hours times) sorted.

    Each day's times lie within the day ([d·1440, (d+1)·1440], the bound reached only by
    rounding), so sorting each day's few times and laying the days end to end sorts the
    whole — the values ``np.sort`` gives, without compiling Numba's quicksort (about a
    second of a fresh install's first run).
    """
    days = n_work.size
    total_work = 0
    for d in range(days):
        total_work += n_work[d]
    res = np.empty(out.size)
    pos = 0
    work = 0
    off = total_work
    for d in range(days):
        first = pos
        for _ in range(n_work[d]):
            res[pos] = out[work]
            work += 1
            pos += 1
        for _ in range(n_off[d]):
            res[pos] = out[off]
            off += 1
            pos += 1
        for i in range(first + 1, pos):  # insertion sort of the day's few times
            value = res[i]
            j = i - 1
            while j >= first and res[j] > value:
                res[j + 1] = res[j]
                j -= 1
            res[j + 1] = value
    return res


LENGTH_FIXED, LENGTH_NEVER, LENGTH_EXPONENTIAL, LENGTH_UNIFORM, LENGTH_LOGNORMAL = range(5)
"""Session-length distributions, as :func:`device_launches` codes them."""


@njit(cache=True)
def device_launches(
    rng: Any,
    lam_work: Any,
    lam_off: Any,
    work_start: float,
    work_len: float,
    off_len: float,
    length_kind: Any,
    length_a: Any,
    length_b: Any,
) -> Any:
    """Every app's launch times and session-length draws for one device, in one call.

    For app ``i`` (row ``i`` of ``lam_work``/``lam_off``) in scenario order: its sorted
    launch times (:func:`launch_starts`), then one session-length draw per launch —
    ``length_kind[i]`` with parameters ``length_a[i]``, ``length_b[i]``: fixed (a),
    never, exponential (mean a), uniform [a, b), or lognormal, for which the standard
    normal draw itself is returned (the caller scales it with NumPy's ``exp``, as
    before). The stream is consumed in the order of the per-app NumPy code this
    replaces, every app drawing whether the device uses it or not.

    Returns (starts, lengths, offsets): app ``i``'s launches are
    ``offsets[i]:offsets[i + 1]``.
    """
    n_apps = lam_work.shape[0]
    parts = []
    lengths = []
    offsets = np.zeros(n_apps + 1, np.int64)
    for i in range(n_apps):
        starts = launch_starts(rng, lam_work[i], lam_off[i], work_start, work_len, off_len)
        n = starts.size
        drawn = np.empty(n)
        kind = length_kind[i]
        for k in range(n):
            if kind == LENGTH_FIXED:
                drawn[k] = length_a[i]
            elif kind == LENGTH_NEVER:
                drawn[k] = np.inf
            elif kind == LENGTH_EXPONENTIAL:
                drawn[k] = rng.exponential(length_a[i])
            elif kind == LENGTH_UNIFORM:
                drawn[k] = rng.uniform(length_a[i], length_b[i])
            else:
                drawn[k] = rng.standard_normal()
        parts.append(starts)
        lengths.append(drawn)
        offsets[i + 1] = offsets[i] + n
    all_starts = np.empty(offsets[n_apps])
    all_lengths = np.empty(offsets[n_apps])
    for i in range(n_apps):  # element by element: a slice assignment compiles slowly
        for k in range(offsets[i + 1] - offsets[i]):
            all_starts[offsets[i] + k] = parts[i][k]
            all_lengths[offsets[i] + k] = lengths[i][k]
    return all_starts, all_lengths, offsets
