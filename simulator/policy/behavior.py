"""Behaviour parameters: the rules the Microsoft documentation leaves open.

Each is a [param] of ``docs/semantics.md``: settable in a scenario's ``[behavior]`` table,
echoed in every run's manifest, and offered as a flag by ``condlaunch whatif``/``table``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

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


@dataclass(frozen=True, slots=True)
class Behavior:
    """Behaviour parameters of SEMANTICS.md that the documentation leaves open.

    Every field is a [param]: settable in scenario files and echoed in run outputs.
    """

    connector_off_behavior: ConnectorOffBehavior = ConnectorOffBehavior.NO_EFFECT
    unresponsive_behavior: UnresponsiveBehavior = UnresponsiveBehavior.IGNORE
    pre_onboarding_action: PreOnboardingAction = PreOnboardingAction.BLOCK
    multi_policy_merge: MultiPolicyMerge = MultiPolicyMerge.MOST_RESTRICTIVE


DEFAULT_RECHECK_AFTER: Final[Minutes] = 30.0
DEFAULT_CHECKIN_INTERVAL: Final[Minutes] = 30.0
DEFAULT_OFFLINE_BLOCK_AFTER: Final[Minutes] = 1440.0
DEFAULT_OFFLINE_WIPE_AFTER: Final[Minutes] = 90 * 1440.0
