"""Hand-computed decisions for every reason of docs/semantics.md §6, and the merge rules.

Each case is worked out from the documentation by hand; the tables say which condition
decides. The conditions, in order: not targeted → allow; offline wipe period
(re-authentication), *Jailbroken/rooted devices*, offline block period / first use,
threat level; the first wipe among failing conditions wins, else the first block.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from simulator.policy.behavior import (
    DEFAULT_OFFLINE_BLOCK_AFTER,
    DEFAULT_OFFLINE_WIPE_AFTER,
    Behavior,
    ConnectorOffBehavior,
    MultiPolicyMerge,
    OfflineWipe,
    PreOnboardingAction,
    UnresponsiveBehavior,
)
from simulator.policy.decide import (
    Decision,
    EffectivePolicy,
    EvaluationContext,
    Policy,
    covers,
    decide,
    effective_policy,
    merge,
    reauthentication,
)
from simulator.policy.levels import (
    NOT_CONFIGURED,
    THREAT_REASONS,
    Action,
    ConnectorState,
    DefenderState,
    Management,
    Outcome,
    Reason,
    Reauth,
    TargetManagement,
    ThreatLevel,
    max_level_label,
    max_level_rank,
    parse_max_level,
)

SECURED, LOW, MEDIUM, HIGH = (
    ThreatLevel.SECURED,
    ThreatLevel.LOW,
    ThreatLevel.MEDIUM,
    ThreatLevel.HIGH,
)
DAY = 1440.0

#: The policy most cases use: Outlook, everyone, any device, max low, block.
BASE = Policy(name="Base", apps=frozenset({"outlook"}), max_threat_level=LOW)
#: The context most cases use: Outlook on an activated MAM-WE device, online, secured.
CTX = EvaluationContext(app="outlook")


@dataclass(frozen=True)
class Case:
    """One hand-computed decision: inputs changed from BASE/CTX/Behavior() and the result."""

    id: str
    outcome: Outcome
    reason: Reason
    policy: dict[str, object] = field(default_factory=dict)
    context: dict[str, object] = field(default_factory=dict)
    behavior: dict[str, object] = field(default_factory=dict)

    def decide(self) -> Decision:
        return decide(
            [BASE.with_changes(**self.policy)],
            EvaluationContext(**{**_fields(CTX), **self.context}),
            Behavior(**self.behavior),
        )


def _fields(context: EvaluationContext) -> dict[str, object]:
    return context._asdict()


ALLOW, BLOCK, WIPE = Outcome.ALLOW, Outcome.BLOCK, Outcome.WIPE
R = Reason
IMMEDIATE = {"offline_wipe": OfflineWipe.IMMEDIATE}
#: Offline one day past the default 90-day wipe period (and so past the block period too).
PAST_WIPE = 91 * DAY

CASES = [
    # --- rule 1: not targeted -------------------------------------------------------
    Case("app-not-listed", ALLOW, R.NOT_TARGETED, context={"app": "teams", "known_level": HIGH}),
    Case(
        "group-not-included",
        ALLOW,
        R.NOT_TARGETED,
        policy={"include_groups": frozenset({"finance"})},
        context={"groups": frozenset({"sales"}), "known_level": HIGH},
    ),
    Case(
        "group-included",
        BLOCK,
        R.THREAT_LEVEL_EXCEEDED,
        policy={"include_groups": frozenset({"finance"})},
        context={"groups": frozenset({"finance", "sales"}), "known_level": HIGH},
    ),
    Case(
        "empty-include-targets-nobody",
        ALLOW,
        R.NOT_TARGETED,
        policy={"include_groups": frozenset()},
        context={"groups": frozenset({"finance"}), "known_level": HIGH},
    ),
    Case(
        "group-excluded",
        ALLOW,
        R.NOT_TARGETED,
        policy={"exclude_groups": frozenset({"contractors"})},
        context={"groups": frozenset({"contractors"}), "known_level": HIGH},
    ),
    Case(
        "exclusion-wins-over-inclusion",
        ALLOW,
        R.NOT_TARGETED,
        policy={
            "include_groups": frozenset({"finance"}),
            "exclude_groups": frozenset({"contractors"}),
        },
        context={"groups": frozenset({"finance", "contractors"}), "known_level": HIGH},
    ),
    *(
        Case(
            f"target-{target.value}-{management.value}-upn{int(upn)}",
            BLOCK if targeted else ALLOW,
            R.THREAT_LEVEL_EXCEEDED if targeted else R.NOT_TARGETED,
            policy={"target_management": target},
            # upn sets both flags; each set-up reads only its own (mam_we: neither).
            context={
                "management": management,
                "mdm_passes_upn": upn,
                "emm_passes_upn": upn,
                "known_level": HIGH,
            },
        )
        for target, management, upn, targeted in [
            # Intune MDM passing IntuneMAMUPN (the default): the app sees it as managed.
            (TargetManagement.MANAGED, Management.MDM, True, True),
            (TargetManagement.UNMANAGED, Management.MDM, True, False),
            # Intune MDM without the IntuneMAMUPN app configuration: seen as unmanaged, so
            # a managed-only policy misses it and an unmanaged one covers it (§1.3).
            (TargetManagement.MANAGED, Management.MDM, False, False),
            (TargetManagement.UNMANAGED, Management.MDM, False, True),
            (TargetManagement.ANY, Management.MDM, False, True),
            (TargetManagement.ANY, Management.MDM, True, True),
            # MAM-WE is never managed, whatever the (ignored) flags say.
            (TargetManagement.MANAGED, Management.MAM_WE, True, False),
            (TargetManagement.UNMANAGED, Management.MAM_WE, True, True),
            # A third-party EMM is managed only if it passes IntuneMAMUPN.
            (TargetManagement.MANAGED, Management.EMM, False, False),
            (TargetManagement.UNMANAGED, Management.EMM, False, True),
            (TargetManagement.MANAGED, Management.EMM, True, True),
            (TargetManagement.UNMANAGED, Management.EMM, True, False),
            (TargetManagement.ANY, Management.EMM, False, True),
        ]
    ),
    Case(
        "not-targeted-even-offline-past-wipe",
        ALLOW,
        R.NOT_TARGETED,
        context={"app": "teams", "offline_min": 365 * DAY},
    ),
    # --- offline block period (">=": "after the configured period expires") ---------
    Case("offline-just-below-block", ALLOW, R.COMPLIANT, context={"offline_min": 1439.9}),
    Case("offline-exactly-at-block", BLOCK, R.OFFLINE_BLOCK, context={"offline_min": 1440.0}),
    Case("offline-past-block", BLOCK, R.OFFLINE_BLOCK, context={"offline_min": 3 * DAY}),
    Case(
        "offline-block-uses-policy-period",
        BLOCK,
        R.OFFLINE_BLOCK,
        policy={"offline_block_after": 720.0},
        context={"offline_min": 720.0},
    ),
    Case(
        "offline-exactly-at-block-custom-period",
        BLOCK,
        R.OFFLINE_BLOCK,
        policy={"offline_block_after": 600.0},
        context={"offline_min": 600.0},
    ),
    Case(
        "offline-just-below-custom-block",
        ALLOW,
        R.COMPLIANT,
        policy={"offline_block_after": 600.0},
        context={"offline_min": 599.0},
    ),
    Case(
        "offline-just-below-wipe",
        BLOCK,
        R.OFFLINE_BLOCK,
        context={"offline_min": 90 * DAY - 0.5},
    ),
    Case(
        "offline-block-applies-when-not-configured",
        BLOCK,
        R.OFFLINE_BLOCK,
        policy={"max_threat_level": None},
        context={"offline_min": 2 * DAY},
    ),
    Case(
        "zero-block-period-online-is-not-offline",
        ALLOW,
        R.COMPLIANT,
        policy={"offline_block_after": 0.0, "offline_wipe_after": 0.0},
        context={"offline_min": 0.0},
    ),
    # --- offline wipe period, on_failed_reauth (default): deny offline, wipe on failed
    # sign-in back online; the reauth block comes first, so it is named over offline_block
    Case(
        "offline-exactly-at-wipe-waits-for-reauth",
        BLOCK,
        R.OFFLINE_REAUTH,
        context={"offline_min": 90 * DAY},
    ),
    Case(
        "offline-past-wipe-still-offline-reauth-block",
        BLOCK,
        R.OFFLINE_REAUTH,
        context={"offline_min": PAST_WIPE},
    ),
    Case(
        "offline-reauth-applies-when-not-configured",
        BLOCK,
        R.OFFLINE_REAUTH,
        policy={"max_threat_level": None},
        context={"offline_min": 100 * DAY},
    ),
    Case(
        "offline-reauth-at-custom-wipe-period",
        BLOCK,
        R.OFFLINE_REAUTH,
        policy={"offline_wipe_after": 7 * DAY},
        context={"offline_min": 7 * DAY},
    ),
    Case(
        "offline-just-below-custom-wipe",
        BLOCK,
        R.OFFLINE_BLOCK,
        policy={"offline_wipe_after": 7 * DAY},
        context={"offline_min": 7 * DAY - 1.0},
    ),
    Case(
        "zero-wipe-period-any-offline-time-needs-reauth",
        BLOCK,
        R.OFFLINE_REAUTH,
        policy={"offline_wipe_after": 0.0},
        context={"offline_min": 1.0},
    ),
    Case(
        "offline-reauth-block-over-threat-block",
        BLOCK,
        R.OFFLINE_REAUTH,
        context={"offline_min": PAST_WIPE, "known_level": HIGH},
    ),
    Case(
        "threat-wipe-outranks-offline-reauth-block",
        WIPE,
        R.THREAT_LEVEL_EXCEEDED,
        policy={"threat_action": Action.WIPE},
        context={"offline_min": 90 * DAY, "known_level": HIGH},
    ),
    Case(
        "back-online-reauth-failed-wipes",
        WIPE,
        R.OFFLINE_WIPE,
        context={"reauth": Reauth.FAILED},
    ),
    Case(
        "back-online-reauth-failed-wipes-when-not-configured",
        WIPE,
        R.OFFLINE_WIPE,
        policy={"max_threat_level": None},
        context={"reauth": Reauth.FAILED},
    ),
    Case(
        "reauth-failed-wipe-comes-before-threat-wipe",
        WIPE,
        R.OFFLINE_WIPE,
        policy={"threat_action": Action.WIPE},
        context={"reauth": Reauth.FAILED, "known_level": HIGH},
    ),
    Case(
        "back-online-reauth-succeeded-compliant",
        ALLOW,
        R.COMPLIANT,
        context={"reauth": Reauth.SUCCEEDED},
    ),
    Case(
        "back-online-reauth-succeeded-threat-as-usual",
        BLOCK,
        R.THREAT_LEVEL_EXCEEDED,
        context={"reauth": Reauth.SUCCEEDED, "known_level": MEDIUM},
    ),
    Case(
        "back-online-reauth-succeeded-threat-wipe-as-usual",
        WIPE,
        R.THREAT_LEVEL_EXCEEDED,
        policy={"threat_action": Action.WIPE},
        context={"reauth": Reauth.SUCCEEDED, "known_level": HIGH},
    ),
    Case(
        "back-online-reauth-succeeded-connector-as-usual",
        ALLOW,
        R.CONNECTOR_DISABLED,
        context={"reauth": Reauth.SUCCEEDED, "connector": ConnectorState.DISABLED},
    ),
    # --- offline wipe period, immediate (the conservative bound): wipe while offline ----
    Case(
        "immediate-offline-exactly-at-wipe",
        WIPE,
        R.OFFLINE_WIPE,
        context={"offline_min": 90 * DAY},
        behavior=IMMEDIATE,
    ),
    Case(
        "immediate-offline-just-below-wipe",
        BLOCK,
        R.OFFLINE_BLOCK,
        context={"offline_min": 90 * DAY - 0.5},
        behavior=IMMEDIATE,
    ),
    Case(
        "immediate-offline-past-wipe",
        WIPE,
        R.OFFLINE_WIPE,
        context={"offline_min": PAST_WIPE},
        behavior=IMMEDIATE,
    ),
    Case(
        "immediate-offline-wipe-applies-when-not-configured",
        WIPE,
        R.OFFLINE_WIPE,
        policy={"max_threat_level": None},
        context={"offline_min": 100 * DAY},
        behavior=IMMEDIATE,
    ),
    Case(
        "immediate-zero-wipe-period-any-offline-time-wipes",
        WIPE,
        R.OFFLINE_WIPE,
        policy={"offline_wipe_after": 0.0},
        context={"offline_min": 1.0},
        behavior=IMMEDIATE,
    ),
    Case(
        "immediate-offline-wipe-comes-before-threat-wipe",
        WIPE,
        R.OFFLINE_WIPE,
        policy={"threat_action": Action.WIPE},
        context={"offline_min": 90 * DAY, "known_level": HIGH},
        behavior=IMMEDIATE,
    ),
    Case(
        "immediate-online-is-not-offline",
        ALLOW,
        R.COMPLIANT,
        policy={"offline_wipe_after": 0.0},
        behavior=IMMEDIATE,
    ),
    # --- offline block period vs the threat condition ------------------------------------
    Case(
        "offline-block-over-threat-block",
        BLOCK,
        R.OFFLINE_BLOCK,
        context={"offline_min": 2 * DAY, "known_level": HIGH},
    ),
    Case(
        "threat-wipe-outranks-offline-block",
        WIPE,
        R.THREAT_LEVEL_EXCEEDED,
        policy={"threat_action": Action.WIPE},
        context={"offline_min": 2 * DAY, "known_level": HIGH},
    ),
    Case(
        "onboarding-wipe-outranks-offline-block",
        WIPE,
        R.MTD_NOT_ACTIVATED,
        context={"offline_min": 2 * DAY, "defender": DefenderState.ABSENT},
        behavior={"pre_onboarding_action": PreOnboardingAction.WIPE},
    ),
    Case(
        "offline-block-over-connector-fail-closed",
        BLOCK,
        R.OFFLINE_BLOCK,
        context={"offline_min": 2 * DAY, "connector": ConnectorState.DISABLED},
        behavior={"connector_off_behavior": ConnectorOffBehavior.BLOCK},
    ),
    Case(
        "offline-uses-last-fetched-level",
        ALLOW,
        R.COMPLIANT,
        context={"offline_min": 600.0, "known_level": LOW},
    ),
    Case(
        "offline-uses-last-fetched-level-exceeded",
        BLOCK,
        R.THREAT_LEVEL_EXCEEDED,
        context={"offline_min": 600.0, "known_level": MEDIUM},
    ),
    # --- first use: an app that never checked in cannot be used offline ----------------
    Case(
        "first-use-offline-blocks",
        BLOCK,
        R.OFFLINE_BLOCK,
        context={"checked_in": False, "offline_min": 1.0},
    ),
    Case(
        "first-use-online-allowed",
        ALLOW,
        R.COMPLIANT,
        context={"checked_in": False},
    ),
    Case(
        "first-use-offline-blocks-when-not-configured",
        BLOCK,
        R.OFFLINE_BLOCK,
        policy={"max_threat_level": None},
        context={"checked_in": False, "offline_min": 1.0},
    ),
    Case(
        "first-use-offline-over-threat-block",
        BLOCK,
        R.OFFLINE_BLOCK,
        context={"checked_in": False, "offline_min": 5.0, "known_level": HIGH},
    ),
    Case(
        "threat-wipe-outranks-first-use-block",
        WIPE,
        R.THREAT_LEVEL_EXCEEDED,
        policy={"threat_action": Action.WIPE},
        context={"checked_in": False, "offline_min": 5.0, "known_level": HIGH},
    ),
    Case(
        "first-use-offline-not-targeted",
        ALLOW,
        R.NOT_TARGETED,
        context={"app": "teams", "checked_in": False, "offline_min": 5.0},
    ),
    # --- Jailbroken/rooted devices: the SDK's own check, independent of Defender --------
    Case(
        "jailbroken-block",
        BLOCK,
        R.JAILBROKEN_DEVICE,
        policy={"jailbroken_action": Action.BLOCK},
        context={"jailbroken": True},
    ),
    Case(
        "jailbroken-wipe",
        WIPE,
        R.JAILBROKEN_DEVICE,
        policy={"jailbroken_action": Action.WIPE},
        context={"jailbroken": True},
    ),
    Case(
        "jailbroken-condition-not-configured",
        ALLOW,
        R.COMPLIANT,
        context={"jailbroken": True},
    ),
    Case(
        "not-jailbroken-condition-configured",
        ALLOW,
        R.COMPLIANT,
        policy={"jailbroken_action": Action.WIPE},
    ),
    Case(
        "jailbroken-not-targeted",
        ALLOW,
        R.NOT_TARGETED,
        policy={"jailbroken_action": Action.WIPE},
        context={"app": "teams", "jailbroken": True},
    ),
    Case(
        "jailbroken-applies-with-max-not-configured",
        BLOCK,
        R.JAILBROKEN_DEVICE,
        policy={"max_threat_level": None, "jailbroken_action": Action.BLOCK},
        context={"jailbroken": True},
    ),
    Case(
        "jailbroken-wipe-with-max-not-configured",
        WIPE,
        R.JAILBROKEN_DEVICE,
        policy={"max_threat_level": None, "jailbroken_action": Action.WIPE},
        context={"jailbroken": True},
    ),
    Case(
        "jailbroken-applies-with-connector-disabled",
        BLOCK,
        R.JAILBROKEN_DEVICE,
        policy={"jailbroken_action": Action.BLOCK},
        context={"jailbroken": True, "connector": ConnectorState.DISABLED, "known_level": HIGH},
    ),
    Case(
        "jailbroken-applies-with-partner-unresponsive",
        WIPE,
        R.JAILBROKEN_DEVICE,
        policy={"jailbroken_action": Action.WIPE},
        context={"jailbroken": True, "connector": ConnectorState.UNRESPONSIVE},
    ),
    Case(
        "jailbroken-applies-without-defender",
        BLOCK,
        R.JAILBROKEN_DEVICE,
        policy={"jailbroken_action": Action.BLOCK},
        context={"jailbroken": True, "defender": DefenderState.ABSENT},
        behavior={"pre_onboarding_action": PreOnboardingAction.ALLOW},
    ),
    Case(
        "jailbroken-block-before-onboarding-block",
        BLOCK,
        R.JAILBROKEN_DEVICE,
        policy={"jailbroken_action": Action.BLOCK},
        context={"jailbroken": True, "defender": DefenderState.INSTALLED},
    ),
    Case(
        "jailbroken-block-before-threat-block",
        BLOCK,
        R.JAILBROKEN_DEVICE,
        policy={"jailbroken_action": Action.BLOCK},
        context={"jailbroken": True, "known_level": HIGH},
    ),
    Case(
        "threat-wipe-outranks-jailbroken-block",
        WIPE,
        R.THREAT_LEVEL_EXCEEDED,
        policy={"jailbroken_action": Action.BLOCK, "threat_action": Action.WIPE},
        context={"jailbroken": True, "known_level": HIGH},
    ),
    Case(
        "jailbroken-wipe-before-threat-wipe",
        WIPE,
        R.JAILBROKEN_DEVICE,
        policy={"jailbroken_action": Action.WIPE, "threat_action": Action.WIPE},
        context={"jailbroken": True, "known_level": HIGH},
    ),
    Case(
        "jailbroken-applies-offline-within-grace",
        BLOCK,
        R.JAILBROKEN_DEVICE,
        policy={"jailbroken_action": Action.BLOCK},
        context={"jailbroken": True, "offline_min": 600.0},
    ),
    Case(
        "jailbroken-wipe-outranks-offline-block",
        WIPE,
        R.JAILBROKEN_DEVICE,
        policy={"jailbroken_action": Action.WIPE},
        context={"jailbroken": True, "offline_min": 2 * DAY},
    ),
    Case(
        "jailbroken-block-before-offline-block",
        BLOCK,
        R.JAILBROKEN_DEVICE,
        policy={"jailbroken_action": Action.BLOCK},
        context={"jailbroken": True, "offline_min": 2 * DAY},
    ),
    Case(
        "jailbroken-block-before-first-use-block",
        BLOCK,
        R.JAILBROKEN_DEVICE,
        policy={"jailbroken_action": Action.BLOCK},
        context={"jailbroken": True, "checked_in": False, "offline_min": 1.0},
    ),
    Case(
        "jailbroken-wipe-outranks-offline-reauth-block",
        WIPE,
        R.JAILBROKEN_DEVICE,
        policy={"jailbroken_action": Action.WIPE},
        context={"jailbroken": True, "offline_min": PAST_WIPE},
    ),
    Case(
        "offline-reauth-block-before-jailbroken-block",
        BLOCK,
        R.OFFLINE_REAUTH,
        policy={"jailbroken_action": Action.BLOCK},
        context={"jailbroken": True, "offline_min": PAST_WIPE},
    ),
    Case(
        "immediate-offline-wipe-outranks-jailbroken-block",
        WIPE,
        R.OFFLINE_WIPE,
        policy={"jailbroken_action": Action.BLOCK},
        context={"jailbroken": True, "offline_min": PAST_WIPE},
        behavior=IMMEDIATE,
    ),
    Case(
        "immediate-offline-wipe-before-jailbroken-wipe",
        WIPE,
        R.OFFLINE_WIPE,
        policy={"jailbroken_action": Action.WIPE},
        context={"jailbroken": True, "offline_min": PAST_WIPE},
        behavior=IMMEDIATE,
    ),
    Case(
        "reauth-failed-wipe-outranks-jailbroken-block",
        WIPE,
        R.OFFLINE_WIPE,
        policy={"jailbroken_action": Action.BLOCK},
        context={"jailbroken": True, "reauth": Reauth.FAILED},
    ),
    Case(
        "reauth-succeeded-jailbroken-still-blocks",
        BLOCK,
        R.JAILBROKEN_DEVICE,
        policy={"jailbroken_action": Action.BLOCK},
        context={"jailbroken": True, "reauth": Reauth.SUCCEEDED},
    ),
    # --- rule 3: not configured -------------------------------------------------------
    *(
        Case(
            f"not-configured-{label}",
            ALLOW,
            R.COMPLIANT,
            policy={"max_threat_level": None, "threat_action": Action.WIPE},
            context={"known_level": HIGH, **context},
            behavior={
                "connector_off_behavior": ConnectorOffBehavior.BLOCK,
                "unresponsive_behavior": UnresponsiveBehavior.BLOCK,
                "pre_onboarding_action": PreOnboardingAction.WIPE,
            },
        )
        for label, context in [
            ("known-high", {}),
            ("defender-absent", {"defender": DefenderState.ABSENT}),
            ("connector-disabled", {"connector": ConnectorState.DISABLED}),
            ("partner-unresponsive", {"connector": ConnectorState.UNRESPONSIVE}),
        ]
    ),
    # --- rule 4: connector ------------------------------------------------------------
    Case(
        "connector-disabled-no-effect",
        ALLOW,
        R.CONNECTOR_DISABLED,
        context={"connector": ConnectorState.DISABLED, "known_level": HIGH},
    ),
    Case(
        "connector-disabled-no-effect-skips-onboarding",
        ALLOW,
        R.CONNECTOR_DISABLED,
        context={"connector": ConnectorState.DISABLED, "defender": DefenderState.ABSENT},
    ),
    Case(
        "connector-disabled-block",
        BLOCK,
        R.CONNECTOR_DISABLED,
        context={"connector": ConnectorState.DISABLED},
        behavior={"connector_off_behavior": ConnectorOffBehavior.BLOCK},
    ),
    Case(
        "connector-disabled-block-is-a-block-even-with-wipe-action",
        BLOCK,
        R.CONNECTOR_DISABLED,
        policy={"threat_action": Action.WIPE},
        context={"connector": ConnectorState.DISABLED, "known_level": HIGH},
        behavior={"connector_off_behavior": ConnectorOffBehavior.BLOCK},
    ),
    Case(
        "unresponsive-ignore",
        ALLOW,
        R.PARTNER_UNRESPONSIVE,
        context={"connector": ConnectorState.UNRESPONSIVE, "known_level": HIGH},
    ),
    Case(
        "unresponsive-block",
        BLOCK,
        R.PARTNER_UNRESPONSIVE,
        context={"connector": ConnectorState.UNRESPONSIVE},
        behavior={"unresponsive_behavior": UnresponsiveBehavior.BLOCK},
    ),
    Case(
        "unresponsive-last-known-exceeded",
        BLOCK,
        R.THREAT_LEVEL_EXCEEDED,
        context={"connector": ConnectorState.UNRESPONSIVE, "known_level": MEDIUM},
        behavior={"unresponsive_behavior": UnresponsiveBehavior.LAST_KNOWN},
    ),
    Case(
        "unresponsive-last-known-within",
        ALLOW,
        R.COMPLIANT,
        context={"connector": ConnectorState.UNRESPONSIVE, "known_level": LOW},
        behavior={"unresponsive_behavior": UnresponsiveBehavior.LAST_KNOWN},
    ),
    Case(
        "unresponsive-last-known-onboarding",
        BLOCK,
        R.MTD_NOT_ACTIVATED,
        context={"connector": ConnectorState.UNRESPONSIVE, "defender": DefenderState.INSTALLED},
        behavior={"unresponsive_behavior": UnresponsiveBehavior.LAST_KNOWN},
    ),
    # --- rule 5: Defender not activated ---------------------------------------------
    *(
        Case(
            f"mtd-{defender.value}-{action.value}",
            Outcome(action.value),
            R.MTD_NOT_ACTIVATED,
            context={"defender": defender, "known_level": HIGH},
            behavior={"pre_onboarding_action": action},
        )
        for defender in (DefenderState.ABSENT, DefenderState.INSTALLED)
        for action in PreOnboardingAction
    ),
    Case(
        "mtd-under-reporting-high-policy",
        BLOCK,
        R.MTD_NOT_ACTIVATED,
        policy={"max_threat_level": HIGH},
        context={"defender": DefenderState.ABSENT},
    ),
    # --- rule 5: threat level ------------------------------------------------------------
    Case("known-below-max", ALLOW, R.COMPLIANT, context={"known_level": SECURED}),
    Case("known-equal-to-max", ALLOW, R.COMPLIANT, context={"known_level": LOW}),
    Case("known-one-above-max", BLOCK, R.THREAT_LEVEL_EXCEEDED, context={"known_level": MEDIUM}),
    Case(
        "known-above-max-wipe",
        WIPE,
        R.THREAT_LEVEL_EXCEEDED,
        policy={"threat_action": Action.WIPE},
        context={"known_level": HIGH},
    ),
    Case(
        "secured-max-low-alert-blocks",
        BLOCK,
        R.THREAT_LEVEL_EXCEEDED,
        policy={"max_threat_level": SECURED},
        context={"known_level": LOW},
    ),
    Case(
        "secured-max-secured-device",
        ALLOW,
        R.COMPLIANT,
        policy={"max_threat_level": SECURED},
        context={"known_level": SECURED},
    ),
    Case(
        "high-max-never-exceeded",
        ALLOW,
        R.COMPLIANT,
        policy={"max_threat_level": HIGH, "threat_action": Action.WIPE},
        context={"known_level": HIGH},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_decide_hand_computed(case: Case) -> None:
    """``decide`` returns the hand-computed outcome and reason, naming the policy."""
    decision = case.decide()
    assert (decision.outcome, decision.reason) == (case.outcome, case.reason)
    expected_names = () if case.reason is Reason.NOT_TARGETED else ("Base",)
    assert decision.policies == expected_names
    assert decision.explanation.startswith(
        {ALLOW: "allowed — ", BLOCK: "blocked — ", WIPE: "wiped — "}[case.outcome]
    )


def test_every_reason_but_the_engine_only_ones_is_covered_by_the_table() -> None:
    """The table exercises every reason ``decide`` can return (previous_allow and
    previous_denial are engine-only: reuses of an earlier decision)."""
    engine_only = {Reason.PREVIOUS_ALLOW, Reason.PREVIOUS_DENIAL}
    assert {c.reason for c in CASES} == set(Reason) - engine_only


EXPLANATIONS = [
    (
        "threat-block-with-age",
        {},
        {"known_level": MEDIUM, "known_level_age_min": 42.0},
        {},
        "blocked — app knew medium (fetched 42 min ago) > max allowed low; action block",
    ),
    (
        "threat-wipe-no-age",
        {"max_threat_level": SECURED, "threat_action": Action.WIPE},
        {"known_level": HIGH},
        {},
        "wiped — app knew high > max allowed secured; action wipe",
    ),
    (
        "compliant-with-age",
        {},
        {"known_level": LOW, "known_level_age_min": 150.0},
        {},
        "allowed — app knew low (fetched 2.5 h ago), within max allowed low",
    ),
    (
        "not-configured",
        {"max_threat_level": None},
        {"known_level": HIGH},
        {},
        "allowed — max allowed threat level is not configured",
    ),
    (
        "not-targeted",
        {},
        {"app": "teams"},
        {},
        "allowed — no policy protects teams for this user and device",
    ),
    (
        "offline-block",
        {},
        {"offline_min": 1440.0},
        {},
        "blocked — offline for 24 h, past the offline block period of 1d",
    ),
    (
        "offline-reauth",
        {},
        {"offline_min": 90 * DAY},
        {},
        "blocked — offline for 90 d, past the offline wipe period of 90d; the user must "
        "reconnect and re-authenticate",
    ),
    (
        "offline-wipe-immediate",
        {},
        {"offline_min": 90 * DAY},
        {"offline_wipe": OfflineWipe.IMMEDIATE},
        "wiped — offline for 90 d, past the offline wipe period of 90d (offline_wipe immediate)",
    ),
    (
        "offline-wipe-failed-reauth",
        {"offline_wipe_after": 30 * DAY},
        {"reauth": Reauth.FAILED},
        {},
        "wiped — back online after the offline wipe period of 30d, the user failed to "
        "re-authenticate",
    ),
    (
        "first-use-offline",
        {},
        {"checked_in": False, "offline_min": 3.0},
        {},
        "blocked — the app has never checked in and the device is offline; its first use "
        "needs the network",
    ),
    (
        "jailbroken-block",
        {"jailbroken_action": Action.BLOCK},
        {"jailbroken": True},
        {},
        "blocked — the Intune SDK detected a jailbroken device; action block",
    ),
    (
        "jailbroken-wipe",
        {"jailbroken_action": Action.WIPE},
        {"jailbroken": True},
        {},
        "wiped — the Intune SDK detected a jailbroken device; action wipe",
    ),
    (
        "mtd-absent",
        {},
        {"defender": DefenderState.ABSENT},
        {},
        "blocked — Defender is not installed on this device; the user is sent to install "
        "and activate it",
    ),
    (
        "mtd-installed-allow",
        {},
        {"defender": DefenderState.INSTALLED},
        {"pre_onboarding_action": PreOnboardingAction.ALLOW},
        "allowed — Defender is not activated and pre_onboarding_action is allow",
    ),
    (
        "connector-fail-closed",
        {},
        {"connector": ConnectorState.DISABLED},
        {"connector_off_behavior": ConnectorOffBehavior.BLOCK},
        "blocked — the Defender connector is disabled and connector_off_behavior is block "
        "(fail-closed)",
    ),
]


@pytest.mark.parametrize(
    ("policy", "context", "behavior", "expected"),
    [e[1:] for e in EXPLANATIONS],
    ids=[e[0] for e in EXPLANATIONS],
)
def test_explanation_text(
    policy: dict[str, object],
    context: dict[str, object],
    behavior: dict[str, object],
    expected: str,
) -> None:
    """The one-sentence explanation reads exactly as SEMANTICS.md §7's example style."""
    decision = decide(
        [BASE.with_changes(**policy)],
        EvaluationContext(**{**_fields(CTX), **context}),
        Behavior(**behavior),
    )
    assert decision.explanation == expected


