"""Scenario files: bundled scenarios validate; bad input gets one clear, located error."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.errors import InputError
from simulator.scenario.load import load_scenario, scenario_json_schema, variant_policies
from simulator.sim.log import explain_device
from simulator.sim.run import simulate
from simulator.sim.world import generate_world

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BUNDLED = sorted(SCENARIOS.glob("*.toml"))


def test_bundled_scenarios_are_found() -> None:
    """The issue asks for at least seven bundled scenarios (baseline, BYOD, MAM-WE
    rollout, connector outage, phishing wave, jailbreak/wipe, scripted)."""
    names = {p.stem for p in BUNDLED}
    assert {
        "baseline",
        "byod",
        "mam_we_rollout",
        "connector_outage",
        "phishing_campaign",
        "jailbreak_wipe",
        "scripted_timeline",
    } <= names


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_scenario_validates_and_opens_with_a_comment(path: Path) -> None:
    """Every bundled scenario loads, has at least one variant, and its file opens with
    a comment saying what it covers."""
    scenario = load_scenario(path)
    assert variant_policies(scenario)
    assert path.read_text().startswith("#")
    assert "Covers" in path.read_text().split("\nname")[0]


def test_scripted_timeline_decisions_are_pinned() -> None:
    """The bundled scripted timeline produces exactly the hand-computed story."""
    result = simulate(load_scenario(SCENARIOS / "scripted_timeline.toml"))
    got = [
        (r["device"], r["time_min"], r["trigger"], r["outcome"], r["reason"])
        for r in result.decisions.to_dict("records")
    ]
    assert got == [
        ("d1", 50.0, "launch", "allow", "compliant"),
        ("d1", 65.0, "launch", "allow", "previous_allow"),
        ("d1", 80.0, "checkin", "block", "threat_level_exceeded"),
        ("d2", 120.0, "launch", "block", "mtd_not_activated"),
        ("d1", 150.0, "launch", "allow", "compliant"),
        ("d1", 180.0, "launch", "allow", "previous_allow"),
        ("d1", 180.0, "checkin", "allow", "compliant"),
        ("d2", 190.0, "launch", "allow", "compliant"),
        ("d2", 975.0, "launch", "block", "offline_block"),
        ("d2", 1500.0, "launch", "allow", "compliant"),
    ]
    lines = explain_device(result.decisions, "d1")
    assert "Intune still held secured (signal in transit)" in lines[1]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


GOOD = """
name = "t"
[fleet]
users = 3
[[policies]]
name = "P"
apps = ["outlook"]
"""


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        (GOOD.replace("users = 3", "usres = 3"), "fleet.usres", "unknown field"),
        (
            GOOD + "[[threats]]\nkind = 'phishing'\nrate_per_device_year = -1\n",
            "threats[0].rate_per_device_year",
            "greater than or equal to 0",
        ),
        (
            GOOD.replace(
                "users = 3", "users = 3\nmanagement = { mdm = 0.5, mam_we = 0.3, emm = 0.1 }"
            ),
            "fleet.management",
            "must sum to 1",
        ),
        (
            GOOD.replace('name = "t"', 'name = "t"\nhorizon = "30 days"'),
            "horizon",
            "not a duration",
        ),
        (
            GOOD.replace('name = "t"', 'name = "t"\npolicy_files = ["nope.toml"]'),
            "policy_files[0]",
            "not found",
        ),
        (
            GOOD + "[[threats]]\nkind = 'jailbreak'\nrate_per_device_year = 1\n",
            "threats[0]",
            "always high",
        ),
        (GOOD.replace("[fleet]\nusers = 3\n", ""), "", "[fleet]"),
        (
            GOOD + "[[variants]]\nname = 'v'\npolicies = ['Q']\n",
            "variants[0].policies[0]",
            "no policy named 'Q'",
        ),
    ],
    ids=[
        "typo",
        "negative-rate",
        "shares",
        "duration",
        "missing-policy-file",
        "jailbreak",
        "no-fleet",
        "variant",
    ],
)
def test_bad_scenarios_get_one_located_error(
    tmp_path: Path, text: str, field: str, words: str
) -> None:
    """Each mistake a new user makes gives one InputError line naming file and field."""
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert field in message
    assert words in message


def test_schema_lists_the_top_level_fields() -> None:
    """The JSON Schema editors use names every top-level table."""
    schema = scenario_json_schema()
    assert {"fleet", "threats", "signals", "behavior", "policies", "script"} <= set(
        schema["properties"]
    )


def test_world_is_independent_of_policies() -> None:
    """The world depends on the scenario and seed only, never on the policies."""
    scenario = load_scenario(SCENARIOS / "baseline.toml").with_changes(
        fleet={"users": 20, "second_device_share": 0.5}
    )
    other = scenario.with_policies(scenario.policies[:1])
    assert generate_world(scenario) == generate_world(other)
    reseeded = scenario.with_changes(seed=scenario.model.seed + 1)
    assert generate_world(scenario) != generate_world(reseeded)


SWEEP = (
    GOOD
    + """
