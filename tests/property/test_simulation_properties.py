"""Properties of whole simulations over random small scenarios (Hypothesis).

The scenarios are tiny (a handful of users, a few days) with high threat rates so that
denials, nudges, offline periods and onboarding all happen in most examples.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.scenario.load import Scenario, scenario_from_data
from simulator.sim.run import simulate

LEVELS = ["secured", "low", "medium", "high"]


def small_scenario(
    seed: int,
    users: int,
    days: int,
    mdm: float,
    threat_rate: float,
    offline_rate: float,
    action: str = "block",
    behavior: dict[str, Any] | None = None,
) -> Scenario:
    """A tiny random scenario with one policy per threat level (all with ``action``)."""
    mam = round((1 - mdm) * 0.7, 6)
    data: dict[str, Any] = {
        "name": "property",
        "seed": seed,
        "horizon": f"{days}d",
        "fleet": {
            "users": users,
            "second_device_share": 0.3,
            "management": {"mdm": mdm, "mam_we": mam, "emm": round(1 - mdm - mam, 6)},
            "emm_passes_upn": 0.5,
        },
        "apps": [
            {"name": "outlook", "sessions_per_day": 6},
            {"name": "teams", "share": 0.7, "sessions_per_day": 4},
        ],
        "threats": [
            {
                "kind": "phishing",
                "rate_per_device_year": threat_rate,
                "severity": {"low": 0.3, "medium": 0.4, "high": 0.3},
                "natural_duration": {"dist": "lognormal", "median": "6h", "p90": "2d"},
            },
            {
                "kind": "jailbreak",
                "rate_per_device_year": threat_rate / 10,
                "severity": {"high": 1.0},
            },
        ],
        "offline": {"episodes_per_device_month": offline_rate},
        "behavior": behavior or {},
        "policies": [
            {
                "name": f"max-{level}",
                "apps": ["outlook", "teams"],
                "max_threat_level": level,
                "threat_action": action,
            }
            for level in LEVELS
        ],
    }
    return scenario_from_data(data, source="<property>")


scenarios = st.builds(
    small_scenario,
    seed=st.integers(0, 2**32 - 1),
    users=st.integers(1, 8),
    days=st.integers(1, 4),
    mdm=st.sampled_from([0.0, 0.3, 0.6, 1.0]),
    threat_rate=st.sampled_from([20.0, 100.0, 300.0]),
    offline_rate=st.sampled_from([0.0, 5.0, 30.0]),
    action=st.sampled_from(["block", "wipe"]),
)


def _counts(decisions: pd.DataFrame, variant: str) -> tuple[int, dict[str, int]]:
    rows = decisions[decisions["variant"] == variant]
    threat_denials = int(
        ((rows["reason"] == "threat_level_exceeded") & (rows["outcome"] != "allow")).sum()
    )
    launches = rows[(rows["trigger"] == "launch") & (rows["outcome"] == "allow")]
    exposed = {
        level: int(launches["true_level"].map(LEVELS.index).ge(LEVELS.index(level)).sum())
        for level in LEVELS[1:]
    }
    return threat_denials, exposed


@settings(max_examples=25)
@given(scenarios)
def test_stricter_max_level_never_lets_more_risk_through(scenario: Scenario) -> None:
    """On the same world, a stricter max level never yields fewer threat-level denials
    nor more exposed launches at any severity (SEMANTICS.md §7, metamorphic)."""
    decisions = simulate(scenario).decisions
    previous: tuple[int, dict[str, int]] | None = None
    for level in LEVELS:  # strictest first
        current = _counts(decisions, f"max-{level}")
        if previous is not None:
            assert current[0] <= previous[0], f"max-{level} denied more than a stricter one"
            assert all(current[1][s] >= previous[1][s] for s in current[1]), (
                f"max-{level} exposed fewer launches than a stricter level: "
                f"{current[1]} vs {previous[1]}"
            )
        previous = current


@settings(max_examples=25)
@given(scenarios)
def test_every_launch_has_exactly_one_row_with_one_outcome(scenario: Scenario) -> None:
    """Every launch of the world appears once per variant in the log, with a single
    outcome among allow/block/wipe, whatever the policy."""
    from simulator.sim.world import generate_world

    world = generate_world(scenario)
    expected = sum(
        1 for device in world.devices for launch in device.launches if launch.start < world.horizon
    )
    result = simulate(scenario)
    launches = result.decisions[result.decisions["trigger"] == "launch"]
    for variant in result.variants:
        mine = launches[launches["variant"] == variant]
        assert len(mine) == expected
        assert set(mine["outcome"]) <= {"allow", "block", "wipe"}
        keys = mine[["device", "app", "time_min"]]
        assert not keys.duplicated().any()


@settings(max_examples=15)
@given(scenarios, st.integers(1, 5))
def test_results_do_not_depend_on_chunk_size(scenario: Scenario, chunk: int) -> None:
    """Same scenario and seed ⇒ identical decision log, episodes and devices, whatever
    the chunk size the world is generated and simulated in."""
    whole = simulate(scenario, chunk_size=1000)
    chunked = simulate(scenario, chunk_size=chunk)
    pd.testing.assert_frame_equal(whole.decisions, chunked.decisions)
    pd.testing.assert_frame_equal(whole.episodes, chunked.episodes)
    pd.testing.assert_frame_equal(whole.devices, chunked.devices)


@settings(max_examples=15)
@given(scenarios)
def test_variants_share_the_world(scenario: Scenario) -> None:
    """Common random numbers: every variant sees the same launches and the same
    episode onsets, severities and natural ends (only policy feedback differs)."""
    result = simulate(scenario)
    episodes = result.episodes
    keys = ["device", "episode", "onset_min", "severity", "natural_end_min"]
    per_variant = [
        episodes[episodes["variant"] == v][keys].reset_index(drop=True) for v in result.variants
    ]
    for other in per_variant[1:]:
        pd.testing.assert_frame_equal(per_variant[0], other)


@settings(max_examples=15)
@given(scenarios, st.lists(st.floats(0, 4 * 1440), min_size=1, max_size=20))
def test_one_pass_levels_equal_the_separate_definitions(
    scenario: Scenario, times: list[float]
) -> None:
    """The engine's one-pass ``levels(t)`` equals the readable separate definitions of
    the true, Defender and Intune levels (differential check), also after nudges."""
    from simulator.sim.engine.reference import DeviceState
    from simulator.sim.world import connector_timeline, generate_world

    world = generate_world(scenario)
    connector = connector_timeline(scenario.model)
    for device in world.devices:
        state = DeviceState(device, connector)
        for t in sorted(times):
            state.nudge(t)
            assert state.levels(t) == (
                state.true_level(t),
                state.defender_level(t),
                state.intune_level(t),
            )
