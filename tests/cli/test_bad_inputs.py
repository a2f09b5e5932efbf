"""Issue #12, points 4–9: bad input gets one clear line and exit 2, never a traceback or a
hang, and runs with plots survive degenerate worlds.

One table of cases (:data:`CASES`): the files to create in tmp_path (the current
directory while the case runs), the command line, the expected exit code and the
fragments the one stderr line must contain (a tuple: any one of the alternatives, case
ignored). Inputs that could hang or exhaust memory today run in a subprocess with a
timeout (and a memory limit); FIFOs are released after a few seconds if the command
blocks on them.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest

from tests.cli._support import (
    POLICY,
    QUIET,
    ROOT,
    TINY,
    Outcome,
    assert_fragments,
    assert_one_line_error,
    call,
    call_releasing_fifos,
    spawn,
)


class Special(enum.Enum):
    """A path to create as something other than a regular file."""

    DIR = "a directory"
    FIFO = "a FIFO (named pipe)"


Content = str | bytes | Special


@dataclass(frozen=True)
class Case:
    """One row of the bad-input table."""

    id: str
    why: str
    argv: tuple[str, ...]
    code: int | frozenset[int]
    fragments: tuple[str | tuple[str, ...], ...] = ()
    files: Mapping[str, Content] = field(default_factory=dict)
    setup: tuple[tuple[str, ...], ...] = ()
    isolate: bool = False
    """Run in a subprocess with a timeout (it may hang or exhaust memory today)."""
    timeout: float = 20.0
    memory_bytes: int | None = None
    absent: tuple[str, ...] = ()
    """Fragments the stderr line must NOT contain (internal names, misleading errors)."""


# ------------------------------------------------------------------------ the inputs

NOT_UTF8: Final = ("utf-8", "utf8")
"""What an encoding error must mention."""
NOT_A_FILE: Final = ("fifo", "named pipe", "not a regular file", "not a file")
TOO_DEEP: Final = ("nest", "deep", "too complex")
DEPTH: Final = 100_000
HUGE: Final = "1" + "0" * 400
"""A number of hundreds of digits (a float overflows on it)."""

SCENARIO: Final = TINY.replace('name = "tiny"', 'name = "café"')
SCENARIO_JSON: Final = json.dumps(
    {
        "name": "café",
        "seed": 5,
        "horizon": "1d",
        "fleet": {"users": 3},
        "policies": [{"name": "strict", "apps": ["outlook"], "max_threat_level": "secured"}],
    },
    ensure_ascii=False,
)
POLICY_CAFE: Final = POLICY.replace('name = "p"', 'name = "café"')


def _graph(**changes: str) -> str:
    """The bundled Graph export with a non-ASCII display name (and ``changes``)."""
    data = json.loads((ROOT / "scenarios/policies/graph-level3.json").read_text("utf-8"))
    data["value"][0]["displayName"] = "iOS - Défense"
    data["value"][0].update(changes)
    return json.dumps(data, ensure_ascii=False, indent=1)


GRAPH: Final = _graph()
CASES_CSV: Final = (
    "name,app,management,level,level_age,expect_outcome,expect_reason\n"
    "café,outlook,mam_we,secured,,allow,compliant\n"
)
CASES_TOML: Final = """\
policy_files = ["base.toml"]
[[cases]]
name = "café"
app = "outlook"
management = "mam_we"
level = "secured"
expect_outcome = "allow"
expect_reason = "compliant"
"""
SCRIPTED: Final = """\
name = "scripted"
horizon = "1d"
[signals]
defender_to_intune = { dist = "fixed", value = "10m" }
[[policies]]
name = "strict"
apps = ["outlook"]
max_threat_level = "secured"
[[script.devices]]
id = "d1"
"""


def whatif(policy: str, *extra: str) -> tuple[str, ...]:
    return (
        "whatif",
        "--policy",
        policy,
        "--app",
        "outlook",
        "--management",
        "mam_we",
        "--level",
        "secured",
        *extra,
    )


@dataclass(frozen=True)
class Kind:
    """An input kind: its file name, valid (non-ASCII) text, and a command reading it."""

    name: str
    text: str
    argv: tuple[str, ...]
    json: bool = False
    extra: Mapping[str, Content] = field(default_factory=dict)


KINDS: Final = (
    Kind("s.toml", SCENARIO, ("validate", "s.toml")),
    Kind("s.json", SCENARIO_JSON, ("validate", "s.json"), json=True),
    Kind("p.toml", POLICY_CAFE, whatif("p.toml")),
    Kind("g.json", GRAPH, whatif("g.json"), json=True),
    Kind(
        "c.csv", CASES_CSV, ("check", "c.csv", "--policy", "base.toml"), extra={"base.toml": POLICY}
    ),
    Kind("c.toml", CASES_TOML, ("check", "c.toml"), extra={"base.toml": POLICY}),
)
"""Scenario (TOML, JSON), policy (TOML, Graph JSON) and case table (CSV, TOML)."""


def _encoding_cases(kind: Kind) -> list[Case]:
    stem = kind.name.replace(".", "-")
    binary = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    cases = [
        Case(
            f"{stem}-latin1",
            "a Latin-1 file is named as not UTF-8",
            kind.argv,
            2,
            (kind.name, NOT_UTF8),
            {**kind.extra, kind.name: kind.text.encode("latin-1")},
        ),
        Case(
            f"{stem}-utf16",
            "a UTF-16 file is named as not UTF-8",
            kind.argv,
            2,
            (kind.name, (*NOT_UTF8, "utf-16")),
            {**kind.extra, kind.name: kind.text.encode("utf-16")},
        ),
        Case(
            f"{stem}-binary",
            "a binary file is named as not UTF-8 text",
            kind.argv,
            2,
            (kind.name, (*NOT_UTF8, "binary", "not a text")),
            {**kind.extra, kind.name: binary},
        ),
        Case(
            f"{stem}-utf8-bom",
            "a UTF-8 file with a byte-order mark is accepted",
            kind.argv,
            0,
            (),
            {**kind.extra, kind.name: b"\xef\xbb\xbf" + kind.text.encode("utf-8")},
        ),
        Case(
            f"{stem}-directory",
            "a directory given as the file is named as such",
            kind.argv,
            2,
            (kind.name, "directory"),
            {**kind.extra, kind.name: Special.DIR},
        ),
        Case(
            f"{stem}-fifo",
            "a FIFO given as the file is refused without blocking on it",
            kind.argv,
            2,
            (kind.name, NOT_A_FILE),
            {**kind.extra, kind.name: Special.FIFO},
        ),
    ]
    if kind.name.endswith(".csv"):
        return cases
    nested = (
        "[" * DEPTH + "]" * DEPTH
        if kind.json
        else 'name = "deep"\nnested = ' + "[" * DEPTH + "]" * DEPTH + "\n"
    )
    cases.append(
        Case(
            f"{stem}-deeply-nested",
            "deeply nested data is refused in one line (no RecursionError)",
            kind.argv,
            2,
            (kind.name, TOO_DEEP),
            {**kind.extra, kind.name: nested},
        )
    )
    if kind.json:
        cases.append(
            Case(
                f"{stem}-json-null",
                "a JSON null says what was expected instead",
                kind.argv,
                2,
                (kind.name, ("null", "object")),
                {**kind.extra, kind.name: "null\n"},
                absent=("NoneType",),
            )
        )
    return cases


RUN: Final = ("run", "s.toml", "--out", "out", *QUIET, "--no-plots")
SWEEP: Final = ("sweep", "s.toml", "--out", "out", *QUIET, "--replications", "2")


def _horizon(value: str) -> dict[str, Content]:
    return {"s.toml": TINY.replace('horizon = "1d"', f"horizon = {value}")}


def _scripted(*events: str) -> dict[str, Content]:
    return {"scr.toml": SCRIPTED + "".join(f"[[script.events]]\n{e}\n" for e in events)}


OTHER_CASES: Final = [
    # ------------------------------------------------------------ numbers out of range
    Case(
        "duration-hundreds-of-digits-horizon",
        "a human duration of hundreds of digits is refused, naming the field",
        ("validate", "s.toml"),
        2,
        ("s.toml", "horizon"),
        _horizon(f'"{HUGE}d"'),
    ),
    Case(
        "duration-hundreds-of-digits-iso-horizon",
        "an ISO-8601 duration of hundreds of digits is refused, naming the field",
        ("validate", "s.toml"),
        2,
        ("s.toml", "horizon"),
        _horizon(f'"P{HUGE}D"'),
    ),
    Case(
        "duration-hundreds-of-digits-policy",
        "a policy duration of hundreds of digits is refused, naming the field",
        whatif("p.toml"),
        2,
        ("p.toml", "recheck_after"),
        {"p.toml": POLICY + f'recheck_after = "{HUGE}m"\n'},
    ),
    Case(
        "duration-hundreds-of-digits-graph",
        "a Graph period of hundreds of digits is refused, naming the field",
        whatif("g.json"),
        2,
        ("g.json", "periodOnlineBeforeAccessCheck"),
        {"g.json": _graph(periodOnlineBeforeAccessCheck=f"PT{HUGE}M")},
    ),
    Case(
        "duration-hundreds-of-digits-option",
        "a command-line duration of hundreds of digits is refused, naming the flag",
        whatif("p.toml", "--level-age", f"{HUGE}m"),
        2,
        ("--level-age",),
        {"p.toml": POLICY},
    ),
    Case(
        "duration-hundreds-of-digits-case-table",
        "a case-table duration of hundreds of digits is refused, naming the column",
        ("check", "c.csv", "--policy", "base.toml"),
        2,
        ("c.csv", "level_age"),
        {"base.toml": POLICY, "c.csv": CASES_CSV.replace(",,allow", f",{HUGE}m,allow")},
    ),
    Case(
        "horizon-bare-1e9",
        "a bare horizon = 1e9 (minutes, ~1900 years) is refused as too long, not run forever",
        RUN,
        2,
        ("s.toml", "horizon"),
        _horizon("1e9"),
        isolate=True,
        timeout=6,
    ),
    Case(
        "horizon-1e9d",
        'horizon = "1e9d" is refused, naming horizon (the same rule as a bare 1e9)',
        RUN,
        2,
        ("s.toml", "horizon"),
        _horizon('"1e9d"'),
        isolate=True,
        timeout=6,
    ),
    Case(
        "users-10-to-the-12",
        "a fleet that cannot fit is refused up front with a memory/time estimate",
        RUN,
        2,
        ("s.toml", "users", ("memory", "estimate")),
        {"s.toml": TINY.replace("users = 3", "users = 1000000000000")},
        isolate=True,
        timeout=20,
        memory_bytes=4 << 30,
    ),
    Case(
        "workers-1000",
        "--workers 1000 runs, with a one-line note that it is capped at the core count",
        ("run", "s.toml", "--out", "out", "-q", "--no-plots", "--workers", "1000"),
        0,
        ("--workers", ("core", "cpu")),
        {"s.toml": TINY},
    ),
    Case(
        "precision-inf",
        "--precision inf is refused, naming the flag",
        (*SWEEP, "--precision", "inf"),
        2,
        ("--precision",),
        {"s.toml": TINY},
    ),
    Case(
        "max-replications-without-precision",
        "--max-replications without --precision is refused, naming both flags",
        (*SWEEP, "--max-replications", "5"),
        2,
        ("--max-replications", "--precision"),
        {"s.toml": TINY},
    ),
    # ---------------------------------------------------- events out of order or range
    Case(
        "remediation-before-its-threat",
        "a remediate event earlier in time than its threat is refused, naming the event",
        ("validate", "scr.toml"),
        2,
        ("scr.toml", "events[1]", ("before", "earlier")),
        _scripted(
            'at = "2h"\ndevice = "d1"\ntype = "threat"\nid = "t1"\nseverity = "high"',
            'at = "1h"\ndevice = "d1"\ntype = "remediate"\nthreat = "t1"',
        ),
    ),
    Case(
        "event-after-the-horizon",
        "a scripted event after the horizon is refused, naming the event and the horizon",
        ("validate", "scr.toml"),
        2,
        ("scr.toml", "events[0]", "horizon"),
        _scripted('at = "3d"\ndevice = "d1"\ntype = "launch"\napp = "outlook"\nduration = "5m"'),
    ),
    Case(
        "campaign-after-the-horizon",
        "a threat campaign that starts after the horizon is refused, naming it",
        ("validate", "s.toml"),
        2,
        ("s.toml", "campaign", "horizon"),
        {
            "s.toml": TINY
            + '[[threats]]\nkind = "phishing"\nrate_per_device_year = 40\n'
            + 'campaign = ["5d", "7d"]\nseverity = { medium = 1.0 }\n'
        },
    ),
    Case(
        "horizon-zero",
        'horizon = "0m" is refused, naming horizon',
        ("validate", "s.toml"),
        2,
        ("s.toml", "horizon"),
        _horizon('"0m"'),
    ),
    Case(
        "policy-app-no-device-runs",
        "a policy protecting only apps no device runs is reported in one line naming the app",
        ("validate", "s.toml"),
        frozenset({0, 2}),
        ("word",),
        {"s.toml": TINY.replace('apps = ["outlook", "teams"]', 'apps = ["word"]')},
    ),
    Case(
        "whatif-empty-app",
        'whatif --app "" is refused, naming --app',
        ("whatif", "--policy", "p.toml", "--app", "", "--management", "mdm", "--level", "low"),
        2,
        ("--app",),
        {"p.toml": POLICY},
    ),
    # ------------------------------------------------------------- wrong kind of file
    Case(
        "validate-given-a-policy-file",
        "validate on a policy file says it is one and to pass it with --policy",
        ("validate", "p.toml"),
        2,
        ("p.toml", "policy file", "--policy"),
        {"p.toml": POLICY},
        absent=("Field required", "unknown field"),
    ),
    Case(
        "validate-given-a-graph-export",
        "validate on a Graph export says it is a policy file and to pass it with --policy",
        ("validate", "g.json"),
        2,
        ("g.json", "polic", "--policy"),
        {"g.json": GRAPH},
        absent=("Field required", "unknown field"),
    ),
    Case(
        "scenario-given-as-policy-whatif",
        "a scenario given as --policy is named as a scenario",
        whatif("s.toml"),
        2,
        ("s.toml", "scenario"),
        {"s.toml": TINY},
        absent=("Field required", "unknown field"),
    ),
    Case(
        "scenario-given-as-policy-run",
        "a scenario given as run --policy is named as a scenario",
        (*RUN, "--policy", "other.toml"),
        2,
        ("other.toml", "scenario"),
        {"s.toml": TINY, "other.toml": TINY},
        absent=("Field required", "unknown field"),
    ),
    Case(
        "directory-in-policy-files",
        "a directory listed in policy_files is named as a directory, with its field",
        ("validate", "s.toml"),
        2,
        ("s.toml", "policy_files[0]", "directory"),
        {"s.toml": 'policy_files = ["pdir"]\n' + TINY, "pdir": Special.DIR},
    ),
    # ------------------------------------------------------------------ flag names
    Case(
        "explain-unknown-variant",
        "explain --variant nosuch blames --variant and lists the valid variants",
        ("explain", "out", "--device", "d0000001", "--variant", "nosuch"),
        2,
        ("--variant", "nosuch", "strict", "lenient"),
        {"s.toml": TINY},
        setup=(RUN,),
    ),
]

CASES: Final = [case for kind in KINDS for case in _encoding_cases(kind)] + OTHER_CASES


def _create(base: Path, files: Mapping[str, Content]) -> list[Path]:
    """Create the case's files; returns the FIFOs made."""
    fifos = []
    for name, content in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is Special.DIR:
            path.mkdir()
        elif content is Special.FIFO:
            os.mkfifo(path)
            fifos.append(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            assert isinstance(content, str)
            path.write_text(content, encoding="utf-8")
    return fifos


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(
    case: Case,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each row's property (its ``why``): the expected exit code; for refusals nothing on
    stdout and one line on stderr in condlaunch's error format that contains the row's
    fragments (file, field or flag, reason) and none of its ``absent`` words; for
    accepted inputs a one-line note with the row's fragments, or a silent stderr when it
    has none; never a traceback, a hang, or an unbounded memory use."""
    monkeypatch.chdir(tmp_path)
    fifos = _create(tmp_path, case.files)
    for argv in case.setup:
        prepared = call(capsys, argv)
        assert prepared.code == 0, f"setup {argv}: {prepared.describe()}"
    outcome: Outcome
    if case.isolate:
        outcome = spawn(
            case.argv, cwd=tmp_path, timeout=case.timeout, memory_bytes=case.memory_bytes
        )
    elif fifos:
        outcome = call_releasing_fifos(capsys, case.argv, fifos)
    else:
        outcome = call(capsys, case.argv)
    allowed = {case.code} if isinstance(case.code, int) else set(case.code)
    assert not outcome.crashed, f"{case.why}: {outcome.describe()}"
    assert outcome.code in allowed, f"{case.why}: {outcome.describe()}"
    if outcome.code == 2:
        assert_one_line_error(outcome, *case.fragments)
        for wrong in case.absent:
            assert wrong not in outcome.err, f"{case.why}: says {wrong!r}: {outcome.err.strip()}"
    elif case.fragments:
        lines = outcome.err.strip().splitlines()
        assert len(lines) == 1, f"{case.why}: expected a one-line note on stderr, got {lines}"
        assert_fragments(lines[0], case.fragments)
    else:
        assert outcome.err.strip() == "", f"{case.why}: stderr: {outcome.err.strip()[:300]}"


# ----------------------------------------------------------------- degenerate worlds

PLOTS: Final = ("exposure_friction.png", "time_to_protect.png", "device_timeline.png")

DEGENERATE: Final = {
    "no-threats": TINY.replace('horizon = "1d"\n', 'horizon = "1d"\nthreats = []\n'),
    "no-launches": TINY.replace(
        'horizon = "1d"\n',
        'horizon = "1d"\napps = [{ name = "outlook", sessions_per_day = 0 }, '
        '{ name = "teams", sessions_per_day = 0 }]\n',
    ),
    "one-minute-horizon": TINY.replace('horizon = "1d"', 'horizon = "1m"'),
    "one-user": TINY.replace("users = 3", "users = 1"),
    "scripted-device-without-events": SCRIPTED,
}


@pytest.mark.parametrize("text", DEGENERATE.values(), ids=list(DEGENERATE))
def test_plots_survive_degenerate_worlds(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run with plots on a small or degenerate world (no threats, no launches, a
    1-minute horizon, one user, a scripted device with no events) exits 0 and writes all
    three PNG plots (an empty panel with a note, not a ValueError)."""
    scenario = tmp_path / "world.toml"
    scenario.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    outcome = call(capsys, ["run", str(scenario), "--out", str(out), *QUIET])
    assert not outcome.crashed, outcome.describe()
    assert outcome.code == 0, outcome.describe()
    for name in PLOTS:
        path = out / name
        assert path.is_file(), f"{name} not written"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{name} is not a PNG"
