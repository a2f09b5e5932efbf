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

from collections.abc import Iterable, Iterator, Sequence
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
    OfflineWipe,
    UnresponsiveBehavior,
)
from simulator.policy.levels import (
    OUTCOME_VERB,
    Action,
    ConnectorState,
    DefenderState,
    Management,
    MaxThreatLevel,
    Outcome,
    Reason,
    Reauth,
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
    jailbroken_action
        *Jailbroken/rooted devices* (Graph ``deviceComplianceRequired`` +
        ``appActionIfDeviceComplianceRequired``): block or wipe when the Intune SDK detects
        a jailbreak; ``None`` = not configured.
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
    jailbroken_action: Action | None = None

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
        device as managed). Ignored for other set-ups.
    mdm_passes_upn
        For ``mdm`` devices: whether Intune MDM passes ``IntuneMAMUPN`` (the admin deployed
        that app configuration; default true). Ignored for other set-ups; mam_we devices are
        never seen as managed.
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
    checked_in
        Whether the app has ever checked in. An app that never has cannot be used offline:
        its first use needs the network.
    jailbroken
        Whether the Intune SDK detects a jailbreak on the device (its own check, independent
        of Defender).
    reauth
        Re-authentication at the first online evaluation after the offline wipe period
        (:func:`reauthentication`).
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
    mdm_passes_upn: bool = True
    checked_in: bool = True
    jailbroken: bool = False
    reauth: Reauth = Reauth.NOT_REQUIRED

    @property
    def app_sees_managed(self) -> bool:
        """True when an MDM passes ``IntuneMAMUPN`` to the app (docs/semantics.md §1)."""
        if self.management is Management.MDM:
            return self.mdm_passes_upn
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
    jailbroken_action: Action | None = None


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
    if context.app not in policy.apps and "*" not in policy.apps:  # "*": every app
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
        jailbroken_action=_merged_action(p.jailbroken_action for p in policies),
    )


def _merged_action(actions: Iterable[Action | None]) -> Action | None:
    """Wipe over block; not configured only if no policy configures it."""
    configured = {a for a in actions if a is not None}
    if not configured:
        return None
    return Action.WIPE if Action.WIPE in configured else Action.BLOCK


def reauthentication(
    offline_before_min: Minutes, eff: EffectivePolicy | None, behavior: Behavior, *, fails: bool
) -> Reauth:
    """Whether an online evaluation re-authenticates the user, and how it ends.

    ``offline_before_min`` is how long the app had been without a check-in when this one
    succeeded. Past the offline wipe period, with ``offline_wipe = on_failed_reauth``, the
    user must sign in again (docs/semantics.md §5): ``fails`` says whether that fails.
    """
    if (
        eff is None
        or behavior.offline_wipe is not OfflineWipe.ON_FAILED_REAUTH
        or not offline_before_min >= eff.offline_wipe_after
    ):
        return Reauth.NOT_REQUIRED
    return Reauth.FAILED if fails else Reauth.SUCCEEDED


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
    """Evaluate conditional launch for one app evaluation (docs/semantics.md §6).

    Pure: the same arguments always give the same :class:`Decision`.

    Conditions, in order:

    1. No policy covers user+app+device → allow (``not_targeted``).
    2. The offline wipe period: a failed re-authentication back online → wipe
       (``offline_wipe``); still offline past it → block until re-authenticated
       (``offline_reauth``), or wipe at once with ``offline_wipe = immediate``.
    3. *Jailbroken/rooted devices*: the SDK detects a jailbreak → the policy's
       ``jailbroken_action`` (``jailbroken_device``).
    4. Offline past the block period, or offline before the app's first check-in → block
       (``offline_block``).
    5. The threat-level condition, if a max level is configured: connector disabled →
       ``behavior.connector_off_behavior``; partner unresponsive →
       ``behavior.unresponsive_behavior`` (``last_known`` goes on); Defender not activated →
       ``behavior.pre_onboarding_action`` (``mtd_not_activated``); known level > max → the
       policy's action (``threat_level_exceeded``).
    6. Otherwise → allow (``compliant``).

    When several conditions deny, the first wipe wins, else the first block ("a wipe would
    take precedence, followed by a block").
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
    denials = [d for d in _conditions(eff, context, behavior) if d is not None]
    for denial in denials:  # wipe outranks block, whichever conditions fail together
        if denial.outcome is Outcome.WIPE:
            return denial
    for decision in denials:
        if decision.outcome is Outcome.BLOCK:
            return decision
    if denials:  # a connector-state allow
        return denials[0]
    return Decision(Outcome.ALLOW, Reason.COMPLIANT, eff.policies, _compliant_text(eff, context))


def _conditions(
    eff: EffectivePolicy, context: EvaluationContext, behavior: Behavior
) -> Iterator[Decision | None]:
    """Each condition's verdict in the documented order (``None``: it passes)."""
    yield _offline_wipe(eff, context, behavior)
    yield _jailbroken(eff, context)
    yield _offline_block(eff, context)
    yield _threat_condition(eff, context, behavior)