def test_not_targeted_when_there_are_no_policies() -> None:
    """An empty policy list targets nothing: allow, not_targeted, no names."""
    decision = decide([], CTX)
    assert decision == Decision(
        Outcome.ALLOW,
        Reason.NOT_TARGETED,
        (),
        "allowed — no policy protects outlook for this user and device",
    )


def test_covers_reads_each_upn_flag_only_for_its_own_management() -> None:
    """mdm devices read ``mdm_passes_upn`` only, emm devices ``emm_passes_upn`` only, and
    mam_we devices are never managed."""
    managed_only = BASE.with_changes(target_management=TargetManagement.MANAGED)
    for other in (False, True):
        for management, own, flags in (
            (Management.MDM, True, {"mdm_passes_upn": True, "emm_passes_upn": other}),
            (Management.MDM, False, {"mdm_passes_upn": False, "emm_passes_upn": other}),
            (Management.EMM, True, {"emm_passes_upn": True, "mdm_passes_upn": other}),
            (Management.EMM, False, {"emm_passes_upn": False, "mdm_passes_upn": other}),
            (Management.MAM_WE, False, {"emm_passes_upn": True, "mdm_passes_upn": other}),
        ):
            context = EvaluationContext(app="outlook", management=management, **flags)
            assert context.app_sees_managed is own, (management, flags)
            assert covers(managed_only, context) is own


