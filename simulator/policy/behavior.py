"""Behaviour parameters: the rules the Microsoft documentation leaves open.

Each is a [param] of ``docs/semantics.md``: settable in a scenario's ``[behavior]`` table,
echoed in every run's manifest, and offered as a flag by ``condlaunch whatif``/``table``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, ClassVar, Final, NamedTuple, get_type_hints

from simulator.durations import Minutes
from simulator.policy.levels import _Labelled


class ConnectorOffBehavior(_Labelled):
    """[param] Effect of threat-level conditions while the connector is disabled."""

    NO_EFFECT = "no_effect"
    """Fail-open: the threat condition is not applied (documented on one page; default)."""
    BLOCK = "block"
    """Fail-closed: every threat-checked launch is blocked."""


class UnresponsiveBehavior(_Labelled):
    """[param] What the service does with threat data from a partner unresponsive too long."""

    IGNORE = "ignore"
    """The threat condition is not applied (default)."""
    LAST_KNOWN = "last_known"
    """The last level received keeps being enforced."""
    BLOCK = "block"
    """Fail-closed."""


class PreOnboardingAction(_Labelled):
    """[param] Outcome while Defender is not activated on a device under a threat check."""

    BLOCK = "block"
    WIPE = "wipe"
    ALLOW = "allow"


class MultiPolicyMerge(_Labelled):
    """[param] How several policies covering the same user and app combine."""

    MOST_RESTRICTIVE = "most_restrictive"
    """Every setting takes its most restrictive value (default)."""
    FIRST_LISTED = "first_listed"
    """The first covering policy in file order wins outright."""


class OfflineWipe(_Labelled):
    """[param] What follows the offline wipe period (``periodOfflineBeforeWipeIsEnforced``)."""

    ON_FAILED_REAUTH = "on_failed_reauth"
    """Documented: access is denied while offline; back online the user re-authenticates,
    and only a failed sign-in wipes (default)."""
    IMMEDIATE = "immediate"
    """The conservative bound: wipe at the first evaluation past the period, even offline."""


class RiskFromAlerts(_Labelled):
    """[param] How Defender's device risk level follows from its active alerts."""

    MAX_ACTIVE_SEVERITY = "max_active_severity"
    """The highest severity among detected, unresolved alerts (default; the only one)."""


def _param(default: Any, *, section: str, meaning: str, flag: str | None = None) -> Any:
    """A :class:`Behavior` field: its default, where ``docs/semantics.md`` discusses it, one
    sentence of meaning (CLI help, the report, the JSON Schema) and, for parameters of the
    decision function, the ``whatif``/``table`` flag that sets it."""
    return field(default=default, metadata={"section": section, "meaning": meaning, "flag": flag})


