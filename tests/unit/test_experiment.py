"""Sweeps (simulator.analysis.sweep): common random numbers, paired intervals, determinism across
workers, precision mode's stopping rule, the sweep folder and the ``sweep`` command."""

from __future__ import annotations

import dataclasses
import math
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from simulator.analysis.metrics import METRIC_COLUMNS, compute_metrics
from simulator.analysis.sweep import (
    SweepResult,
    SweepSettings,
    paired_differences,
    precision_check,
    run_sweep,
    summarize_replications,
)
from simulator.analysis.sweep_tables import complete_results
from simulator.cli.main import main
from simulator.errors import InputError
from simulator.folders import SWEEP_FILES, load_sweep, write_sweep
from simulator.policy.files import load_policy_files
from simulator.scenario.load import Scenario, load_scenario
from simulator.sim.run import simulate
from simulator.sim.world import generate_world

ROOT = Path(__file__).resolve().parents[2]
SWEEP = ROOT / "scenarios" / "threshold_sweep.toml"
SCRIPTED = ROOT / "scenarios" / "scripted_timeline.toml"
EXPOSURE_AND_DENIAL = ("exposed_launches_medium", "exposed_minutes_high", "blocked_user_minutes")


def reduced_sweep(
    users: int = 24,
    days: float = 10.0,
    levels: tuple[str, ...] = ("secured", "medium", "high"),
    threat_factor: float = 15.0,
    chunk_size: int = 100,
) -> Scenario:
    """The bundled threshold sweep, smaller: fewer users and days, block only, threats
    ``threat_factor`` times as frequent (so that a tiny fleet still has episodes)."""
    scenario = load_scenario(SWEEP)
    model = scenario.model
    assert model.fleet is not None and model.sweep is not None
    threats = [
        {**t.model_dump(), "rate_per_device_year": t.rate_per_device_year * threat_factor}
        for t in model.threats
    ]
    grid = {"max_threat_level": list(levels), "threat_action": ["block"]}
    return scenario.with_changes(
        fleet={**model.fleet.model_dump(), "users": users},
        horizon=days * 1440.0,
        threats=threats,
        chunk_size=chunk_size,
        sweep={**model.sweep.model_dump(), "grid": grid},
    )


@pytest.fixture(scope="module")
def sweep() -> SweepResult:
    """Five replications of the reduced sweep (three variants), two workers."""
    return run_sweep(reduced_sweep(), SweepSettings(replications=5), workers=2)


# ------------------------------------------------------------------------ common random numbers


def test_the_world_does_not_depend_on_the_policies() -> None:
    """Two scenarios that differ only in their policies (a field the world never reads)
    draw identical worlds, replication by replication; another replication differs."""
    scenario = reduced_sweep(users=12)
    policies = ROOT / "scenarios" / "policies"
    a = scenario.with_policies(load_policy_files([policies / "strict-secured-wipe.toml"]))
    b = scenario.with_policies(load_policy_files([policies / "lenient-medium-block.toml"]))
    assert a.policies != b.policies
    for replication in (0, 3):
        assert generate_world(a, replication) == generate_world(b, replication)
    assert generate_world(a, 0) != generate_world(a, 1)


def test_every_variant_sees_the_same_launches(sweep: SweepResult) -> None:
    """Under CRN each variant of replication 0 has the same launches (device, app, time),
    and every replication has the same launch and device counts in every variant."""
    launches = sweep.decisions[sweep.decisions["trigger"] == "launch"]
    keys = {
        variant: sorted(zip(rows["device"], rows["app"], rows["time_min"], strict=True))
        for variant, rows in launches.groupby("variant", sort=False)
    }
    assert set(keys) == set(sweep.variants)
    first = next(iter(keys.values()))
    assert first and all(k == first for k in keys.values())
    counts = sweep.results.pivot_table(
        index=["replication", "segment_by", "segment"], columns="variant", values="launches"
    )
    assert counts.eq(counts.iloc[:, 0], axis=0).all(axis=None)


