"""An optional scenario ``start`` puts UTC timestamps beside the simulation's minutes.

With a start, the decision log gains ``time_utc`` and the episodes ``onset_utc``,
``detected_utc`` and ``end_utc`` (tz-aware UTC in pandas, timestamps in Parquet, ISO 8601
in CSV), so a log joins with the user's own telemetry; without one, the tables are exactly
what they were before the field existed (hashes recorded before it was added).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator.errors import InputError
from simulator.folders import load_run, write_csv, write_frame, write_run
from simulator.scenario.load import load_scenario
from simulator.sim.run import RunResult, simulate

ROOT = Path(__file__).resolve().parents[2]
SCRIPTED = ROOT / "scenarios" / "scripted_timeline.toml"

TABLES_SHA256 = {
    "scripted": "ad97a51e6ccabb0e5418c444491ae03c58cad5d81eb766723515e54f65b29acf",
    "baseline40": "de77e523ef106a70f44e7ca8fc61b002164434a99dc37ed956a88b4948321625",
}
"""SHA-256 of the three tables (dtypes and CSV text) of two bundled scenarios, computed
on the commit before ``start`` existed. If a deliberate change of the semantics moves
them, recompute with :func:`_tables_digest` and say why in the commit."""


def _tables_digest(result: RunResult) -> str:
    digest = hashlib.sha256()
    for frame in (result.decisions, result.episodes, result.devices):
        digest.update(str(list(frame.dtypes.astype(str).items())).encode())
        digest.update(frame.to_csv(index=False).encode())
    return digest.hexdigest()


def _with_start(tmp_path: Path, start: str) -> Path:
    """The bundled scripted scenario with a ``start`` line added (its policies inline)."""
    text = SCRIPTED.read_text(encoding="utf-8")
    path = tmp_path / "scripted.toml"
    path.write_text(f"start = {start}\n{text}", encoding="utf-8")
    return path


def test_without_start_the_tables_are_unchanged() -> None:
    """No start: the bundled scripted scenario and a small baseline fleet give the very
    tables (dtypes and every value) they gave before the field was added."""
    scripted = simulate(load_scenario(SCRIPTED))
    assert load_scenario(SCRIPTED).model.start is None
    assert not any(c.endswith("_utc") for c in scripted.decisions.columns)
    assert _tables_digest(scripted) == TABLES_SHA256["scripted"]
    baseline = load_scenario(ROOT / "scenarios" / "baseline.toml")
    small = simulate(baseline.with_changes(fleet={"users": 40}, horizon=7 * 1440.0))
    assert _tables_digest(small) == TABLES_SHA256["baseline40"]


def test_start_adds_utc_columns_next_to_the_minutes(tmp_path: Path) -> None:
    """With a start, each UTC column follows its minute column and equals start +
    minutes; "never" (an undetected episode) is NaT; the other columns are unchanged."""
    plain = simulate(load_scenario(SCRIPTED))
    stamped = simulate(load_scenario(_with_start(tmp_path, '"2026-11-02T00:00:00Z"')))
    start = pd.Timestamp("2026-11-02T00:00:00Z")
    log = stamped.decisions
    columns = list(log.columns)
    assert columns[columns.index("time_min") + 1] == "time_utc"
    assert str(log["time_utc"].dtype) == "datetime64[ns, UTC]"
    expected = start + pd.to_timedelta(log["time_min"], unit="min")
    assert (log["time_utc"] == expected).all()
    pd.testing.assert_frame_equal(log.drop(columns=["time_utc"]), plain.decisions)
    episodes = stamped.episodes
    for minutes, stamp in (
        ("onset_min", "onset_utc"),
        ("detected_min", "detected_utc"),
        ("end_min", "end_utc"),
    ):
        names = list(episodes.columns)
        assert names[names.index(minutes) + 1] == stamp
        finite = np.isfinite(episodes[minutes].to_numpy(dtype=float))
        assert (
            episodes.loc[finite, stamp]
            == start + pd.to_timedelta(episodes.loc[finite, minutes], unit="min")
        ).all()
        assert episodes.loc[~finite, stamp].isna().all()
    pd.testing.assert_frame_equal(
        episodes.drop(columns=["onset_utc", "detected_utc", "end_utc"]), plain.episodes
    )


def test_an_offset_start_is_the_same_instant_in_utc(tmp_path: Path) -> None:
    """Monday 00:00 at +01:00 is Sunday 23:00 UTC: the columns are in UTC, the scenario
    keeps the offset it was given (the users' time zone)."""
    result = simulate(load_scenario(_with_start(tmp_path, '"2026-11-02T00:00:00+01:00"')))
    first = result.decisions.iloc[0]
    expected = pd.Timestamp("2026-11-01T23:00:00Z") + pd.Timedelta(minutes=first["time_min"])
    assert first["time_utc"] == expected
    assert result.scenario.resolved()["start"] == "2026-11-02T00:00:00+01:00"


def test_a_toml_offset_datetime_is_accepted(tmp_path: Path) -> None:
    """An unquoted TOML offset date-time is the same as the ISO string."""
    scenario = load_scenario(_with_start(tmp_path, "2026-11-02T00:00:00Z"))
    assert scenario.resolved()["start"] == "2026-11-02T00:00:00Z"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ('"2026-11-02T00:00:00"', "no time zone"),
        ("2026-11-02T00:00:00", "no time zone"),  # a TOML local date-time
        ('"2026-11-02"', "no time zone"),
        ('"next monday"', "not an ISO 8601"),
        ("20261102", "ISO 8601"),
        ('"2026-11-04T00:00:00Z"', "Monday 00:00"),
        ('"2026-11-02T08:00:00Z"', "Monday 00:00"),
    ],
)
def test_a_bad_start_is_one_error_naming_file_and_field(
    tmp_path: Path, value: str, words: str
) -> None:
    """A naive, unparseable or mid-week start is refused with one error that names the
    file and the ``start`` field."""
    path = _with_start(tmp_path, value)
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "scripted.toml" in message
    assert caught.value.field == "start"
    assert words in message
    assert "\n" not in message


