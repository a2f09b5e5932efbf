"""The condlaunch command line (simulator.cli.main): outputs, exit codes and one-line errors."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from simulator.cli.main import build_parser, main
from simulator.policy.decide import Policy
from simulator.policy.files import load_policies
from simulator.policy.levels import Action, TargetManagement, ThreatLevel
from simulator.policy.tables import compare_tables, decision_table

ROOT = Path(__file__).resolve().parents[2]
LEVEL3 = str(ROOT / "scenarios" / "policies" / "level3-secured-block.toml")
STRICT = str(ROOT / "scenarios" / "policies" / "strict-secured-wipe.toml")
CASES_CSV = str(ROOT / "scenarios" / "cases" / "level3-cases.csv")
CASES_TOML = str(ROOT / "scenarios" / "cases" / "level3-cases.toml")
WHATIF = ["whatif", "--policy", LEVEL3, "--app", "outlook"]
#: The CLI module itself (the package attribute ``simulator.cli.main`` is the function).
cli_main = importlib.import_module("simulator.cli.main")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("condlaunch: error: ")
    for fragment in fragments:
        assert fragment in err


# ------------------------------------------------------------------------------------ whatif


def test_whatif_text_for_a_threat_block(capsys: pytest.CaptureFixture[str]) -> None:
    """A medium level under a secured+block policy reads as BLOCK with reason and settings."""
    code, out, err = run(
        capsys, *WHATIF, "--management", "mam_we", "--level", "medium", "--level-age", "42m"
    )
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "BLOCK  (threat_level_exceeded)"
    assert lines[1] == (
        "  blocked — app knew medium (fetched 42 min ago) > max allowed secured; action block"
    )
    assert "Policies applied\n  Level 3 - Secured + block\n" in out
    assert "  management   mam_we (the app sees the device as unmanaged)" in lines
    assert "  checked in   yes" in lines
    assert "  jailbroken   no" in lines
    assert "  re-auth      not required" in lines
    assert "  offline block after  12h" in lines
    assert "  jailbroken devices   not configured" in lines
    assert "  multi_policy_merge      most_restrictive" in lines
    assert "  offline_wipe            on_failed_reauth" in lines


def test_whatif_json_offline_block(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one object: 13 h offline past a 12 h block period → block/offline_block."""
    code, out, _ = run(
        capsys, *WHATIF, "--management", "mdm", "--level", "secured", "--offline", "13h", "--json"
    )
    assert code == 0
    record = json.loads(out)
    assert record["outcome"] == "block"
    assert record["reason"] == "offline_block"
    assert record["policies"] == ["Level 3 - Secured + block"]
    assert record["explanation"] == (
        "blocked — offline for 13 h, past the offline block period of 12h"
    )
    assert record["context"]["offline_min"] == 780.0
    assert record["context"]["app_sees_managed"] is True
    assert record["context"]["passes_upn"] is True  # Intune MDM: by default
    assert (record["context"]["checked_in"], record["context"]["jailbroken"]) == (True, False)
    assert record["context"]["reauth"] == "not_required"
    assert record["effective_policy"]["offline_block_after_min"] == 720.0
    assert record["effective_policy"]["jailbroken_action"] is None
    assert record["behavior"]["connector_off_behavior"] == "no_effect"
    assert record["behavior"]["offline_wipe"] == "on_failed_reauth"


def test_whatif_json_not_targeted(capsys: pytest.CaptureFixture[str]) -> None:
    """An app no policy names is allowed as not_targeted, with no effective policy."""
    code, out, _ = run(
        capsys,
        "whatif",
        "--policy",
        LEVEL3,
        "--app",
        "word",
        "--management",
        "emm",
        "--emm-passes-upn",
        "--level",
        "high",
        "--json",
    )
    record = json.loads(out)
    assert code == 0
    assert (record["outcome"], record["reason"], record["policies"]) == (
        "allow",
        "not_targeted",
        [],
    )
    assert record["effective_policy"] is None
    assert record["context"]["emm_passes_upn"] is True
    assert record["context"]["passes_upn"] is True
    assert record["context"]["app_sees_managed"] is True


