"""``condlaunch calibrate`` and ``condlaunch replay`` as a user runs them: outputs that
load, the same run folder as ``run``, and bad input as one line with exit code 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from simulator.cli import main
from tests.generate_exports import Written

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "scenarios" / "policies"
FIXTURES = ROOT / "tests" / "fixtures" / "tenant"


def _inputs(written: Written) -> list[str]:
    return [
        "--alerts", *map(str, written.alerts),
        "--devices", *map(str, written.devices),
        "--app-registrations", *map(str, written.app_registrations),
        "--signins", *map(str, written.signins),
        "--mapping", str(written.mapping),
    ]  # fmt: skip


def test_calibrate_writes_a_scenario_that_validates_and_a_page(
    replay_exports: Written, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 0; the TOML passes ``condlaunch validate``; the page folder holds report.html,
    the four figures and a manifest; ignored records are reported."""
    out = tmp_path / "fitted.toml"
    assert main(["calibrate", *_inputs(replay_exports), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ignored 1: not iOS/iPadOS" in printed and "threats.phishing.rate" in printed
    assert main(["validate", str(out)]) == 0
    page = tmp_path / "fitted-calibration"
    names = {p.name for p in page.iterdir()}
    assert {"report.html", "manifest.json", "detection_delay.png", "duration.png"} <= names
    html = (page / "report.html").read_text()
    assert "Fitted fields" in html and "data:image/svg+xml;base64" in html  # SVG figures
    manifest = json.loads((page / "manifest.json").read_text())
    assert manifest["kind"] == "calibration" and manifest["input_sha256"]


def test_replay_writes_a_run_folder_under_two_policies(
    replay_exports: Written, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 0; the folder has what ``run`` writes, two variants, input hashes of every
    export, and ``condlaunch diff`` reads it."""
    out = tmp_path / "replay"
    argv = [
        "replay", *_inputs(replay_exports),
        "--policy", str(POLICIES / "level3-secured-block.toml"),
        "--policy", str(POLICIES / "lenient-medium-block.toml"),
        "--out", str(out), "--no-plots",
    ]  # fmt: skip
    assert main(argv) == 0
    names = {p.name for p in out.iterdir()}
    assert {"manifest.json", "metrics.csv", "episodes.csv", "devices.csv"} <= names
    metrics = pd.read_csv(out / "metrics.csv")
    assert set(metrics["variant"]) == {"Level 3 - Secured + block", "Lenient - Medium + block"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["input_sha256"]) == len(replay_exports.signins) + 4
    assert manifest["replay"]["exports"]["read"]["sign-ins"] > 0
    capsys.readouterr()
    variants = ["--variants", "Level 3 - Secured + block", "Lenient - Medium + block"]
    assert main(["diff", str(out), str(out), *variants]) == 0
    assert "Lenient" in capsys.readouterr().out


def test_replay_without_the_log_gives_the_same_metrics(
    replay_exports: Written, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--no-log --workers 2`` (40-device chunks) writes the same metrics.csv as a
    replay that keeps the log (13-device chunks, fast engine), an empty decision log, and
    says so in the manifest and the summary line (with the same decision count)."""
    policy = ["--policy", str(POLICIES / "level3-secured-block.toml")]
    kept, lean = tmp_path / "kept", tmp_path / "lean"
    common = ["replay", *_inputs(replay_exports), *policy, "--no-plots"]
    assert main([*common, "--out", str(kept), "--engine", "fast", "--chunk-size", "13"]) == 0
    first = capsys.readouterr().out
    assert (
        main([*common, "--out", str(lean), "--no-log", "--workers", "2", "--chunk-size", "40"]) == 0
    )
    second = capsys.readouterr().out
    pd.testing.assert_frame_equal(
        pd.read_csv(kept / "metrics.csv"), pd.read_csv(lean / "metrics.csv")
    )
    manifest = json.loads((lean / "manifest.json").read_text())
    assert manifest["replay"]["decision_log_kept"] is False
    assert pd.read_csv(lean / "episodes.csv").empty
    count = first.split("variant(s): ")[1].split(" decisions")[0]
    assert f"variant(s): {count} decisions" in second and "no log kept" in second


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_wrong_export_type_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sign-ins given as --alerts: one line naming the file and what it is, exit 2, and
    nothing written."""
    out = tmp_path / "fitted.toml"
    code = main(["calibrate", "--alerts", str(FIXTURES / "signins.json"), "--out", str(out)])
    assert code == 2
    line = _one_line_error(capsys)
    assert "signins.json" in line and "sign-ins export" in line and "--signins" in line
    assert not out.exists()


def test_truncated_export_exits_2_naming_file_and_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A truncated sign-in export: one line with the file and the last record read."""
    text = (FIXTURES / "signins.json").read_text()
    cut = tmp_path / "signins.json"
    cut.write_text(text[: len(text) // 2])
    code = main(
        ["replay", "--devices", str(FIXTURES / "devices.json"), "--signins", str(cut),
         "--policy", str(POLICIES / "level3-secured-block.toml"), "--out", str(tmp_path / "r")]
    )  # fmt: skip
    assert code == 2
    line = _one_line_error(capsys)
    assert str(cut) in line and "truncated or invalid JSON after value[" in line
    assert not (tmp_path / "r").exists()


def test_record_without_needed_field_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An alert without severity: one line naming file, record index and field."""
    data = json.loads((FIXTURES / "alerts-page2.json").read_text())
    del data["value"][1]["severity"]
    path = tmp_path / "alerts.json"
    path.write_text(json.dumps(data))
    assert main(["calibrate", "--alerts", str(path), "--out", str(tmp_path / "f.toml")]) == 2
    assert "alerts.json: value[1]: has no 'severity'" in _one_line_error(capsys)


def test_no_input_and_bad_options_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No export at all, a bad --start and a bad --session-gap are each one line, exit 2."""
    assert main(["calibrate", "--out", str(tmp_path / "f.toml")]) == 2
    assert "give at least one export" in _one_line_error(capsys)
    devices = str(FIXTURES / "devices.json")
    args = ["calibrate", "--devices", devices, "--out", str(tmp_path / "f.toml")]
    assert main([*args, "--start", "yesterday"]) == 2
    assert "--start" in _one_line_error(capsys)
    assert main([*args, "--session-gap", "soon"]) == 2
    assert "--session-gap" in _one_line_error(capsys)


def test_calibrate_from_one_export_keeps_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every input is optional: alerts alone fit severities and delays, and keep the fleet,
    app use and rates (no device count to divide by) at their defaults, saying so in the
    file, which still validates."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("alerts-page1.json", "alerts-page2.json"):
        shutil.copy(FIXTURES / name, folder / name)
    out = tmp_path / "fitted.toml"
    argv = ["calibrate", "--alerts", *map(str, sorted(folder.iterdir())), "--out", str(out)]
    assert main([*argv, "--no-page"]) == 0
    text = out.read_text()
    assert "not fitted: no sign-ins: default kept" in text
    assert "the number of devices is unknown" in text
    assert main(["validate", str(out)]) == 0


def test_replay_too_large_for_memory_is_refused_before_playing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decision log that would not fit in memory: one line saying how to make it fit,
    exit 2, no folder."""
    import simulator.sim.estimate

    monkeypatch.setattr(simulator.sim.estimate, "physical_memory", lambda: 1000.0)
    out = tmp_path / "r"
    argv = [
        "replay", "--devices", str(FIXTURES / "devices.json"),
        "--signins", str(FIXTURES / "signins.json"),
        "--policy", str(POLICIES / "level3-secured-block.toml"), "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 2
    assert "shorter window (--start/--end)" in _one_line_error(capsys)
    assert not out.exists()