def test_mdm_passes_upn_by_default() -> None:
    """An mdm context is managed unless told otherwise (Intune usually sends the UPN)."""
    assert EvaluationContext(app="outlook", management=Management.MDM).app_sees_managed
    assert not EvaluationContext(app="outlook", management=Management.EMM).app_sees_managed


# --- merge ---------------------------------------------------------------------------

STRICT = Policy(
    name="Strict",
    apps=frozenset({"outlook"}),
    max_threat_level=LOW,
    threat_action=Action.BLOCK,
    recheck_after=60.0,
    checkin_interval=30.0,
    offline_block_after=1440.0,
    offline_wipe_after=90 * DAY,
)
OTHER = Policy(
    name="Other",
    apps=frozenset({"outlook", "teams"}),
    max_threat_level=MEDIUM,
    threat_action=Action.WIPE,
    recheck_after=30.0,
    checkin_interval=45.0,
    offline_block_after=720.0,
    offline_wipe_after=30 * DAY,
)


def test_most_restrictive_takes_each_setting_separately() -> None:
    """Lowest max, wipe over block, shortest of every period; names in list order."""
    assert merge([STRICT, OTHER]) == EffectivePolicy(
        policies=("Strict", "Other"),
        max_threat_level=LOW,
        threat_action=Action.WIPE,
        recheck_after=30.0,
        checkin_interval=30.0,
        offline_block_after=720.0,
        offline_wipe_after=30 * DAY,
    )


