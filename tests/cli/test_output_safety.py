"""Issue #12, points 1–3: never destroy what condlaunch did not write.

Every test lays out a small "home" of user files in tmp_path (a project folder with the
scenario and its policy file, unrelated documents), hashes every file before and after,
and checks that a refused command leaves all of it byte for byte, that a folder
condlaunch wrote itself is still replaced, that output paths are checked before
simulating, that stale partial folders are cleaned up, and that the umask is respected.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from tests.cli._support import (
    QUIET,
    Outcome,
    assert_one_line_error,
    assert_same_tree,
    call,
    snapshot,
    write_files,
)

SMALL: Final = """\
policy_files = ["policies/extra.toml"]
name = "small"
seed = 5
horizon = "2d"
[fleet]
users = 10
second_device_share = 0.3
[[threats]]
kind = "phishing"
rate_per_device_year = 200
severity = { medium = 0.5, high = 0.5 }
[[policies]]
name = "strict"
apps = ["outlook", "teams"]
max_threat_level = "secured"
[[policies]]
name = "lenient"
apps = ["outlook", "teams"]
max_threat_level = "medium"
"""
"""A small scenario with threats that are detected and enforced (so that plots and
reports have something to show), reading one policy file of its folder."""

EXTRA: Final = """\
[[policies]]
name = "extra"
apps = ["outlook"]
max_threat_level = "high"
"""


@dataclass(frozen=True)
class Home:
    """A user's folders: ``root/proj`` holds the scenario, ``root/docs`` unrelated files."""

    root: Path

    @property
    def proj(self) -> Path:
        return self.root / "proj"

    @property
    def scenario(self) -> Path:
        return self.proj / "small.toml"

    @property
    def docs(self) -> Path:
        return self.root / "docs"


@pytest.fixture
def home(tmp_path: Path) -> Home:
    """tmp_path/home with a project (scenario, policy file, notes) and documents."""
    root = tmp_path / "home"
    write_files(
        root,
        {
            "todo.txt": "buy milk\n",
            "proj/small.toml": SMALL,
            "proj/policies/extra.toml": EXTRA,
            "proj/notes.md": "# why we simulate\n",
            "docs/letter.txt": "Dear Sir or Madam,\n",
            "docs/photos/cat.jpg": b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8,
            "docs/photos/album/dog.jpg": b"\xff\xd8\xff\xe1" + bytes(range(255, -1, -1)),
        },
    )
    return Home(root)


def run_argv(scenario: Path, out: str) -> list[str]:
    return ["run", str(scenario), "--out", out, *QUIET, "--no-plots"]


def sweep_argv(scenario: Path, out: str) -> list[str]:
    return ["sweep", str(scenario), "--out", out, *QUIET, "--replications", "2"]


COMMANDS: Final = {"run": run_argv, "sweep": sweep_argv}


# ------------------------------------------------- 1. replace only what we wrote


@dataclass(frozen=True)
class Target:
    """Where ``--out`` points: a path relative to home (or as given), from which cwd."""

    out: str
    cwd: str = ""
    absolute: bool = True


