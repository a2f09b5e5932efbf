"""The condlaunch command line (simulator.cli.main): outputs, exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from simulator.cli.main import build_parser, main
from simulator.policy.files import load_policies
from simulator.policy.tables import compare_tables, decision_table

ROOT = Path(__file__).resolve().parents[2]
LEVEL3 = str(ROOT / "scenarios" / "policies" / "level3-secured-block.toml")
STRICT = str(ROOT / "scenarios" / "policies" / "strict-secured-wipe.toml")
CASES_CSV = str(ROOT / "scenarios" / "cases" / "level3-cases.csv")
CASES_TOML = str(ROOT / "scenarios" / "cases" / "level3-cases.toml")
WHATIF = ["whatif", "--policy", LEVEL3, "--app", "outlook"]


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
    assert "  offline block after  12h" in lines
    assert "  multi_policy_merge      most_restrictive" in lines


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
    assert record["effective_policy"]["offline_block_after_min"] == 720.0
    assert record["behavior"]["connector_off_behavior"] == "no_effect"


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
        "  1728 rows = groups 1 × management 4 × app 4 × defender 3 × level 4 × connector 3 "
        "× offline 3"
    )
    assert "outcome  reason                 mdm  mam_we  emm+upn  emm  total" in lines
    assert "BLOCK    threat_level_exceeded   12      12       12   12     48" in lines
    assert any(
        line.startswith("BLOCK    mtd_not_activated      defender=absent,installed")
        for line in lines
    )
    assert len(lines) < 40


def test_table_out_writes_csv_atomically(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--out writes exactly the library's table, says how many rows, leaves no temp file."""
    out_file = tmp_path / "table.csv"
    code, out, _ = run(capsys, "table", "--policy", LEVEL3, "--out", str(out_file))
    assert code == 0
    assert f"Wrote 1728 rows to {out_file}" in out
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
    assert out.splitlines()[-1] == "15 cases, 15 passed, 0 failed"
    assert "FAIL" not in out


def test_check_toml_names_its_policies(capsys: pytest.CaptureFixture[str]) -> None:
    """A TOML case table with policy_files needs no --policy; -v lists passing cases."""
    code, out, _ = run(capsys, "check", CASES_TOML, "-v")
    assert code == 0
    assert 'ok   cases[0] "clean byod": allow/compliant' in out.splitlines()
    assert out.splitlines()[-1] == "8 cases, 8 passed, 0 failed"


def test_check_failures_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    """Against the wipe policy, block expectations fail: readable diffs and exit 1."""
    code, out, _ = run(capsys, "check", CASES_CSV, "--policy", STRICT)
    assert code == 1
    assert (
        'FAIL row 7 "low alert byod": expected block/threat_level_exceeded, got '
        "wipe/threat_level_exceeded — wiped — app knew low (fetched 42 min ago)" in out
    )
    assert out.count("FAIL ") == 5
    assert out.splitlines()[-1] == "15 cases, 10 passed, 5 failed"


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
    assert result.stdout.splitlines()[-1] == "15 cases, 15 passed, 0 failed"
