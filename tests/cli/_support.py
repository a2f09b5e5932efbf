"""Helpers of the issue #12 ("Hardening") CLI tests: calling condlaunch, tiny inputs,
folder snapshots, and a guard that keeps in-process runs from writing outside tmp_path.

Only :func:`simulator.cli.main` is imported from the package (its internal modules are
being moved); everything else goes through the command line or a subprocess.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest

from simulator.cli import main

ROOT: Final = Path(__file__).resolve().parents[2]

TINY: Final = """\
name = "tiny"
seed = 5
horizon = "1d"
[fleet]
users = 3
[[policies]]
name = "strict"
apps = ["outlook", "teams"]
max_threat_level = "secured"
[[policies]]
name = "lenient"
apps = ["outlook", "teams"]
max_threat_level = "medium"
"""
"""A random scenario that simulates in a fraction of a second (3 users, one day)."""

POLICY: Final = """\
[[policies]]
name = "p"
apps = ["outlook", "teams"]
max_threat_level = "secured"
threat_action = "block"
"""
"""A valid TOML policy file."""

QUIET: Final = ("-q", "--workers", "1")
"""Options every in-process simulation gets: no progress bar, no worker processes."""


# ---------------------------------------------------------------------------- outcomes


@dataclass
class Outcome:
    """What one condlaunch invocation did: exit code (None: it raised or hung), stdout,
    stderr (with the traceback appended when it raised, and a note when it hung)."""

    code: int | None
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    @property
    def crashed(self) -> bool:
        """Whether a Python traceback was printed (or the call raised)."""
        return "Traceback" in self.text

    def describe(self) -> str:
        """One readable line for assertion messages: the exit code, the exception if one
        was raised, and the end of stderr."""
        lines = self.err.strip().splitlines()
        raised = [
            line
            for line in lines
            if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b", line)
        ]
        head = f"exit {self.code}" + (f", raised {raised[-1]!r}" if raised else "")
        return f"{head}; stderr tail: " + " | ".join(lines[-3:])


def call(capsys: pytest.CaptureFixture[str], argv: Sequence[str]) -> Outcome:
    """Run ``condlaunch argv`` in this process; an exception becomes a traceback in err."""
    problem = ""
    try:
        code: int | None = main(list(argv))
    except Exception:
        code, problem = None, traceback.format_exc()
    out, err = capsys.readouterr()
    return Outcome(code, out, err + problem + GUARD.notes())


def call_releasing_fifos(
    capsys: pytest.CaptureFixture[str],
    argv: Sequence[str],
    fifos: Sequence[Path],
    patience: float = 1.0,
) -> Outcome:
    """Like :func:`call`, in a thread; if it is still running after ``patience`` seconds
    (blocked opening a FIFO no one writes to), the FIFOs are opened for writing and
    closed so that it can finish, and the outcome records the hang."""
    box: dict[str, Outcome] = {}

    def target() -> None:
        problem = ""
        try:
            code: int | None = main(list(argv))
        except Exception:
            code, problem = None, traceback.format_exc()
        box["outcome"] = Outcome(code, "", problem)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(patience)
    hung = thread.is_alive()
    deadline = time.monotonic() + 10
    while thread.is_alive() and time.monotonic() < deadline:
        for fifo in fifos:
            with suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(0.1)
    out, err = capsys.readouterr()
    got = box.get("outcome", Outcome(None, "", "[test] still blocked after releasing the FIFO\n"))
    note = f"\n[test] hung for more than {patience:g} s reading a FIFO\n" if hung else ""
    return Outcome(None if hung else got.code, out, err + got.err + note + GUARD.notes())


def spawn(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    memory_bytes: int | None = None,
) -> Outcome:
    """Run ``python -m simulator argv`` in a subprocess with a timeout (and optionally an
    address-space limit), for inputs that may hang or exhaust memory today."""
    limit = (
        ""
        if memory_bytes is None
        else "import resource; resource.setrlimit(resource.RLIMIT_AS, "
        f"({memory_bytes}, {memory_bytes})); "
    )
    code = f"{limit}import runpy, sys; sys.argv[0] = 'condlaunch'; " + (
        "runpy.run_module('simulator', run_name='__main__', alter_sys=True)"
    )
    command = [sys.executable, "-c", code, *argv]
    try:
        done = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        out = _text(exc.stdout)
        err = _text(exc.stderr) + f"\n[test] no answer after {timeout:g} s (killed)\n"
        return Outcome(None, out, err)
    return Outcome(done.returncode, done.stdout, done.stderr)


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def assert_one_line_error(outcome: Outcome, *fragments: str | tuple[str, ...]) -> None:
    """Exit 2, nothing on stdout (nothing was simulated first), no traceback, exactly
    one line on stderr in condlaunch's error format, and every fragment in it (a tuple:
    any one of its alternatives; compared ignoring case)."""
    assert not outcome.crashed, outcome.describe()
    assert outcome.code == 2, outcome.describe()
    assert outcome.out == "", f"printed on stdout before refusing: {outcome.out[:200]!r}"
    lines = outcome.err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {lines}"
    assert lines[0].startswith("condlaunch: error: "), lines[0]
    assert_fragments(lines[0], fragments)


def assert_fragments(line: str, fragments: Sequence[str | tuple[str, ...]]) -> None:
    """Every fragment (a tuple: one of its alternatives) occurs in ``line``, ignoring case."""
    lower = line.lower()
    for fragment in fragments:
        options = (fragment,) if isinstance(fragment, str) else fragment
        assert any(o.lower() in lower for o in options), f"none of {options} in {line!r}"


# --------------------------------------------------------------------------- snapshots


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root`` → its SHA-256 (files), "dir", or the link target."""
    entries: dict[str, str] = {}
    if not root.exists():
        return entries
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            entries[key] = "link → " + os.readlink(path)
        elif path.is_dir():
            entries[key] = "dir"
        elif path.is_file():
            entries[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            entries[key] = "special"
    return entries


def assert_same_tree(before: dict[str, str], after: dict[str, str], where: str) -> None:
    """``after`` is ``before`` byte for byte: nothing lost, changed or added."""
    lost = sorted(set(before) - set(after))
    added = sorted(set(after) - set(before))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    assert not (lost or added or changed), (
        f"{where}: lost {lost[:8]}{'…' if len(lost) > 8 else ''}, changed {changed[:8]}, "
        f"added {added[:8]}"
    )


def write_files(base: Path, files: dict[str, str | bytes]) -> None:
    """Create ``files`` (relative path → text or bytes) under ``base``."""
    for name, content in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


# -------------------------------------------------------------------------------- guard


@dataclass
class _Guard:
    """Refuses, while active, any write (open for writing, mkdir, rename, remove, rmtree,
    chmod) outside the allowed folders, so that today's bugs cannot touch files outside
    the test's tmp_path. A refusal raises PermissionError and is noted."""

    roots: tuple[str, ...] = ()
    blocked: list[str] = field(default_factory=list)
    installed: bool = False

    def notes(self) -> str:
        if not self.blocked:
            return ""
        text = "".join(
            f"[test guard] blocked a write outside tmp_path: {b}\n" for b in self.blocked
        )
        self.blocked.clear()
        return text


GUARD: Final = _Guard()

_ALWAYS_ALLOWED: Final = (
    "/dev/",
    str(Path.home() / ".cache") + "/",
    str(Path.home() / ".config") + "/",
)
_WRITE_FLAGS: Final = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _paths(event: str, args: tuple[Any, ...]) -> list[Any]:
    if event == "open":
        path, mode, flags = (*args, None, None, None)[:3]
        writes = (isinstance(mode, str) and any(c in mode for c in "wxa+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        )
        return [path] if writes else []
    if event in ("os.mkdir", "os.remove", "os.rmdir", "os.chmod", "shutil.rmtree"):
        dir_fd = args[-1] if event != "os.chmod" else args[2]
        return [args[0]] if dir_fd in (None, -1) else []
    if event == "os.rename":
        src, dst, src_fd, dst_fd = args[:4]
        return [p for p, fd in ((src, src_fd), (dst, dst_fd)) if fd in (None, -1)]
    return []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not GUARD.roots:
        return
    for raw in _paths(event, args):
        if isinstance(raw, int):
            continue
        try:
            text = os.fsdecode(raw)
        except TypeError:
            continue
        full = os.path.realpath(os.path.abspath(text))
        if "__pycache__" in full or full.endswith(".pyc"):
            continue
        inside = any(full == r or full.startswith(r + "/") for r in GUARD.roots)
        if inside or full.startswith(_ALWAYS_ALLOWED) or full in ("/dev/null", "/dev/full"):
            continue
        if full.startswith(("/proc/", "/sys/")):
            continue  # the kernel refuses these anyway
        GUARD.blocked.append(f"{event} {full}")
        raise PermissionError(errno.EACCES, "test guard: write outside tmp_path refused", text)


@contextmanager
def guarded(*roots: Path) -> Iterator[None]:
    """While active, writes outside ``roots`` are refused (see :class:`_Guard`)."""
    if not GUARD.installed:
        sys.addaudithook(_audit)
        GUARD.installed = True
    GUARD.roots = tuple(os.path.realpath(r) for r in roots)
    GUARD.blocked.clear()
    try:
        yield
    finally:
        GUARD.roots = ()
