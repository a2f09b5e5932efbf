"""Issue #12, points 10–11: signals and processes, with real subprocesses.

A run or sweep big enough to take well over ten seconds with two workers is started as
``python -m simulator`` in its own session; once its worker processes exist it is sent
SIGINT (to the whole process group, as Ctrl-C in a terminal does), SIGTERM or SIGKILL.
Worker processes are found through ``/proc`` (parent-pid chains) and identified by pid
and start time; any still alive when a test ends are killed by pid. Every wait has a
timeout so that nothing can hang. Last, commands whose stdout is ``/dev/full`` must say
in one line that the output could not be written.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest

from tests.cli._support import POLICY, TINY, assert_fragments, write_files

LONG: Final = """\
name = "long"
seed = 1
horizon = "30d"
chunk_size = 50
[fleet]
users = 1500
[[policies]]
name = "strict"
apps = ["outlook", "teams"]
max_threat_level = "secured"
[[policies]]
name = "lenient"
apps = ["outlook", "teams"]
max_threat_level = "medium"
"""
"""About 15 s of simulation with two workers (30 chunks of 50 users)."""

COMMANDS: Final = {
    "run": ("run", "long.toml", "--out", "out", "--workers", "2", "-q", "--no-plots"),
    "sweep": ("sweep", "long.toml", "--out", "out", "--workers", "2", "-q", "--replications", "3"),
}
ORPHAN_PATIENCE: Final = 3.0
"""Seconds the workers get to exit after their parent has died."""


# ------------------------------------------------------------------------ /proc helpers

Ident = tuple[int, int]
"""(pid, start time in clock ticks): a process, robust to pid reuse."""


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, start time) of ``pid`` from /proc, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = text[text.rindex(")") + 2 :].split()
    return rest[0], int(rest[1]), int(rest[19])


def descendants(pid: int) -> set[Ident]:
    """Every live process whose parent chain leads to ``pid``."""
    children: dict[int, list[Ident]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        info = _stat(int(entry))
        if info is not None and info[0] != "Z":
            children.setdefault(info[1], []).append((int(entry), info[2]))
    found: set[Ident] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child[0])
    return found


def alive(ident: Ident) -> bool:
    """Whether that very process still runs (a zombie counts as gone)."""
    info = _stat(ident[0])
    return info is not None and info[2] == ident[1] and info[0] != "Z"


@dataclass
class Launcher:
    """Starts condlaunch subprocesses (stdout and stderr to files, so that workers that
    outlive their parent cannot hold a pipe open) and, at the end of the test, kills by
    pid whatever of them and of their recorded workers is still alive."""

    cwd: Path
    logs: Path
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: set[Ident] = field(default_factory=set)

    def start(self, argv: tuple[str, ...]) -> subprocess.Popen[bytes]:
        index = len(self.started)
        with (
            open(self.logs / f"{index}.out", "wb") as out,
            open(self.logs / f"{index}.err", "wb") as err,
        ):
            process = subprocess.Popen(
                [sys.executable, "-m", "simulator", *argv],
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        self.started.append(process)
        return process

    def stderr(self, process: subprocess.Popen[bytes]) -> str:
        index = self.started.index(process)
        return (self.logs / f"{index}.err").read_text(errors="replace")

    def wait(self, process: subprocess.Popen[bytes], timeout: float, what: str) -> int:
        """The exit status of ``process`` (fails the test if it outlives ``timeout``)."""
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {timeout:g} s after {what}")

    def wait_for_workers(self, process: subprocess.Popen[bytes], timeout: float = 30) -> set[Ident]:
        """Block until ``process`` has worker processes (the simulation is under way)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(
                    f"exited ({process.returncode}) before starting workers: "
                    + self.stderr(process)[-500:]
                )
            found = descendants(process.pid)
            if found:
                time.sleep(0.5)  # let every worker start and take work
                found |= descendants(process.pid)
                self.workers |= found
                return found
            time.sleep(0.05)
        pytest.fail(f"no worker processes after {timeout:g} s")

    def cleanup(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        for ident in self.workers:
            if alive(ident):
                os.kill(ident[0], signal.SIGKILL)


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    """A folder ``w`` with the long scenario, and a launcher that cleans up after itself."""
    base = tmp_path / "w"
    write_files(base, {"long.toml": LONG})
    (tmp_path / "logs").mkdir()
    started = Launcher(base, tmp_path / "logs")
    try:
        yield started
    finally:
        started.cleanup()


def survivors(workers: set[Ident], patience: float = ORPHAN_PATIENCE) -> list[int]:
    """The pids among ``workers`` still alive after ``patience`` seconds."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if not any(alive(w) for w in workers):
            return []
        time.sleep(0.05)
    return sorted(pid for pid, start in workers if alive((pid, start)))


# -------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("command", list(COMMANDS))
def test_ctrl_c_prints_one_line_exits_130_and_writes_nothing(
    command: str, launcher: Launcher
) -> None:
    """Ctrl-C (SIGINT to the process group) during the simulation: exit code 130, one
    line on stderr saying it was interrupted, no traceback (from the parent or the
    workers), and no output folder or half-written staging folder left."""
    process = launcher.start(COMMANDS[command])
    workers = launcher.wait_for_workers(process)
    os.killpg(process.pid, signal.SIGINT)
    code = launcher.wait(process, 20, "Ctrl-C")
    survivors(workers)  # let the workers finish writing to the shared stderr
    err = launcher.stderr(process)
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, f"exit {code}; stderr: {lines[-3:]}"
    assert code == 130, f"exit {code}; stderr: {lines[-3:]}"
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {lines[:5]}"
    assert_fragments(lines[0], ["interrupted"])
    left = sorted(p.name for p in launcher.cwd.iterdir())
    if command == "sweep" and left == ["long.toml", "out"]:  # a replication was finished
        assert [p.name for p in (launcher.cwd / "out").iterdir()] == ["checkpoints"]
        assert_fragments(lines[0], ["--resume"])
    else:
        assert left == ["long.toml"], "left files behind"


RESUMABLE: Final = """\
name = "resumable"
seed = 2
horizon = "7d"
chunk_size = 40
[fleet]
users = 120
[[policies]]
name = "strict"
apps = ["outlook", "teams"]
max_threat_level = "secured"
[[policies]]
name = "lenient"
apps = ["outlook", "teams"]
max_threat_level = "medium"
"""
"""A few seconds per replication: 3 chunks of 40 users."""

EXECUTORS: Final = {"local": ("--workers", "2"), "dask": ("--executor", "dask", "--workers", "2")}


@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_ctrl_c_after_a_replication_leaves_a_resumable_folder(
    executor: str, launcher: Launcher
) -> None:
    """Ctrl-C once a replication is checkpointed (local processes or a Dask LocalCluster):
    exit 130 and one line saying what was kept and to use --resume (no worker's
    traceback); the folder holds only checkpoints, and the same command with --resume
    finishes the sweep."""
    write_files(launcher.cwd, {"resumable.toml": RESUMABLE})
    argv = ("sweep", "resumable.toml", "--out", "out", "-q", "--replications", "3")
    process = launcher.start((*argv, *EXECUTORS[executor]))
    first = launcher.cwd / "out" / "checkpoints" / "replication-000000"
    deadline = time.monotonic() + 120
    while not first.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert first.exists(), "no replication checkpointed: " + launcher.stderr(process)[-500:]
    launcher.workers |= descendants(process.pid)
    os.killpg(process.pid, signal.SIGINT)
    code = launcher.wait(process, 30, "Ctrl-C")
    err = launcher.stderr(process)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 130 and "Traceback" not in err, f"exit {code}; stderr: {lines[-5:]}"
    assert len(lines) == 1, lines[:5]
    assert_fragments(lines[0], ["interrupted", "checkpointed", "--resume"])
    assert [p.name for p in (launcher.cwd / "out").iterdir()] == ["checkpoints"]
    resumed = launcher.start((*argv, "--workers", "2", "--resume"))
    assert launcher.wait(resumed, 120, "--resume") == 0, launcher.stderr(resumed)[-500:]
    assert (launcher.cwd / "out" / "summary.csv").is_file()
    assert not (launcher.cwd / "out" / "checkpoints").exists()


TERMINATIONS: Final = {
    "run-sigterm": ("run", signal.SIGTERM),
    "run-sigkill": ("run", signal.SIGKILL),
    "sweep-sigkill": ("sweep", signal.SIGKILL),
}


@pytest.mark.parametrize("case", list(TERMINATIONS.values()), ids=list(TERMINATIONS))
def test_no_worker_survives_its_parent(
    case: tuple[str, signal.Signals], launcher: Launcher
) -> None:
    """SIGTERM or SIGKILL of the parent alone (``kill PID``): once the parent has died,
    every worker process it started exits within a few seconds."""
    command, signum = case
    process = launcher.start(COMMANDS[command])
    workers = launcher.wait_for_workers(process)
    process.send_signal(signum)
    launcher.wait(process, 20, signum.name)
    left = survivors(workers)
    assert not left, (
        f"{len(left)} of {len(workers)} worker processes still running "
        f"{ORPHAN_PATIENCE:g} s after {signum.name} killed their parent: pids {left}"
    )


FULL_COMMANDS: Final = {
    "schema": ("schema",),
    "validate": ("validate", "s.toml"),
    "whatif-json": (
        "whatif",
        "--policy",
        "p.toml",
        "--app",
        "outlook",
        "--management",
        "mam_we",
        "--level",
        "high",
        "--json",
    ),
    "table-summary": ("table", "--policy", "p.toml"),
}
WRITE_FAILED: Final = (
    "could not be written",
    "could not write",
    "cannot write",
    "can't write",
    "failed to write",
)


@pytest.mark.parametrize("argv", list(FULL_COMMANDS.values()), ids=list(FULL_COMMANDS))
def test_stdout_on_a_full_disk_is_one_line_not_a_traceback(
    argv: tuple[str, ...], tmp_path: Path
) -> None:
    """``condlaunch … > /dev/full``: a non-zero exit and one line on stderr saying the
    output could not be written, with no traceback or "Exception ignored" noise."""
    write_files(tmp_path, {"s.toml": TINY, "p.toml": POLICY})
    with open("/dev/full", "w") as full:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "simulator", *argv],
                cwd=tmp_path,
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                timeout=30,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail("no answer after 30 s")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    summary = f"exit {done.returncode}; stderr: {lines[-3:]}"
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, summary
    assert done.returncode != 0, summary
    assert len(lines) == 1, summary
    assert_fragments(lines[0], [WRITE_FAILED])