def test_a_replication_of_the_sweep_equals_a_single_run(sweep: SweepResult) -> None:
    """The per-replication metrics, reduced in the workers chunk by chunk, equal
    compute_metrics of simulate() for that replication (what ``condlaunch run
    --replication r`` reports); segments that replication lacks are added with 0 devices."""
    assert sweep.scenario is not None
    expected = compute_metrics(simulate(sweep.scenario, replication=3))
    got = sweep.results[sweep.results["replication"] == 3].drop(columns="replication")
    keys = ["variant", "segment_by", "segment"]
    present = got.merge(expected[keys], on=keys, how="left", indicator=True)["_merge"]
    same = got[(present == "both").to_numpy()].reset_index(drop=True)
    pd.testing.assert_frame_equal(same, expected, check_dtype=False, rtol=1e-9)
    assert (got.loc[(present == "left_only").to_numpy(), "devices"] == 0).all()


# --------------------------------------------------------------------------- paired intervals


def _assert_pairing_narrows(result: SweepResult) -> None:
    rows = result.paired[
        (result.paired["segment_by"] == "all") & result.paired["metric"].isin(EXPOSURE_AND_DENIAL)
    ]
    rows = rows[rows["unpaired_half_width"] > 0]
    assert set(rows["metric"]) == set(EXPOSURE_AND_DENIAL)
    # Never noticeably wider: where the baseline hardly varies (exposure under a secured
    # threshold is near 0) pairing has little to remove, and Welch's larger df can even
    # make the unpaired t quantile a little smaller.
    assert (rows["half_width"] <= 1.05 * rows["unpaired_half_width"]).all(), rows
    totals = rows.groupby("metric")[["half_width", "unpaired_half_width"]].sum()
    assert (totals["half_width"] < totals["unpaired_half_width"]).all(), totals
    assert rows["half_width"].sum() < 0.5 * rows["unpaired_half_width"].sum()


def test_paired_interval_is_narrower_than_unpaired(sweep: SweepResult) -> None:
    """On the reduced sweep, for the exposure and denial headline metrics, the paired
    (same-world) half-widths are narrower than the unpaired (Welch) ones — per metric,
    summed over variants — and never noticeably wider in any variant: CRN removes the
    world's variation from the difference."""
    _assert_pairing_narrows(sweep)


@pytest.mark.slow
def test_paired_interval_is_narrower_on_a_larger_sweep() -> None:
    """The same property on a fuller version: 60 users, 30 days, the bundled threat
    rates, all four levels, six replications."""
    scenario = reduced_sweep(
        users=60, days=30.0, levels=("secured", "low", "medium", "high"), threat_factor=1.0
    )
    _assert_pairing_narrows(run_sweep(scenario, SweepSettings(replications=6), workers=2))


def test_paired_differences_hand_computed() -> None:
    """Pure function: differences per replication (2, 4, 6 → mean 4, s = 2), paired
    half-width t(0.975; 2)·2/√3; ``distinguishable`` when the interval excludes 0."""
    results = pd.DataFrame(
        {
            "variant": ["base"] * 3 + ["v"] * 3,
            "replication": [0, 1, 2] * 2,
            "segment_by": "all",
            "segment": "all",
            "launches": [10.0, 20.0, 30.0, 12.0, 24.0, 36.0],
        }
    )
    paired = paired_differences(results, "base")
    [row] = paired.to_dict("records")
    half = 4.302652729911275 * 2.0 / math.sqrt(3.0)
    assert (row["variant"], row["baseline"], row["metric"], row["n"]) == (
        "v",
        "base",
        "launches",
        3,
    )
    assert row["mean_diff"] == pytest.approx(4.0)
    assert row["half_width"] == pytest.approx(half, rel=1e-9)
    assert row["distinguishable"] == (4.0 - half > 0)
    assert row["unpaired_half_width"] > row["half_width"]
    summary = summarize_replications(results)
    base = summary[summary["variant"] == "base"].iloc[0]
    assert (base["mean"], base["sd"], base["n"]) == (20.0, 10.0, 3)


