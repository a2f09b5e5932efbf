"""Scenario files: bundled scenarios validate; bad input gets one clear, located error."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from simulator.errors import InputError
from simulator.scenario.load import load_scenario, scenario_json_schema, variant_policies
from simulator.scenario.models import (
    THREAT_KIND_BASIS,
    ScriptEvent,
    ThreatKind,
    fixed,
    scenario_notes,
)
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
        ("d1", 180.0, "launch", "allow", "compliant"),  # a check-in was due: decided with it
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


# --- distributions: a bare duration is a fixed value ---------------------------------------

SCRIPTED = """
name = "s"
horizon = "1d"
{signals}
[[policies]]
name = "P"
apps = ["outlook"]
max_threat_level = "secured"
[[script.devices]]
id = "d1"
"""


@pytest.mark.parametrize(
    ("bare", "table", "minutes"),
    [
        ('"10m"', '{ dist = "fixed", value = "10m" }', 10.0),
        ('"PT10M"', '{ dist = "fixed", value = "10m" }', 10.0),
        ("10", '{ dist = "fixed", value = 10 }', 10.0),
        ("2.5", '{ dist = "fixed", value = 2.5 }', 2.5),
    ],
)
def test_a_bare_duration_is_a_fixed_distribution(
    tmp_path: Path, bare: str, table: str, minutes: float
) -> None:
    """``defender_to_intune = "10m"`` (or a bare number of minutes) reads exactly as
    ``{ dist = "fixed", value = "10m" }``, wherever a distribution is accepted."""
    short = load_scenario(
        _write(tmp_path, SCRIPTED.format(signals=f"[signals]\ndefender_to_intune = {bare}"))
    )
    long = load_scenario(
        _write(tmp_path, SCRIPTED.format(signals=f"[signals]\ndefender_to_intune = {table}"))
    )
    assert short.model == long.model
    assert short.model.signals.defender_to_intune == fixed(f"{minutes}m")
    random = load_scenario(
        _write(
            tmp_path,
            GOOD
            + '[[apps]]\nname = "outlook"\nsession_length = "5m"\n'
            + '[offline]\nduration = 90\n[onboarding]\ninstall_delay = "1h"\n'
            + "[[threats]]\nkind = 'phishing'\nrate_per_device_year = 1\n"
            + 'detection_delay = "PT5M"\nnatural_duration = "2h"\n'
            + 'nudged_remediation = "1d"\nalert_resolve_delay = 0\n',
        )
    )
    model = random.model
    assert model.apps[0].session_length == fixed("5m")
    assert model.offline.duration == fixed("90m")
    assert model.onboarding.install_delay == fixed("1h")
    threat = model.threats[0]
    assert (threat.detection_delay, threat.natural_duration) == (fixed("5m"), fixed("2h"))
    assert (threat.nudged_remediation, threat.alert_resolve_delay) == (fixed("1d"), fixed("0m"))


@pytest.mark.parametrize(
    ("value", "words"),
    [('"10 minutes"', "not a duration"), ("true", "True"), ('"-5m"', "-5m")],
)
def test_a_bad_bare_duration_names_the_distribution_field(
    tmp_path: Path, value: str, words: str
) -> None:
    """A malformed bare duration is one error located at the distribution's own field."""
    path = _write(tmp_path, SCRIPTED.format(signals=f"[signals]\ndefender_to_intune = {value}"))
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert info.value.field == "signals.defender_to_intune"
    assert words in info.value.message


def test_schema_declares_a_distribution_as_duration_or_table() -> None:
    """``condlaunch schema`` lets editors accept "10m", 10 or a table for every distribution."""
    schema = scenario_json_schema()
    dist = schema["$defs"]["Dist"]
    kinds = [option.get("type") for option in dist["anyOf"]]
    assert kinds == ["string", "number", "object"]
    assert "fixed" in dist["description"]
    assert dist["anyOf"][2]["properties"]["dist"]["enum"][0] == "fixed"


# --- threat kinds ---------------------------------------------------------------------------


def test_every_threat_kind_traces_to_a_source_or_is_an_assumption() -> None:
    """Each accepted kind has a basis: a Defender-for-iOS page, or an explicit assumption."""
    assert set(THREAT_KIND_BASIS) == set(get_args(ThreatKind))
    for kind, basis in THREAT_KIND_BASIS.items():
        assert basis.startswith(("Source:", "Assumption:")), kind
    assert THREAT_KIND_BASIS["malware"].startswith("Assumption:")
    assert "Android-only" in THREAT_KIND_BASIS["malware"]


def test_the_scripted_default_kind_is_a_documented_ios_detection() -> None:
    """A scripted threat event without ``kind`` is phishing, a documented iOS detection."""
    event = ScriptEvent.model_validate(
        {"at": "1h", "type": "threat", "device": "d1", "id": "t1", "severity": "high"}
    )
    assert event.kind == "phishing"
    assert THREAT_KIND_BASIS[event.kind].startswith("Source:")


def test_malware_is_accepted_with_a_note(tmp_path: Path) -> None:
    """``malware`` still loads, and the scenario's notes say it is not an iOS detection."""
    text = GOOD + "[[threats]]\nkind = 'malware'\nrate_per_device_year = 1\n"
    scenario = load_scenario(_write(tmp_path, text))
    assert scenario.model.threats[0].kind == "malware"
    [note] = scenario_notes(scenario.model, "s.toml")
    assert (note.source, note.field) == ("s.toml", "threats[0].kind")
    assert "not a documented Defender for Endpoint detection on iOS" in note.message
    scripted = load_scenario(SCENARIOS / "scripted_timeline.toml")
    assert scenario_notes(scripted.model, "x") == []


def test_bundled_scenarios_name_documented_kinds_only() -> None:
    """No bundled scenario relies on an undocumented kind (nor on the scripted default)."""
    for path in BUNDLED:
        model = load_scenario(path).model
        assert scenario_notes(model, path) == [], path
        if model.script is not None:
            assert all(
                "kind" in e.model_fields_set for e in model.script.events if e.type == "threat"
            )


def test_validate_prints_scenario_notes_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``condlaunch validate`` prints the malware note on stderr; inline policies' notes
    only while they are used (not when --policy replaces them)."""
    from simulator.cli.main import main

    text = GOOD.replace('apps = ["outlook"]', 'apps = ["outlook"]\nrecheck_after = 0')
    path = _write(tmp_path, text + "[[threats]]\nkind = 'malware'\nrate_per_device_year = 1\n")
    assert main(["validate", str(path)]) == 0
    lines = capsys.readouterr().err.splitlines()
    fields = [line.split(": ")[3] for line in lines]
    assert fields == ["threats[0].kind", "policies[0].recheck_after"]
    assert all(line.startswith(f"condlaunch: note: {path}: ") for line in lines)
    policy = tmp_path / "p.toml"
    policy.write_text('[[policies]]\nname = "Q"\napps = ["teams"]\n')
    assert main(["validate", str(path), "--policy", str(policy)]) == 0
    assert [line.split(": ")[3] for line in capsys.readouterr().err.splitlines()] == [
        "threats[0].kind"
    ]