TARGETS: Final = {
    "scenario-folder": Target("proj"),
    "dot-in-scenario-folder": Target(".", cwd="proj", absolute=False),
    "dot-in-unrelated-folder": Target(".", cwd="docs", absolute=False),
    "parent-of-scenario": Target(""),
    "parent-of-cwd": Target("..", cwd="docs/photos", absolute=False),
    "unrelated-user-folder": Target("docs"),
    "user-subfolder-with-files": Target("docs/photos"),
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("target", list(TARGETS.values()), ids=list(TARGETS))
def test_refuses_to_replace_a_folder_it_did_not_write(
    command: str,
    target: Target,
    home: Home,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--out naming a folder of the user's (the scenario's folder, the current directory,
    a parent of either, an unrelated folder with files) is refused with one line and
    exit 2 before simulating, and every file under home survives byte for byte."""
    monkeypatch.chdir(home.root / target.cwd)
    out = str(home.root / target.out) if target.absolute else target.out
    before = snapshot(home.root)
    outcome = call(capsys, COMMANDS[command](home.scenario, out))
    after = snapshot(home.root)
    assert_same_tree(before, after, f"{command} --out {out}")
    assert_one_line_error(outcome)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_replaces_a_folder_it_wrote(
    command: str, home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder condlaunch wrote itself is replaced whole by the next run to it (exit 0,
    the new manifest in place), and the user's files around it are untouched."""
    out = home.root / "runs" / "r"
    first = call(capsys, COMMANDS[command](home.scenario, str(out)))
    assert first.code == 0, first.describe()
    before = snapshot(home.root)
    second = call(capsys, [*COMMANDS[command](home.scenario, str(out)), "--seed", "11"])
    assert second.code == 0, second.describe()
    assert json.loads((out / "manifest.json").read_text())["seed"] == 11
    after = snapshot(home.root)
    outside = {k: v for k, v in before.items() if not k.startswith("runs/")}
    assert_same_tree(outside, {k: v for k, v in after.items() if not k.startswith("runs/")}, "home")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_refuses_a_folder_it_wrote_once_the_user_added_files(
    command: str, home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    """A condlaunch folder into which the user has put a file of their own is no longer
    only ours: a run to it is refused (exit 2, one line) and the folder is unchanged."""
    out = home.root / "runs" / "r"
    first = call(capsys, COMMANDS[command](home.scenario, str(out)))
    assert first.code == 0, first.describe()
    (out / "my-analysis.ipynb").write_text('{"cells": []}\n')
    before = snapshot(home.root)
    outcome = call(capsys, COMMANDS[command](home.scenario, str(out)))
    assert_same_tree(before, snapshot(home.root), f"{command} --out {out}")
    assert_one_line_error(outcome)


def test_refuses_a_folder_whose_manifest_is_not_ours(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder that merely holds some other program's manifest.json (here a web app's)
    is not a condlaunch folder: refused, exit 2, everything intact."""
    write_files(
        home.root / "webapp",
        {"manifest.json": '{"name": "my-app", "version": "1.0.0"}\n', "index.js": "run()\n"},
    )
    before = snapshot(home.root)
    outcome = call(capsys, run_argv(home.scenario, str(home.root / "webapp")))
    assert_same_tree(before, snapshot(home.root), "run --out webapp")
    assert_one_line_error(outcome)


# ---------------------------------------------------------- 2. never overwrite inputs

RUN_DIR: Final = "runs/r"
SWEEP_DIR: Final = "runs/s"


@dataclass(frozen=True)
class Overwrite:
    """A command whose output path is one of its own inputs."""

    argv: tuple[str, ...]
    setup: tuple[str, ...] = ()
    """"run" and/or "sweep": folders to write first (RUN_DIR, SWEEP_DIR)."""


OVERWRITES: Final = {
    "report-out-run-manifest": Overwrite(
        ("report", RUN_DIR, "--out", f"{RUN_DIR}/manifest.json"), ("run",)
    ),
    "report-out-run-decision-log": Overwrite(
        ("report", RUN_DIR, "--out", f"{RUN_DIR}/decisions.parquet"), ("run",)
    ),
    "report-out-sweep-summary": Overwrite(
        ("report", SWEEP_DIR, "--out", f"{SWEEP_DIR}/summary.csv"), ("sweep",)
    ),
    "diff-csv-run-manifest": Overwrite(
        ("diff", RUN_DIR, "--variants", "strict", "lenient", "--csv", f"{RUN_DIR}/manifest.json"),
        ("run",),
    ),
    "diff-csv-sweep-results": Overwrite(
        ("diff", SWEEP_DIR, "--variants", "strict", "lenient", "--csv", f"{SWEEP_DIR}/results.csv"),
        ("sweep",),
    ),
    "table-out-its-policy": Overwrite(
        ("table", "--policy", "proj/policies/extra.toml", "--out", "proj/policies/extra.toml")
    ),
    "table-out-its-policy-spelled-differently": Overwrite(
        (
            "table",
            "--policy",
            "proj/policies/extra.toml",
            "--out",
            "./proj/../proj/policies/extra.toml",
        )
    ),
    "table-out-its-second-policy": Overwrite(
        (
            "table",
            "--policy",
            "proj/p2.toml",
            "--policy",
            "proj/policies/extra.toml",
            "--out",
            "proj/policies/extra.toml",
        )
    ),
}


@pytest.mark.parametrize("case", list(OVERWRITES.values()), ids=list(OVERWRITES))
def test_refuses_to_overwrite_an_input(
    case: Overwrite,
    home: Home,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An output path that is one of the command's inputs, or a file inside the run or
    sweep folder it reads, is refused (exit 2, one line) and every input is unchanged."""
    monkeypatch.chdir(home.root)
    (home.proj / "p2.toml").write_text(EXTRA.replace('"extra"', '"second"'))
    for command in case.setup:
        folder = RUN_DIR if command == "run" else SWEEP_DIR
        prepared = call(capsys, COMMANDS[command](home.scenario, folder))
        assert prepared.code == 0, f"setup {command}: {prepared.describe()}"
    before = snapshot(home.root)
    outcome = call(capsys, case.argv)
    assert_same_tree(before, snapshot(home.root), " ".join(case.argv))
    assert_one_line_error(outcome)


# ------------------------------------------------- 3. output paths, partial folders, umask

BAD_OUTS: Final = {
    "root": "/",
    "empty": "",
    "below-an-existing-file": "report.txt/sub",
    "proc": "/proc/x",
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("out", list(BAD_OUTS.values()), ids=list(BAD_OUTS))
def test_output_path_is_checked_before_simulating(
    command: str,
    out: str,
    home: Home,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An output path that cannot be a run folder (/, '', below an existing file, inside
    /proc) is refused with one line and exit 2 before anything is simulated (nothing on
    stdout, no traceback) and nothing under tmp_path changes."""
    write_files(tmp_path, {"cwd/report.txt": "quarterly numbers\n"})
    monkeypatch.chdir(tmp_path / "cwd")
    before = snapshot(tmp_path)
    outcome = call(capsys, COMMANDS[command](home.scenario, out))
    assert_same_tree(before, snapshot(tmp_path), f"{command} --out {out!r}")
    assert_one_line_error(outcome)


KILLED: Final = SMALL.replace("users = 10", "users = 120").replace(
    'horizon = "2d"', 'horizon = "4d"'
)
"""Big enough that writing its folder (log, tables, three plots) takes a moment."""


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder ``w`` holding a scenario and what a run to ``w/out`` left behind when it
    was killed (SIGKILL) while writing its output: the run is watched and killed as soon
    as a new entry beside ``out`` holds a decision log."""
    base = tmp_path_factory.mktemp("killed") / "w"
    write_files(base, {"s.toml": KILLED, "policies/extra.toml": EXTRA})
    expected = {"s.toml", "policies", "out"}
    argv = ["run", "s.toml", "--out", "out", "-q", "--workers", "1"]
    log = base.parent / "killed-run.err"
    with open(log, "wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "simulator", *argv],
            cwd=base,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    deadline = time.monotonic() + 60
    caught = False
    try:
        while process.poll() is None and time.monotonic() < deadline:
            staged = [p for p in base.iterdir() if p.name not in expected and p.is_dir()]
            if any(f.name.startswith("decisions") for s in staged for f in s.iterdir()):
                process.send_signal(signal.SIGKILL)
                caught = True
                break
            time.sleep(0.002)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
    if not caught:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        pytest.fail(
            "could not kill the run while it was writing its output folder "
            f"(exit {process.returncode}; stderr tail: {tail})"
        )
    return base


@pytest.fixture
def leftovers(killed_run: Path, tmp_path: Path) -> Iterator[tuple[Path, list[Path]]]:
    """A private copy of the killed run's folder and the entries the run left behind."""
    base = tmp_path / "w"
    shutil.copytree(killed_run, base, symlinks=True)
    left = sorted(p for p in base.iterdir() if p.name not in {"s.toml", "policies", "out"})
    assert left, "the killed run left nothing behind"
    yield base, left


def test_report_refuses_a_partial_folder(
    leftovers: tuple[Path, list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    """The folder a killed run was writing is not a finished run: report on it is
    refused (exit 2, one line) and writes nothing into it."""
    _, left = leftovers
    for partial in left:
        before = snapshot(partial)
        outcome = call(capsys, ["report", str(partial)])
        assert_same_tree(before, snapshot(partial), f"report {partial.name}")
        assert_one_line_error(outcome)


def test_next_run_cleans_up_a_stale_partial_folder(
    leftovers: tuple[Path, list[Path]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The next run to the same --out succeeds and removes what the killed run left
    (its partial folder), so that only the scenario, its policies and out remain."""
    base, left = leftovers
    monkeypatch.chdir(base)
    outcome = call(capsys, ["run", "s.toml", "--out", "out", *QUIET, "--no-plots"])
    assert outcome.code == 0, outcome.describe()
    remaining = sorted(p.name for p in base.iterdir())
    assert remaining == ["out", "policies", "s.toml"], f"left behind: {[p.name for p in left]}"


@pytest.fixture
def umask_027() -> Iterator[None]:
    """The process umask is 027 for the test (group read, others nothing)."""
    previous = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(previous)


def _modes(path: Path) -> dict[str, str]:
    """``path`` and everything below it → its permission bits, octal."""
    found = {".": oct(path.stat().st_mode & 0o777)}
    if path.is_dir():
        for entry in sorted(path.rglob("*")):
            found[entry.relative_to(path).as_posix()] = oct(entry.stat().st_mode & 0o777)
    return found


def _expected_modes(path: Path) -> dict[str, str]:
    found = {".": oct(0o750 if path.is_dir() else 0o640)}
    if path.is_dir():
        for entry in sorted(path.rglob("*")):
            mode = 0o750 if entry.is_dir() else 0o640
            found[entry.relative_to(path).as_posix()] = oct(mode)
    return found


UMASK_OUTPUTS: Final = {
    "run-folder": ("run", "out"),
    "sweep-folder": ("sweep", "out"),
    "report-file": ("report", "report.html"),
    "table-file": ("table", "table.csv"),
}


@pytest.mark.parametrize("kind", list(UMASK_OUTPUTS.values()), ids=list(UMASK_OUTPUTS))
def test_outputs_respect_the_umask(
    kind: tuple[str, str],
    home: Home,
    tmp_path: Path,
    umask_027: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Under umask 027, what condlaunch writes (run and sweep folders, a report, a
    decision table) has mode 750 for folders and 640 for files, as any other program's
    output would, not 700/600."""
    command, name = kind
    target = tmp_path / name
    if command in COMMANDS:
        argv = COMMANDS[command](home.scenario, str(target))
    elif command == "report":
        prepared = call(capsys, run_argv(home.scenario, str(tmp_path / "r")))
        assert prepared.code == 0, prepared.describe()
        argv = ["report", str(tmp_path / "r"), "--out", str(target)]
    else:
        argv = ["table", "--policy", str(home.proj / "policies/extra.toml"), "--out", str(target)]
    outcome: Outcome = call(capsys, argv)
    assert outcome.code == 0, outcome.describe()
    got, want = _modes(target), _expected_modes(target)
    wrong = {k: f"{got[k]} (want {want[k]})" for k in want if got[k] != want[k]}
    assert not wrong, f"modes under umask 027: {wrong}"