def test_complete_results_fills_a_segment_missing_in_one_replication() -> None:
    """A segment absent from one replication's metrics gets zero counts there, so that its
    mean is over every replication."""
    results = pd.DataFrame(
        {
            "variant": ["v", "v", "v"],
            "replication": [0, 0, 1],
            "segment_by": ["all", "management", "all"],
            "segment": ["all", "emm", "all"],
            "launches": [5, 5, 7],
            "time_to_protect_median_min": [1.0, 1.0, 2.0],
        }
    )
    full = complete_results(results)
    assert len(full) == 4
    added = full[(full["replication"] == 1) & (full["segment"] == "emm")].iloc[0]
    assert added["launches"] == 0 and math.isnan(added["time_to_protect_median_min"])
    assert full["launches"].dtype == np.int64


# ------------------------------------------------------------------------------- determinism


def test_results_are_identical_whatever_the_worker_count(tmp_path: Path) -> None:
    """workers=1 and workers=2 give equal DataFrames and byte-identical sweep folders."""
    scenario = reduced_sweep(users=9, days=5.0, chunk_size=3)
    one = run_sweep(scenario, SweepSettings(replications=3), workers=1)
    two = run_sweep(scenario, SweepSettings(replications=3), workers=2)
    for name in ("results", "summary", "paired", "outcomes", "decisions", "episodes"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name))
    files_one = write_sweep(one, tmp_path / "one")
    files_two = write_sweep(two, tmp_path / "two")
    assert files_one == files_two
    for name in files_one:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_results_do_not_depend_on_the_engine() -> None:
    """The fast engine gives the same sweep tables as the reference (SimPy) engine."""
    scenario = reduced_sweep(users=9, days=5.0, chunk_size=3)
    reference = run_sweep(scenario, SweepSettings(replications=2, engine="reference"))
    fast = run_sweep(scenario, SweepSettings(replications=2, engine="fast"))
    for name in ("results", "summary", "paired", "outcomes", "decisions", "episodes"):
        pd.testing.assert_frame_equal(getattr(reference, name), getattr(fast, name))


def test_results_do_not_depend_on_the_chunk_size() -> None:
    """The ``chunk_size`` setting (users per task) leaves every sweep table unchanged."""
    scenario = reduced_sweep(users=9, days=5.0, chunk_size=100)
    whole = run_sweep(scenario, SweepSettings(replications=2))
    split = run_sweep(scenario, SweepSettings(replications=2, chunk_size=2))
    for name in ("results", "summary", "paired", "outcomes", "decisions", "episodes"):
        pd.testing.assert_frame_equal(getattr(whole, name), getattr(split, name))


# ---------------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"replications": 0}, "replications"),
        ({"replications": True}, "replications"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"precision": 0.0}, "precision"),
        ({"precision": math.nan}, "precision"),
        ({"precision": 0.05, "batch": 0}, "batch"),
        ({"confidence": 1.0}, "confidence"),
        ({"precision_metrics": ("launches", "nope")}, "precision_metrics"),
        ({"precision_metrics": ()}, "precision_metrics"),
        ({"engine": "warp"}, "engine"),
    ],
)
def test_sweep_settings_out_of_range_name_the_setting(changes: dict[str, Any], field: str) -> None:
    """A setting out of range is an InputError naming that setting, raised when the
    settings are made (before anything runs)."""
    with pytest.raises(InputError) as caught:
        SweepSettings(**changes)
    assert caught.value.field == field


def test_sweep_checks_what_needs_the_scenario() -> None:
    """What depends on the scenario is checked by run_sweep, naming the setting: a cap
    below the initial replications, and a baseline that is not a variant."""
    scenario = load_scenario(SCRIPTED)
    cases = [
        (SweepSettings(replications=4, precision=0.05, max_replications=3), "max_replications"),
        (SweepSettings(baseline="nope"), "baseline"),
    ]
    for settings, field in cases:
        with pytest.raises(InputError) as caught:
            run_sweep(scenario, settings)
        assert caught.value.field == field