def test_most_restrictive_names_follow_the_given_order() -> None:
    """Reversing the list reverses the names and changes no setting."""
    forward, backward = merge([STRICT, OTHER]), merge([OTHER, STRICT])
    assert backward.policies == ("Other", "Strict")
    assert backward == EffectivePolicy(
        policies=("Other", "Strict"),
        max_threat_level=forward.max_threat_level,
        threat_action=forward.threat_action,
        recheck_after=forward.recheck_after,
        checkin_interval=forward.checkin_interval,
        offline_block_after=forward.offline_block_after,
        offline_wipe_after=forward.offline_wipe_after,
    )


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ((None, None), None),
        ((None, HIGH), HIGH),
        ((HIGH, None), HIGH),
        ((MEDIUM, SECURED, None), SECURED),
        ((LOW, LOW), LOW),
        ((HIGH, MEDIUM, LOW), LOW),
    ],
    ids=["all-nc", "nc-high", "high-nc", "secured-wins", "equal", "lowest"],
)
def test_most_restrictive_max_level(
    levels: tuple[ThreatLevel | None, ...], expected: ThreatLevel | None
) -> None:
    """The lowest max wins; not configured only if every policy leaves it so."""
    policies = [BASE.with_changes(name=f"P{i}", max_threat_level=lv) for i, lv in enumerate(levels)]
    assert merge(policies).max_threat_level is expected


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ((Action.BLOCK,), Action.BLOCK),
        ((Action.BLOCK, Action.BLOCK), Action.BLOCK),
        ((Action.BLOCK, Action.WIPE), Action.WIPE),
        ((Action.WIPE, Action.BLOCK), Action.WIPE),
    ],
    ids=["one-block", "two-blocks", "block-wipe", "wipe-block"],
)
def test_most_restrictive_action(actions: tuple[Action, ...], expected: Action) -> None:
    """Wipe over block, whatever the order."""
    policies = [BASE.with_changes(name=f"P{i}", threat_action=a) for i, a in enumerate(actions)]
    assert merge(policies).threat_action is expected


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ((None,), None),
        ((None, None), None),
        ((None, Action.BLOCK), Action.BLOCK),
        ((Action.BLOCK, Action.BLOCK), Action.BLOCK),
        ((Action.BLOCK, Action.WIPE), Action.WIPE),
        ((Action.WIPE, None), Action.WIPE),
        ((Action.WIPE, Action.BLOCK, None), Action.WIPE),
    ],
    ids=["one-nc", "all-nc", "nc-block", "two-blocks", "block-wipe", "wipe-nc", "wipe-block-nc"],
)
def test_most_restrictive_jailbroken_action(
    actions: tuple[Action | None, ...], expected: Action | None
) -> None:
    """Jailbroken/rooted devices: wipe over block; not configured only if no policy sets it."""
    policies = [BASE.with_changes(name=f"P{i}", jailbroken_action=a) for i, a in enumerate(actions)]
    assert merge(policies).jailbroken_action is expected
    assert merge(policies[::-1]).jailbroken_action is expected


