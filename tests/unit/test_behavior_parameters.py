"""The behaviour parameters are declared once (policy/behavior.py) and every consumer —
scenario files, case files, CLI flags and help, decision tables, the JSON Schema, the run
manifest and the report — follows that one declaration."""

from __future__ import annotations

import dataclasses

import pytest

from simulator import Behavior, load_scenario
from simulator.cli.main import build_parser
from simulator.policy.behavior import (
    decision_fields,
    decision_parameters,
    parameter_values,
    parameters,
)
from simulator.policy.tables import BEHAVIOR_COLUMNS
from simulator.scenario.load import scenario_from_data, scenario_json_schema
from simulator.sim.run import run_manifest

BASE = {
    "name": "b",
    "fleet": {"users": 2},
    "policies": [{"name": "p", "apps": ["outlook"], "max_threat_level": "low"}],
}


def test_every_dataclass_field_is_a_documented_parameter() -> None:
    """Each field of Behavior has a section of docs/semantics.md and a one-line meaning."""
    names = [f.name for f in dataclasses.fields(Behavior)]
    assert [p.name for p in parameters()] == names
    for param in parameters():
        assert param.section.startswith("§"), param.name
        assert param.meaning.endswith("."), param.name
        assert param.default == getattr(Behavior(), param.name)


def test_scenario_behavior_table_accepts_exactly_the_declared_parameters() -> None:
    """A scenario's [behavior] sets any declared parameter, and the value reaches the
    Scenario's frozen Behavior; an undeclared name is refused naming the field."""
    changes = {"midsession_enforcement": False, "pre_onboarding_action": "allow"}
    scenario = scenario_from_data({**BASE, "behavior": changes})
    assert scenario.behavior.midsession_enforcement is False
    assert scenario.behavior.pre_onboarding_action.value == "allow"
    with pytest.raises(Exception, match=r"behavior\.nosuch: unknown field"):
        scenario_from_data({**BASE, "behavior": {"nosuch": 1}})


def test_cli_flags_are_the_decision_parameters_with_their_defaults_in_help() -> None:
    """whatif and table offer one flag per decision parameter; help shows each default."""
    parser = build_parser()
    help_text = parser._subparsers._group_actions[0].choices["whatif"].format_help()  # type: ignore[union-attr]
    for param in decision_parameters():
        assert param.flag is not None
        assert param.flag in help_text
        assert f"(default: {param.default_text})" in " ".join(help_text.split())


def test_decision_tables_echo_the_decision_parameters() -> None:
    """The decision table's behaviour columns are the decision parameters, in order."""
    assert list(BEHAVIOR_COLUMNS) == [p.name for p in decision_parameters()]
    assert list(decision_fields(Behavior())) == list(BEHAVIOR_COLUMNS)


def test_schema_and_manifest_list_every_parameter() -> None:
    """The JSON Schema describes each parameter; the manifest echoes each value."""
    schema = scenario_json_schema()["$defs"]["Behavior"]
    assert set(schema["properties"]) == {p.name for p in parameters()}
    assert all("docs/semantics.md" in f["description"] for f in schema["properties"].values())
    scenario = scenario_from_data({**BASE, "behavior": {"partner_unresponsive_days": 3}})
    assumptions = run_manifest(scenario, replication=0)["assumptions"]
    assert assumptions == parameter_values(scenario.behavior)
    assert assumptions["partner_unresponsive_days"] == 3.0


def test_bundled_scenarios_load_their_behavior() -> None:
    """Every bundled scenario that sets [behavior] loads into the one dataclass."""
    scenario = load_scenario("scenarios/connector_outage.toml")
    assert isinstance(scenario.behavior, Behavior)
