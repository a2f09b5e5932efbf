"""`condlaunch run / validate / schema / explain` as a new user meets them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from simulator.cli.main import main

SMALL = """
# Covers: a tiny fleet for CLI tests.
name = "tiny <fleet>"
seed = 5
horizon = "3d"
[fleet]
users = 12
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


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    """A small scenario file."""
    path = tmp_path / "tiny.toml"
    path.write_text(SMALL)
    return path


def test_run_writes_a_complete_folder(
    scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run writes every promised file, a manifest that echoes seed, assumptions and
    input hashes, and prints one summary row per variant."""
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "-q", "--workers", "1"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {
        "manifest.json",
        "metrics.csv",
        "episodes.csv",
        "devices.csv",
        "exposure_friction.png",
        "time_to_protect.png",
        "device_timeline.png",
    } <= names
    assert "decisions.parquet" in names or "decisions.csv" in names
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5
    assert manifest["assumptions"]["connector_off_behavior"] == "no_effect"
    assert set(manifest["input_sha256"]) == {"tiny.toml"}
    assert manifest["variants"] == {"strict": ["strict"], "lenient": ["lenient"]}
    text = capsys.readouterr().out
    summary = [line for line in text.splitlines() if line.startswith(("strict ", "lenient "))]
    # one row per variant in each column block (the table splits at 100 columns when piped)
    assert len(summary) % 2 == 0 and summary[::2] == [s for s in summary if s.startswith("st")]
    assert max(len(line) for line in summary) <= 100
    assert not list(tmp_path.glob(".out.*")), "staging folders must not survive"


def test_same_seed_gives_identical_files_whatever_the_workers(
    scenario: Path, tmp_path: Path
) -> None:
    """Determinism: same scenario and seed ⇒ byte-identical metrics and logs, with one
    worker or two."""
    one, two = tmp_path / "one", tmp_path / "two"
    assert (
        main(["run", str(scenario), "--out", str(one), "-q", "--no-plots", "--workers", "1"]) == 0
    )
    assert (
        main(["run", str(scenario), "--out", str(two), "-q", "--no-plots", "--workers", "2"]) == 0
    )
    for name in ("metrics.csv", "episodes.csv", "devices.csv", "manifest.json"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    log = "decisions.parquet" if (one / "decisions.parquet").exists() else "decisions.csv"
    pd.testing.assert_frame_equal(
        pd.read_parquet(one / log) if log.endswith("parquet") else pd.read_csv(one / log),
        pd.read_parquet(two / log) if log.endswith("parquet") else pd.read_csv(two / log),
    )


def test_seed_option_changes_the_world(scenario: Path, tmp_path: Path) -> None:
    """--seed overrides the scenario's seed (and the manifest says so)."""
    out = tmp_path / "s"
    assert main(["run", str(scenario), "--out", str(out), "-q", "--no-plots", "--seed", "9"]) == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 9


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (("users = 12", "usres = 12"), "fleet.usres: unknown field"),
        (
            ("rate_per_device_year = 200", "rate_per_device_year = -2"),
            "threats[0].rate_per_device_year",
        ),
        (
            ("second_device_share = 0.3", "second_device_share = 0.3\nmanagement = { mdm = 0.9 }"),
            "must sum to 1",
        ),
        (
            ("seed = 5", 'seed = 5\npolicy_files = ["missing.toml"]'),
            "policy_files[0]: policy file 'missing.toml' not found",
        ),
    ],
    ids=["typo", "negative-rate", "shares", "missing-policy-file"],
)
def test_bad_scenarios_exit_2_with_one_line_and_no_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: tuple[str, str], words: str
) -> None:
    """A new user's mistakes: one clear line on stderr naming file and field, exit 2,
    and no output folder left behind."""
    path = tmp_path / "bad.toml"
    path.write_text(SMALL.replace(*edit))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(path) in err
    assert words in err
    assert not out.exists()
    assert not list(tmp_path.glob(".out.*"))


