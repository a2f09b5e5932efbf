"""Issue #10: sweeps on a Dask cluster, resumable and fault-tolerant.

One ``LocalCluster`` (two single-threaded worker processes) serves the module. The
scenario is small (a few seconds per sweep) but has several chunks per replication, so
that tasks really spread over both workers and finish out of order.
"""

from __future__ import annotations

import os
import signal
import socket
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from simulator.analysis.sweep import SweepResult, SweepSettings, run_sweep
from simulator.cli import main
from simulator.folders import SweepCheckpoints, checkpoint_count, is_our_folder, write_sweep
from simulator.scenario.load import Scenario, load_scenario

distributed = pytest.importorskip("distributed")  # a fallback only: dev installs it

DASHBOARD: Final = "127.0.0.1:0"
"""The scheduler's HTTP server on a free port (8787 may be taken by another cluster)."""
TABLES: Final = ("results.csv", "summary.csv", "paired.csv", "episode_outcomes.csv")

SCENARIO: Final = """\
name = "cluster"
seed = 11
horizon = "4d"
chunk_size = 8
[fleet]
users = 32
[[threats]]
kind = "malware"
rate_per_device_year = 40
[[policies]]
name = "strict"
apps = ["outlook", "teams"]
max_threat_level = "secured"
[[policies]]
name = "lenient"
apps = ["outlook", "teams"]
max_threat_level = "medium"
"""
"""32 users in 4 chunks of 8: 4 tasks per replication, two variants, frequent threats."""


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "cluster.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def scenario(scenario_file: Path) -> Scenario:
    return load_scenario(scenario_file)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A client of a LocalCluster of two worker processes (one thread each)."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=DASHBOARD
        ) as cluster,
        distributed.Client(cluster) as connected,
    ):
        yield connected


@pytest.fixture(scope="module")
def local(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: the sweep in this process (one worker), written to a folder."""
    out = tmp_path_factory.mktemp("local") / "sweep"
    write_sweep(run_sweep(scenario, SweepSettings(replications=3), workers=1), out)
    return out


def _written(result: SweepResult, out: Path) -> Path:
    write_sweep(result, out)
    return out


def assert_same_tables(left: Path, right: Path) -> None:
    for name in TABLES:
        assert (left / name).read_bytes() == (right / name).read_bytes(), f"{name} differs"


def test_a_dask_cluster_gives_byte_identical_tables(
    scenario: Scenario, client: Any, local: Path, tmp_path: Path
) -> None:
    """results.csv, summary.csv, paired.csv and episode_outcomes.csv are byte-identical
    whether the sweep runs in one process, in two local processes, or on a two-worker
    Dask LocalCluster (``run_sweep(executor=distributed.Client)``)."""
    settings = SweepSettings(replications=3)
    two = _written(run_sweep(scenario, settings, workers=2), tmp_path / "two")
    dask = _written(run_sweep(scenario, settings, executor=client), tmp_path / "dask")
    assert_same_tables(local, two)
    assert_same_tables(local, dask)


def test_progress_counts_every_task_done_on_the_cluster(scenario: Scenario, client: Any) -> None:
    """The progress callback is called once per cluster task, counting up to every user of
    every replication."""
    calls: list[tuple[int, int]] = []
    run_sweep(
        scenario,
        SweepSettings(replications=2, keep_log=False),
        executor=client,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert len(calls) == 2 * 4  # 2 replications × 4 chunks
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert calls[-1] == (2 * 32, 2 * 32)


def test_precision_mode_on_dask_matches_local(scenario: Scenario, client: Any) -> None:
    """Precision mode (rounds of replications until the target half-width) stops at the
    same replication count with the same tables on Dask as in one process."""
    settings = SweepSettings(
        replications=2, precision=0.2, max_replications=4, batch=1, keep_log=False
    )
    here = run_sweep(scenario, settings, workers=1)
    there = run_sweep(scenario, settings, executor=client)
    assert there.replications == here.replications
    assert there.precision is not None and len(there.precision.history) > 1  # rounds ran
    assert there.precision == here.precision
    assert there.summary.equals(here.summary)


def test_a_killed_worker_does_not_change_the_result(
    scenario: Scenario, local: Path, tmp_path: Path
) -> None:
    """A worker process killed (SIGKILL) while the sweep runs: Dask runs its tasks again
    elsewhere, and the tables are byte-identical to the local sweep's."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=DASHBOARD
        ) as cluster,
        distributed.Client(cluster) as connected,
    ):
        pids = connected.run(os.getpid)  # worker address → pid
        victim = sorted(pids.values())[0]
        killed: list[int] = []

        def kill_once(done: int, total: int) -> None:
            if not killed:
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        result = run_sweep(
            scenario, SweepSettings(replications=3), executor=connected, progress=kill_once
        )
        assert killed, "no worker was killed"
        assert victim not in connected.run(os.getpid).values()  # the nanny started a new one
    assert_same_tables(local, _written(result, tmp_path / "after-kill"))


