"""Policy variants of a scenario: declared ``[[variants]]`` and ``[sweep]`` grids."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.scenario.load import Scenario
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from simulator._validation import input_error
from simulator.errors import InputError
from simulator.policy.decide import Policy
from simulator.policy.files import (
    PolicyModel,
)
from simulator.scenario.models import _SHORT


def _grid_value(key: str, value: Any, source: str | Path | None, where: str) -> Any:
    """Validate one grid value as the policy field it sets; return the domain value."""
    probe = {"name": "probe", "apps": ["probe"], key: value}
    try:
        model = PolicyModel.model_validate(probe)
    except ValidationError as exc:
        error = input_error(exc, source)
        raise InputError(error.message, source=source, field=where) from None
    return getattr(model.to_policy(), key)


def _label(key: str, value: Any) -> str:
    from simulator.durations import format_duration
    from simulator.policy.levels import max_level_label

    if key == "max_threat_level":
        text = max_level_label(value)
    elif isinstance(value, float):
        text = format_duration(value)
    else:
        text = str(value)
    short = _SHORT[key]
    return f"{short} {text}" if short else text


def sweep_variants(
    scenario: Scenario, source: str | Path | None = None
) -> tuple[dict[str, tuple[Policy, ...]], str]:
    """The variants of a ``[sweep]`` grid (in grid order) and the baseline variant's name.

    Raises
    ------
    InputError
        Naming ``sweep.…`` for an unknown base policy, a bad value or a baseline that is
        not a grid point.
    """
    import itertools

    sweep = scenario.model.sweep
    if sweep is None:
        raise ValueError("the scenario has no [sweep]")
    source = source or scenario.source
    by_name = {p.name: p for p in scenario.policies}
    if sweep.base_policy is None:
        base = scenario.policies[0]
    elif sweep.base_policy in by_name:
        base = by_name[sweep.base_policy]
    else:
        raise InputError(
            f"no policy named {sweep.base_policy!r}; known: " + ", ".join(sorted(by_name)),
            source=source,
            field="sweep.base_policy",
        )
    keys = list(sweep.grid)
    values = {
        key: [
            _grid_value(key, v, source, f"sweep.grid.{key}[{i}]")
            for i, v in enumerate(sweep.grid[key])
        ]
        for key in keys
    }
    variants: dict[str, tuple[Policy, ...]] = {}
    points: dict[str, dict[str, Any]] = {}
    for combo in itertools.product(*(values[k] for k in keys)):
        changes = dict(zip(keys, combo, strict=True))
        name = " · ".join(_label(k, v) for k, v in changes.items())
        variants[name] = (base.with_changes(name=f"{base.name} [{name}]", **changes),)
        points[name] = changes
    if sweep.baseline is None:
        baseline = next(iter(variants))
    else:
        unknown = set(sweep.baseline) - set(keys)
        if unknown:
            raise InputError(
                f"baseline sets {sorted(unknown)}, which the grid does not vary",
                source=source,
                field="sweep.baseline",
            )
        wanted = {
            k: _grid_value(k, v, source, f"sweep.baseline.{k}") for k, v in sweep.baseline.items()
        }
        matches = [n for n, p in points.items() if all(p[k] == v for k, v in wanted.items())]
        if not matches:
            raise InputError("is not a point of the grid", source=source, field="sweep.baseline")
        baseline = matches[0]
    return variants, baseline