def test_sweep_settings_are_immutable_values() -> None:
    """Settings are frozen and hashable (metrics given as a list are kept as a tuple);
    variants are made with dataclasses.replace."""
    settings = SweepSettings(precision_metrics=["launches"])  # type: ignore[arg-type]
    assert settings.precision_metrics == ("launches",)
    assert hash(settings) == hash(SweepSettings(precision_metrics=("launches",)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.replications = 3  # type: ignore[misc]
    assert dataclasses.replace(settings, replications=3).replications == 3


# --------------------------------------------------------------------------------- precision


def test_precision_stops_at_the_predictable_replication() -> None:
    """A scripted world is the same in every replication: after 1 replication there is no
    interval (unmet), after 1 + batch = 3 every half-width is 0 (met): it stops at 3."""
    scenario = load_scenario(SCRIPTED)
    settings = SweepSettings(replications=1, precision=0.05, batch=2, max_replications=50)
    result = run_sweep(scenario, settings)
    assert result.precision is not None
    assert result.precision.converged
    assert result.replications == result.precision.replications == 3
    assert [r for r, _ in result.precision.history] == [1, 3]
    assert result.precision.history[0][1] > 0 and result.precision.history[1][1] == 0
    assert sorted(set(result.results["replication"])) == [0, 1, 2]


WATCHED = ("launches", "exposed_launches_medium", "blocked_user_minutes")


def test_precision_stops_exactly_when_it_says() -> None:
    """At the stated stop R the criterion holds on replications 0..R−1, and it fails on
    0..R−batch−1 (the previous check); the result holds exactly R replications, and the
    metric named last to converge was unmet one batch earlier. (On this tiny fleet the
    worst relative half-width of the watched metrics is about 2.4 at 4 replications and
    1.0 at 6, so a target of 1.2 stops at 6.)"""
    batch, target = 2, 1.2
    settings = SweepSettings(
        replications=2,
        precision=target,
        precision_metrics=WATCHED,
        batch=batch,
        max_replications=20,
    )
    result = run_sweep(reduced_sweep(users=12, days=5.0), settings)
    outcome = result.precision
    assert outcome is not None and outcome.converged
    stop = outcome.replications
    assert stop == 6
    assert result.replications == stop == result.results["replication"].max() + 1
    assert result.manifest["replications"] == stop
    assert result.manifest["precision"]["replications"] == stop

    def check(replications: int) -> Any:
        kept = result.results[result.results["replication"] < replications]
        return precision_check(summarize_replications(kept), target, WATCHED)

    assert check(stop).met
    assert not check(stop - batch).met
    assert [r for r, _ in outcome.history] == list(range(2, stop + 1, batch))
    assert outcome.history[-1][1] == 0 and all(unmet > 0 for _, unmet in outcome.history[:-1])
    assert outcome.last is not None
    variant, metric, ratio = outcome.last
    assert ratio <= target
    assert (variant, metric) in {(v, m) for v, m, _ in check(stop - batch).unmet}


def test_precision_stops_at_the_cap() -> None:
    """An unreachable target stops at max_replications (the last batch shortened to fit)
    and says it did not converge, naming the worst metric."""
    result = run_sweep(
        reduced_sweep(users=8, days=3.0, levels=("secured", "high")),
        SweepSettings(replications=2, precision=1e-6, batch=5, max_replications=3),
    )
    assert result.precision is not None
    assert not result.precision.converged
    assert result.replications == 3
    assert [r for r, _ in result.precision.history] == [2, 3]
    assert result.precision.last is not None and result.precision.last[2] > 1e-6


# ------------------------------------------------------------------------------------ folder


def test_sweep_folder_round_trip(sweep: SweepResult, tmp_path: Path) -> None:
    """The folder has every file; results have metrics.csv's columns plus replication;
    the manifest says kind sweep and states the CSV conventions; load_sweep reads back
    the same tables, to the stated precision."""
    from simulator.folders import CSV_DECIMALS

    files = write_sweep(sweep, tmp_path / "s")
    assert [str(f) for f in files[: len(SWEEP_FILES)]] == list(SWEEP_FILES)
    assert {"decisions.parquet", "episodes.csv"} & {f.name for f in files}
    loaded = load_sweep(tmp_path / "s")
    assert loaded.manifest["kind"] == "sweep"
    assert loaded.manifest["replications"] == 5
    assert loaded.baseline == sweep.baseline == "max secured · block"
    assert loaded.variants == sweep.variants
    assert list(loaded.results.columns) == [
        "variant",
        "replication",
        "segment_by",
        "segment",
        *METRIC_COLUMNS,
    ]
    for name in ("results", "summary", "paired"):
        ours, theirs = getattr(sweep, name), getattr(loaded, name)
        assert list(ours.columns) == list(theirs.columns)
        numeric = ours.select_dtypes("number").columns
        np.testing.assert_allclose(
            theirs[numeric].to_numpy(float),
            ours[numeric].to_numpy(float),
            rtol=0,
            atol=0.5 * 10.0**-CSV_DECIMALS + 1e-9,
        )
    assert loaded.manifest["csv"]["float_decimals"] == CSV_DECIMALS
    assert len(loaded.decisions) == len(sweep.decisions)
    assert set(loaded.outcomes["replication"]) == set(range(5))


# ------------------------------------------------------------------------------------ command


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--replications", "-1"], "--replications: must be >= 1"),
        (["--replications", "0"], "--replications: must be >= 1"),
        (["--precision", "0"], "--precision: must be a number > 0"),
        (["--precision", "-0.05"], "--precision: must be a number > 0"),
        (["--precision", "0.05", "--max-replications", "3"], "--max-replications"),
        (["--baseline", "nope"], "--baseline: no variant named 'nope'"),
    ],
)
def test_bad_options_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: list[str], fragment: str
) -> None:
    """Bad input exits 2 with one line on stderr, before anything is simulated or written."""
    out = tmp_path / "out"
    code = main(["sweep", str(SWEEP), "--out", str(out), "-q", *extra])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("condlaunch: error: ")
    assert fragment in captured.err
    assert _leftovers(tmp_path) == []