class _Stop(KeyboardInterrupt):
    """Raised from the progress callback: the sweep is interrupted as Ctrl-C would."""


def test_resume_after_an_interrupted_sweep_gives_the_same_files(
    scenario_file: Path, scenario: Scenario, local: Path, tmp_path: Path, capsys: Any
) -> None:
    """A sweep interrupted after its first replication leaves checkpoints in its folder
    (a folder of ours, resumable); ``condlaunch sweep --resume`` runs only the rest and
    ends with byte-identical tables; the checkpoints are gone from the finished folder."""
    out = tmp_path / "sweep"
    store = SweepCheckpoints(out, scenario)
    saved: list[int] = []

    def save_then_stop(record: Any) -> None:
        store.save(record)
        saved.append(record.replication)
        raise _Stop

    with pytest.raises(_Stop):
        run_sweep(scenario, SweepSettings(replications=3), checkpoint=save_then_stop)
    assert saved == [0]
    assert checkpoint_count(out) == 1 and is_our_folder(out)
    ran: list[int] = []
    original = SweepCheckpoints.save

    def spy(self: SweepCheckpoints, record: Any) -> None:
        ran.append(record.replication)
        original(self, record)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SweepCheckpoints, "save", spy)
        argv = ["sweep", str(scenario_file), "--out", str(out), "--resume", "-q"]
        code = main([*argv, "--replications", "3", "--workers", "1"])
    assert code == 0, capsys.readouterr().err
    assert "Resuming: 1 replication" in capsys.readouterr().out
    assert sorted(ran) == [1, 2], "replication 0 was run again"
    assert_same_tables(local, out)
    assert not (out / "checkpoints").exists()


def test_resuming_another_scenario_or_seed_is_refused(
    scenario_file: Path, scenario: Scenario, tmp_path: Path, capsys: Any
) -> None:
    """``--resume`` with a different seed than the checkpoints were made with: exit 2, one
    line naming --resume and saying the sweep differs; the checkpoints stay as they were."""
    out = tmp_path / "sweep"
    run_sweep(
        scenario,
        SweepSettings(replications=1, keep_log=False),
        checkpoint=SweepCheckpoints(out, scenario).save,
    )
    before = sorted(p.name for p in (out / "checkpoints").iterdir())
    code = main(["sweep", str(scenario_file), "--out", str(out), "--resume", "--seed", "12", "-q"])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2 and len(lines) == 1, captured.err
    assert "--resume" in lines[0] and "different sweep" in lines[0]
    assert captured.out == ""
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == before


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_an_unreachable_scheduler_fails_fast_in_one_line(
    scenario_file: Path, tmp_path: Path, capsys: Any
) -> None:
    """``--scheduler`` naming a port nobody listens on: exit 2 within seconds, one line
    naming --scheduler and the address, nothing printed before it and nothing written."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    out = tmp_path / "sweep"
    started = time.monotonic()
    code = main(["sweep", str(scenario_file), "--out", str(out), "--scheduler", address, "-q"])
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured.err
    assert len(lines) == 1 and lines[0].startswith("condlaunch: error: --scheduler: "), lines
    assert address in lines[0]
    assert captured.out == ""
    assert elapsed < 15, f"took {elapsed:.1f} s"
    assert not out.exists()


def test_scheduler_and_local_options_conflict(scenario_file: Path, capsys: Any) -> None:
    """``--scheduler`` with ``--executor local`` or ``--workers``: refused in one line
    (the cluster decides where tasks run), before anything is simulated."""
    for extra in (["--executor", "local"], ["--workers", "2"]):
        code = main(["sweep", str(scenario_file), "--scheduler", "tcp://127.0.0.1:1", *extra])
        captured = capsys.readouterr()
        assert code == 2 and len(captured.err.strip().splitlines()) == 1, captured.err
        assert captured.out == ""


def _give_up(shared: object, task: object) -> None:
    """A task failing as Dask fails one whose workers keep dying."""
    worker = types.SimpleNamespace(address="tcp://127.0.0.1:1")
    raise distributed.KilledWorker("task", worker, 3)


def _fail(shared: object, task: object) -> None:
    """A task with an error of its own."""
    raise ZeroDivisionError("the task's own error")


def test_a_cluster_failure_is_one_cluster_error_a_task_error_is_itself() -> None:
    """When Dask gives up on a task (KilledWorker: its workers kept dying), the executor
    raises one :class:`ClusterError` (a one-line CLI error) instead of Dask's exception;
    an error of the task itself comes through unchanged."""
    from simulator.sim.cluster import ClusterError, DaskExecutor

    with distributed.Client(processes=False, n_workers=1, dashboard_address=DASHBOARD) as inproc:
        executor = DaskExecutor(inproc)
        with pytest.raises(ClusterError, match="KilledWorker"):
            list(executor.map_shared(_give_up, None, [0]))
        with pytest.raises(ZeroDivisionError):
            list(executor.map_shared(_fail, None, [0]))
