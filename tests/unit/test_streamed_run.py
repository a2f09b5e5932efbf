"""`condlaunch run --log stream`: the decision log written chunk by chunk, never held.

A streamed run folder must hold what an in-memory run folder holds — the same decision
rows (grouped by chunk, each chunk in canonical order), byte-identical episode and device
tables, the same figures' devices, metrics equal to rounding — whatever the worker count;
``explain`` and the report read it back without loading the whole log; a failure leaves
no folder; ``--log auto`` streams exactly when the in-memory estimate passes the budget.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from simulator.analysis.metrics import compute_metrics
from simulator.cli import run as cli_run
from simulator.cli.main import main
from simulator.errors import InputError
from simulator.folders import (
    STREAMED_LOG,
    iter_decision_log,
    load_run,
    read_device_log,
    write_run,
    write_streamed_run,
)
from simulator.scenario.load import Scenario, scenario_from_data
from simulator.sim.log import decision_order
from simulator.sim.run import simulate

pq = pytest.importorskip("pyarrow.parquet")

SMALL = """
name = "streamed"
seed = 11
horizon = "4d"
chunk_size = 7
[fleet]
users = 30
second_device_share = 0.3
[[threats]]
kind = "phishing"
rate_per_device_year = 150
severity = { medium = 0.5, high = 0.5 }
[[policies]]
name = "strict"
apps = ["outlook", "teams"]
max_threat_level = "secured"
[[policies]]
name = "wipe"
apps = ["outlook", "teams"]
max_threat_level = "low"
threat_action = "wipe"
"""


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "streamed.toml"
    path.write_text(SMALL)
    return path


def _scenario() -> Scenario:
    import tomllib

    return scenario_from_data(tomllib.loads(SMALL))


def _canonical(frame: pd.DataFrame, variants: list[str]) -> pd.DataFrame:
    """Rows in canonical order, categoricals as text (category order is not compared)."""
    rank = {name: i for i, name in enumerate(variants)}
    first = frame["variant"].astype(str).map(rank).to_numpy(dtype=np.int64)
    out = frame.iloc[decision_order(frame, first=first)].reset_index(drop=True)
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(str)
    return out


def test_a_streamed_folder_holds_what_an_in_memory_one_holds(tmp_path: Path) -> None:
    """Same rows (every column), identical episode/device tables, metrics equal to
    rounding; one row group per chunk, each in canonical order; the manifest says how the
    log is laid out; the timeline and explain picks are the in-memory run's."""
    scenario = _scenario()
    streamed = write_streamed_run(scenario, tmp_path / "s", workers=1)
    result = simulate(scenario)
    write_run(result, tmp_path / "m", metrics=compute_metrics(result))
    variants = list(result.variants)

    log = pd.read_parquet(tmp_path / "s" / "decisions.parquet")
    assert streamed.decisions == len(log) == len(result.decisions)
    pd.testing.assert_frame_equal(
        _canonical(log, variants),
        _canonical(pd.read_parquet(tmp_path / "m" / "decisions.parquet"), variants),
    )
    for name in ("episodes.csv", "devices.csv", "device_apps.csv"):
        assert (tmp_path / "s" / name).read_bytes() == (tmp_path / "m" / name).read_bytes(), name
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "s" / "metrics.csv"),
        pd.read_csv(tmp_path / "m" / "metrics.csv"),
        rtol=1e-9,
    )

    groups = pq.ParquetFile(tmp_path / "s" / "decisions.parquet")
    assert groups.metadata.num_row_groups == 5  # 30 users in chunks of 7
    users_seen: set[str] = set()
    for g in range(groups.metadata.num_row_groups):
        part = groups.read_row_group(g).to_pandas()
        users = set(part["user"].astype(str))
        assert not users & users_seen, "a user's rows sit in one row group"
        users_seen |= users
        pd.testing.assert_frame_equal(part.reset_index(drop=True), _in_order(part, variants))
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["log"] == {"streamed": True, "order": STREAMED_LOG}
    meta = groups.schema_arrow.metadata
    assert meta[b"condlaunch.seed"] == b"11"

    from simulator.analysis.explain import device_to_explain
    from simulator.plots.run import pick_interesting_device

    assert streamed.timeline_device == pick_interesting_device(
        result.decisions, result.episodes, variants[0]
    )
    assert streamed.explain_device == device_to_explain(result.decisions)
    assert streamed.problems == []


def _in_order(part: pd.DataFrame, variants: list[str]) -> pd.DataFrame:
    rank = {name: i for i, name in enumerate(variants)}
    first = part["variant"].astype(str).map(rank).to_numpy(dtype=np.int64)
    return part.iloc[decision_order(part, first=first)].reset_index(drop=True)


def test_streamed_files_do_not_depend_on_the_worker_count(tmp_path: Path) -> None:
    """Determinism: one worker or two, the same bytes in every table and the same log."""
    scenario = _scenario()
    write_streamed_run(scenario, tmp_path / "one", workers=1)
    write_streamed_run(scenario, tmp_path / "two", workers=2)
    for name in ("metrics.csv", "episodes.csv", "devices.csv", "manifest.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "one" / "decisions.parquet"),
        pd.read_parquet(tmp_path / "two" / "decisions.parquet"),
    )


