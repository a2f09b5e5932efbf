"""Many users' random streams at once: NumPy's ``SeedSequence`` hashing, vectorised.

Every per-user stream of :mod:`simulator.sim.world` is
``default_rng(SeedSequence(seed, spawn_key=(replication, user, purpose)))``. Building one
costs about 12 µs, nearly all of it the ``SeedSequence`` hashing in Python-level code, and
a device needs six — a sixth of world generation. :func:`stream_states` computes the same
PCG64 seed words for a whole chunk of users with NumPy arrays (the hash only mixes 32-bit
words, with constants that do not depend on the values), and :func:`stream_from_state`
makes the generator from them in under 2 µs. The streams are bit-identical to NumPy's
(the tests compare them with ``SeedSequence`` over random keys, and the world hashes of
every bundled scenario are unchanged).

The algorithm is NumPy's (``numpy/random/bit_generator.pyx``): entropy words (the seed,
zero-padded to the pool size of 4, then the spawn key), ``mix_entropy`` into a pool of
4 words, ``generate_state`` of 8 words, read as 4 little-endian 64-bit words.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
from numpy.random.bit_generator import ISeedSequence

_POOL: Final = 4
_INIT_A: Final = 0x43B0D7E5
_MULT_A: Final = 0x931E8875
_INIT_B: Final = 0x8B51F9DD
_MULT_B: Final = 0x58F38DED
_MIX_L: Final = np.uint32(0xCA01F9DD)
_MIX_R: Final = np.uint32(0x4973F715)
_M32: Final = 0xFFFFFFFF


def _words(value: int) -> list[int]:
    """A non-negative integer as 32-bit words, least significant first (0 is one word)."""
    if value < 0:
        raise ValueError("seed and spawn-key values must be non-negative")
    words = [value & _M32] if value == 0 else []
    while value > 0:
        words.append(value & _M32)
        value >>= 32
    return words


class _Hash:
    """The evolving hash constant: the same sequence for every key, so a Python int."""

    def __init__(self, start: int, mult: int) -> None:
        self.value, self.mult = start, mult

    def mix(self, data: np.ndarray) -> np.ndarray:
        """``hashmix``: xor with the constant, step it, multiply, fold the high half."""
        data = data ^ np.uint32(self.value)
        self.value = (self.value * self.mult) & _M32
        data = data * np.uint32(self.value)
        return data ^ (data >> np.uint32(16))


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    result: np.ndarray = np.subtract(np.multiply(_MIX_L, x), np.multiply(_MIX_R, y))
    mixed: np.ndarray = np.bitwise_xor(result, np.right_shift(result, np.uint32(16)))
    return mixed


def stream_states(seed: int, replication: int, users: np.ndarray, purpose: int) -> np.ndarray:
    """PCG64 seed words (``(len(users), 4)`` uint64) of
    ``SeedSequence(seed, spawn_key=(replication, user, purpose))`` for each user."""
    users = np.asarray(users, dtype=np.int64)
    if users.size and (users.min() < 0 or users.max() > _M32):
        raise ValueError("user indices must be in [0, 2**32)")
    run = _words(seed)
    run += [0] * (_POOL - len(run))
    n = users.size
    columns = [np.full(n, w, dtype=np.uint32) for w in run]
    columns += [np.full(n, w, dtype=np.uint32) for w in _words(replication)]
    columns.append(users.astype(np.uint32))
    columns += [np.full(n, w, dtype=np.uint32) for w in _words(purpose)]
    h = _Hash(_INIT_A, _MULT_A)
    pool = [h.mix(columns[i]) for i in range(_POOL)]
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                pool[dst] = _mix(pool[dst], h.mix(pool[src]))
    for src in range(_POOL, len(columns)):
        for dst in range(_POOL):
            pool[dst] = _mix(pool[dst], h.mix(columns[src]))
    g = _Hash(_INIT_B, _MULT_B)
    out = np.empty((n, 8), dtype="<u4")
    for i in range(8):
        out[:, i] = g.mix(pool[i % _POOL])
    return out.view("<u8").astype(np.uint64)


class _Fixed(ISeedSequence):
    """A seed sequence whose state is already known (NumPy's documented interface for
    seeding a bit generator)."""

    __slots__ = ("_state",)

    def __init__(self, state: np.ndarray) -> None:
        self._state = state

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        if n_words != 4 or np.dtype(dtype) != np.dtype(np.uint64):
            raise ValueError("a precomputed stream state is 4 uint64 words")
        return self._state


def stream_from_state(state: np.ndarray) -> np.random.Generator:
    """The generator NumPy's ``default_rng`` makes from a seed sequence with this state."""
    # NumPy's stubs name SeedSequence; PCG64 takes any ISeedSequence (documented).
    return np.random.Generator(np.random.PCG64(_Fixed(state)))  # type: ignore[arg-type]
