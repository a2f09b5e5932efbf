"""The report's words about the inputs: the scenario, the variants' policies, the assumptions.

Everything here is read from a folder's ``manifest.json`` (the scenario as resolved, every
default filled in), so a report says what a run actually used, whatever file it came from.
Built-in defaults are taken from the scenario models of :mod:`simulator.scenario`, so an
assumption is marked *default* only when its value is the one this version ships.

Every docs/semantics.md [param] appears in :func:`assumptions_section`: the ``[behavior]`` table
field by field, then the signal path, onboarding, offline, EMM and threat parameters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from simulator.durations import (
    MINUTES_PER_DAY,
    DurationError,
    format_duration,
    humanize_minutes,
    parse_duration,
)
from simulator.errors import InputError
from simulator.policy.behavior import Behavior, parameter_values, parameters
from simulator.policy.files import PolicyModel
from simulator.report.html import (
    Cell,
    Html,
    definition_list,
    escape,
    join,
    percent,
    swatch,
    table,
    tag,
)
from simulator.scenario.load import scenario_from_data, variant_policies
from simulator.scenario.models import (
    FleetModel,
    OfflineModel,
    OnboardingModel,
    ScenarioModel,
    SignalsModel,
)

_MANAGEMENT_WORDS: Final = {
    "mdm": "Intune MDM (mdm)",
    "mam_we": "app protection only, unenrolled (mam_we)",
    "emm": "third-party EMM (emm)",
}

_SIGNAL_MEANING: Final = {
    "defender_to_intune": "Delay before a Defender level change is visible to Intune "
    "(undocumented; drawn per change).",
}
_OFFLINE_MEANING: Final = {
    "episodes_per_device_month": "Mean offline periods per device and month.",
    "duration": "Length of one offline period.",
}
_THREAT_FIELDS: Final = (
    ("rate_per_device_year", "episodes per device-year"),
    ("severity", "severity mix"),
    ("detection_probability", "detection probability"),
    ("detection_delay", "detection delay"),
    ("natural_duration", "natural duration"),
    ("nudged_remediation", "remediation after a denial"),
    ("alert_resolve_delay", "alert resolve delay"),
    ("campaign", "campaign window"),
)


# -- values in words ---------------------------------------------------------------------
def _minutes(value: Any) -> float | None:
    """A duration as written in the manifest (``"30m"``, minutes) → minutes, or None."""
    if value is None:
        return None
    try:
        return parse_duration(value)
    except DurationError:
        return None


def duration_text(value: Any) -> str:
    """A duration for people: ``"2h"``, ``"30d"`` (as written), or ``"?"``."""
    minutes = _minutes(value)
    return "?" if minutes is None else format_duration(minutes)


def dist_text(dist: Any) -> str:
    """A duration distribution in words (``"lognormal, median 15m, 90th percentile 2h"``)."""
    if not isinstance(dist, Mapping):
        return value_text(dist)
    kind = dist.get("dist", "fixed")
    if kind == "fixed":
        return f"always {duration_text(dist.get('value'))}"
    if kind == "exponential":
        return f"exponential, mean {duration_text(dist.get('mean'))}"
    if kind == "uniform":
        return f"uniform {duration_text(dist.get('low'))}–{duration_text(dist.get('high'))}"
    if kind == "lognormal":
        median, p90 = duration_text(dist.get("median")), duration_text(dist.get("p90"))
        return f"lognormal, median {median}, 90th percentile {p90}"
    if kind == "never":
        return "never"
    return str(kind)


def value_text(value: Any) -> str:
    """A parameter value as a scenario file would spell it (``true``, ``7``, ``no_effect``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "none"
    if isinstance(value, Mapping):
        if "dist" in value:
            return dist_text(value)
        return ", ".join(f"{k} {value_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value) or "none"
    return str(value)


def _severity_text(shares: Any) -> str:
    if not isinstance(shares, Mapping):
        return value_text(shares)
    parts = [f"{percent(v)} {k}" for k, v in shares.items() if isinstance(v, int | float) and v]
    return ", ".join(parts) or "none"


def _shares(mix: Mapping[str, Any]) -> str:
    return ", ".join(f"{percent(v)} {_MANAGEMENT_WORDS.get(k, k)}" for k, v in mix.items())


# -- the scenario ------------------------------------------------------------------------
def scenario_section(manifest: Mapping[str, Any], replications_text: str) -> Html:
    """The scenario in words: fleet, horizon, apps, threats, signal path, onboarding,
    offline periods and connector outages, from the resolved scenario."""
    scenario: Mapping[str, Any] = manifest.get("scenario") or {}
    items: list[tuple[object, object]] = []
    horizon = _minutes(scenario.get("horizon"))
    span = "?" if horizon is None else humanize_minutes(horizon)
    if horizon is not None and horizon >= MINUTES_PER_DAY:
        span = f"{horizon / MINUTES_PER_DAY:g} days"
    items.append(
        ("Simulated span", f"{span}; seed {scenario.get('seed', '?')}; {replications_text}")
    )
    fleet = scenario.get("fleet")
    script = scenario.get("script")
    if isinstance(fleet, Mapping):
        items.append(("Fleet", _fleet_text(fleet)))
    elif isinstance(script, Mapping):
        devices, events = script.get("devices") or [], script.get("events") or []
        items.append(
            (
                "Fleet",
                f"scripted timeline: {len(devices)} device(s) "
                f"({', '.join(str(d.get('id')) for d in devices[:12])}"
                f"{', …' if len(devices) > 12 else ''}), {len(events)} timed event(s); "
                "no randomness",
            )
        )
    apps = scenario.get("apps") or []
    if apps and not isinstance(script, Mapping):
        items.append(("Apps", _apps_table(apps)))
    launches = scenario.get("launches")
    if isinstance(launches, Mapping) and not isinstance(script, Mapping):
        start, end = (launches.get("working_hours") or [8, 18])[:2]
        items.append(
            (
                "When apps are used",
                f"{percent(launches.get('working_share'))} of a weekday's sessions between "
                f"{start}:00 and {end}:00; weekend days at "
                f"{percent(launches.get('weekend_factor'))} of a weekday's activity",
            )
        )
    threats = scenario.get("threats") or []
    if threats and not isinstance(script, Mapping):
        kinds = ", ".join(
            f"{t.get('kind')} ({value_text(t.get('rate_per_device_year'))}/device-year)"
            for t in threats
        )
        items.append(("Threat kinds", f"{kinds}; details under Assumptions"))
    signals = scenario.get("signals") or {}
    items.append(
        ("Defender → Intune delay", dist_text(signals.get("defender_to_intune")) + ", per change")
    )
    onboarding = scenario.get("onboarding")
    if isinstance(onboarding, Mapping) and not isinstance(script, Mapping):
        items.append(("Defender onboarding", _onboarding_text(onboarding)))
    offline = scenario.get("offline")
    if isinstance(offline, Mapping) and not isinstance(script, Mapping):
        items.append(
            (
                "Offline periods",
                f"{value_text(offline.get('episodes_per_device_month'))} per device-month on "
                f"average, each {dist_text(offline.get('duration'))}",
            )
        )
    items.append(("Connector", _connector_text(scenario.get("connector") or [])))
    description = scenario.get("description")
    intro = tag("p", description, cls="lede") if description else Html("")
    return Html(intro + definition_list(items))


def _fleet_text(fleet: Mapping[str, Any]) -> str:
    users = fleet.get("users")
    users_text = f"{users:,}" if isinstance(users, int) else str(users)
    parts = [f"{users_text} users; primary device: {_shares(fleet.get('management') or {})}"]
    second = fleet.get("second_device_share")
    if second:
        parts.append(f"{percent(second)} of users also use a personal mam_we device")
    parts.append(f"{percent(fleet.get('emm_passes_upn', 0))} of emm devices pass IntuneMAMUPN")
    groups = fleet.get("groups") or []
    if groups:
        parts.append(
            "groups: " + ", ".join(f"{g.get('name')} ({percent(g.get('share'))})" for g in groups)
        )
    return "; ".join(parts)


def _apps_table(apps: Sequence[Mapping[str, Any]]) -> Html:
    rows = [
        [
            app.get("name"),
            percent(app.get("share")),
            value_text(app.get("sessions_per_day")),
            dist_text(app.get("session_length")),
        ]
        for app in apps
    ]
    header = ["app", "devices using it", "sessions per day", "session length"]
    return table(header, rows, numeric_from=None)


def _onboarding_text(onboarding: Mapping[str, Any]) -> str:
    get = onboarding.get
    return (
        f"{percent(get('mdm_zero_touch_share'))} of mdm devices onboard silently (zero-touch); "
        f"{percent(get('preinstalled_share'))} of mam_we/emm users activated Defender before "
        f"the start; after a redirect {percent(get('install_after_redirect_share'))} install "
        f"it ({dist_text(get('install_delay'))}), {percent(get('account_mismatch_share'))} "
        f"under the wrong account (fixed after {dist_text(get('mismatch_fix_delay'))}); "
        f"Defender VPN on for {percent(get('vpn_on_share'))} of devices"
    )


def _connector_text(intervals: Sequence[Mapping[str, Any]]) -> str:
    if not intervals:
        return "enabled throughout (no outages)"
    return "; ".join(
        f"{i.get('state')} from {duration_text(i.get('start'))} to {duration_text(i.get('end'))}"
        for i in intervals
    )


# -- variants and policies -----------------------------------------------------------------
def variant_policy_settings(manifest: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Variant → the settings of each policy it deploys, as the run resolved them.

    The resolved scenario is validated again (its policies are inline) to rebuild the
    variants exactly, sweeps included; top-level fields this version no longer knows are
    dropped first. If that still fails (a manifest from another version), policies are
    looked up by name in ``manifest["variants"]``, with names only where not found.
    """
    scenario = manifest.get("scenario")
    if isinstance(scenario, Mapping):
        known_fields = ScenarioModel.model_fields
        data = {k: v for k, v in scenario.items() if k in known_fields}
        try:
            rebuilt = scenario_from_data({**data, "policy_files": []})
            return {
                name: [PolicyModel.from_policy(p).model_dump(mode="json") for p in policies]
                for name, policies in variant_policies(rebuilt).items()
            }
        except (InputError, ValueError, TypeError, KeyError):
            pass
    known = {
        str(p.get("name")): dict(p)
        for p in (scenario or {}).get("policies", [])
        if isinstance(p, Mapping)
    }
    variants = manifest.get("variants") or {}
    return {
        str(name): [known.get(str(p), {"name": str(p)}) for p in policies]
        for name, policies in variants.items()
    }


_POLICY_COLUMNS: Final = (
    ("max_threat_level", "max threat level"),
    ("threat_action", "action"),
    ("apps", "apps"),
    ("target_management", "devices targeted"),
    ("include_groups", "groups"),
    ("recheck_after", "recheck after"),
    ("checkin_interval", "check-in"),
    ("offline_block_after", "offline block after"),
    ("offline_wipe_after", "offline wipe after"),
)


def policies_section(
    settings: Mapping[str, Sequence[Mapping[str, Any]]],
    colors: Mapping[str, str],
    badges: Mapping[str, Html],
    manifest: Mapping[str, Any],
) -> Html:
    """The variants and the policy settings each deploys, one row per policy."""
    everything = [p for policies in settings.values() for p in policies]
    varying = {
        key for key, _ in _POLICY_COLUMNS if len({_policy_value(key, p) for p in everything}) > 1
    }
    rows = []
    for variant, policies in settings.items():
        for index, policy in enumerate(policies or [{}]):
            name_cell: object = ""
            if index == 0:
                name_cell = Html(
                    swatch(colors.get(variant, "")) + escape(variant) + badges.get(variant, "")
                )
            cells: list[object] = [name_cell, policy.get("name", "")]
            for key, _ in _POLICY_COLUMNS:
                cells.append(Cell(_policy_value(key, policy), cls="set" if key in varying else ""))
            rows.append(cells)
    header = ["variant", "policy", *(label for _, label in _POLICY_COLUMNS)]
    parts = [tag("div", Html(table(header, rows, numeric_from=None)), cls="wide")]
    if varying:
        parts.append(tag("p", "Bold: settings that differ between variants.", cls="note"))
    sweep = (manifest.get("scenario") or {}).get("sweep")
    if isinstance(sweep, Mapping):
        grid = "; ".join(
            f"{key} ∈ {{{', '.join(value_text(v) for v in values)}}}"
            for key, values in (sweep.get("grid") or {}).items()
        )
        parts.insert(
            0,
            tag(
                "p",
                f"A sweep: every combination of {grid} applied to the base policy "
                f"“{sweep.get('base_policy') or 'the first policy'}”; all variants play the "
                "same simulated world in each replication (common random numbers).",
            ),
        )
    return join(parts)


def _policy_value(key: str, policy: Mapping[str, Any]) -> str:
    value = policy.get(key)
    if key not in policy:
        return "?"
    if key == "include_groups":
        excluded = policy.get("exclude_groups") or []
        included = "everyone" if value is None else ", ".join(map(str, value)) or "nobody"
        return included + (f"; excluding {', '.join(map(str, excluded))}" if excluded else "")
    if key.endswith(("_after", "_interval")):
        return duration_text(value)
    return value_text(value)


# -- assumptions ---------------------------------------------------------------------------
def _dump(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json")
    return dumped


def _source_cell(value: Any, default: Any, basis: str) -> Cell:
    """'built-in default — <basis>' when equal to the default, else 'set by scenario'."""
    if _same(value, default):
        return Cell(f"built-in default — {basis}")
    return Cell(f"set by this scenario (built-in default: {value_text(default)})", cls="set")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        keys = set(a) | set(b)
        return all(_same(a.get(k), b.get(k)) for k in keys)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def assumptions_section(manifest: Mapping[str, Any]) -> Html:
    """Every docs/semantics.md [param] with the value in force, where it came from and what it
    means; built-in numeric defaults are flagged as illustrative."""
    scenario: Mapping[str, Any] = manifest.get("scenario") or {}
    behavior = manifest.get("assumptions") or scenario.get("behavior") or {}
    rows: list[list[object]] = []
    declared = {p.name: p for p in parameters()}
    defaults = parameter_values(Behavior())
    for name in [*defaults, *(k for k in behavior if k not in defaults)]:
        param = declared.get(name)
        section, meaning = (param.section, param.meaning) if param else ("", "")
        value = behavior.get(name, defaults.get(name))
        basis = f"docs/semantics.md {section}" if section else "docs/semantics.md"
        rows.append(
            [
                Html(tag("code", f"behavior.{name}")),
                value_text(value),
                _source_cell(value, defaults.get(name), basis),
                meaning,
            ]
        )
    groups: list[tuple[str, Mapping[str, Any], dict[str, Any], Mapping[str, str]]] = [
        ("signals", scenario.get("signals") or {}, _dump(SignalsModel()), _SIGNAL_MEANING),
        (
            "onboarding",
            scenario.get("onboarding") or {},
            _dump(OnboardingModel()),
            _descriptions(OnboardingModel),
        ),
        ("offline", scenario.get("offline") or {}, _dump(OfflineModel()), _OFFLINE_MEANING),
    ]
    fleet = scenario.get("fleet")
    if isinstance(fleet, Mapping):
        fleet_default = {"emm_passes_upn": _dump(FleetModel())["emm_passes_upn"]}
        groups.append(
            (
                "fleet",
                {"emm_passes_upn": fleet.get("emm_passes_upn")},
                fleet_default,
                _descriptions(FleetModel),
            )
        )
    for prefix, values, group_defaults, meanings in groups:
        for name, default in group_defaults.items():
            value = values.get(name, default)
            rows.append(
                [
                    Html(tag("code", f"{prefix}.{name}")),
                    value_text(value),
                    _source_cell(value, default, "illustrative"),
                    meanings.get(name, ""),
                ]
            )
    header = ["parameter", "value in force", "source", "meaning"]
    scripted = isinstance(scenario.get("script"), Mapping)
    parts = [
        tag(
            "p",
            "A scripted timeline: its events fix threats, launches, offline periods and "
            "Defender states, so the fleet, onboarding, offline and threat-rate parameters "
            "below are not used; the behaviour parameters and the signal delay are.",
            cls="note",
        )
        if scripted
        else Html(""),
        tag(
            "p",
            "docs/semantics.md marks as an assumption every behaviour the Microsoft "
            "documentation leaves open and every rate, share and delay it does not give. These "
            "are the values this "
            "run used. Built-in numeric defaults are illustrative — plausible, not measured: "
            "replace them with your own telemetry before drawing conclusions about your fleet.",
        ),
        tag("div", table(header, rows, numeric_from=None, cls="assumptions"), cls="wide"),
    ]
    threats = scenario.get("threats") or []
    if threats:
        parts += [tag("h3", "Threat model (per kind)"), _threat_table(threats)]
    return join(parts)


def _descriptions(model: Any) -> dict[str, str]:
    return {name: field.description or "" for name, field in model.model_fields.items()}


def _threat_table(threats: Sequence[Mapping[str, Any]]) -> Html:
    default_models = ScenarioModel.model_fields["threats"].get_default(call_default_factory=True)
    defaults = {t.kind: _dump(t) for t in default_models}
    rows = []
    for threat in threats:
        kind = str(threat.get("kind"))
        cells: list[object] = [Html(tag("code", f"threats[{kind}]"))]
        for key, _ in _THREAT_FIELDS:
            value = threat.get(key)
            text = _severity_text(value) if key == "severity" else value_text(value)
            changed = kind in defaults and not _same(value, defaults[kind].get(key))
            cells.append(Cell(text, cls="set" if changed or kind not in defaults else ""))
        differs = kind not in defaults or any(
            not _same(threat.get(k), defaults[kind].get(k)) for k, _ in _THREAT_FIELDS
        )
        source = (
            "set by this scenario (bold: differs from the built-in default)"
            if differs
            else "built-in default for this kind — illustrative"
        )
        cells.append(Cell(source, cls="set" if differs else ""))
        rows.append(cells)
    header = ["kind", *(label for _, label in _THREAT_FIELDS), "source"]
    return tag("div", table(header, rows, numeric_from=None), cls="wide")
