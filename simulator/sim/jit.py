"""Compile the compiled engine's Numba functions once, on both cores, before a run needs them.

A fresh install's first run compiles two independent sets of Numba functions and caches
them on disk (``cache=True``; later runs only load them):

* the world's launch draws (:mod:`simulator.sim._sessions`), about 4 s;
* the engine's loop (:mod:`simulator.sim.engine._kernel`), about 15 s.

Numba compiles one function at a time in a process, and a run meets them one after the
other (a chunk's world, then its play). :func:`ensure_compiled` overlaps them: when either
cache is cold it starts a second Python process that draws a two-user world (compiling
the world's functions into the shared cache) while this process plays a scripted
two-device timeline (compiling the loop). Neither needs the other: a scripted world has
no random draws, and it packs into arrays of the same types as a drawn one, so the loop
compiled for it is the one every run loads (``tests/unit/test_jit.py`` checks that a run
after the warm-up compiles nothing). Worker processes started afterwards load the cache
instead of each compiling everything on a shared core.

Whether a cache is warm is read from Numba's cache index (a valid entry for this source
file and this machine's code generation). If that internal layout ever changes, the
check reports "unknown" and runs compile lazily, as they did before.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

__all__ = ["cold_functions", "ensure_compiled", "register"]

_WORLD_SCENARIO: Final[dict[str, Any]] = {
    "name": "compile the world's draws",
    "seed": 1,
    "horizon": "2d",
    "fleet": {"users": 2},
    "policies": [{"name": "p", "apps": ["outlook"], "max_threat_level": "secured"}],
}

_SCRIPTED_SCENARIO: Final[dict[str, Any]] = {
    "name": "compile the engine's loop",
    "horizon": "2d",
    "signals": {"defender_to_intune": {"dist": "fixed", "value": "10m"}},
    "policies": [
        {
            "name": "p",
            "apps": ["outlook", "teams"],
            "max_threat_level": "secured",
            "recheck_after": "30m",
            "checkin_interval": "30m",
            "offline_block_after": "12h",
        }
    ],
    "script": {
        "devices": [
            {"id": "d1", "management": "mam_we", "defender": "activated"},
            {"id": "d2", "management": "mdm", "defender": "installed"},
        ],
        "events": [
            {"at": "50m", "device": "d1", "type": "launch", "app": "outlook", "duration": "5m"},
            {
                "at": "1h",
                "device": "d1",
                "type": "threat",
                "id": "t1",
                "kind": "phishing",
                "severity": "high",
                "detected_after": "5m",
                "remediate_after_denial": "20m",
            },
            {"at": "1h5m", "device": "d1", "type": "launch", "app": "outlook", "duration": "1h"},
            {"at": "2h", "device": "d2", "type": "launch", "app": "teams", "duration": "5m"},
            {"at": "3h", "device": "d2", "type": "defender", "state": "activated"},
            {"at": "4h", "device": "d2", "type": "offline"},
            {"at": "16h", "device": "d2", "type": "launch", "app": "teams", "duration": "5m"},
            {"at": "1d", "device": "d2", "type": "online"},
        ],
    },
}

_HELPER_TIMEOUT: Final = 300.0
"""Seconds to wait for the helper process once this one has compiled the loop (it needs
about 5): a stuck helper is killed and the world compiles in this process instead."""

_checked: set[str] = set()
"""The parts this process has checked (and compiled if cold): later calls skip them."""


_REGISTERED: dict[str, tuple[Callable[[], tuple[Any, ...]], str]] = {}
"""Parts registered by higher layers (:func:`register`): their entry points, and the
module whose ``warm()`` compiles them."""


def register(part: str, dispatchers: Callable[[], tuple[Any, ...]], module: str) -> None:
    """Add a part whose Numba functions :func:`ensure_compiled` also compiles: a layer
    above the engine (the compiled metrics) registers itself on import, so that this
    module never imports it.

    ``dispatchers`` returns the part's entry points (to check the cache); ``module`` is
    the importable name of a module with a ``warm()`` function that calls them on small
    inputs of the types a run passes. Cold parts compile in the helper process, beside
    the engine's loop.
    """
    if part in ("world", "engine"):
        raise ValueError(f"{part!r} is a built-in part")
    _REGISTERED[part] = (dispatchers, module)


def _dispatchers() -> dict[str, Any]:
    """The Numba entry points a run calls from Python, by the part they belong to."""
    from simulator.sim import _sessions
    from simulator.sim.engine import _kernel

    return {
        "world": (_sessions.device_launches, _sessions.sessions),
        "engine": (_kernel.run_chunk,),
        **{part: entry() for part, (entry, _) in _REGISTERED.items()},
    }


def _cached(dispatcher: Any) -> bool | None:
    """Whether Numba's on-disk cache holds a valid entry for ``dispatcher`` on this
    machine (None: cannot tell)."""
    try:
        cache = dispatcher._cache
        index = cache._cache_file._load_index()
        magic = dispatcher.targetctx.codegen().magic_tuple()
    except Exception:  # Numba's internal layout changed: do not guess
        return None
    return any(isinstance(key, tuple) and len(key) > 1 and key[1] == magic for key in index)


def cold_functions(parts: Sequence[str] | None = None) -> list[str] | None:
    """The parts (``"world"``, ``"engine"``, then registered ones; or those of ``parts``)
    whose compiled code is not cached yet; None when the cache cannot be read."""
    cold = []
    for part, functions in _dispatchers().items():
        if parts is not None and part not in parts:
            continue
        states = [_cached(f) for f in functions]
        if any(s is None for s in states):
            return None
        if not all(states):
            cold.append(part)
    return cold


def compile_world() -> None:
    """Draw a two-user world: compiles (or loads) the world's Numba functions."""
    from simulator.scenario.load import scenario_from_data
    from simulator.sim.world import n_users, world_chunk

    scenario = scenario_from_data(dict(_WORLD_SCENARIO))
    world_chunk(scenario, 0, 0, n_users(scenario))


