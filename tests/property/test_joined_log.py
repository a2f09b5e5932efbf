"""The compiled engine's joined decision log equals the log joined from its parts' frames.

:func:`simulator.sim.run.assemble` builds a run's log in one pass from the chunks' coded
rows when they are all in this process
(:func:`simulator.sim.engine.compiled.joined_decision_frame`), and otherwise joins the
parts' own DataFrames (:func:`simulator.sim.log.concat_frames`, ordered by
:func:`simulator.sim.log.decision_order`). The two routes must give the same frame: same
rows in the same order, same dtypes, same categories in the same order.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.scenario.load import Scenario, load_scenario, variant_policies
from simulator.sim.engine.compiled import joined_decision_frame
from simulator.sim.log import DECISION_COLUMNS, concat_frames, decision_order
from simulator.sim.run import ChunkFrames, _variant_rank, assemble, chunk_tasks, run_chunk
from tests.property.test_engines_agree import BUNDLED, random_scenarios


def _chunks(scenario: Scenario, chunk_size: int, explain: bool = True) -> list[ChunkFrames]:
    variants = {k: tuple(v) for k, v in variant_policies(scenario).items()}
    tasks = chunk_tasks(scenario, 0, variants, chunk_size, "compiled")
    return [run_chunk(dataclasses.replace(task, explain=explain)) for task in tasks]


def _frames_route(scenario: Scenario, chunks: list[ChunkFrames]) -> pd.DataFrame:
    variants = dict(variant_policies(scenario))
    return concat_frames(
        [part.frame() for chunk in chunks for part in chunk.coded],
        DECISION_COLUMNS,
        order=lambda frame: decision_order(frame, first=_variant_rank(frame, variants)),
    )


def _assert_same(joined: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(joined, expected, check_exact=True)
    for name in DECISION_COLUMNS:
        ours, theirs = joined[name].dtype, expected[name].dtype
        assert ours == theirs, name
        if isinstance(theirs, pd.CategoricalDtype):
            assert isinstance(ours, pd.CategoricalDtype)
            assert list(ours.categories) == list(theirs.categories), name
            assert ours.categories.dtype == theirs.categories.dtype, name
            assert ours.ordered == theirs.ordered, name


def _joined(scenario: Scenario, chunks: list[ChunkFrames]) -> pd.DataFrame:
    rank = {name: i for i, name in enumerate(variant_policies(scenario))}
    return joined_decision_frame([part for chunk in chunks for part in chunk.coded], rank)


@settings(max_examples=25, deadline=None)
@given(random_scenarios(), st.sampled_from([1, 2, 5, 1000]), st.booleans())
def test_joined_log_equals_the_parts_joined(
    scenario: Scenario, chunk_size: int, explain: bool
) -> None:
    chunks = _chunks(scenario, chunk_size, explain)
    _assert_same(_joined(scenario, chunks), _frames_route(scenario, chunks))


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_joined_log_equals_the_parts_joined_on_bundled_scenarios(path: Any) -> None:
    scenario = load_scenario(path)
    fleet = scenario.model.fleet
    if fleet is not None:  # a few chunks of a small fleet, so chunks' categories differ
        scenario = scenario.with_changes(
            fleet=fleet.model_copy(update={"users": min(fleet.users, 24)}).model_dump()
        )
    chunks = _chunks(scenario, 7)
    _assert_same(_joined(scenario, chunks), _frames_route(scenario, chunks))


def test_assemble_takes_the_joined_route_only_for_untouched_coded_chunks() -> None:
    """A chunk whose log was already read (or that came pickled from a worker) is joined
    from its frames; the two runs' logs are the same."""
    scenario = load_scenario(BUNDLED[0])
    fleet = scenario.model.fleet
    assert fleet is not None
    scenario = scenario.with_changes(fleet=fleet.model_copy(update={"users": 12}).model_dump())
    variants = {k: tuple(v) for k, v in variant_policies(scenario).items()}
    fresh = _chunks(scenario, 5)
    read = _chunks(scenario, 5)
    assert all(chunk.coded_only for chunk in fresh)
    read[0].decisions  # noqa: B018 - reading the log builds its frame
    assert not read[0].coded_only and read[1].coded_only
    a = assemble(scenario, 0, variants, fresh).decisions
    b = assemble(scenario, 0, variants, read).decisions
    _assert_same(a, b)


def test_no_rows_give_the_empty_log() -> None:
    scenario = load_scenario(BUNDLED[0]).with_changes(  # two users, no launch in a minute
        horizon="1m", fleet={"users": 2}, apps=[{"name": "outlook", "sessions_per_day": 0.01}]
    )
    chunks = _chunks(scenario, 1)
    assert sum(len(part.rows_i) for chunk in chunks for part in chunk.coded) == 0
    _assert_same(_joined(scenario, chunks), _frames_route(scenario, chunks))
