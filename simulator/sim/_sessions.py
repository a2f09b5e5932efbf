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