def _whatif_json(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    code, out, err = run(capsys, *WHATIF, *extra, "--json")
    assert (code, err) == (0, ""), err
    record: dict[str, object] = json.loads(out)
    return record


MANAGED_ONLY = Policy(
    name="Managed only",
    apps=frozenset({"outlook"}),
    target_management=TargetManagement.MANAGED,
    max_threat_level=ThreatLevel.SECURED,
)


@pytest.mark.parametrize(
    ("extra", "managed"),
    [
        (["--management", "mdm"], True),
        (["--management", "mdm", "--passes-upn"], True),
        (["--management", "mdm", "--no-passes-upn"], False),
        (["--management", "mdm", "--no-passes-upn", "--emm-passes-upn"], False),
        (["--management", "emm"], False),
        (["--management", "emm", "--passes-upn"], True),
        (["--management", "emm", "--emm-passes-upn"], True),
        (["--management", "emm", "--no-passes-upn"], False),
        (["--management", "mam_we", "--no-passes-upn"], False),
    ],
)
def test_whatif_passes_upn(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    managed: bool,
) -> None:
    """--passes-upn / --no-passes-upn set the UPN of mdm or emm; --emm-passes-upn still
    works for emm (and is ignored for mdm, as before). A managed-only policy covers the
    device exactly when the app sees it as managed."""
    monkeypatch.setattr(cli_main, "load_policy_files", lambda paths: [MANAGED_ONLY])
    record = _whatif_json(capsys, *extra, "--level", "low")
    context = record["context"]
    assert isinstance(context, dict)
    assert (context["passes_upn"], context["app_sees_managed"]) == (managed, managed)
    expected = ("block", "threat_level_exceeded") if managed else ("allow", "not_targeted")
    assert (record["outcome"], record["reason"]) == expected


def test_whatif_text_names_the_upn(capsys: pytest.CaptureFixture[str]) -> None:
    """The context says whether the MDM passes IntuneMAMUPN."""
    code, out, _ = run(capsys, *WHATIF, "--management", "mdm", "--no-passes-upn", "--level", "low")
    assert code == 0
    assert (
        "  management   mdm without IntuneMAMUPN (the app sees the device as unmanaged)"
        in out.splitlines()
    )
    code, out, _ = run(capsys, *WHATIF, "--management", "emm", "--passes-upn", "--level", "low")
    assert "  management   emm with IntuneMAMUPN (the app sees the device as managed)" in out


def test_whatif_offline_past_wipe_period(capsys: pytest.CaptureFixture[str]) -> None:
    """Offline 91 days: a block until re-authenticated; --offline-wipe immediate wipes."""
    record = _whatif_json(
        capsys, "--management", "mam_we", "--level", "secured", "--offline", "91d"
    )
    assert (record["outcome"], record["reason"]) == ("block", "offline_reauth")
    assert record["explanation"] == (
        "blocked — offline for 91 d, past the offline wipe period of 90d; the user must "
        "reconnect and re-authenticate"
    )
    record = _whatif_json(
        capsys,
        "--management",
        "mam_we",
        "--level",
        "secured",
        "--offline",
        "91d",
        "--offline-wipe",
        "immediate",
    )
    assert (record["outcome"], record["reason"]) == ("wipe", "offline_wipe")
    behavior = record["behavior"]
    assert isinstance(behavior, dict)
    assert behavior["offline_wipe"] == "immediate"


@pytest.mark.parametrize(
    ("reauth", "level", "outcome", "reason"),
    [
        ("failed", "secured", "wipe", "offline_wipe"),
        ("succeeded", "secured", "allow", "compliant"),
        ("succeeded", "low", "block", "threat_level_exceeded"),
    ],
)
def test_whatif_reauth(
    capsys: pytest.CaptureFixture[str], reauth: str, level: str, outcome: str, reason: str
) -> None:
    """--reauth: back online after the wipe period, a failed sign-in wipes; a successful
    one lets the normal rules decide."""
    record = _whatif_json(capsys, "--management", "mdm", "--level", level, "--reauth", reauth)
    assert (record["outcome"], record["reason"]) == (outcome, reason)
    context = record["context"]
    assert isinstance(context, dict)
    assert (context["reauth"], context["offline_min"]) == (reauth, 0.0)


def test_whatif_reauth_text(capsys: pytest.CaptureFixture[str]) -> None:
    """The text names the re-authentication outcome."""
    code, out, _ = run(
        capsys, *WHATIF, "--management", "mam_we", "--level", "secured", "--reauth", "failed"
    )
    assert code == 0
    assert out.startswith("WIPE  (offline_wipe)\n")
    assert "  re-auth      failed (back online after the offline wipe period)" in out.splitlines()


def test_whatif_never_checked_in(capsys: pytest.CaptureFixture[str]) -> None:
    """--never-checked-in: offline, the first use needs the network; online it does not."""
    record = _whatif_json(
        capsys,
        "--management",
        "mam_we",
        "--level",
        "secured",
        "--never-checked-in",
        "--offline",
        "10m",
    )
    assert (record["outcome"], record["reason"]) == ("block", "offline_block")
    assert record["explanation"] == (
        "blocked — the app has never checked in and the device is offline; its first use "
        "needs the network"
    )
    context = record["context"]
    assert isinstance(context, dict)
    assert context["checked_in"] is False
    online = _whatif_json(
        capsys, "--management", "mam_we", "--level", "secured", "--never-checked-in"
    )
    assert (online["outcome"], online["reason"]) == ("allow", "compliant")
    code, out, _ = run(
        capsys, *WHATIF, "--management", "mam_we", "--level", "secured", "--never-checked-in"
    )
    assert code == 0
    assert "  checked in   never (its first use needs the network)" in out.splitlines()


JAILBREAK_WIPE = Policy(
    name="Jailbreak wipe",
    apps=frozenset({"outlook"}),
    max_threat_level=None,
    jailbroken_action=Action.WIPE,
)


def test_whatif_jailbroken(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--jailbroken: the policy's Jailbroken/rooted devices action applies (here wipe, with
    no max level and the connector off); text and JSON show it. Without an action set,
    the flag changes nothing."""
    record = _whatif_json(capsys, "--management", "mam_we", "--level", "secured", "--jailbroken")
    assert (record["outcome"], record["reason"]) == ("allow", "compliant")
    monkeypatch.setattr(cli_main, "load_policy_files", lambda paths: [JAILBREAK_WIPE])
    extra = ["--management", "mam_we", "--level", "high", "--connector", "disabled"]
    record = _whatif_json(capsys, *extra, "--jailbroken")
    assert (record["outcome"], record["reason"]) == ("wipe", "jailbroken_device")
    assert record["explanation"] == (
        "wiped — the Intune SDK detected a jailbroken device; action wipe"
    )
    context, effective = record["context"], record["effective_policy"]
    assert isinstance(context, dict) and isinstance(effective, dict)
    assert context["jailbroken"] is True
    assert effective["jailbroken_action"] == "wipe"
    assert effective["max_threat_level"] == "not_configured"
    code, out, _ = run(capsys, *WHATIF, *extra, "--jailbroken")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "WIPE  (jailbroken_device)"
    assert "  jailbroken   yes (the Intune SDK detects a jailbreak)" in lines
    assert "  jailbroken devices   wipe" in lines
    clean = _whatif_json(capsys, *extra)
    assert (clean["outcome"], clean["reason"]) == ("allow", "compliant")


def test_whatif_behavior_flags_apply(capsys: pytest.CaptureFixture[str]) -> None:
    """--connector-off-behavior block turns a disabled connector into a block."""
    code, out, _ = run(
        capsys,
        *WHATIF,
        "--management",
        "mam_we",
        "--level",
        "secured",
        "--connector",
        "disabled",
        "--connector-off-behavior",
        "block",
    )
    assert code == 0
    assert out.startswith("BLOCK  (connector_disabled)\n")
    assert "  connector_off_behavior  block" in out.splitlines()


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["--management", "mam_we", "--level", "hgh"], ["argument --level", "'hgh'"]),
        (["--management", "byod", "--level", "low"], ["argument --management", "'byod'"]),
        (
            ["--management", "mam_we", "--level", "low", "--offline", "3x"],
            ["argument --offline", "'3x' is not a duration"],
        ),
        (
            ["--management", "mam_we", "--level", "low", "--level-age", "yesterday"],
            ["argument --level-age"],
        ),
        (["--management", "mam_we"], ["required", "--level"]),
        (
            ["--app", " ", "--management", "mam_we", "--level", "low"],
            ["argument --app", "expected an app name"],
        ),
        (
            ["--management", "mam_we", "--level", "low", "--reauth", "maybe"],
            ["argument --reauth", "'maybe'"],
        ),
        (
            ["--management", "mam_we", "--level", "low", "--reauth", "failed", "--offline", "3h"],
            ["--reauth", "cannot be combined with --offline"],
        ),
        (
            ["--management", "mam_we", "--level", "low", "--passes-upn"],
            ["--passes-upn", "mam_we device has no MDM"],
        ),
        (
            ["--management", "emm", "--level", "low", "--emm-passes-upn", "--no-passes-upn"],
            ["--emm-passes-upn contradicts --no-passes-upn"],
        ),
    ],
)
def test_whatif_bad_arguments(
    capsys: pytest.CaptureFixture[str], extra: list[str], fragments: list[str]
) -> None:
    """A wrong enum value, a malformed duration or a missing flag: one line, exit 2."""
    assert_one_line_error(*run(capsys, *WHATIF, *extra), *fragments)


def test_whatif_unknown_field_in_policy_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A misspelt key in a policy file is one line naming the file and the field path."""
    policy = tmp_path / "policy.toml"
    policy.write_text('[[policies]]\nname = "p"\napps = ["outlook"]\nmax_threat_levl = "low"\n')
    result = run(
        capsys,
        "whatif",
        "--policy",
        str(policy),
        "--app",
        "outlook",
        "--management",
        "mdm",
        "--level",
        "low",
    )
    assert_one_line_error(*result, str(policy), "policies[0].max_threat_levl", "unknown field")


def test_missing_policy_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A policy file that does not exist: one line naming it, exit 2."""
    missing = str(tmp_path / "nope.toml")
    result = run(capsys, "table", "--policy", missing)
    assert_one_line_error(*result, f"{missing}: file not found")


# ------------------------------------------------------------------------------------- table


def test_table_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --out, table prints the size, counts by reason and management, and when."""
    code, out, _ = run(capsys, "table", "--policy", LEVEL3)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Decision table for 1 policy: Level 3 - Secured + block"
    assert lines[1] == (
        "  4320 rows = groups 1 × management 5 × app 4 × defender 3 × level 4 × connector 3 "
        "× jailbroken 1 × offline 6"
    )
    assert "outcome  reason                 mdm+upn  mdm  mam_we  emm+upn  emm  total" in lines
    assert "BLOCK    threat_level_exceeded       24   24      24       24   24    120" in lines
    assert "BLOCK    offline_reauth             144  144     144      144  144    720" in lines
    assert "WIPE     offline_wipe               144  144     144      144  144    720" in lines
    assert any(
        line.startswith("BLOCK    mtd_not_activated      defender=absent,installed")
        for line in lines
    )
    assert "BLOCK    offline_reauth         offline=offline_wipe" in lines
    assert "WIPE     offline_wipe           offline=reauth_failed" in lines
    assert len(lines) < 45


def test_table_out_writes_csv_atomically(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--out writes exactly the library's table, says how many rows, leaves no temp file."""
    out_file = tmp_path / "table.csv"
    code, out, _ = run(capsys, "table", "--policy", LEVEL3, "--out", str(out_file))
    assert code == 0
    assert f"Wrote 4320 rows to {out_file}" in out
    written = pd.read_csv(out_file, dtype=str, keep_default_na=False)
    assert compare_tables(written, decision_table(load_policies(LEVEL3))) == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_table_out_into_missing_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """An unwritable --out is one line, exit 2, and nothing is left behind."""
    target = tmp_path / "no-such-dir" / "table.csv"
    result = run(capsys, "table", "--policy", LEVEL3, "--out", str(target))
    assert_one_line_error(*result, str(target), "cannot write")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------- check


def test_check_all_pass(capsys: pytest.CaptureFixture[str]) -> None:
    """The example CSV passes against its policy: exit 0 and the final count line."""
    code, out, _ = run(capsys, "check", CASES_CSV, "--policy", LEVEL3)
    assert code == 0
    assert out.splitlines()[-1] == "22 cases, 22 passed, 0 failed"
    assert "FAIL" not in out


def test_check_toml_names_its_policies(capsys: pytest.CaptureFixture[str]) -> None:
    """A TOML case table with policy_files needs no --policy; -v lists passing cases."""
    code, out, _ = run(capsys, "check", CASES_TOML, "-v")
    assert code == 0
    assert 'ok   cases[0] "clean byod": allow/compliant' in out.splitlines()
    assert 'ok   cases[7] "offline past wipe period": block/offline_reauth' in out.splitlines()
    assert 'ok   cases[8] "back online, sign-in failed": wipe/offline_wipe' in out.splitlines()
    assert out.splitlines()[-1] == "14 cases, 14 passed, 0 failed"


def test_check_failures_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    """Against the wipe policy, block expectations fail: readable diffs and exit 1."""
    code, out, _ = run(capsys, "check", CASES_CSV, "--policy", STRICT)
    assert code == 1
    assert (
        'FAIL row 9 "low alert byod": expected block/threat_level_exceeded, got '
        "wipe/threat_level_exceeded — wiped — app knew low (fetched 42 min ago)" in out
    )
    assert out.count("FAIL ") == 7
    assert out.splitlines()[-1] == "22 cases, 15 passed, 7 failed"


def test_check_policy_flag_replaces_policy_files(capsys: pytest.CaptureFixture[str]) -> None:
    """--policy replaces the TOML's policy_files (run the same cases against a candidate)."""
    code, out, _ = run(capsys, "check", CASES_TOML, "--policy", STRICT)
    assert code == 1
    assert "policies: Strict - Secured + wipe" in out


def test_check_behavior_flag_overrides_file(capsys: pytest.CaptureFixture[str]) -> None:
    """A behaviour flag overrides the case file's [behavior] for that parameter only."""
    code, out, _ = run(capsys, "check", CASES_TOML, "--unresponsive-behavior", "block")
    assert code == 1
    assert 'FAIL cases[5] "partner unresponsive is ignored"' in out
    assert "unresponsive_behavior=block" in out


def test_check_offline_wipe_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """--offline-wipe immediate: exactly the still-offline case past the wipe period fails
    (a wipe instead of the re-authentication block); the sign-in cases hold either way."""
    code, out, _ = run(capsys, "check", CASES_TOML, "--offline-wipe", "immediate")
    assert code == 1
    assert (
        'FAIL cases[7] "offline past wipe period": expected block/offline_reauth, got '
        "wipe/offline_wipe — wiped — offline for 90 d, past the offline wipe period of 90d "
        "(offline_wipe immediate)" in out
    )
    assert out.count("FAIL ") == 1
    assert "offline_wipe=immediate" in out
    assert out.splitlines()[-1] == "14 cases, 13 passed, 1 failed"


def test_check_help_lists_the_columns(capsys: pytest.CaptureFixture[str]) -> None:
    """check --help lists every CSV column, the new ones included."""
    code, out, _ = run(capsys, "check", "--help")
    assert code == 0
    text = " ".join(out.split())
    for column in ("passes_upn (or emm_passes_upn)", "checked_in", "jailbroken", "reauth"):
        assert column in text


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (None, ["file not found"]),
        (
            "app,management,level,expect_outcome\noutlook,mam_we,low,blok\n",
            ["row 2, column expect_outcome", "'blok'"],
        ),
        (
            "app,management,level,expect_outcome,offline\noutlook,mam_we,low,block,soon\n",
            ["row 2, column offline", "'soon' is not a duration"],
        ),
    ],
)
def test_check_bad_case_tables(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, fragments: list[str]
) -> None:
    """A missing case file or a bad cell: one line naming file, row and column, exit 2."""
    cases = tmp_path / "cases.csv"
    if content is not None:
        cases.write_text(content, encoding="utf-8")
    assert_one_line_error(
        *run(capsys, "check", str(cases), "--policy", LEVEL3), str(cases), *fragments
    )