def test_device_rows_and_chunks_read_back_without_the_whole_log(tmp_path: Path) -> None:
    """read_device_log gives exactly one device's rows (any run folder);
    iter_decision_log gives a streamed log chunk by chunk, which together are the log."""
    scenario = _scenario()
    write_streamed_run(scenario, tmp_path / "s", workers=1)
    whole = pd.read_parquet(tmp_path / "s" / "decisions.parquet")
    device = str(whole["device"].iloc[len(whole) // 2])
    mine = read_device_log(tmp_path / "s", device)
    expected = whole[whole["device"].astype(str) == device].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        mine.astype(
            {c: str for c in mine.columns if isinstance(mine[c].dtype, pd.CategoricalDtype)}
        ),
        expected.astype(
            {c: str for c in expected.columns if isinstance(expected[c].dtype, pd.CategoricalDtype)}
        ),
    )
    pieces = list(iter_decision_log(tmp_path / "s"))
    assert len(pieces) == 5
    assert sum(len(p) for p in pieces) == len(whole)
    assert read_device_log(tmp_path / "s", "no-such-device").empty


def test_cli_streamed_run_explain_and_report(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run --log stream` writes the folder and suggests the same device as an in-memory
    run; `explain` prints the same story from either folder; `report` reads the streamed
    log chunk by chunk."""
    streamed, memory = tmp_path / "s", tmp_path / "m"
    assert main(["run", str(scenario_file), "--out", str(streamed), "-q", "--log", "stream"]) == 0
    said_streamed = capsys.readouterr().out
    assert main(["run", str(scenario_file), "--out", str(memory), "-q", "--log", "memory"]) == 0
    said_memory = capsys.readouterr().out
    assert "decision log streamed in 5 chunk(s)" in said_streamed
    suggestion = [line for line in said_streamed.splitlines() if line.startswith("Explain")]
    memory_suggestion = next(
        line for line in said_memory.splitlines() if line.startswith("Explain")
    )
    assert suggestion
    assert suggestion[0].replace(str(streamed), "X") == memory_suggestion.replace(str(memory), "X")
    for name in ("exposure_friction.png", "time_to_protect.png", "device_timeline.png"):
        assert (streamed / name).stat().st_size > 1000
    assert (streamed / "device_timeline.png").read_bytes() == (
        memory / "device_timeline.png"
    ).read_bytes()

    device = suggestion[0].split("--device ")[1].strip()
    assert main(["explain", str(streamed), "--device", device]) == 0
    story_streamed = capsys.readouterr().out
    assert main(["explain", str(memory), "--device", device]) == 0
    assert story_streamed == capsys.readouterr().out
    assert main(["explain", str(streamed), "--device", device, "--variant", "nope"]) == 2
    assert "choose one of: 'strict', 'wipe'" in capsys.readouterr().err

    assert main(["report", str(streamed)]) == 0
    page = (streamed / "report.html").read_text(encoding="utf-8")
    assert "Blocked working hours per affected user" in page
    assert not list(tmp_path.glob(".s.*")), "staging folders must not survive"


def test_a_failed_streamed_run_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk that fails midway: the error comes through, and neither the run folder nor
    its staging folder (with the chunks already written) is left behind."""
    import simulator.folders as folders

    calls: list[int] = []
    real = folders.stream_chunk

    def failing(context: Any, chunk: Any) -> Any:
        calls.append(chunk.first)
        if len(calls) == 3:
            raise RuntimeError("disk full (simulated)")
        return real(context, chunk)

    monkeypatch.setattr(folders, "stream_chunk", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        write_streamed_run(_scenario(), tmp_path / "out", workers=1)
    assert len(calls) == 3
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []


def test_log_auto_streams_past_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """--log auto streams when the in-memory estimate passes the budget (or half the
    machine's memory), not below; memory and stream are taken as said."""
    scenario = _scenario()
    size = cli_run.estimate(scenario).log_bytes
    monkeypatch.setattr(cli_run, "physical_memory", lambda: 1e15)
    monkeypatch.setattr(cli_run, "MEMORY_BUDGET", size * 1.01)
    assert not cli_run.streams_log(scenario, "auto")
    monkeypatch.setattr(cli_run, "MEMORY_BUDGET", size * 0.99)
    assert cli_run.streams_log(scenario, "auto")
    monkeypatch.setattr(cli_run, "MEMORY_BUDGET", 1e15)
    monkeypatch.setattr(cli_run, "physical_memory", lambda: size * 1.9)  # half is below
    assert cli_run.streams_log(scenario, "auto")
    assert cli_run.streams_log(scenario, "stream") and not cli_run.streams_log(scenario, "memory")


def test_a_streamed_log_too_big_for_the_disk_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before anything is simulated, a streamed log that would not fit on the output's
    disk is one error naming the scenario's fleet.users."""
    scenario = _scenario()
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(cli_run.shutil, "disk_usage", lambda _path: usage._replace(free=1000))
    with pytest.raises(InputError) as caught:
        cli_run.check_disk(scenario, tmp_path / "out")
    assert caught.value.field == "fleet.users"
    assert "on disk" in str(caught.value)


def test_load_run_with_a_device_reads_only_its_rows(tmp_path: Path) -> None:
    """load_run(device=...) holds that device's rows only (the explain command's read)."""
    scenario = _scenario()
    result = simulate(scenario)
    write_run(result, tmp_path / "m")
    device = str(result.decisions["device"].iloc[0])
    run = load_run(tmp_path / "m", device=device)
    assert set(run.decisions["device"].astype(str)) == {device}
    assert len(run.decisions) == int((result.decisions["device"].astype(str) == device).sum())
