"""Loading a scenario: the validated, immutable :class:`Scenario` a run takes as input.

Everything random about a run is described by the scenario as a distribution; the draws
happen in :mod:`simulator.sim.world`. Variants of a scenario are made by copy with
changes (:meth:`Scenario.with_changes`), never by mutation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from simulator._validation import input_error
from simulator.errors import InputError
from simulator.policy.behavior import parameters
from simulator.policy.decide import Policy
from simulator.policy.files import (
    PolicyModel,
    check_unique_names,
    expect_scenario,
    load_policies,
    read_toml,
)
from simulator.policy.levels import ThreatLevel
from simulator.scenario.models import ScenarioModel
from simulator.scenario.variants import sweep_variants


class Scenario:
    """A validated scenario with its policies resolved: immutable input of a run.

    Attributes
    ----------
    model
        The validated file model (frozen), defaults filled in.
    policies
        Inline policies then those of ``policy_files``, in order.
    behavior
        The decision function's behaviour parameters.
    source
        The file it came from, if any.
    input_hashes
        SHA-256 of every input file (scenario and policy files), for the manifest.
    """

    __slots__ = ("behavior", "input_hashes", "model", "policies", "source")

    def __init__(
        self,
        model: ScenarioModel,
        policies: Sequence[Policy],
        source: Path | None = None,
        input_hashes: dict[str, str] | None = None,
    ) -> None:
        self.model = model
        self.policies = tuple(policies)
        self.behavior = model.behavior
        self.source = source
        self.input_hashes = dict(input_hashes or {})

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.model.name

    def _repr_html_(self) -> str:
        """A notebook's view: name, description, fleet, horizon, variants and appetite."""
        from html import escape

        from simulator.durations import format_duration

        model = self.model
        if model.fleet is not None:
            fleet = f"{model.fleet.users:,} users"
        else:
            fleet = f"scripted: {len(model.script.devices) if model.script else 0} devices"
        variants = variant_policies(self)
        items = [
            ("fleet", fleet),
            ("horizon", format_duration(model.horizon)),
            ("seed", str(model.seed)),
            ("variants", ", ".join(variants) or "none"),
        ]
        if model.appetite is not None:
            limits = ", ".join(f"{k} ≤ {v:g}" for k, v in model.appetite.limits.items())
            items.append(("appetite", limits or "weights only"))
        rows = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th><td>{escape(v)}</td></tr>"
            for k, v in items
        )
        about = f"<p>{escape(model.description)}</p>" if model.description else ""
        return f"<p><b>Scenario</b> {escape(self.name)}</p>{about}<table>{rows}</table>"

    @property
    def scripted(self) -> bool:
        """True for a scripted timeline."""
        return self.model.script is not None

    def with_policies(self, policies: Sequence[Policy]) -> Scenario:
        """The same scenario with other policies (the world does not change).

        Declared ``[[variants]]`` are dropped: each new policy becomes a variant.
        """
        check_unique_names(policies, "policies")
        model = self.model.model_copy(update={"variants": []})
        return Scenario(model, policies, self.source, self.input_hashes)

    def with_changes(self, **changes: Any) -> Scenario:
        """A copy with fields changed and re-validated.

        Tables merge: ``with_changes(behavior={"pre_onboarding_action": "allow"})`` changes
        that one parameter and keeps the others; lists and plain values are replaced
        (``seed=7``, ``apps=[...]``).
        """
        data = _merge(self.model.model_dump(mode="python"), changes)
        try:
            model = ScenarioModel.model_validate(data)
        except ValidationError as exc:
            raise input_error(exc, self.source) from None
        return Scenario(model, self.policies, self.source, self.input_hashes)

    def resolved(self) -> dict[str, Any]:
        """The scenario as resolved: every default filled in, policies inline (JSON-able)."""
        data = self.model.model_dump(mode="json")
        data["policies"] = [
            PolicyModel.from_policy(p).model_dump(mode="json") for p in self.policies
        ]
        return data


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied; nested tables (dicts) merge recursively."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def scenario_from_data(
    data: dict[str, Any], source: str | Path | None = None, base_dir: Path | None = None
) -> Scenario:
    """Validate a parsed scenario mapping, load its policy files, return a :class:`Scenario`."""
    try:
        model = ScenarioModel.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc, source) from None
    policies = [p.to_policy() for p in model.policies]
    hashes: dict[str, str] = {}
    base = base_dir or Path(".")
    for index, name in enumerate(model.policy_files):
        path = (base / name).resolve() if not Path(name).is_absolute() else Path(name)
        if not path.is_file():
            raise InputError(
                f"policy file {name!r} not found (looked in {path.parent})",
                source=source,
                field=f"policy_files[{index}]",
            )
        policies.extend(load_policies(path))
        hashes[str(name)] = _file_hash(path)
    if not policies:
        raise InputError(
            "no policies: add [[policies]] tables or policy_files = [...], "
            "or pass --policy on the command line",
            source=source,
            field="policies",
        )
    check_unique_names(policies, source)
    check_variants(model, policies, source)
    if model.sweep is not None:
        sweep_variants(Scenario(model, policies, None), source=source)
    return Scenario(model, policies, Path(source) if source else None, hashes)


