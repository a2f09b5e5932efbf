"""The decision log's columns are data that other tools read right.

Levels are ordered categoricals (secured < low < medium < high), so comparisons, ``max()``
and sorting follow the levels in pandas and after a Parquet round trip (where DuckDB and
Arrow read them as dictionary-encoded columns); other low-cardinality columns are
categoricals; the Parquet file carries the scenario's input hashes in its metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from simulator.folders import write_frame
from simulator.sim.log import LEVEL_CATEGORIES
from simulator.sim.run import simulate
from tests.unit.test_engine_scripted import launch, scripted, threat

LEVEL_COLUMNS = ("known_level", "intune_level", "defender_level", "true_level")


def _log() -> pd.DataFrame:
    """A medium threat between two launches: secured, then medium rows."""
    return simulate(
        scripted([launch(10), threat(60, "medium", 0), launch(120), launch(130)])
    ).decisions


def test_levels_are_ordered_categoricals() -> None:
    """Every level column compares by level, not alphabetically ('low' < 'high')."""
    log = _log()
    for name in LEVEL_COLUMNS:
        dtype = log[name].dtype
        assert isinstance(dtype, pd.CategoricalDtype)
        assert dtype.ordered
        assert list(dtype.categories) == list(LEVEL_CATEGORIES)
    assert log["true_level"].max() == "medium"
    assert (log["true_level"] > "low").tolist() == [False, True, True]
    assert log["true_level"].sort_values().tolist() == ["secured", "medium", "medium"]


def test_ordered_levels_survive_a_parquet_round_trip(tmp_path: Path) -> None:
    """Written with write_frame and read back, the levels are still ordered categoricals,
    every categorical column is dictionary-encoded in the file, and the file's metadata
    holds what the caller passed (the scenario's input hashes)."""
    pq = pytest.importorskip("pyarrow.parquet")
    log = _log()
    hashes = {"scenario": "ab" * 32}
    path = write_frame(
        log, tmp_path / "decisions.parquet", {"condlaunch.input_sha256": json.dumps(hashes)}
    )
    back = pd.read_parquet(path)
    for name in LEVEL_COLUMNS:
        assert isinstance(back[name].dtype, pd.CategoricalDtype) and back[name].dtype.ordered
        assert list(back[name].cat.categories) == list(LEVEL_CATEGORIES)
    assert (back["true_level"] >= "medium").sum() == 2
    schema = pq.read_schema(path)
    categorical = [c for c in log.columns if isinstance(log[c].dtype, pd.CategoricalDtype)]
    assert {"device", "app", "outcome", "reason", "explanation"} <= set(categorical)
    for name in categorical:
        assert str(schema.field(name).type).startswith("dictionary"), name
    assert json.loads(schema.metadata[b"condlaunch.input_sha256"]) == hashes
    pd.testing.assert_frame_equal(back, log)
