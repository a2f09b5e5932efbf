"""Policies, evaluation contexts and the pure decision function.

This module is the single source of truth for *what a conditional-launch check decides*
(``docs/semantics.md`` §1, §2 and §5). It has no clock, no random numbers and no I/O: the
engines call :func:`decide_effective` for every evaluation, policy engineers call
:func:`decide` from their own tests, and ``condlaunch whatif`` / ``table`` / ``check`` are
thin wrappers around it.

    Policy            targets (apps, groups, managed/unmanaged) + settings
    EvaluationContext what the app knows at one evaluation
    Decision          outcome + Reason + policies applied + one-sentence explanation
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Final, NamedTuple

from simulator.durations import Minutes, format_duration, humanize_minutes
from simulator.policy.behavior import (
    DEFAULT_CHECKIN_INTERVAL,
    DEFAULT_OFFLINE_BLOCK_AFTER,
    DEFAULT_OFFLINE_WIPE_AFTER,
    DEFAULT_RECHECK_AFTER,
    Behavior,
    ConnectorOffBehavior,
    MultiPolicyMerge,
    UnresponsiveBehavior,
)
from simulator.policy.levels import (
    Action,
    ConnectorState,
    DefenderState,
    Management,
    MaxThreatLevel,
    Outcome,
    Reason,
    TargetManagement,
    ThreatLevel,
    max_level_rank,
)


@dataclass(frozen=True, slots=True)
class Policy:
    """An iOS app protection policy, reduced to what conditional launch on threat level uses.

    Attributes
    ----------
    name
        Display name; identifies the policy in decisions and logs.
    apps
        App names the policy protects (``"outlook"``); an app not listed is not covered.
    include_groups
        User groups the policy is assigned to; ``None`` means every user.
    exclude_groups
        User groups excluded from the assignment; exclusion wins over inclusion.
    target_management
        Devices targeted: seen by the app as managed, unmanaged, or any.
    max_threat_level
        *Max allowed device threat level*; ``None`` = not configured (no threat check).
    threat_action
        Action when the known level exceeds the maximum: block or wipe.
    recheck_after
        *Recheck the access requirements after* (``periodOnlineBeforeAccessCheck``), minutes.
    checkin_interval
        Minutes between check-ins while the app is in use (service behaviour; "typically 30").
    offline_block_after
        Offline grace period before access is blocked (``periodOfflineBeforeAccessCheck``).
    offline_wipe_after
        Offline grace period before data is wiped (``periodOfflineBeforeWipeIsEnforced``).
    """

    name: str
    apps: frozenset[str]
    include_groups: frozenset[str] | None = None
    exclude_groups: frozenset[str] = field(default_factory=frozenset)
    target_management: TargetManagement = TargetManagement.ANY
    max_threat_level: MaxThreatLevel = ThreatLevel.SECURED
    threat_action: Action = Action.BLOCK
    recheck_after: Minutes = DEFAULT_RECHECK_AFTER
    checkin_interval: Minutes = DEFAULT_CHECKIN_INTERVAL
    offline_block_after: Minutes = DEFAULT_OFFLINE_BLOCK_AFTER
    offline_wipe_after: Minutes = DEFAULT_OFFLINE_WIPE_AFTER

    def with_changes(self, **changes: object) -> Policy:
        """A copy with some fields replaced (policies are never mutated)."""
        return replace(self, **changes)  # type: ignore[arg-type]


class EvaluationContext(NamedTuple):
    """Everything one evaluation depends on: who, which app, and what the app knows.

    An immutable record (a NamedTuple: cheap to build, as engines build one per
    evaluation); ``context._replace(known_level=...)`` gives a variant.

    Attributes
    ----------
    app
        The protected app being launched or checking in.
    management
        The device's management set-up.
    emm_passes_upn
        For ``emm`` devices: whether the EMM passes ``IntuneMAMUPN`` (so the app sees the
        device as managed). Ignored for mdm (always managed) and mam_we (never).
    groups
        The user's groups.
    defender
        Defender for Endpoint state on the device.
    known_level
        The threat level the app last fetched from Intune.
    known_level_age_min
        How long ago that level was fetched, minutes (``None``: unknown; only used in text).
    connector
        Connector state as the service sees it.
    offline_min
        Minutes since the last successful check-in while the device is offline; 0 online.
    """

    app: str
    management: Management = Management.MAM_WE
    emm_passes_upn: bool = False
    groups: frozenset[str] = frozenset()
    defender: DefenderState = DefenderState.ACTIVATED
    known_level: ThreatLevel = ThreatLevel.SECURED
    known_level_age_min: Minutes | None = None
    connector: ConnectorState = ConnectorState.ENABLED
    offline_min: Minutes = 0.0

    @property
    def app_sees_managed(self) -> bool:
        """True when an MDM passes ``IntuneMAMUPN`` to the app (SEMANTICS.md §1)."""
        if self.management is Management.MDM:
            return True
        if self.management is Management.EMM:
            return self.emm_passes_upn
        return False


@dataclass(frozen=True, slots=True)
class EffectivePolicy:
    """The settings in force for one user+app after merging every covering policy."""

    policies: tuple[str, ...]
    max_threat_level: MaxThreatLevel
    threat_action: Action
    recheck_after: Minutes
    checkin_interval: Minutes
    offline_block_after: Minutes
    offline_wipe_after: Minutes


class Decision(NamedTuple):
    """The result of one evaluation.

    Attributes
    ----------
    outcome
        allow, block or wipe.
    reason
        Why (the first rule of SEMANTICS.md §5 that decided it).
    policies
        Names of the policies that applied, in file order (empty when not targeted).
    explanation
        One sentence a person can read.
    """

    outcome: Outcome
    reason: Reason
    policies: tuple[str, ...]
    explanation: str


def covers(policy: Policy, context: EvaluationContext) -> bool:
    """Whether ``policy`` applies to this user, app and device (SEMANTICS.md §1)."""
    if context.app not in policy.apps:
        return False
    if policy.exclude_groups & context.groups:
        return False
    if policy.include_groups is not None and not (policy.include_groups & context.groups):
        return False
    if policy.target_management is TargetManagement.ANY:
        return True
    managed = context.app_sees_managed
    return managed == (policy.target_management is TargetManagement.MANAGED)


def merge(
    policies: Sequence[Policy], how: MultiPolicyMerge = MultiPolicyMerge.MOST_RESTRICTIVE
) -> EffectivePolicy:
    """Merge the policies that cover one user+app into the settings in force.

    ``most_restrictive`` takes, setting by setting, the lowest maximum level (not
    configured only if every policy leaves it so), wipe over block (among policies whose
    maximum is configured: elsewhere the action is inert), and the shortest periods.
    ``first_listed`` takes the first policy as it is. The result does not depend on the
    order of ``policies`` for ``most_restrictive`` (names stay in order).
    """
    if not policies:
        raise ValueError("merge() needs at least one policy")
    if how is MultiPolicyMerge.FIRST_LISTED:
        policies = policies[:1]
    # A policy whose max level is not configured has no threat check, so its action
    # setting is inert and does not take part in the merge.
    configured = [p for p in policies if p.max_threat_level is not None] or list(policies)
    return EffectivePolicy(
        policies=tuple(p.name for p in policies),
        max_threat_level=min((p.max_threat_level for p in policies), key=max_level_rank),
        threat_action=(
            Action.WIPE if any(p.threat_action is Action.WIPE for p in configured) else Action.BLOCK
        ),
        recheck_after=min(p.recheck_after for p in policies),
        checkin_interval=min(p.checkin_interval for p in policies),
        offline_block_after=min(p.offline_block_after for p in policies),
        offline_wipe_after=min(p.offline_wipe_after for p in policies),
    )


def effective_policy(
    policies: Iterable[Policy],
    context: EvaluationContext,
    how: MultiPolicyMerge = MultiPolicyMerge.MOST_RESTRICTIVE,
) -> EffectivePolicy | None:
    """The merged settings for this context, or ``None`` when no policy covers it."""
    covering = [p for p in policies if covers(p, context)]
    return merge(covering, how) if covering else None


def decide(
    policies: Iterable[Policy],
    context: EvaluationContext,
    behavior: Behavior = Behavior(),
) -> Decision:
    """Evaluate conditional launch for one app evaluation (SEMANTICS.md §5).

    Pure: the same arguments always give the same :class:`Decision`.

    Rules, in order:

    1. No policy covers user+app+device → allow (``not_targeted``).
    2. Offline past the wipe period → wipe (``offline_wipe``); past the block period →
       block (``offline_block``).
    3. Max threat level not configured → allow (``compliant``).
    4. Connector disabled → ``behavior.connector_off_behavior``; partner unresponsive →
       ``behavior.unresponsive_behavior`` (``last_known`` goes on to rule 5).
    5. Defender not activated → ``behavior.pre_onboarding_action``
       (``mtd_not_activated``); known level > max → the policy's action
       (``threat_level_exceeded``).
    6. Otherwise → allow (``compliant``).

    Because the offline wipe is checked first and every later denial is at most a wipe,
    wipe outranks block whichever conditions fail together.
    """
    return decide_effective(
        effective_policy(policies, context, behavior.multi_policy_merge), context, behavior
    )


def decide_effective(
    eff: EffectivePolicy | None,
    context: EvaluationContext,
    behavior: Behavior = Behavior(),
) -> Decision:
    """:func:`decide` with the merged policy already computed (``None``: not targeted).

    Engines call this with the effective policy cached per device and app, since
    targeting does not change during a run; ``decide`` is exactly
    ``decide_effective(effective_policy(...), ...)``.
    """
    if eff is None:
        return Decision(
            Outcome.ALLOW,
            Reason.NOT_TARGETED,
            (),
            f"allowed — no policy protects {context.app} for this user and device",
        )
    names = eff.policies
    offline = context.offline_min
    if offline > 0 and offline >= eff.offline_wipe_after:
        return Decision(
            Outcome.WIPE,
            Reason.OFFLINE_WIPE,
            names,
            f"wiped — offline for {humanize_minutes(offline)}, past the offline wipe period "
            f"of {format_duration(eff.offline_wipe_after)}",
        )
    offline_block = offline > 0 and offline >= eff.offline_block_after
    if offline_block:
        # Rules 3-5 could only add another block or a wipe; a threat wipe outranks this.
        threat = _threat_condition(eff, context, behavior)
        if threat is not None and threat.outcome is Outcome.WIPE:
            return threat
        return Decision(
            Outcome.BLOCK,
            Reason.OFFLINE_BLOCK,
            names,
            f"blocked — offline for {humanize_minutes(offline)}, past the offline block "
            f"period of {format_duration(eff.offline_block_after)}",
        )
    threat = _threat_condition(eff, context, behavior)
    if threat is not None:
        return threat
    return Decision(Outcome.ALLOW, Reason.COMPLIANT, names, _compliant_text(eff, context))


def _compliant_text(eff: EffectivePolicy, context: EvaluationContext) -> str:
    if eff.max_threat_level is None:
        return "allowed — max allowed threat level is not configured"
    return (
        f"allowed — app knew {context.known_level.label}{_age(context)}, within max allowed "
        f"{eff.max_threat_level.label}"
    )


def _age(context: EvaluationContext) -> str:
    if context.known_level_age_min is None:
        return ""
    return f" (fetched {humanize_minutes(context.known_level_age_min)} ago)"


_ACTION_OUTCOME: Final = {Action.BLOCK: Outcome.BLOCK, Action.WIPE: Outcome.WIPE}
_VERB: Final = {Outcome.ALLOW: "allowed", Outcome.BLOCK: "blocked", Outcome.WIPE: "wiped"}


def _threat_condition(
    eff: EffectivePolicy, context: EvaluationContext, behavior: Behavior
) -> Decision | None:
    """Rules 3-5: a denial or a connector-state allow, or ``None`` when compliant."""
    maximum = eff.max_threat_level
    if maximum is None:
        return None
    names = eff.policies
    if context.connector is ConnectorState.DISABLED:
        if behavior.connector_off_behavior is ConnectorOffBehavior.BLOCK:
            return Decision(
                Outcome.BLOCK,
                Reason.CONNECTOR_DISABLED,
                names,
                "blocked — the Defender connector is disabled and connector_off_behavior "
                "is block (fail-closed)",
            )
        return Decision(
            Outcome.ALLOW,
            Reason.CONNECTOR_DISABLED,
            names,
            "allowed — the Defender connector is disabled, so the threat-level condition "
            "has no effect (connector_off_behavior no_effect)",
        )
    if context.connector is ConnectorState.UNRESPONSIVE:
        if behavior.unresponsive_behavior is UnresponsiveBehavior.IGNORE:
            return Decision(
                Outcome.ALLOW,
                Reason.PARTNER_UNRESPONSIVE,
                names,
                "allowed — Defender has been unresponsive too long, so the service ignores "
                "its threat data (unresponsive_behavior ignore)",
            )
        if behavior.unresponsive_behavior is UnresponsiveBehavior.BLOCK:
            return Decision(
                Outcome.BLOCK,
                Reason.PARTNER_UNRESPONSIVE,
                names,
                "blocked — Defender has been unresponsive too long and unresponsive_behavior "
                "is block (fail-closed)",
            )
    if context.defender is not DefenderState.ACTIVATED:
        outcome = Outcome(behavior.pre_onboarding_action.value)
        state = "not installed" if context.defender is DefenderState.ABSENT else "not activated"
        if outcome is Outcome.ALLOW:
            return Decision(
                outcome,
                Reason.MTD_NOT_ACTIVATED,
                names,
                f"allowed — Defender is {state} and pre_onboarding_action is allow",
            )
        return Decision(
            outcome,
            Reason.MTD_NOT_ACTIVATED,
            names,
            f"{_VERB[outcome]} — Defender is {state} on this device; the user is sent to "
            "install and activate it",
        )
    if context.known_level > maximum:
        outcome = _ACTION_OUTCOME[eff.threat_action]
        return Decision(
            outcome,
            Reason.THREAT_LEVEL_EXCEEDED,
            names,
            f"{_VERB[outcome]} — app knew {context.known_level.label}{_age(context)} > max "
            f"allowed {maximum.label}; action {eff.threat_action.value}",
        )
    return None
