"""Replay of a simulated world's own exports reproduces that world's decisions."""

from __future__ import annotations

import pandas as pd
import pytest

from simulator.analysis.metrics import run_metrics
from simulator.policy.decide import Policy
from simulator.scenario.load import Scenario, variant_policies
from simulator.sim.run import RunResult, simulate
from simulator.tenant.inventory import Tenant, load_tenant
from simulator.tenant.mapping import load_mapping
from simulator.tenant.replay import (
    ReplaySettings,
    replay,
    replay_chunks,
    replay_metrics,
    replay_scenario,
    session_starts,
)
from tests.generate_exports import Written, entra_id
from tests.tenant.conftest import exports_of

KEY = ["device", "time_min", "app", "trigger"]
COMPARED = ["outcome", "reason", "known_level", "intune_level", "defender_level"]
ZERO_TOUCH_MIN = 5.0
"""MDM devices of the truth onboard Defender silently within 5 minutes of the start; the
exports cannot say when, so the first 5 minutes are left out of the comparison."""


@pytest.fixture(scope="module")
def tenant(replay_exports: Written) -> Tenant:
    return load_tenant(exports_of(replay_exports), load_mapping(replay_exports.mapping))


@pytest.fixture(scope="module")
def both(tenant: Tenant, replay_truth: Scenario) -> tuple[RunResult, RunResult]:
    variants = variant_policies(replay_truth)
    settings = ReplaySettings.from_base(replay_truth.model, replay_truth.policies, 2.0)
    scenario = replay_scenario(tenant, replay_truth, replay_truth.policies)
    replayed = replay(tenant, scenario, variants, settings, chunk_size=37)
    return simulate(replay_truth, variants=variants), replayed


@pytest.fixture(scope="module")
def replay_inputs(
    tenant: Tenant, replay_truth: Scenario
) -> tuple[Scenario, dict[str, tuple[Policy, ...]], ReplaySettings]:
    variants = variant_policies(replay_truth)
    settings = ReplaySettings.from_base(replay_truth.model, replay_truth.policies, 2.0)
    return replay_scenario(tenant, replay_truth, replay_truth.policies), variants, settings


def test_fast_and_compiled_engines_replay_identically(
    tenant: Tenant,
    replay_inputs: tuple[Scenario, dict[str, tuple[Policy, ...]], ReplaySettings],
    both: tuple[RunResult, RunResult],
) -> None:
    """Differential: the compiled engine (replay's default) and the pure-Python fast
    engine give the same decision log, episodes and devices, row for row, on the
    generator's exports."""
    scenario, variants, settings = replay_inputs
    compiled = both[1]
    fast = replay(tenant, scenario, variants, settings, chunk_size=37, engine="fast")
    assert len(compiled.decisions) > 1000
    for name in ("decisions", "episodes", "devices"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(compiled, name))


def test_metrics_only_replay_does_not_depend_on_chunks_or_workers(
    tenant: Tenant,
    replay_inputs: tuple[Scenario, dict[str, tuple[Policy, ...]], ReplaySettings],
    both: tuple[RunResult, RunResult],
) -> None:
    """Metrics reduced chunk by chunk (no log kept) are the same for 7-device chunks and
    one 500-device chunk in this process, and 40-device chunks in 2 worker processes, and
    equal the metrics of the whole decision log."""
    scenario, variants, settings = replay_inputs
    assert len(replay_chunks(tenant, 40)) >= 3  # two workers get work
    small = replay_metrics(tenant, scenario, variants, settings, chunk_size=7, workers=1)
    large = replay_metrics(tenant, scenario, variants, settings, chunk_size=500, workers=1)
    pooled = replay_metrics(tenant, scenario, variants, settings, chunk_size=40, workers=2)
    whole = run_metrics(both[1])
    for a, b, c, d in zip(small, large, pooled, whole, strict=True):
        pd.testing.assert_frame_equal(a, b)
        pd.testing.assert_frame_equal(a, c)
        pd.testing.assert_frame_equal(a, d)
    assert small[0]["users"].max() == len(tenant.users())


def test_chunks_never_split_a_user(tenant: Tenant) -> None:
    """Every user's devices are in one chunk (users are counted per chunk), every device
    is in exactly one chunk, with its device-id-order index."""
    chunks = replay_chunks(tenant, 7)
    seen = [i for chunk in chunks for i in chunk.indices]
    assert sorted(seen) == list(range(len(tenant.devices)))
    owner: dict[str, int] = {}
    ids = list(tenant.devices)
    for number, chunk in enumerate(chunks):
        assert [ids[i] for i in chunk.indices] == list(chunk.tenant.devices)
        for device in chunk.tenant.devices.values():
            assert owner.setdefault(device.user, number) == number
    assert any(len(devices) > 1 for devices in tenant.users().values())


def _rows(frame: pd.DataFrame, rename: bool) -> pd.DataFrame:
    rows = frame[frame["time_min"] >= ZERO_TOUCH_MIN].copy()
    if rename:
        rows["device"] = rows["device"].map(entra_id)
    rows["time_min"] = rows["time_min"].round(3)  # Graph times carry microseconds
    rows = rows[KEY + COMPARED]
    # compare values, not categorical encodings (the two logs' categories differ: device ids)
    rows = rows.astype(
        {c: str for c in rows.columns if isinstance(rows[c].dtype, pd.CategoricalDtype)}
    )
    return rows.sort_values(KEY).reset_index(drop=True)


def test_replay_reproduces_the_worlds_decisions(both: tuple[RunResult, RunResult]) -> None:
    """Every launch and check-in of the world (after zero-touch onboarding) appears in the
    replay at the same time with the same outcome, reason and levels — the exports carry
    devices, management, apps, launches and detected episodes, and the truth has no
    offline periods, onboarding or nudges that they would not."""
    world, replayed = both
    a, b = _rows(world.decisions, True), _rows(replayed.decisions, False)
    assert len(a) == len(b) > 1000
    pd.testing.assert_frame_equal(a, b)
    assert set(replayed.decisions["outcome"]) >= {"allow", "block"}


def test_replay_knows_the_fleet(tenant: Tenant, replay_truth: Scenario) -> None:
    """The fleet of the exports is the world's: devices, management and apps."""
    from simulator.sim.world import generate_world

    world = generate_world(replay_truth)
    assert len(tenant.devices) == len(world.devices)
    for device in world.devices:
        mine = tenant.devices[entra_id(device.device)]
        assert mine.management == device.management.value
        assert mine.apps == set(device.apps)


def test_session_starts_join_bursts() -> None:
    """Sign-ins closer than the gap are one session; sorted whatever the input order."""
    starts = session_starts([10.0, 0.0, 0.5, 30.0, 31.0, 34.0], 2.0)
    assert starts.tolist() == [0.0, 10.0, 30.0, 34.0]