def compile_engine() -> None:
    """Play a scripted two-device timeline: compiles (or loads) the engine's loop."""
    from simulator.scenario.load import scenario_from_data
    from simulator.sim.run import simulate

    simulate(scenario_from_data(dict(_SCRIPTED_SCENARIO)), workers=1, engine="compiled")


def _warm(part: str) -> None:
    """Compile (or load) a registered part in this process."""
    importlib.import_module(_REGISTERED[part][1]).warm()


def _helper_code(parts: list[str]) -> str:
    """The helper process's program: the world's draws, then each registered part."""
    lines = []
    if "world" in parts:
        lines += ["from simulator.sim.jit import compile_world", "compile_world()"]
    for part in parts:
        if part in _REGISTERED:
            module = _REGISTERED[part][1]
            lines += [f"import {module} as _m", "_m.warm()"]
    return "\n".join(lines)


def _start_helper(parts: list[str]) -> subprocess.Popen[bytes] | None:
    """A second Python process compiling ``parts`` (not the engine) into the shared cache,
    or None when one cannot be started (they then compile here)."""
    if not sys.executable:  # an embedded interpreter: no Python to start
        return None
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    try:
        return subprocess.Popen(
            [sys.executable, "-c", _helper_code(parts)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None


def ensure_compiled(
    notify: Callable[[str], None] | None = None, *, also: Sequence[str] = ()
) -> float | None:
    """Make sure the compiled engine's Numba functions are cached; compile them if not.

    ``also`` names registered parts (:func:`register`) the caller will use too, such as
    ``"metrics"`` for a sweep: they compile beside the engine, in the helper process.
    Returns the seconds spent compiling, or None when nothing needed compiling (or the
    cache could not be read, in which case functions compile when first called, as
    Numba does by default). ``notify`` is called with one line before a compile starts
    (the CLI prints it), since a first run is otherwise silent for 15–20 s.
    """
    wanted = [p for p in ("world", "engine", *also) if p not in _checked]
    unknown = [p for p in wanted if p not in ("world", "engine") and p not in _REGISTERED]
    if unknown:
        raise ValueError(f"no compiled part named {unknown[0]!r}")
    if not wanted:
        return None
    cold = cold_functions(wanted)
    _checked.update(wanted)  # from here on (even if interrupted), compile when first called
    if not cold:
        return None
    if notify is not None:
        notify(
            "compiling the simulation engine (first run after installing or upgrading; "
            "cached for later runs)"
        )
    started = time.perf_counter()
    others = [part for part in cold if part != "engine"]
    helper = _start_helper(others) if "engine" in cold and others else None
    try:
        if "engine" in cold:
            compile_engine()
        if helper is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):  # killed below
                helper.wait(timeout=_HELPER_TIMEOUT)
        # load what the helper cached, or compile it here if it failed
        if "world" in cold:
            compile_world()
        for part in others:
            if part in _REGISTERED:
                _warm(part)
    finally:
        if helper is not None and helper.poll() is None:
            helper.kill()
            helper.wait()
    return time.perf_counter() - started