def test_run_folder_keeps_the_timestamps(tmp_path: Path) -> None:
    """Written and read back, the decision log keeps ``time_utc`` as a UTC timestamp
    (Parquet timestamp, or ISO text in CSV read back as one), episodes.csv writes ISO 8601
    with Z and an empty cell for never, and the manifest records the start."""
    result = simulate(load_scenario(_with_start(tmp_path, '"2026-11-02T00:00:00Z"')))
    write_run(result, tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["scenario"]["start"] == "2026-11-02T00:00:00Z"
    back = load_run(tmp_path / "run")
    if (tmp_path / "run" / "decisions.parquet").is_file():
        pq = pytest.importorskip("pyarrow.parquet")
        field = pq.read_schema(tmp_path / "run" / "decisions.parquet").field("time_utc")
        assert str(field.type) == "timestamp[ns, tz=UTC]"
    assert str(back.decisions["time_utc"].dtype) == "datetime64[ns, UTC]"
    pd.testing.assert_series_equal(back.decisions["time_utc"], result.decisions["time_utc"])
    text = (tmp_path / "run" / "episodes.csv").read_text().splitlines()
    header = text[0].split(",")
    assert "onset_utc" in header and "detected_utc" in header
    cells = [line.split(",")[header.index("onset_utc")] for line in text[1:]]
    assert cells and all(c.startswith("2026-11-0") and c.endswith("Z") for c in cells)
    assert back.episodes is not None
    assert str(back.episodes["onset_utc"].dtype) == "datetime64[ns, UTC]"


def test_csv_timestamps_round_trip(tmp_path: Path) -> None:
    """The CSV writers turn UTC timestamps into ISO 8601 text to the microsecond and NaT
    into an empty cell; the run reader parses them back to the same instants."""
    frame = pd.DataFrame(
        {
            "time_min": [0.0, 90.5, np.inf],
            "time_utc": pd.Series(
                pd.to_datetime(["2026-11-02T00:00:00Z", "2026-11-02T01:30:30Z", None], utc=True)
            ).astype("datetime64[ns, UTC]"),
        }
    )
    path = write_csv(frame, tmp_path / "t.csv")
    lines = path.read_text().splitlines()
    assert lines[1] == "0.0,2026-11-02T00:00:00.000000Z"
    assert lines[3] == ","
    full = write_frame(frame, tmp_path / "t_full.csv")
    assert full.read_text().splitlines()[2] == "90.5,2026-11-02T01:30:30.000000Z"
    from simulator.folders import _read_csv

    pd.testing.assert_series_equal(_read_csv(full)["time_utc"], frame["time_utc"])