@dataclass(frozen=True, slots=True)
class Behavior:
    """Every behaviour parameter the documentation leaves open ([param] in the spec).

    This dataclass is the one declaration: scenario files validate their ``[behavior]``
    table into it, case files likewise, the CLI derives its flags and help from it
    (:func:`parameters`), and runs echo it in their manifest. The decision function reads
    the parameters that have a ``flag``; the world and engines read the others.
    """

    __pydantic_config__: ClassVar = {"extra": "forbid"}  # plain dict: no pydantic import here

    connector_off_behavior: ConnectorOffBehavior = _param(
        ConnectorOffBehavior.NO_EFFECT,
        section="§3",
        meaning="What threat-level conditions do while the Defender connector is disabled.",
        flag="--connector-off-behavior",
    )
    unresponsive_behavior: UnresponsiveBehavior = _param(
        UnresponsiveBehavior.IGNORE,
        section="§3",
        meaning="What the service does with the threat data of a partner unresponsive for "
        "longer than partner_unresponsive_days.",
        flag="--unresponsive-behavior",
    )
    partner_unresponsive_days: float = _param(
        7.0,
        section="§3",
        meaning="Days without contact after which the partner counts as unresponsive.",
    )
    pre_onboarding_action: PreOnboardingAction = _param(
        PreOnboardingAction.BLOCK,
        section="§5",
        meaning="Decision while Defender is not activated on the device (the user is sent "
        "to onboard).",
        flag="--pre-onboarding-action",
    )
    multi_policy_merge: MultiPolicyMerge = _param(
        MultiPolicyMerge.MOST_RESTRICTIVE,
        section="§1",
        meaning="How the threat settings of several policies covering the same user and app merge.",
        flag="--merge",
    )
    offline_wipe: OfflineWipe = _param(
        OfflineWipe.ON_FAILED_REAUTH,
        section="§5",
        meaning="After the offline wipe period: deny until re-authenticated online and wipe "
        "only if that fails (on_failed_reauth), or wipe at once (immediate).",
        flag="--offline-wipe",
    )
    risk_from_alerts: RiskFromAlerts = _param(
        RiskFromAlerts.MAX_ACTIVE_SEVERITY,
        section="§2",
        meaning="How Defender's device risk level follows from its active alerts.",
    )
    midsession_enforcement: bool = _param(
        True,
        section="§4",
        meaning="Whether a denial at an in-session check-in ends the session at once.",
    )
    retry_denied_at_launch: bool = _param(
        True,
        section="§4",
        meaning="Whether a previous denial is re-evaluated, with a check-in, at every launch.",
    )
    nudged_remediation: bool = _param(
        True,
        section="§2",
        meaning="Whether a threat-level denial prompts the user to remediate, which may end "
        "the episode before its natural end.",
    )

    def __post_init__(self) -> None:
        if not 0.0 <= self.partner_unresponsive_days < math.inf:
            raise ValueError("partner_unresponsive_days must be a finite number >= 0")


class Parameter(NamedTuple):
    """One behaviour parameter, as :func:`parameters` describes it."""

    name: str
    default: Any
    choices: tuple[str, ...]
    """The allowed values of an enumerated parameter; empty for booleans and numbers."""
    section: str
    meaning: str
    flag: str | None
    """``whatif``/``table`` flag, for parameters of the decision function; else None."""

    @property
    def default_text(self) -> str:
        """The default as written in a scenario file."""
        value = self.default
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value.value if isinstance(value, Enum) else value)


def parameters() -> tuple[Parameter, ...]:
    """Every behaviour parameter, in declaration order."""
    hints = get_type_hints(Behavior)
    out = []
    for f in fields(Behavior):
        kind = hints[f.name]
        choices = (
            tuple(m.value for m in kind)
            if isinstance(kind, type) and issubclass(kind, Enum)
            else ()
        )
        out.append(
            Parameter(
                f.name,
                f.default,
                choices,
                f.metadata["section"],
                f.metadata["meaning"],
                f.metadata["flag"],
            )
        )
    return tuple(out)


def decision_parameters() -> tuple[Parameter, ...]:
    """The parameters the pure decision function reads (those with a CLI flag)."""
    return tuple(p for p in parameters() if p.flag is not None)


def decision_fields(behavior: Behavior) -> dict[str, str]:
    """The decision function's parameters of ``behavior`` as ``{name: value}`` text."""
    return {p.name: getattr(behavior, p.name).value for p in decision_parameters()}


def parameter_values(behavior: Behavior) -> dict[str, Any]:
    """Every parameter of ``behavior`` as JSON-able ``{name: value}`` (manifests)."""
    return {
        p.name: (v.value if isinstance(v := getattr(behavior, p.name), Enum) else v)
        for p in parameters()
    }


DEFAULT_RECHECK_AFTER: Final[Minutes] = 30.0
DEFAULT_CHECKIN_INTERVAL: Final[Minutes] = 30.0
DEFAULT_OFFLINE_BLOCK_AFTER: Final[Minutes] = 1440.0
DEFAULT_OFFLINE_WIPE_AFTER: Final[Minutes] = 90 * 1440.0