def _offline_wipe(
    eff: EffectivePolicy, context: EvaluationContext, behavior: Behavior
) -> Decision | None:
    """The offline wipe period: a failed re-authentication wipes; while still offline,
    access waits for one (or, with ``offline_wipe = immediate``, the app wipes at once)."""
    names = eff.policies
    if context.reauth is Reauth.FAILED:
        return Decision(
            Outcome.WIPE,
            Reason.OFFLINE_WIPE,
            names,
            "wiped — back online after the offline wipe period of "
            f"{format_duration(eff.offline_wipe_after)}, the user failed to re-authenticate",
        )
    offline = context.offline_min
    if not (offline > 0 and offline >= eff.offline_wipe_after):
        return None
    if behavior.offline_wipe is OfflineWipe.IMMEDIATE:
        return Decision(
            Outcome.WIPE,
            Reason.OFFLINE_WIPE,
            names,
            f"wiped — offline for {humanize_minutes(offline)}, past the offline wipe period "
            f"of {format_duration(eff.offline_wipe_after)} (offline_wipe immediate)",
        )
    return Decision(
        Outcome.BLOCK,
        Reason.OFFLINE_REAUTH,
        names,
        f"blocked — offline for {humanize_minutes(offline)}, past the offline wipe period of "
        f"{format_duration(eff.offline_wipe_after)}; the user must reconnect and "
        "re-authenticate",
    )


def _jailbroken(eff: EffectivePolicy, context: EvaluationContext) -> Decision | None:
    """The *Jailbroken/rooted devices* condition: the Intune SDK's own check."""
    action = eff.jailbroken_action
    if action is None or not context.jailbroken:
        return None
    outcome = _ACTION_OUTCOME[action]
    return Decision(
        outcome,
        Reason.JAILBROKEN_DEVICE,
        eff.policies,
        f"{OUTCOME_VERB[outcome]} — the Intune SDK detected a jailbroken device; "
        f"action {action.value}",
    )


def _offline_block(eff: EffectivePolicy, context: EvaluationContext) -> Decision | None:
    """The offline block period, and an offline app that has never checked in."""
    offline = context.offline_min
    if offline > 0 and not context.checked_in:
        return Decision(
            Outcome.BLOCK,
            Reason.OFFLINE_BLOCK,
            eff.policies,
            "blocked — the app has never checked in and the device is offline; its first "
            "use needs the network",
        )
    if offline > 0 and offline >= eff.offline_block_after:
        return Decision(
            Outcome.BLOCK,
            Reason.OFFLINE_BLOCK,
            eff.policies,
            f"blocked — offline for {humanize_minutes(offline)}, past the offline block "
            f"period of {format_duration(eff.offline_block_after)}",
        )
    return None


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
            f"{OUTCOME_VERB[outcome]} — Defender is {state} on this device; the user is sent to "
            "install and activate it",
        )
    if context.known_level > maximum:
        outcome = _ACTION_OUTCOME[eff.threat_action]
        return Decision(
            outcome,
            Reason.THREAT_LEVEL_EXCEEDED,
            names,
            f"{OUTCOME_VERB[outcome]} — app knew {context.known_level.label}{_age(context)} > max "
            f"allowed {maximum.label}; action {eff.threat_action.value}",
        )
    return None