def test_jailbroken_action_is_not_inert_without_a_max_level() -> None:
    """Unlike the threat action, the jailbroken action of a policy whose max level is not
    configured still counts: it is a condition of its own."""
    checks_threat = BASE.with_changes(name="Threat", jailbroken_action=Action.BLOCK)
    jailbreak_only = BASE.with_changes(
        name="Jailbreak",
        max_threat_level=None,
        threat_action=Action.WIPE,
        jailbroken_action=Action.WIPE,
    )
    eff = merge([checks_threat, jailbreak_only])
    assert (eff.threat_action, eff.jailbroken_action) == (Action.BLOCK, Action.WIPE)
    context = EvaluationContext(app="outlook", jailbroken=True, known_level=HIGH)
    decision = decide([checks_threat, jailbreak_only], context)
    assert decision == Decision(
        Outcome.WIPE,
        Reason.JAILBROKEN_DEVICE,
        ("Threat", "Jailbreak"),
        "wiped — the Intune SDK detected a jailbroken device; action wipe",
    )
    first = decide(
        [checks_threat, jailbreak_only],
        context,
        Behavior(multi_policy_merge=MultiPolicyMerge.FIRST_LISTED),
    )
    assert (first.outcome, first.reason, first.policies) == (
        Outcome.BLOCK,
        Reason.JAILBROKEN_DEVICE,
        ("Threat",),
    )


