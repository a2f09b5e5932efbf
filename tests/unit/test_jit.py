"""The compiled engine's warm-up: what it compiles is what a run uses, so a run after it
compiles nothing (simulator.sim.jit)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.cli import _common
from simulator.sim import jit

ROOT = Path(__file__).resolve().parents[2]

_AFTER = """
import json
from simulator.sim import jit
from simulator.sim import _sessions
from simulator.sim.engine import _kernel
from simulator.scenario.load import scenario_from_data
from simulator.sim.run import simulate
from simulator.analysis import _counts_kernel
from simulator.analysis.sweep import SweepSettings, run_sweep
cold = jit.cold_functions()
spent = jit.ensure_compiled()
scenario = scenario_from_data({
    "name": "a drawn world after the warm-up", "seed": 7, "horizon": "3d",
    "fleet": {"users": 4},
    "policies": [{"name": "p", "apps": ["outlook", "teams"], "max_threat_level": "low",
                  "checkin_interval": "30m"}],
})
rows = len(simulate(scenario, workers=1).decisions)
swept = run_sweep(scenario, SweepSettings(replications=1, keep_log=False), workers=1)
rows = min(rows, int(swept.results["launches"].sum()))
entry = (_kernel.run_chunk, _sessions.device_launches, _sessions.sessions,
         _counts_kernel.row_figures)
misses = {f.__name__: sum(f.stats.cache_misses.values()) for f in entry}
hits = {f.__name__: sum(f.stats.cache_hits.values()) for f in entry}
print(json.dumps({"cold": cold, "spent": spent, "rows": rows, "misses": misses, "hits": hits}))
"""


def _python(code: str, cache: Path) -> dict[str, object]:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_run_after_the_warm_up_compiles_nothing(tmp_path: Path) -> None:
    """From an empty cache, ensure_compiled compiles the world and the compiled metrics
    (in a second process) and the loop (on a scripted world); a new process drawing,
    playing and sweeping a random world then loads every entry point from the cache: had
    the scripted world packed into arrays of other types, or the metrics' warm-up passed
    other types than a sweep's chunks, they would compile again here (a cache miss)."""
    cache = tmp_path / "numba"
    first = _python(
        "import json\nfrom simulator.sim import jit\nimport simulator.analysis.metrics\n"
        "cold = jit.cold_functions()\nspent = jit.ensure_compiled(also=('metrics',))\n"
        "print(json.dumps({'cold': cold, 'spent': spent, 'after': jit.cold_functions()}))",
        cache,
    )
    assert first["cold"] == ["world", "engine", "metrics"]
    assert isinstance(first["spent"], float) and first["spent"] > 0
    assert first["after"] == []
    second = _python(_AFTER, cache)
    assert second["cold"] == []
    assert second["spent"] is None
    assert second["rows"] > 0
    zero = {"run_chunk": 0, "device_launches": 0, "sessions": 0, "row_figures": 0}
    assert second["misses"] == zero
    assert second["hits"] == {name: 1 for name in zero}


def test_this_session_finds_the_cache_warm() -> None:
    """conftest's warm-up ran before the tests: nothing is cold, a call returns at once."""
    assert jit.cold_functions() == []
    assert jit.ensure_compiled() is None


def test_an_unreadable_cache_means_unknown_not_cold() -> None:
    """When Numba's cache layout cannot be read, the check does not guess."""

    class NoCache:
        _cache = None

    assert jit._cached(NoCache()) is None


def test_the_cli_says_when_it_compiles(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A compiling first run prints a line before and the seconds after, on stderr; a
    cached one and the other engines print nothing."""

    def compiling(notify: object = None, also: object = ()) -> float:
        assert callable(notify)
        notify("compiling the simulation engine")
        return 12.25

    monkeypatch.setattr(jit, "ensure_compiled", compiling)
    _common.compile_engine_first("compiled")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "condlaunch: compiling the simulation engine...",
        "condlaunch: engine compiled in 12.2 s",
    ]
    monkeypatch.setattr(jit, "ensure_compiled", lambda notify=None, also=(): None)
    _common.compile_engine_first("compiled")
    _common.compile_engine_first("reference")
    assert capsys.readouterr().err == ""


def test_a_stuck_helper_is_killed_and_the_world_compiles_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A helper that never finishes costs the timeout, not the run: it is killed and the
    world's functions are loaded (here: from the warm cache) in this process."""
    helpers: list[subprocess.Popen[bytes]] = []

    def stuck(parts: list[str]) -> subprocess.Popen[bytes]:
        helpers.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]))
        return helpers[0]

    monkeypatch.setattr(jit, "_checked", set())
    monkeypatch.setattr(jit, "cold_functions", lambda parts=None: ["world", "engine"])
    monkeypatch.setattr(jit, "_start_helper", stuck)
    monkeypatch.setattr(jit, "_HELPER_TIMEOUT", 0.5)
    spent = jit.ensure_compiled()
    assert spent is not None and spent < 30
    assert helpers[0].poll() is not None  # killed, not left running
    assert helpers[0].returncode != 0


def test_an_unknown_part_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking for a part nobody registered is a programming error, said at once."""
    monkeypatch.setattr(jit, "_checked", set())
    with pytest.raises(ValueError, match="no compiled part named 'nope'"):
        jit.ensure_compiled(also=("nope",))


def test_built_in_parts_cannot_be_replaced() -> None:
    """A higher layer registers new parts; the world and the engine stay this module's."""
    with pytest.raises(ValueError, match="built-in"):
        jit.register("engine", lambda: (), "simulator.analysis._counts_kernel")