def check_variants(
    model: ScenarioModel, policies: Sequence[Policy], source: str | Path | None
) -> None:
    """Every variant names existing policies; variant names are unique."""
    names = {p.name for p in policies}
    seen: set[str] = set()
    for index, variant in enumerate(model.variants):
        if variant.name in seen:
            raise InputError(
                f"duplicate variant name {variant.name!r}",
                source=source,
                field=f"variants[{index}].name",
            )
        seen.add(variant.name)
        for j, name in enumerate(variant.policies):
            if name not in names:
                raise InputError(
                    f"no policy named {name!r}; known: " + ", ".join(sorted(names)),
                    source=source,
                    field=f"variants[{index}].policies[{j}]",
                )


def variant_policies(scenario: Scenario) -> dict[str, tuple[Policy, ...]]:
    """Policy sets per variant, in order: the ``[sweep]`` grid, declared ``[[variants]]``,
    else one variant per policy."""
    if scenario.model.sweep is not None:
        return sweep_variants(scenario)[0]
    by_name = {p.name: p for p in scenario.policies}
    if not scenario.model.variants:
        return {p.name: (p,) for p in scenario.policies}
    return {v.name: tuple(by_name[n] for n in v.policies) for v in scenario.model.variants}


def load_scenario(path: str | Path, *, require_policies: bool = True) -> Scenario:
    """Load and validate a scenario file (TOML or JSON).

    Parameters
    ----------
    path
        The scenario file.
    require_policies
        When False, a scenario without policies loads with an empty policy list (the
        caller supplies policies, e.g. from ``--policy``).

    Raises
    ------
    InputError
        Naming the file and the field path for any problem.
    """
    path = Path(path)
    data: Any
    if path.suffix.lower() == ".json":
        from simulator.policy.files import read_json

        data = read_json(path)
        expect_scenario(data, path)
        if not isinstance(data, dict):
            raise InputError("a scenario must be a JSON object", source=path)
    else:
        data = read_toml(path)
        expect_scenario(data, path)
    if not require_policies and not data.get("policies") and not data.get("policy_files"):
        try:
            model = ScenarioModel.model_validate(data)
        except ValidationError as exc:
            raise input_error(exc, path) from None
        return Scenario(model, (), path, {path.name: _file_hash(path)})
    scenario = scenario_from_data(data, source=path, base_dir=path.parent)
    hashes = {path.name: _file_hash(path), **scenario.input_hashes}
    return Scenario(scenario.model, scenario.policies, path, hashes)


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of scenario files, for editors (``condlaunch schema``)."""
    schema = ScenarioModel.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "condlaunch scenario"
    behavior = schema.get("$defs", {}).get("Behavior", {})
    behavior["description"] = "Behaviour parameters the documentation leaves open."
    for param in parameters():
        field = behavior.get("properties", {}).get(param.name)
        if field is not None:
            field["description"] = f"{param.meaning} (docs/semantics.md {param.section})"
    return schema


def level_from_name(name: str) -> ThreatLevel:
    """Parse a severity name from a scenario file."""
    return ThreatLevel.parse(name)


def dumps_resolved(scenario: Scenario) -> str:
    """The resolved scenario as pretty JSON."""
    return json.dumps(scenario.resolved(), indent=2, sort_keys=False)