def test_first_listed_takes_the_first_policy_as_is() -> None:
    """first_listed: the first policy's settings, and only its name."""
    assert merge([OTHER, STRICT], MultiPolicyMerge.FIRST_LISTED) == EffectivePolicy(
        policies=("Other",),
        max_threat_level=MEDIUM,
        threat_action=Action.WIPE,
        recheck_after=30.0,
        checkin_interval=45.0,
        offline_block_after=720.0,
        offline_wipe_after=30 * DAY,
    )
    assert merge([STRICT, OTHER], MultiPolicyMerge.FIRST_LISTED).threat_action is Action.BLOCK


def test_merge_refuses_an_empty_list() -> None:
    """There is nothing to merge without a policy: ValueError."""
    with pytest.raises(ValueError, match="at least one policy"):
        merge([])


def test_effective_policy_merges_only_covering_policies() -> None:
    """A stricter policy for another app does not tighten this app's settings."""
    teams_only = OTHER.with_changes(name="Teams only", apps=frozenset({"teams"}))
    eff = effective_policy([STRICT, teams_only], CTX)
    assert eff is not None
    assert eff.policies == ("Strict",)
    assert (eff.threat_action, eff.offline_block_after) == (Action.BLOCK, 1440.0)
    assert effective_policy([teams_only], CTX) is None