def test_missing_policy_option_file_exits_2(
    scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--policy naming a file that does not exist is a one-line error, exit 2."""
    out = tmp_path / "out"
    assert (
        main(["run", str(scenario), "--policy", str(tmp_path / "nope.toml"), "--out", str(out)])
        == 2
    )
    assert "nope.toml: file not found" in capsys.readouterr().err
    assert not out.exists()


def test_a_failed_run_keeps_the_previous_folder(
    scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outputs are atomic: if writing fails half-way, the previous complete folder is
    still there, untouched, and no partial folder is left."""
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "-q", "--no-plots"]) == 0
    before = (out / "metrics.csv").read_bytes()

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("simulator.folders.write_frame", boom)
    with pytest.raises(OSError, match="disk full"):
        main(["run", str(scenario), "--out", str(out), "-q", "--no-plots", "--seed", "1"])
    assert (out / "metrics.csv").read_bytes() == before
    assert not list(tmp_path.glob(".out.*"))


def test_explain_tells_one_devices_story(
    scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """explain opens with a one-line summary per variant, then prints one sentence per
    decision of the device, in time order; --denials keeps only denials, --json is
    machine-readable, an unknown device is a one-line error, and run's hint names a device
    with a threat-level denial."""
    import json

    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "-q", "--no-plots"]) == 0
    hint = [x for x in capsys.readouterr().out.splitlines() if x.startswith("Explain one")]
    assert hint and "<id>" not in hint[0]
    named = hint[0].split("--device ")[1]
    assert main(["explain", str(out), "--device", "d0000003", "--variant", "strict"]) == 0
    summary, _, body = capsys.readouterr().out.partition("\n\n")
    assert summary.startswith("[strict] ") and " decisions (" in summary
    lines = body.strip().splitlines()
    assert lines and all("[strict]" in line for line in lines)
    assert all(line.startswith("day ") for line in lines)
    assert main(["explain", str(out), "--device", named, "--denials"]) == 0
    denials = capsys.readouterr().out.partition("\n\n")[2].strip().splitlines()
    assert denials and not any(" allowed" in line.split("]", 2)[-1][:12] for line in denials)
    assert main(["explain", str(out), "--device", named, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["device"] == named and record["summary"] and record["decisions"]
    assert any(s["denied_threat_level"] > 0 for s in record["summary"])
    assert main(["explain", str(out), "--device", "nope"]) == 2
    assert "no decision-log rows for device 'nope'" in capsys.readouterr().err


def test_validate_and_schema(scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """validate describes the scenario; schema prints valid JSON Schema."""
    assert main(["validate", str(scenario)]) == 0
    text = capsys.readouterr().out
    assert "valid" in text and "random: 12 users, seed 5" in text
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "condlaunch scenario"


def test_outputs_do_not_depend_on_the_engine(scenario: Path, tmp_path: Path) -> None:
    """Determinism contract: the fast engine and the SimPy reference write byte-identical
    manifest, metrics, episodes and devices files (and equal decision logs)."""
    fast, ref = tmp_path / "fast", tmp_path / "ref"
    base = ["run", str(scenario), "-q", "--no-plots", "--workers", "1"]
    assert main([*base, "--out", str(fast), "--engine", "fast"]) == 0
    assert main([*base, "--out", str(ref), "--engine", "reference"]) == 0
    for name in ("manifest.json", "metrics.csv", "episodes.csv", "devices.csv"):
        assert (fast / name).read_bytes() == (ref / name).read_bytes(), name


def test_run_folder_keeps_full_precision_and_a_variant_named_na(
    scenario: Path, tmp_path: Path
) -> None:
    """metrics.csv holds every metric to full float precision (equal to compute_metrics of
    the same run, not rounded to 6 digits), and load_run reads a variant named "NA" back as
    that name, not as a missing value."""
    from simulator.analysis.metrics import compute_metrics
    from simulator.folders import load_run
    from simulator.scenario.load import load_scenario
    from simulator.sim.run import simulate

    named = tmp_path / "named.toml"
    named.write_text(scenario.read_text().replace('name = "lenient"', 'name = "NA"'))
    out = tmp_path / "out"
    assert main(["run", str(named), "--out", str(out), "-q", "--no-plots", "--workers", "1"]) == 0
    run = load_run(out)
    assert run.metrics is not None and run.episodes is not None
    for table in (run.decisions, run.metrics, run.episodes):
        assert set(table["variant"]) == {"strict", "NA"}
    expected = compute_metrics(simulate(load_scenario(named)))
    pd.testing.assert_frame_equal(
        run.metrics.drop(columns=list(("variant", "segment_by", "segment"))),
        expected.drop(columns=list(("variant", "segment_by", "segment"))),
        check_exact=True,
        check_dtype=False,
    )
    assert (run.metrics["variant"] == expected["variant"]).all()