def test_check_without_policies(capsys: pytest.CaptureFixture[str]) -> None:
    """A CSV case table without --policy has nothing to check against: exit 2."""
    assert_one_line_error(*run(capsys, "check", CASES_CSV), "no policies to check against")


# ----------------------------------------------------------------------------- entry points


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """No command, or an unknown one: one line on stderr and exit 2 (as argparse)."""
    assert_one_line_error(*run(capsys), "COMMAND")
    assert_one_line_error(*run(capsys, "frobnicate"), "invalid choice")


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    """--help prints usage listing every command and returns 0."""
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("whatif", "table", "check"):
        assert command in out
    assert build_parser().prog == "condlaunch"


def test_python_dash_m() -> None:
    """`python -m simulator` runs the same CLI (checked in a subprocess)."""
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "check", CASES_CSV, "--policy", LEVEL3],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "22 cases, 22 passed, 0 failed"


def test_whatif_with_a_typod_app_warns_with_the_closest_match(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An app no policy names (a typo) is still decided — as not targeted — but stderr
    warns and names the closest app a policy does name."""
    code = main(
        [
            "whatif",
            "--policy",
            LEVEL3,
            "--app",
            "outluk",
            "--management",
            "mam_we",
            "--level",
            "medium",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "no policy names the app 'outluk'; did you mean 'outlook'?" in captured.err
    assert "not_targeted" in captured.out


def test_app_hint_is_silent_for_named_apps_and_wildcards() -> None:
    """No warning for an app a policy names, nor when a policy targets every app."""
    from simulator.cli._common import app_hint
    from simulator.policy.files import load_policy_files

    policies = load_policy_files([LEVEL3])
    assert app_hint(["outlook", "teams"], policies) == []
    assert len(app_hint(["outlook", "Outlook"], policies)) == 1