def test_decide_most_restrictive_combines_two_policies() -> None:
    """Max low from one policy and wipe from the other: a medium device is wiped."""
    context = EvaluationContext(app="outlook", known_level=MEDIUM, known_level_age_min=5.0)
    decision = decide([STRICT, OTHER], context)
    assert decision == Decision(
        Outcome.WIPE,
        Reason.THREAT_LEVEL_EXCEEDED,
        ("Strict", "Other"),
        "wiped — app knew medium (fetched 5 min ago) > max allowed low; action wipe",
    )


def test_decide_first_listed_uses_only_the_first_covering_policy() -> None:
    """first_listed: the first covering policy (Other, max medium) allows a medium device."""
    context = EvaluationContext(app="outlook", known_level=MEDIUM)
    behavior = Behavior(multi_policy_merge=MultiPolicyMerge.FIRST_LISTED)
    decision = decide([OTHER, STRICT], context, behavior)
    assert (decision.outcome, decision.reason, decision.policies) == (
        Outcome.ALLOW,
        Reason.COMPLIANT,
        ("Other",),
    )
    # The first *covering* policy, not the first listed: Teams-only policies are skipped.
    teams_only = OTHER.with_changes(name="Teams only", apps=frozenset({"teams"}))
    decision = decide([teams_only, STRICT], context, behavior)
    assert (decision.outcome, decision.policies) == (Outcome.BLOCK, ("Strict",))