def test_unknown_scenario_file_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A missing scenario file exits 2 naming the file; no output folder appears."""
    code = main(["sweep", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 2 and captured.err.count("\n") == 1
    assert "nope.toml: file not found" in captured.err
    assert _leftovers(tmp_path) == []


def test_sweep_command_prints_tables_and_writes_the_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``condlaunch sweep`` on the scripted scenario: exit 0, the summary table with
    ``mean ± half-width`` cells, the precision sentence, the folder listed and written."""
    out = tmp_path / "sweep"
    code = main(
        [
            "sweep",
            str(SCRIPTED),
            "--out",
            str(out),
            "-q",
            "--replications",
            "2",
            "--precision",
            "0.05",
            "--workers",
            "1",
        ]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert "Metrics over 2 replications, segment all" in text
    assert "Precision: every headline half-width is within 5.0% of its mean after 2" in text
    assert f"Wrote {out}/: manifest.json, results.csv, summary.csv, paired.csv" in text
    assert "per 1,000 users per month, sums in hours" in text
    assert any(line.startswith("Level 3 - Secured + block") for line in text.splitlines())
    assert "No risk appetite stated" in text  # the scripted scenario states none
    written = {p.name for p in out.iterdir()}
    assert {*SWEEP_FILES, "decisions.parquet", "episodes.csv"} <= written


@pytest.mark.parametrize("available", [True, False])
def test_report_flag_asks_the_report_module_by_name(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    available: bool,
) -> None:
    """``--report`` calls ``simulator.report.page.write_report(folder)`` after the folder is
    written; without that module the sweep still succeeds and says the report is not
    available."""
    calls: list[Path] = []

    def write_report(folder: Path, out: Path | None = None) -> Path:
        assert (folder / "manifest.json").is_file()
        calls.append(folder)
        return folder / "report.html"

    fake = types.ModuleType("simulator.report.page")
    fake.write_report = write_report  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "simulator.report.page", fake if available else None)
    out = tmp_path / "sweep"
    code = main(
        ["sweep", str(SCRIPTED), "--out", str(out), "-q", "--replications", "2", "--report"]
    )
    text = capsys.readouterr().out
    assert code == 0
    if available:
        assert calls == [out]
        assert f"HTML report: {out / 'report.html'}" in text
    else:
        assert "HTML report: not available" in text
