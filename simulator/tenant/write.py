"""Write a :class:`~simulator.tenant.calibrate.Calibration` as a scenario TOML file.

Every field the scenario schema reads is written with a comment: for a fitted field its
source, sample size and 95% interval; for one the exports cannot identify, "not fitted"
and why, with the base scenario's value. The file loads with ``condlaunch validate``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from simulator.durations import format_duration, parse_duration
from simulator.policy.behavior import parameter_values
from simulator.scenario.models import Dist, ScenarioModel, ThreatModel
from simulator.tenant.calibrate import Calibration, Fit, duration_text
from simulator.tenant.readers import ReadStats


def _duration(minutes: float) -> str:
    text = duration_text(minutes)
    try:
        if math.isclose(parse_duration(text), minutes, rel_tol=1e-9, abs_tol=1e-9):
            return json.dumps(text)
    except ValueError:
        pass
    return json.dumps(format_duration(minutes))


def value_toml(value: Any) -> str:
    """One TOML value (numbers, strings, booleans, lists, duration distributions)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else "inf"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Dist):
        return _dist_toml(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {value_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(value_toml(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _dist_toml(dist: Dist) -> str:
    parts = [f'dist = "{dist.dist}"']
    for name in ("value", "mean", "low", "high", "median", "p90"):
        minutes = getattr(dist, name)
        if minutes is not None:
            parts.append(f"{name} = {_duration(float(minutes))}")
    return "{ " + ", ".join(parts) + " }"


def _line(key: str, value: Any, comment: str) -> list[str]:
    """``key = value`` with its comment on the line above (long comments stay readable)."""
    return [f"# {comment}", f"{key} = {value_toml(value)}"]


def _fit_line(fit: Fit, key: str | None = None) -> list[str]:
    return _line(key or fit.field.rsplit(".", 1)[-1], fit.value, fit.comment())


def _kept(key: str, value: Any, why: str = "not identifiable from these exports") -> list[str]:
    return _line(key, value, f"not fitted: {why}; default kept")


def scenario_toml(
    calibration: Calibration,
    base: ScenarioModel,
    *,
    inputs: Sequence[str],
    stats: ReadStats,
    policy_lines: Sequence[str],
    name: str = "Fitted from tenant exports",
) -> str:
    """The fitted scenario as TOML text (see the module docstring)."""
    get = {f.field: f for f in calibration.fits}
    lines = [
        "# Fitted by `condlaunch calibrate` from Microsoft Graph exports:",
        *(f"#   {path}" for path in inputs),
        "# Records read and ignored:",
        *(f"#   {line}" for line in stats.lines()),
        *(f"# note: {note}" for note in calibration.notes),
        "# Each field says where its value comes from; 'not fitted' fields keep the base",
        "# scenario's (or condlaunch's illustrative) defaults. See docs/tenant.md.",
        f"name = {value_toml(name)}",
        f"description = {value_toml('Calibrated from tenant exports (condlaunch calibrate).')}",
        f"seed = {base.seed}",
    ]
    horizon = get["horizon"]
    lines += _line("horizon", _duration_value(horizon.value), "the export window " + horizon.note)
    lines += list(policy_lines)
    lines += _fleet(get, base)
    for entry in calibration.apps:
        lines += ["", "[[apps]]", f"name = {value_toml(entry['name'])}"]
        for key in ("share", "sessions_per_day", "session_length"):
            lines += _fit_line(entry[key], key)
    lines += ["", "[launches]"]
    lines += _kept(
        "working_hours",
        list(calibration.working_hours),
        "the working hours are chosen, not fitted (the share inside them is)",
    )
    lines += _fit_line(get["launches.working_share"])
    lines += _fit_line(get["launches.weekend_factor"])
    for entry in calibration.threats:
        lines += _threat(entry)
    lines += ["", "[signals]"]
    lines += _kept(
        "defender_to_intune",
        base.signals.defender_to_intune,
        "the Defender → Intune delay is in no export (undocumented)",
    )
    lines += ["", "[offline]"]
    for key in ("episodes_per_device_month", "duration", "reauth_failure_share"):
        lines += _kept(key, getattr(base.offline, key), "offline periods are in no export")
    lines += ["", "[onboarding]"]
    for key in base.onboarding.model_dump():
        lines += _kept(key, getattr(base.onboarding, key), "Defender onboarding is in no export")
    lines += ["", "[behavior]"]
    for key, value in parameter_values(base.behavior).items():
        lines += _kept(key, value, "a behaviour parameter (docs/semantics.md §9)")
    return "\n".join(lines) + "\n"


def _duration_value(minutes: float) -> str:
    return json.loads(_duration(minutes))  # type: ignore[no-any-return]


def _fleet(get: dict[str, Fit], base: ScenarioModel) -> list[str]:
    lines = ["", "[fleet]"]
    if "fleet.users" in get:
        lines += _fit_line(get["fleet.users"])
        lines += _fit_line(get["fleet.second_device_share"])
        lines += _fit_line(get["fleet.emm_passes_upn"])
        lines += _fit_line(get["fleet.mdm_passes_upn"])
        lines += ["", "[fleet.management]"]
        for name in ("mdm", "mam_we", "emm"):
            lines += _fit_line(get[f"fleet.management.{name}"])
        return lines
    fleet = base.fleet
    assert fleet is not None
    lines += _kept("users", fleet.users, "no iOS devices in the exports")
    return lines


def _threat(entry: dict[str, Any]) -> list[str]:
    model: ThreatModel = entry["model"]
    lines = ["", "[[threats]]"]
    label = entry.get("label", model.kind)
    if label != model.kind:
        lines.append(
            f"# alerts no rule of the kind table maps ({label!r}), simulated as the generic "
            f"{model.kind!r} kind (needs no VPN); add rules to a --mapping file to name them"
        )
    lines.append(f"kind = {value_toml(entry['kind'])}")
    if "rate_per_device_year" not in entry:
        lines.append("# not fitted: no --alerts given; the base scenario's values")
        for key in ("rate_per_device_year", "severity", "detection_delay", "natural_duration"):
            value = getattr(model, key)
            lines.append(
                f"{key} = {value_toml(value.model_dump() if key == 'severity' else value)}"
            )
    else:
        for key in ("rate_per_device_year", "severity", "detection_delay", "natural_duration"):
            fit: Fit = entry[key]
            value = fit.value
            if key == "severity" and not isinstance(value, dict):
                value = value.model_dump()
            if isinstance(value, dict):
                value = {k: v for k, v in value.items() if v}
            lines += _line(key, value, fit.comment())
    lines += _kept(
        "detection_probability",
        model.detection_probability,
        "only detected episodes reach the exports",
    )
    lines += _kept(
        "nudged_remediation",
        model.nudged_remediation,
        "the exports show remediation under the current policy only",
    )
    lines += _kept(
        "alert_resolve_delay",
        model.alert_resolve_delay,
        "an alert's resolution is all the exports show of the threat's end",
    )
    if model.kind == "jailbreak":
        lines += _kept(
            "sdk_detection_probability",
            model.sdk_detection_probability,
            "the Intune SDK's own check is in no export",
        )
    return lines