[sweep]
baseline = { max_threat_level = "low" }
[sweep.grid]
max_threat_level = ["secured", "low"]
threat_action = ["block", "wipe"]
"""
)


def test_sweep_builds_the_grid_on_the_base_policy(tmp_path: Path) -> None:
    """A [sweep] grid yields every combination, in grid order, on the base policy; the
    baseline is the first grid point matching the given values."""
    scenario = load_scenario(_write(tmp_path, SWEEP))
    variants = variant_policies(scenario)
    assert list(variants) == [
        "max secured · block",
        "max secured · wipe",
        "max low · block",
        "max low · wipe",
    ]
    (policy,) = variants["max low · wipe"]
    assert (policy.max_threat_level.label, policy.threat_action.value) == ("low", "wipe")
    assert policy.apps == frozenset({"outlook"})
    from simulator.scenario.variants import sweep_variants

    assert sweep_variants(scenario)[1] == "max low · block"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (("threat_action = [", "threat_acton = ["), "sweep.grid", "cannot sweep"),
        (('"low"]', '"lo"]'), "sweep.grid.max_threat_level[1]", "Input should be"),
        (
            ('{ max_threat_level = "low" }', '{ recheck_after = "1h" }'),
            "sweep.baseline",
            "does not vary",
        ),
        (
            ('{ max_threat_level = "low" }', '{ max_threat_level = "high" }'),
            "sweep.baseline",
            "not a point",
        ),
    ],
    ids=["unknown-field", "bad-value", "baseline-field", "baseline-value"],
)
def test_bad_sweeps_are_located(
    tmp_path: Path, change: tuple[str, str], field: str, words: str
) -> None:
    """Sweep mistakes name the sweep field that is wrong."""
    path = _write(tmp_path, SWEEP.replace(*change))
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert field in str(info.value)
    assert words in str(info.value)


def test_with_changes_merges_tables() -> None:
    """with_changes on a table changes only the named fields and keeps the others."""
    scenario = load_scenario(SCENARIOS / "baseline.toml")
    changed = scenario.with_changes(behavior={"pre_onboarding_action": "allow"}, seed=3)
    assert changed.model.behavior.pre_onboarding_action.value == "allow"
    assert changed.model.behavior.partner_unresponsive_days == 7.0
    assert changed.model.fleet == scenario.model.fleet
    assert changed.model.seed == 3


def test_scripted_timeline_refuses_a_random_signal_delay(tmp_path: Path) -> None:
    """A scripted timeline is deterministic: a random Defender → Intune delay is an
    error naming the field, not silently zero."""
    path = SCENARIOS / "scripted_timeline.toml"
    text = path.read_text().replace(
        'defender_to_intune = { dist = "fixed", value = "10m" }',
        'defender_to_intune = { dist = "exponential", mean = "10m" }',
    )
    bad = tmp_path / "s.toml"
    bad.write_text(text)
    with pytest.raises(InputError, match=r"fixed signals\.defender_to_intune"):
        load_scenario(bad)