def test_decide_offline_block_uses_the_shortest_merged_period() -> None:
    """Offline 12 h: Other's 720 min block period applies although Strict allows 1440."""
    context = EvaluationContext(app="outlook", offline_min=720.0)
    decision = decide([STRICT, OTHER], context)
    assert (decision.outcome, decision.reason) == (Outcome.BLOCK, Reason.OFFLINE_BLOCK)
    assert decide([STRICT], context).outcome is Outcome.ALLOW


@pytest.mark.parametrize(
    ("offline_before", "behavior", "fails", "expected"),
    [
        (90 * DAY - 1.0, Behavior(), False, Reauth.NOT_REQUIRED),
        (90 * DAY - 1.0, Behavior(), True, Reauth.NOT_REQUIRED),
        (90 * DAY, Behavior(), False, Reauth.SUCCEEDED),
        (90 * DAY, Behavior(), True, Reauth.FAILED),
        (PAST_WIPE, Behavior(), True, Reauth.FAILED),
        (PAST_WIPE, Behavior(offline_wipe=OfflineWipe.IMMEDIATE), True, Reauth.NOT_REQUIRED),
    ],
    ids=["below-ok", "below-fails", "at-ok", "at-fails", "past-fails", "immediate"],
)
def test_reauthentication_after_the_wipe_period(
    offline_before: float, behavior: Behavior, fails: bool, expected: Reauth
) -> None:
    """Back online, a sign-in is required only after at least the wipe period offline
    (the boundary counts), and only with on_failed_reauth; ``fails`` says how it ends."""
    eff = merge([BASE])
    assert reauthentication(offline_before, eff, behavior, fails=fails) is expected
    assert reauthentication(offline_before, None, behavior, fails=fails) is Reauth.NOT_REQUIRED


# --- domain enums and defaults ---------------------------------------------------------


def test_threat_levels_are_ordered_as_in_graph() -> None:
    """secured < low < medium < high with Graph values 1..4."""
    assert [int(level) for level in (SECURED, LOW, MEDIUM, HIGH)] == [1, 2, 3, 4]
    assert SECURED < LOW < MEDIUM < HIGH


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("secured", SECURED),
        ("Medium", MEDIUM),
        (" HIGH ", HIGH),
        (NOT_CONFIGURED, None),
        ("notConfigured", None),
    ],
)
def test_parse_max_level(text: str, expected: ThreatLevel | None) -> None:
    """Policy maxima parse case-insensitively; not_configured / notConfigured mean None."""
    assert parse_max_level(text) is expected


def test_parse_max_level_rejects_typos() -> None:
    """A misspelt level is a ValueError that lists the valid levels."""
    with pytest.raises(ValueError, match="unknown threat level 'meduim'; expected one of"):
        parse_max_level("meduim")


def test_max_level_rank_and_label() -> None:
    """Not configured is the most permissive maximum and is spelt not_configured."""
    assert [max_level_rank(x) for x in (SECURED, LOW, MEDIUM, HIGH, None)] == [1, 2, 3, 4, 5]
    assert max_level_label(None) == "not_configured"
    assert max_level_label(MEDIUM) == "medium"


def test_outcome_rank_orders_allow_block_wipe() -> None:
    """allow < block < wipe; only allow does not deny."""
    assert [o.rank for o in (Outcome.ALLOW, Outcome.BLOCK, Outcome.WIPE)] == [0, 1, 2]
    assert [o.denies for o in Outcome] == [False, True, True]


def test_warn_is_not_a_threat_action() -> None:
    """SEMANTICS.md §5: warn is not a valid action for threat level."""
    with pytest.raises(ValueError, match="unknown Action 'warn'"):
        Action.parse("warn")


def test_threat_reasons() -> None:
    """THREAT_REASONS are the threat condition's reasons: not the offline, first-use or
    jailbroken conditions' (offline_block, offline_reauth, offline_wipe,
    jailbroken_device), nor not_targeted / compliant."""
    assert (
        frozenset(
            {
                Reason.THREAT_LEVEL_EXCEEDED,
                Reason.MTD_NOT_ACTIVATED,
                Reason.CONNECTOR_DISABLED,
                Reason.PARTNER_UNRESPONSIVE,
            }
        )
        == THREAT_REASONS
    )


def test_documented_defaults() -> None:
    """Defaults from the docs: offline block 1440 min, wipe 90 days, fail-open, block, wipe
    only on a failed re-authentication; no jailbroken condition unless configured."""
    assert DEFAULT_OFFLINE_BLOCK_AFTER == 1440.0
    assert DEFAULT_OFFLINE_WIPE_AFTER == 90 * DAY
    policy = Policy(name="x", apps=frozenset({"outlook"}))
    assert (policy.recheck_after, policy.checkin_interval) == (30.0, 30.0)
    assert policy.include_groups is None
    assert policy.target_management is TargetManagement.ANY
    assert policy.jailbroken_action is None
    assert Behavior() == Behavior(
        connector_off_behavior=ConnectorOffBehavior.NO_EFFECT,
        unresponsive_behavior=UnresponsiveBehavior.IGNORE,
        pre_onboarding_action=PreOnboardingAction.BLOCK,
        multi_policy_merge=MultiPolicyMerge.MOST_RESTRICTIVE,
        offline_wipe=OfflineWipe.ON_FAILED_REAUTH,
    )
    assert CTX.offline_min == 0.0
    assert CTX.connector is ConnectorState.ENABLED
    assert (CTX.mdm_passes_upn, CTX.checked_in, CTX.jailbroken) == (True, True, False)
    assert CTX.reauth is Reauth.NOT_REQUIRED


def test_with_changes_never_mutates() -> None:
    """Policies are immutable: with_changes returns a copy and leaves the original."""
    changed = BASE.with_changes(max_threat_level=HIGH)
    assert BASE.max_threat_level is LOW
    assert changed.max_threat_level is HIGH
    with pytest.raises(AttributeError):
        BASE.name = "mutated"  # type: ignore[misc]
