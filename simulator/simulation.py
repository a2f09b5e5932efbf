"""Running a scenario: world chunks × policy variants → decision log, episodes, devices.

:func:`simulate` is the library entry point behind ``condlaunch run``. For each chunk of
users it draws the chunk's world once and plays it against every policy variant (common
random numbers), so memory is bounded by the chunk and variants differ only by policy.
Rows are put in a canonical order, so results do not depend on the chunk size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from simulator.engine.reference import ChunkResult, EngineSettings, simulate_chunk
from simulator.log import (
    DECISION_COLUMNS,
    DEVICE_COLUMNS,
    EPISODE_COLUMNS,
    sort_decisions,
    to_frame,
)
from simulator.policy import Policy
from simulator.scenario import Scenario, variant_policies
from simulator.world import connector_timeline, iter_world_chunks, n_users

ProgressCallback = Callable[[int, int], None]
"""Called with (users done, users in all) after each chunk."""


@dataclass(frozen=True)
class RunResult:
    """Everything one replication of a scenario produced.

    Attributes
    ----------
    scenario
        The scenario that was run.
    replication
        The replication index (the world depends on seed and replication).
    variants
        Variant names, in order; each maps to the policies deployed together.
    decisions
        The decision log (:data:`simulator.log.DECISION_COLUMNS`), all variants.
    episodes
        Threat episodes as they played out, per variant.
    devices
        Devices and their onboarding, per variant.
    """

    scenario: Scenario
    replication: int
    variants: dict[str, tuple[Policy, ...]]
    decisions: pd.DataFrame
    episodes: pd.DataFrame
    devices: pd.DataFrame = field(repr=False)


def engine_settings(scenario: Scenario) -> EngineSettings:
    """The engine's behaviour parameters from the scenario's ``[behavior]``."""
    behavior = scenario.model.behavior
    return EngineSettings(
        behavior=scenario.behavior,
        midsession_enforcement=behavior.midsession_enforcement,
        retry_denied_at_launch=behavior.retry_denied_at_launch,
    )


def simulate(
    scenario: Scenario,
    *,
    replication: int = 0,
    variants: dict[str, Sequence[Policy]] | None = None,
    chunk_size: int | None = None,
    progress: ProgressCallback | None = None,
) -> RunResult:
    """Simulate one replication of ``scenario`` under each policy variant.

    Parameters
    ----------
    scenario
        A validated scenario (:func:`simulator.scenario.load_scenario`).
    replication
        Replication index; with the scenario's seed it fixes the world.
    variants
        Policy sets to compare; default: the scenario's variants (one per policy unless
        ``[[variants]]`` says otherwise).
    chunk_size
        Users per chunk (default: the scenario's ``chunk_size``). Does not change results.
    progress
        Optional callback after each chunk.
    """
    chosen = {k: tuple(v) for k, v in (variants or variant_policies(scenario)).items()}
    if not chosen:
        raise ValueError("no policy variants to simulate")
    settings = engine_settings(scenario)
    connector = connector_timeline(scenario.model)
    horizon = scenario.model.horizon
    total = n_users(scenario)
    done = 0
    merged = ChunkResult()
    for chunk in iter_world_chunks(scenario, replication, chunk_size):
        for name, policies in chosen.items():
            part = simulate_chunk(chunk, policies, name, connector, horizon, settings)
            merged.decisions.extend(part.decisions)
            merged.episodes.extend(part.episodes)
            merged.devices.extend(part.devices)
        done += len({d.user for d in chunk}) if not scenario.scripted else len(chunk)
        if progress is not None:
            progress(min(done, total), total)
    decisions = sort_decisions(to_frame(merged.decisions, DECISION_COLUMNS))  # type: ignore[arg-type]
    decisions = _order_variants(decisions, chosen)
    episodes = to_frame(merged.episodes, EPISODE_COLUMNS)  # type: ignore[arg-type]
    episodes = episodes.sort_values(
        ["variant", "device_index", "onset_min", "episode"], kind="stable"
    )
    devices = to_frame(merged.devices, DEVICE_COLUMNS)  # type: ignore[arg-type]
    devices = devices.sort_values(["variant", "device_index"], kind="stable")
    return RunResult(
        scenario=scenario,
        replication=replication,
        variants=chosen,
        decisions=decisions,
        episodes=_order_variants(episodes.reset_index(drop=True), chosen),
        devices=_order_variants(devices.reset_index(drop=True), chosen),
    )


def _order_variants(frame: pd.DataFrame, variants: dict[str, tuple[Policy, ...]]) -> pd.DataFrame:
    """Group rows by variant in declaration order, keeping each variant's row order."""
    if frame.empty:
        return frame
    rank = {name: i for i, name in enumerate(variants)}
    key = frame["variant"].map(rank).to_numpy()
    return frame.iloc[key.argsort(kind="stable")].reset_index(drop=True)
