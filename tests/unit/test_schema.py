"""The JSON Schema ``condlaunch schema`` prints accepts every bundled scenario as written:
an editor that checks files against it flags no valid scenario (durations are strings or
numbers, distributions may be bare durations)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import jsonschema
import pytest

from simulator.scenario.load import scenario_json_schema

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted((ROOT / "scenarios").glob("*.toml"))


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_bundled_scenarios_validate_against_the_schema(path: Path) -> None:
    """Each bundled scenario file, parsed as TOML, is valid under the exported schema."""
    validator = jsonschema.Draft202012Validator(scenario_json_schema())
    errors = sorted(validator.iter_errors(tomllib.loads(path.read_text())), key=str)
    assert not errors, f"{path.name}: {errors[0].message} at {list(errors[0].absolute_path)}"


def test_schema_rejects_what_the_loader_rejects() -> None:
    """The schema is not vacuous: an unknown field and a duration of the wrong type fail."""
    validator = jsonschema.Draft202012Validator(scenario_json_schema())
    assert not validator.is_valid({"name": "x", "fleet": {"users": 1}, "nosuch": 1})
    assert not validator.is_valid({"name": "x", "fleet": {"users": 1}, "horizon": [1]})
